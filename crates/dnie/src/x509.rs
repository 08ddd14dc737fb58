//! Certificates: the compressed certificate EFs, the citizen's certificate subject, and
//! X.509 signature checks for the chip's component certificates.

use std::io::Read;

use chrono::{DateTime, Utc};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Tag, Tagged};

use crate::error::{DnieError, Result};
use crate::tlv;

/// Largest uncompressed certificate we accept (the DNIe's are ~1.5 KB).
const MAX_CERT_LEN: usize = 64 * 1024;

const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const OID_SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
const OID_GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The 8-byte header of a compressed certificate EF (DNIE.md §2; OpenSC
/// `dnie_read_header`, jmulticard `CompressionUtils`): little-endian uncompressed length,
/// little-endian compressed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressedHeader {
    /// Length after inflating.
    pub uncompressed_len: u32,
    /// Length of the zlib stream that follows the header.
    pub compressed_len: u32,
}

impl CompressedHeader {
    /// Reads the header; `None` if there are fewer than 8 bytes or the data is a plain
    /// DER certificate (starts with `30 82`).
    pub fn parse(data: &[u8]) -> Option<Self> {
        let h = data.get(..8)?;
        if h[0] == 0x30 && h[1] == 0x82 {
            return None;
        }
        Some(CompressedHeader {
            uncompressed_len: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            compressed_len: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
        })
    }

    /// Bytes of the EF that hold content: header + compressed stream.
    pub fn content_len(&self) -> usize {
        8usize.saturating_add(self.compressed_len as usize)
    }
}

/// Number of leading bytes of a (possibly partial) certificate EF that hold content, if it
/// can be told from its first bytes: `8 + compressed length`, or the DER length of a
/// plain certificate. Lets the reader stop at the content instead of the allocated size.
pub fn certificate_file_content_len(prefix: &[u8]) -> Option<usize> {
    if let Some(h) = CompressedHeader::parse(prefix) {
        return Some(h.content_len());
    }
    match prefix {
        [0x30, 0x82, a, b, ..] => Some(4 + usize::from(u16::from_be_bytes([*a, *b]))),
        _ => None,
    }
}

/// Decodes a certificate EF: plain DER (trailing padding ignored) or the compressed
/// form (8-byte header + zlib; anything after the compressed length is ignored).
pub fn decode_certificate_file(data: &[u8]) -> Result<Vec<u8>> {
    let bad = DnieError::BadCertificate("certificate file is neither DER nor compressed");
    let der = match CompressedHeader::parse(data) {
        None => {
            let (t, _) = tlv::parse_one(data).map_err(|_| bad.clone())?;
            t.raw.to_vec()
        }
        Some(h) => {
            let expected = h.uncompressed_len as usize;
            if expected == 0 || expected > MAX_CERT_LEN {
                return Err(DnieError::BadCertificate(
                    "implausible uncompressed certificate length",
                ));
            }
            let stream = data
                .get(8..h.content_len())
                .ok_or(DnieError::BadCertificate(
                    "compressed certificate truncated",
                ))?;
            let mut out = Vec::with_capacity(expected);
            flate2::read::ZlibDecoder::new(stream)
                .take(MAX_CERT_LEN as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| DnieError::BadCertificate("zlib stream does not inflate"))?;
            if out.len() != expected {
                return Err(DnieError::BadCertificate(
                    "inflated length differs from the header",
                ));
            }
            out
        }
    };
    Ok(der)
}

fn decode_cert(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|_| DnieError::BadCertificate("not an X.509 certificate"))
}

fn any_to_string(v: &x509_cert::der::Any) -> Option<String> {
    let bytes = v.value();
    match v.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
        // T.61 strings on these certificates carry Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn name_attr(name: &x509_cert::name::Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| any_to_string(&atv.value))
}

fn time_of(t: &x509_cert::time::Time) -> Result<DateTime<Utc>> {
    let secs = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| DnieError::BadCertificate("validity date"))?;
    DateTime::from_timestamp(secs, 0).ok_or(DnieError::BadCertificate("validity date"))
}

/// RSA public key of a certificate.
pub fn rsa_public_key(cert: &Certificate) -> Result<RsaPublicKey> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != OID_RSA_ENCRYPTION {
        return Err(DnieError::BadCertificate("public key is not RSA"));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or(DnieError::BadCertificate("public key bit string"))?;
    RsaPublicKey::from_pkcs1_der(bits).map_err(|_| DnieError::BadCertificate("RSA public key"))
}

/// What the reader takes from the citizen's authentication certificate.
#[derive(Clone)]
pub struct CitizenCertificate {
    /// `serialNumber` as written (e.g. `99999002Q` or `IDCES-99999002Q`).
    pub serial_number: Option<String>,
    /// `SN`.
    pub surname: Option<String>,
    /// `GN`.
    pub given_name: Option<String>,
    /// `CN`.
    pub common_name: Option<String>,
    /// Issuer `CN`.
    pub issuer_cn: Option<String>,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// Subject public key.
    pub public_key: RsaPublicKey,
}

impl std::fmt::Debug for CitizenCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CitizenCertificate { <personal data redacted> }")
    }
}

impl CitizenCertificate {
    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self> {
        let cert = decode_cert(der)?;
        let subject = &cert.tbs_certificate.subject;
        let validity = &cert.tbs_certificate.validity;
        Ok(CitizenCertificate {
            serial_number: name_attr(subject, OID_SERIAL_NUMBER),
            surname: name_attr(subject, OID_SURNAME),
            given_name: name_attr(subject, OID_GIVEN_NAME),
            common_name: name_attr(subject, OID_COMMON_NAME),
            issuer_cn: name_attr(&cert.tbs_certificate.issuer, OID_COMMON_NAME),
            not_before: time_of(&validity.not_before)?,
            not_after: time_of(&validity.not_after)?,
            public_key: rsa_public_key(&cert)?,
        })
    }
}

/// A parsed certificate kept with its DER, for chain checks.
pub struct ChipCertificate {
    der: Vec<u8>,
    cert: Certificate,
}

impl ChipCertificate {
    /// Parses a DER certificate (trailing padding ignored).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let der = decode_certificate_file(data)?;
        let cert = decode_cert(&der)?;
        Ok(ChipCertificate { der, cert })
    }

    /// Subject public key (RSA).
    pub fn public_key(&self) -> Result<RsaPublicKey> {
        rsa_public_key(&self.cert)
    }

    /// Issuer's distinguished name as text (for logs and key-set hints).
    pub fn issuer_text(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// Checks the certificate's signature with `issuer` (sha1WithRSA or sha256WithRSA,
    /// PKCS#1 v1.5) — the chip certificates use SHA-1 (DNIE.md §3.2 step 1).
    pub fn verify_signed_by(&self, issuer: &RsaPublicKey) -> Result<()> {
        let bad = DnieError::ChipCertificateInvalid("signature does not verify");
        // The signed bytes are the TBSCertificate exactly as encoded on the card.
        let (outer, _) = tlv::parse_one(&self.der).map_err(|_| bad.clone())?;
        let tbs = outer
            .children()
            .next()
            .and_then(|r| r.ok())
            .ok_or_else(|| bad.clone())?;
        let sig = self.cert.signature.as_bytes().ok_or_else(|| bad.clone())?;
        let oid = self.cert.signature_algorithm.oid;
        let ok = if oid == OID_SHA1_WITH_RSA {
            issuer
                .verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(tbs.raw), sig)
                .is_ok()
        } else if oid == OID_SHA256_WITH_RSA {
            issuer
                .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(tbs.raw), sig)
                .is_ok()
        } else {
            return Err(DnieError::ChipCertificateInvalid(
                "unsupported signature algorithm",
            ));
        };
        if ok { Ok(()) } else { Err(bad) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use proptest::prelude::*;
    use std::io::Write;

    pub(crate) fn compress(der: &[u8], pad_to: usize) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(der).unwrap();
        let z = e.finish().unwrap();
        let mut out = (der.len() as u32).to_le_bytes().to_vec();
        out.extend((z.len() as u32).to_le_bytes());
        out.extend(z);
        if out.len() < pad_to {
            out.resize(pad_to, 0);
        }
        out
    }

    #[test]
    fn compressed_roundtrip_ignores_padding() {
        let der: Vec<u8> = tlv::encode(0x30, &[7u8; 300]);
        let file = compress(&der, 2000);
        let h = CompressedHeader::parse(&file).unwrap();
        assert_eq!(h.uncompressed_len as usize, der.len());
        assert_eq!(
            certificate_file_content_len(&file[..8]),
            Some(h.content_len())
        );
        assert_eq!(decode_certificate_file(&file).unwrap(), der);
        // garbage after the stream that is not zero padding is ignored as well
        let mut file2 = compress(&der, 0);
        file2.extend_from_slice(&[0xAB; 40]);
        assert_eq!(decode_certificate_file(&file2).unwrap(), der);
        // truncated stream
        let short = &file[..h.content_len() - 1];
        assert!(decode_certificate_file(short).is_err());
        // wrong uncompressed length in the header
        let mut wrong = compress(&der, 0);
        wrong[0] ^= 1;
        assert!(decode_certificate_file(&wrong).is_err());
    }

    #[test]
    fn plain_der_with_padding() {
        let der: Vec<u8> = tlv::encode(0x30, &[1u8; 300]);
        assert_eq!(der[..2], [0x30, 0x82]);
        let mut file = der.clone();
        file.resize(900, 0);
        assert_eq!(certificate_file_content_len(&file), Some(der.len()));
        assert_eq!(decode_certificate_file(&file).unwrap(), der);
    }

    /// jmulticard's `DNICERT.cer` (the specimen signing certificate), when a copy is at
    /// hand (`DNIE_SPECIMEN_DIR`, not committed).
    #[test]
    fn specimen_certificate_when_available() {
        let Ok(dir) = std::env::var("DNIE_SPECIMEN_DIR") else {
            return;
        };
        let der = std::fs::read(format!("{dir}/DNICERT.cer")).unwrap();
        let c = CitizenCertificate::parse(&decode_certificate_file(&der).unwrap()).unwrap();
        assert_eq!(c.serial_number.as_deref(), Some("99999002Q"));
        assert_eq!(c.given_name.as_deref(), Some("FICTICIO FICTITIOUS FICTIF"));
        assert_eq!(c.surname.as_deref(), Some("ESPECIMEN SPECIMEN SPÉCIMEN"));
        assert_eq!(c.issuer_cn.as_deref(), Some("AC DNIE 001"));
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = CompressedHeader::parse(&data);
            let _ = certificate_file_content_len(&data);
            let _ = decode_certificate_file(&data);
            let _ = ChipCertificate::parse(&data);
            let _ = CitizenCertificate::parse(&data);
        }

        #[test]
        fn mutated_compressed_never_panics(idx in 0usize..100, byte in any::<u8>()) {
            let mut f = compress(&tlv::encode(0x30, &[9u8; 200]), 0);
            let i = idx % f.len();
            f[i] = byte;
            let _ = decode_certificate_file(&f);
        }
    }
}
