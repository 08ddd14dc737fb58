//! The citizen's identity as the card gives it.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::atr::DnieVersion;
use crate::error::{DnieError, Result};
use crate::x509::CitizenCertificate;

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Canonical DNI/NIE from a certificate `serialNumber`: trims, upper-cases, strips an
/// `IDCES-`/`IDCES` prefix (ETSI EN 319 412-1 form, DNIE.md §5) and checks the control
/// letter (`TRWAGMYFPDXBNJZSQVHLCKE`[n mod 23]; NIE X/Y/Z → 0/1/2).
pub fn canonical_document(serial_number: &str) -> Result<String> {
    let bad = DnieError::MalformedData("certificate serialNumber is not a valid DNI/NIE");
    let s = serial_number.trim().to_ascii_uppercase();
    let s = s
        .strip_prefix("IDCES-")
        .or_else(|| s.strip_prefix("IDCES"))
        .unwrap_or(&s);
    let bytes = s.as_bytes();
    if bytes.len() != 9 || !s.is_ascii() || !bytes[8].is_ascii_uppercase() {
        return Err(bad);
    }
    let (digits, nie_prefix) = match bytes[0] {
        b'X' => (&s[1..8], "0"),
        b'Y' => (&s[1..8], "1"),
        b'Z' => (&s[1..8], "2"),
        _ => (&s[0..8], ""),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad);
    }
    let n: u32 = format!("{nie_prefix}{digits}")
        .parse()
        .map_err(|_| bad.clone())?;
    if DNI_LETTERS[(n % 23) as usize] != bytes[8] {
        return Err(bad);
    }
    Ok(s.to_owned())
}

/// Splits a DNIe CN `"<surnames>, <given name> (AUTENTICACIÓN)"` (DNIE.md §5).
fn split_common_name(cn: &str) -> Option<(String, String)> {
    let cn = match cn.rfind(" (") {
        Some(i) if cn.ends_with(')') => &cn[..i],
        _ => cn,
    };
    let (surnames, given) = cn.split_once(',')?;
    Some((surnames.trim().to_owned(), given.trim().to_owned()))
}

/// Who the card belongs to. `Debug` is redacted (personal data); serialise it only
/// towards the clerk's own window.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CitizenIdentity {
    /// Canonical DNI/NIE (`99999002Q`).
    pub document: String,
    /// Given name (`GN`).
    pub given_name: String,
    /// Surnames (`SN`).
    pub surnames: String,
    /// Authentication certificate validity start.
    pub cert_not_before: DateTime<Utc>,
    /// Authentication certificate validity end.
    pub cert_not_after: DateTime<Utc>,
    /// Issuer CN (`AC DNIE 004`…).
    pub issuer_cn: String,
    /// Support number (IDESP, EF 3F00/0006).
    pub idesp: String,
    /// Chip serial number from GET CHIP INFO, hex.
    pub chip_serial: String,
    /// Card generation.
    pub version: DnieVersion,
}

impl fmt::Debug for CitizenIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CitizenIdentity")
            .field("version", &self.version)
            .field("personal_data", &"<redacted>")
            .finish()
    }
}

impl CitizenIdentity {
    /// Builds the identity from the authentication certificate and the card data.
    pub fn from_certificate(
        cert: &CitizenCertificate,
        idesp: String,
        chip_serial: String,
        version: DnieVersion,
    ) -> Result<Self> {
        let serial = cert
            .serial_number
            .as_deref()
            .ok_or(DnieError::BadCertificate("certificate has no serialNumber"))?;
        let document = canonical_document(serial)?;
        let from_cn = cert.common_name.as_deref().and_then(split_common_name);
        let surnames = cert
            .surname
            .clone()
            .or_else(|| from_cn.as_ref().map(|(s, _)| s.clone()))
            .ok_or(DnieError::BadCertificate("certificate has no surname"))?;
        let given_name = cert
            .given_name
            .clone()
            .or_else(|| from_cn.as_ref().map(|(_, g)| g.clone()))
            .ok_or(DnieError::BadCertificate("certificate has no given name"))?;
        Ok(CitizenIdentity {
            document,
            given_name,
            surnames,
            cert_not_before: cert.not_before,
            cert_not_after: cert.not_after,
            issuer_cn: cert.issuer_cn.clone().unwrap_or_default(),
            idesp,
            chip_serial,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        assert_eq!(canonical_document("99999002Q").unwrap(), "99999002Q");
        assert_eq!(canonical_document("IDCES-99999002Q").unwrap(), "99999002Q");
        assert_eq!(canonical_document("IDCES99999002Q").unwrap(), "99999002Q");
        assert_eq!(
            canonical_document(" idces-12345678z ").unwrap(),
            "12345678Z"
        );
        assert_eq!(canonical_document("99999999R").unwrap(), "99999999R");
        assert_eq!(canonical_document("X1234567L").unwrap(), "X1234567L");
        assert!(canonical_document("99999002A").is_err());
        assert!(canonical_document("9999902Q").is_err());
        assert!(canonical_document("IDCES-").is_err());
        assert!(canonical_document("ÑÑÑÑÑÑÑÑÑ").is_err());
        assert!(canonical_document("").is_err());
    }

    #[test]
    fn common_name_split() {
        let (s, g) = split_common_name(
            "ESPECIMEN SPECIMEN SPÉCIMEN ESPECIMEN SPECIMEN SPÉCIMEN, FICTICIO FICTITIOUS FICTIF (AUTENTICACIÓN)",
        )
        .unwrap();
        assert_eq!(s, "ESPECIMEN SPECIMEN SPÉCIMEN ESPECIMEN SPECIMEN SPÉCIMEN");
        assert_eq!(g, "FICTICIO FICTITIOUS FICTIF");
        assert!(split_common_name("NO COMMA").is_none());
    }

    proptest::proptest! {
        #[test]
        fn document_never_panics(s in "\\PC{0,20}") {
            let _ = canonical_document(&s);
            let _ = split_common_name(&s);
        }
    }
}
