//! PKCS#15 (ISO/IEC 7816-15) directory files of the DNIe, in DF `5015` (DNIE.md §2):
//! TokenInfo `5032`, ODF `5031`, CDF `6004`, PrKDF `6001`.
//!
//! Only what the reader needs is decoded: labels, IDs, paths and key references. The
//! files are DER padded with zeros to their allocated size; the TLV iterator stops at the
//! padding. Parsers never panic (property-tested).

use crate::error::{DnieError, Result};
use crate::tlv::{Tlv, TlvIter};

/// Label of the authentication certificate in the DNIe CDF (jmulticard specimen).
pub const AUTH_CERT_LABEL: &str = "CertAutenticacion";
/// Label of the authentication private key in the DNIe PrKDF.
pub const AUTH_KEY_LABEL: &str = "KprivAutenticacion";

/// A certificate object of the CDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateObject {
    /// `CommonObjectAttributes.label`.
    pub label: Option<String>,
    /// `CommonCertificateAttributes.iD` (shared with the matching private key).
    pub id: Vec<u8>,
    /// `Path.path` of the certificate EF (relative to MF, FIDs of 2 bytes).
    pub path: Vec<u8>,
}

/// A private-key object of the PrKDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKeyObject {
    /// `CommonObjectAttributes.label`.
    pub label: Option<String>,
    /// `CommonKeyAttributes.iD`.
    pub id: Vec<u8>,
    /// `CommonKeyAttributes.keyReference`, if present.
    pub key_reference: Option<u8>,
    /// `Path.path` of the key EF.
    pub path: Vec<u8>,
    /// `modulusLength` in bits, if present.
    pub modulus_bits: Option<u32>,
}

impl PrivateKeyObject {
    /// The key reference for MSE SET: `keyReference`, else the last byte of the path
    /// (DNIE.md §4: `01 01` auth, `01 02` sign = last FID of the PrKDF path).
    pub fn reference(&self) -> Option<u8> {
        self.key_reference.or_else(|| self.path.last().copied())
    }
}

/// One ODF entry: which directory file (`A0` private keys, `A4` certificates, …) is where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdfEntry {
    /// Context tag of the PKCS15Objects choice (`0xA0` privateKeys, `0xA4` certificates…).
    pub tag: u32,
    /// Path of the directory file.
    pub path: Vec<u8>,
}

/// TokenInfo fields of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `serialNumber`.
    pub serial_number: Vec<u8>,
    /// `manufacturerID` (`DGP-FNMT` on a DNIe).
    pub manufacturer_id: Option<String>,
    /// `label` (`DNI electrónico`).
    pub label: Option<String>,
}

const MALFORMED_CDF: DnieError = DnieError::MalformedData("CDF");
const MALFORMED_PRKDF: DnieError = DnieError::MalformedData("PrKDF");

fn children<'a>(t: &Tlv<'a>, err: &DnieError) -> Result<Vec<Tlv<'a>>> {
    t.children()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| err.clone())
}

fn top_level<'a>(data: &'a [u8], err: &DnieError) -> Result<Vec<Tlv<'a>>> {
    TlvIter::new(data)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| err.clone())
}

fn label_of(common: &Tlv<'_>) -> Option<String> {
    common
        .child(0x0C)
        .map(|l| String::from_utf8_lossy(l.value).into_owned())
}

/// `Path ::= SEQUENCE { path OCTET STRING, ... }`, possibly inside an ObjectValue.
fn path_in(type_attrs: &Tlv<'_>, err: &DnieError) -> Result<Vec<u8>> {
    // [1] { SEQUENCE (type attributes) { Path SEQUENCE { 04 path ... } ... } }
    let inner = type_attrs.child(0x30).ok_or_else(|| err.clone())?;
    let path = inner.child(0x30).ok_or_else(|| err.clone())?;
    let p = path.child(0x04).ok_or_else(|| err.clone())?;
    Ok(p.value.to_vec())
}

/// Parses a CDF: a sequence of `x509Certificate` CertificateObjects. Other certificate
/// types (context-tagged) are skipped.
pub fn parse_cdf(data: &[u8]) -> Result<Vec<CertificateObject>> {
    let mut out = Vec::new();
    for obj in top_level(data, &MALFORMED_CDF)? {
        if obj.tag != 0x30 {
            continue;
        }
        let parts = children(&obj, &MALFORMED_CDF)?;
        let common = parts
            .first()
            .filter(|t| t.tag == 0x30)
            .ok_or(MALFORMED_CDF)?;
        let class = parts
            .get(1)
            .filter(|t| t.tag == 0x30)
            .ok_or(MALFORMED_CDF)?;
        let type_attrs = parts.iter().find(|t| t.tag == 0xA1).ok_or(MALFORMED_CDF)?;
        let id = class
            .child(0x04)
            .map(|t| t.value.to_vec())
            .unwrap_or_default();
        out.push(CertificateObject {
            label: label_of(common),
            id,
            path: path_in(type_attrs, &MALFORMED_CDF)?,
        });
    }
    Ok(out)
}

/// Parses a PrKDF: a sequence of `privateRSAKey` PrivateKeyObjects (others skipped).
pub fn parse_prkdf(data: &[u8]) -> Result<Vec<PrivateKeyObject>> {
    let mut out = Vec::new();
    for obj in top_level(data, &MALFORMED_PRKDF)? {
        if obj.tag != 0x30 {
            continue;
        }
        let parts = children(&obj, &MALFORMED_PRKDF)?;
        let common = parts
            .first()
            .filter(|t| t.tag == 0x30)
            .ok_or(MALFORMED_PRKDF)?;
        let key = parts
            .get(1)
            .filter(|t| t.tag == 0x30)
            .ok_or(MALFORMED_PRKDF)?;
        let type_attrs = parts
            .iter()
            .find(|t| t.tag == 0xA1)
            .ok_or(MALFORMED_PRKDF)?;
        let id = key
            .child(0x04)
            .map(|t| t.value.to_vec())
            .unwrap_or_default();
        let key_reference = key.child(0x02).and_then(|t| match t.value {
            [b] => Some(*b),
            [0, b] => Some(*b),
            _ => None,
        });
        let modulus_bits = type_attrs
            .child(0x30)
            .and_then(|s| s.child(0x02))
            .and_then(|t| {
                (t.value.len() <= 4)
                    .then(|| t.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
            });
        out.push(PrivateKeyObject {
            label: label_of(common),
            id,
            key_reference,
            path: path_in(type_attrs, &MALFORMED_PRKDF)?,
            modulus_bits,
        });
    }
    Ok(out)
}

/// Parses an ODF: `[n] { Path }` entries.
pub fn parse_odf(data: &[u8]) -> Result<Vec<OdfEntry>> {
    let err = DnieError::MalformedData("ODF");
    let mut out = Vec::new();
    for obj in top_level(data, &err)? {
        let path = obj
            .child(0x30)
            .and_then(|p| p.child(0x04))
            .ok_or_else(|| err.clone())?;
        out.push(OdfEntry {
            tag: obj.tag,
            path: path.value.to_vec(),
        });
    }
    Ok(out)
}

/// Parses TokenInfo.
pub fn parse_token_info(data: &[u8]) -> Result<TokenInfo> {
    let err = DnieError::MalformedData("TokenInfo");
    let seq = TlvIter::new(data)
        .next()
        .and_then(|r| r.ok())
        .filter(|t| t.tag == 0x30)
        .ok_or_else(|| err.clone())?;
    let parts = children(&seq, &err)?;
    let serial_number = parts
        .iter()
        .find(|t| t.tag == 0x04)
        .map(|t| t.value.to_vec())
        .unwrap_or_default();
    let manufacturer_id = parts
        .iter()
        .find(|t| t.tag == 0x0C)
        .map(|t| String::from_utf8_lossy(t.value).into_owned());
    let label = parts
        .iter()
        .find(|t| t.tag == 0x80)
        .map(|t| String::from_utf8_lossy(t.value).into_owned());
    Ok(TokenInfo {
        serial_number,
        manufacturer_id,
        label,
    })
}

/// Splits a PKCS#15 path into 2-byte FIDs relative to the MF (a leading `3F00` is
/// dropped).
pub fn path_to_fids(path: &[u8]) -> Result<Vec<u16>> {
    if path.is_empty() || !path.len().is_multiple_of(2) {
        return Err(DnieError::MalformedData("PKCS#15 path"));
    }
    let mut fids: Vec<u16> = path
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    if fids.first() == Some(&0x3F00) {
        fids.remove(0);
    }
    if fids.is_empty() {
        return Err(DnieError::MalformedData("PKCS#15 path"));
    }
    Ok(fids)
}

/// Picks the authentication certificate: the one labelled `CertAutenticacion`, else the
/// one whose ID matches the private key labelled `KprivAutenticacion` (or with key
/// reference 1).
pub fn find_auth_certificate<'a>(
    cdf: &'a [CertificateObject],
    prkdf: Option<&[PrivateKeyObject]>,
) -> Option<&'a CertificateObject> {
    if let Some(c) = cdf
        .iter()
        .find(|c| c.label.as_deref() == Some(AUTH_CERT_LABEL))
    {
        return Some(c);
    }
    let key = find_auth_key(prkdf?)?;
    cdf.iter().find(|c| !c.id.is_empty() && c.id == key.id)
}

/// The authentication private key: labelled `KprivAutenticacion`, else key reference 1.
pub fn find_auth_key(prkdf: &[PrivateKeyObject]) -> Option<&PrivateKeyObject> {
    prkdf
        .iter()
        .find(|k| k.label.as_deref() == Some(AUTH_KEY_LABEL))
        .or_else(|| prkdf.iter().find(|k| k.reference() == Some(1)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tlv::encode;
    use proptest::prelude::*;

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        encode(0x30, &parts.concat())
    }

    /// A CDF entry shaped like the jmulticard specimen (`CDF_ESPECIMEN.ber`):
    /// 30 { 30 {0C label, 03 flags}, 30 {04 id}, A1 { 30 { 30 {04 path, 02 index, 80 len}, <cert…> } } }
    pub(crate) fn cdf_entry(label: &str, id: &[u8], path: &[u8]) -> Vec<u8> {
        seq(&[
            seq(&[encode(0x0C, label.as_bytes()), encode(0x03, &[0x06, 0x40])]),
            seq(&[encode(0x04, id)]),
            encode(
                0xA1,
                &seq(&[
                    seq(&[
                        encode(0x04, path),
                        encode(0x02, &[0]),
                        encode(0x80, &[0x05, 0x48]),
                    ]),
                    seq(&[encode(0x31, &[])]),
                ]),
            ),
        ])
    }

    pub(crate) fn prkdf_entry(label: &str, id: &[u8], keyref: u8, path: &[u8]) -> Vec<u8> {
        seq(&[
            seq(&[
                encode(0x0C, label.as_bytes()),
                encode(0x03, &[0x06, 0xC0]),
                encode(0x04, &[1]),
            ]),
            seq(&[
                encode(0x04, id),
                encode(0x03, &[0x06, 0x30, 0x00]),
                encode(0x01, &[0xFF]),
                encode(0x03, &[0x03, 0xB8]),
                encode(0x02, &[keyref]),
            ]),
            encode(
                0xA1,
                &seq(&[
                    seq(&[
                        encode(0x04, path),
                        encode(0x02, &[0]),
                        encode(0x80, &[0x02, 0x00]),
                    ]),
                    encode(0x02, &[0x08, 0x00]),
                ]),
            ),
        ])
    }

    #[test]
    fn parses_cdf_with_padding() {
        let auth_id = b"A02034674163C2020160830144606";
        let mut cdf = cdf_entry("CertAutenticacion", auth_id, &[0x60, 0x61, 0x70, 0x01]);
        cdf.extend(cdf_entry(
            "CertFirmaDigital",
            b"F02034674163C2020160830144606",
            &[0x60, 0x61, 0x70, 0x02],
        ));
        cdf.extend(cdf_entry(
            "CertCAIntermediaDGP",
            b"X",
            &[0x60, 0x61, 0x70, 0x03],
        ));
        cdf.resize(2100, 0);
        let certs = parse_cdf(&cdf).unwrap();
        assert_eq!(certs.len(), 3);
        let auth = find_auth_certificate(&certs, None).unwrap();
        assert_eq!(auth.id, auth_id);
        assert_eq!(path_to_fids(&auth.path).unwrap(), [0x6061, 0x7001]);
    }

    #[test]
    fn finds_auth_cert_by_key_id_when_labels_differ() {
        let mut cdf = cdf_entry("Cert1", b"ID-SIGN", &[0x60, 0x61, 0x70, 0x02]);
        cdf.extend(cdf_entry("Cert2", b"ID-AUTH", &[0x60, 0x61, 0x70, 0x01]));
        let mut prkdf = prkdf_entry(
            "KprivFirmaDigital",
            b"ID-SIGN",
            2,
            &[0x3F, 0x11, 0x01, 0x02],
        );
        prkdf.extend(prkdf_entry(
            "KprivAutenticacion",
            b"ID-AUTH",
            1,
            &[0x3F, 0x11, 0x01, 0x01],
        ));
        prkdf.resize(600, 0);
        let certs = parse_cdf(&cdf).unwrap();
        let keys = parse_prkdf(&prkdf).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].key_reference, Some(1));
        assert_eq!(keys[1].modulus_bits, Some(2048));
        assert!(find_auth_certificate(&certs, None).is_none());
        let c = find_auth_certificate(&certs, Some(&keys)).unwrap();
        assert_eq!(c.path, [0x60, 0x61, 0x70, 0x01]);
        assert_eq!(find_auth_key(&keys).unwrap().reference(), Some(1));
    }

    #[test]
    fn odf_and_token_info() {
        let odf = [
            encode(
                0xA0,
                &seq(&[encode(0x04, &[0x3F, 0x00, 0x50, 0x15, 0x60, 0x01])]),
            ),
            encode(
                0xA4,
                &seq(&[encode(0x04, &[0x3F, 0x00, 0x50, 0x15, 0x60, 0x04])]),
            ),
            vec![0; 10],
        ]
        .concat();
        let e = parse_odf(&odf).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].tag, 0xA4);
        assert_eq!(path_to_fids(&e[1].path).unwrap(), [0x5015, 0x6004]);
        let ti = seq(&[
            encode(0x02, &[0]),
            encode(0x04, &[1, 2, 3]),
            encode(0x0C, b"DGP-FNMT"),
            encode(0x80, "DNI electrónico".as_bytes()),
            encode(0x03, &[0x06, 0x04]),
        ]);
        let ti = parse_token_info(&ti).unwrap();
        assert_eq!(ti.manufacturer_id.as_deref(), Some("DGP-FNMT"));
        assert_eq!(ti.label.as_deref(), Some("DNI electrónico"));
    }

    #[test]
    fn path_validation() {
        assert!(path_to_fids(&[]).is_err());
        assert!(path_to_fids(&[0x3F]).is_err());
        assert!(path_to_fids(&[0x3F, 0x00]).is_err());
        assert_eq!(path_to_fids(&[0x3F, 0x00, 0x00, 0x06]).unwrap(), [0x0006]);
    }

    /// The government's specimen files, if a copy is at hand (not committed: public data
    /// we do not redistribute). Set `DNIE_SPECIMEN_DIR` to a folder holding
    /// `CDF_ESPECIMEN.ber` and `PRKDF_ESPECIMEN.ber` from jmulticard's test resources.
    #[test]
    fn specimen_files_parse_when_available() {
        let Ok(dir) = std::env::var("DNIE_SPECIMEN_DIR") else {
            return;
        };
        let cdf = std::fs::read(format!("{dir}/CDF_ESPECIMEN.ber")).unwrap();
        let prkdf = std::fs::read(format!("{dir}/PRKDF_ESPECIMEN.ber")).unwrap();
        let certs = parse_cdf(&cdf).unwrap();
        let keys = parse_prkdf(&prkdf).unwrap();
        assert_eq!(certs.len(), 3);
        let auth = find_auth_certificate(&certs, Some(&keys)).unwrap();
        assert_eq!(auth.path, [0x60, 0x61, 0x70, 0x01]);
        let key = find_auth_key(&keys).unwrap();
        assert_eq!(key.reference(), Some(1));
        assert_eq!(key.path, [0x3F, 0x11, 0x01, 0x01]);
        assert_eq!(key.id, auth.id);
    }

    proptest! {
        #[test]
        fn never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_cdf(&data);
            let _ = parse_prkdf(&data);
            let _ = parse_odf(&data);
            let _ = parse_token_info(&data);
            let _ = path_to_fids(&data);
        }

        #[test]
        fn mutated_entries_never_panic(idx in 0usize..200, byte in any::<u8>()) {
            let mut cdf = cdf_entry("CertAutenticacion", b"abc", &[0x60, 0x61, 0x70, 0x01]);
            let i = idx % cdf.len();
            cdf[i] = byte;
            let _ = parse_cdf(&cdf);
            let mut prk = prkdf_entry("KprivAutenticacion", b"abc", 1, &[0x3F, 0x11, 0x01, 0x01]);
            let i = idx % prk.len();
            prk[i] = byte;
            let _ = parse_prkdf(&prk);
        }
    }
}
