//! The endpoint's own keys, kept in its data directory (created on first run, mode
//! 0600 on Unix):
//!
//! * `clave-movil-signing.key` — Ed25519 seed (hex). Signs outcomes for relying
//!   services as compact JWS (`alg: EdDSA`); the public key is published at
//!   `/.well-known/clave-movil/jwks.json`.
//! * `clave-movil-pepper.key` — 32 random bytes (hex). The HMAC key under which codes,
//!   PINs and tokens are stored (never in clear) and documents are turned into the
//!   opaque subjects of the SMS cap and rate limits.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use registry::Random;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::api::{Jwk, Jwks};
use crate::util::{b64, hmac_parts, random_bytes, sha256, unb64};

pub const SIGNING_FILE: &str = "clave-movil-signing.key";
pub const PEPPER_FILE: &str = "clave-movil-pepper.key";

/// The outcome-signing key and the pepper.
pub struct ServerKeys {
    signing: SigningKey,
    kid: String,
    pepper: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn read_or_create_secret(path: &Path, random: &dyn Random) -> std::io::Result<Zeroizing<[u8; 32]>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let mut out = Zeroizing::new([0u8; 32]);
        if hex::decode_to_slice(text.trim(), out.as_mut()).is_ok() {
            return Ok(out);
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "key file is not 64 hex characters",
        ));
    }
    let bytes = Zeroizing::new(random_bytes::<32>(random));
    let text = Zeroizing::new(hex::encode(bytes.as_ref()));
    write_private(path, text.as_bytes())?;
    Ok(bytes)
}

/// Writes a file readable by its owner only.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, contents)?;
    file.sync_all()
}

impl ServerKeys {
    /// Loads the keys from `dir`, creating them on first run.
    pub fn load_or_create(dir: &Path, random: &dyn Random) -> std::io::Result<ServerKeys> {
        let seed = read_or_create_secret(&dir.join(SIGNING_FILE), random)?;
        let pepper = read_or_create_secret(&dir.join(PEPPER_FILE), random)?;
        Ok(ServerKeys::from_secrets(&seed, pepper))
    }

    fn from_secrets(seed: &[u8; 32], pepper: Zeroizing<[u8; 32]>) -> ServerKeys {
        let signing = SigningKey::from_bytes(seed);
        let kid = b64(&sha256(signing.verifying_key().as_bytes())[..12]);
        ServerKeys {
            signing,
            kid,
            pepper,
        }
    }

    /// Keys held in memory only (unit tests).
    pub fn ephemeral(random: &dyn Random) -> ServerKeys {
        let seed = Zeroizing::new(random_bytes::<32>(random));
        ServerKeys::from_secrets(&seed, Zeroizing::new(random_bytes::<32>(random)))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: b64(self.signing.verifying_key().as_bytes()),
                kid: self.kid.clone(),
                key_use: "sig".into(),
                alg: "EdDSA".into(),
            }],
        }
    }

    /// A compact JWS over `claims`.
    pub fn sign_jws<T: Serialize>(&self, typ: &str, claims: &T) -> String {
        let header = serde_json::json!({ "alg": "EdDSA", "kid": self.kid, "typ": typ });
        let header = b64(header.to_string().as_bytes());
        let payload = b64(&serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{header}.{payload}");
        let signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    /// Keyed hash of some parts (codes, PINs, tokens, documents).
    pub fn keyed(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac_parts(self.pepper.as_ref(), parts)
    }

    /// The opaque subject for a document (SMS cap, rate limits).
    pub fn subject(&self, document: &registry::DocumentNumber) -> [u8; 16] {
        let full = self.keyed(&[b"subject", document.unmasked().as_bytes()]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

/// Why a signed outcome was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("no key with this kid, or not an Ed25519 key")]
    UnknownKey,
    #[error("signature does not verify")]
    BadSignature,
}

/// Verifies a compact JWS against a JWKS and returns its payload (relying services do
/// this with any JOSE library; this is ours for the client and the tests).
pub fn verify_jws(jws: &str, jwks: &Jwks) -> Result<serde_json::Value, JwsError> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header: serde_json::Value = serde_json::from_slice(&unb64(h).ok_or(JwsError::Malformed)?)
        .map_err(|_| JwsError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA") {
        return Err(JwsError::UnknownKey);
    }
    let kid = header.get("kid").and_then(|k| k.as_str()).unwrap_or("");
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid && k.kty == "OKP" && k.crv == "Ed25519")
        .ok_or(JwsError::UnknownKey)?;
    let x: [u8; 32] = unb64(&jwk.x)
        .and_then(|v| v.try_into().ok())
        .ok_or(JwsError::UnknownKey)?;
    let key = VerifyingKey::from_bytes(&x).map_err(|_| JwsError::UnknownKey)?;
    let sig: [u8; 64] = unb64(s)
        .and_then(|v| v.try_into().ok())
        .ok_or(JwsError::Malformed)?;
    key.verify(
        format!("{h}.{p}").as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .map_err(|_| JwsError::BadSignature)?;
    serde_json::from_slice(&unb64(p).ok_or(JwsError::Malformed)?).map_err(|_| JwsError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::SeededRandom;

    #[test]
    fn keys_persist_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let r = SeededRandom::new(4);
        let a = ServerKeys::load_or_create(dir.path(), &r).unwrap();
        let b = ServerKeys::load_or_create(dir.path(), &r).unwrap();
        assert_eq!(a.jwks(), b.jwks());
        assert_eq!(a.keyed(&[b"x"]), b.keyed(&[b"x"]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SIGNING_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let jws = a.sign_jws("t", &serde_json::json!({"status": "confirmed"}));
        let claims = verify_jws(&jws, &b.jwks()).unwrap();
        assert_eq!(claims["status"], "confirmed");
        let other = ServerKeys::ephemeral(&SeededRandom::new(5));
        assert_eq!(verify_jws(&jws, &other.jwks()), Err(JwsError::UnknownKey));
        // Tampered payload.
        let mut parts: Vec<&str> = jws.split('.').collect();
        let forged = b64(br#"{"status":"rejected"}"#);
        parts[1] = &forged;
        assert_eq!(
            verify_jws(&parts.join("."), &a.jwks()),
            Err(JwsError::BadSignature)
        );
        assert_eq!(verify_jws("a.b", &a.jwks()), Err(JwsError::Malformed));
        assert!(format!("{a:?}").contains("kid"));
    }
}
