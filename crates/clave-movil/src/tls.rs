//! TLS: a self-signed certificate generated on first run (rcgen, P-256 key from the
//! injected random source), kept in the data directory, and the SHA-256 pin of its
//! public key (SPKI) that every QR code carries so the phone talks to this endpoint
//! only.

use std::path::Path;
use std::sync::Arc;

use p256::pkcs8::EncodePrivateKey;
use registry::Random;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::util::{b64, random_bytes, sha256};

pub const CERT_FILE: &str = "clave-movil-tls.crt.der";
pub const KEY_FILE: &str = "clave-movil-tls.key.der";

/// What went wrong setting TLS up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read or write the certificate: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot build the certificate: {0}")]
    Generate(String),
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The endpoint's certificate and key.
pub struct TlsMaterial {
    pub cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    /// base64url(SHA-256(SPKI)).
    pub pin: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

/// The pin of a DER certificate: base64url of the SHA-256 of its SubjectPublicKeyInfo.
pub fn spki_pin(cert: &CertificateDer<'_>) -> Option<String> {
    let anchor = webpki::anchor_from_trusted_cert(cert).ok()?;
    let spki = webpki::spki_for_anchor(&anchor);
    Some(b64(&sha256(spki.as_ref())))
}

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsMaterial {
    /// Loads `dir/clave-movil-tls.{crt,key}.der`, or generates them (valid for
    /// `localhost`, 127.0.0.1 and `names`).
    pub fn load_or_create(
        dir: &Path,
        names: &[String],
        random: &dyn Random,
    ) -> Result<TlsMaterial, TlsError> {
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if cert_path.exists() && key_path.exists() {
            let cert = CertificateDer::from(std::fs::read(&cert_path)?);
            let key = PrivatePkcs8KeyDer::from(std::fs::read(&key_path)?);
            let pin = spki_pin(&cert)
                .ok_or_else(|| TlsError::Generate("stored certificate unreadable".into()))?;
            return Ok(TlsMaterial { cert, key, pin });
        }
        let material = TlsMaterial::generate(names, random)?;
        crate::keys::write_private(&key_path, material.key.secret_pkcs8_der())?;
        std::fs::write(&cert_path, material.cert.as_ref())?;
        Ok(material)
    }

    /// A fresh self-signed certificate (in memory).
    pub fn generate(names: &[String], random: &dyn Random) -> Result<TlsMaterial, TlsError> {
        let secret = loop {
            let bytes = random_bytes::<32>(random);
            if let Ok(s) = p256::SecretKey::from_slice(&bytes) {
                break s;
            }
        };
        let pkcs8 = secret
            .to_pkcs8_der()
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let key_der = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
        let key_pair =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&key_der, &rcgen::PKCS_ECDSA_P256_SHA256)
                .map_err(|e| TlsError::Generate(e.to_string()))?;
        let mut all = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        all.extend(names.iter().cloned());
        all.dedup();
        let mut params =
            rcgen::CertificateParams::new(all).map_err(|e| TlsError::Generate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Ventanilla Cl@ve Móvil");
        // Valid for ten years from 2025: the pin, not the dates, is what phones check.
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2035, 1, 1);
        let cert = params
            .self_signed(&key_pair)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let cert = cert.der().clone();
        let pin =
            spki_pin(&cert).ok_or_else(|| TlsError::Generate("certificate unreadable".into()))?;
        Ok(TlsMaterial {
            cert,
            key: key_der,
            pin,
        })
    }

    /// The rustls server configuration (TLS 1.2/1.3, HTTP/1.1).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A client verifier that accepts exactly the certificate whose SPKI has `pin`
/// (what the phone does with the pin from the QR), checking the handshake signature
/// with it.
#[derive(Debug)]
pub struct PinVerifier {
    pin: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinVerifier {
    pub fn new(pin: &str) -> PinVerifier {
        PinVerifier {
            pin: pin.to_owned(),
            provider: crypto_provider(),
        }
    }

    /// A rustls client configuration pinned to `pin`.
    pub fn client_config(pin: &str) -> Result<rustls::ClientConfig, TlsError> {
        let verifier = Arc::new(PinVerifier::new(pin));
        let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(config)
    }
}

impl rustls::client::danger::ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match spki_pin(end_entity) {
            Some(pin) if crate::util::constant_time_eq(pin.as_bytes(), self.pin.as_bytes()) => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            _ => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::SeededRandom;

    #[test]
    fn certificate_is_created_once_and_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let r = SeededRandom::new(2);
        let a = TlsMaterial::load_or_create(dir.path(), &["10.1.2.3".into()], &r).unwrap();
        let b = TlsMaterial::load_or_create(dir.path(), &[], &r).unwrap();
        assert_eq!(a.pin, b.pin);
        assert_eq!(a.pin.len(), 43);
        assert!(a.server_config().is_ok());
        assert!(PinVerifier::client_config(&a.pin).is_ok());
        let other = TlsMaterial::generate(&[], &r).unwrap();
        assert_ne!(other.pin, a.pin);
    }
}
