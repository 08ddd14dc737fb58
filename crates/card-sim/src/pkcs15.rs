//! PKCS#15 structures of the DNIe (DF `5015`, DNIE.md §2), real DER built by hand, shaped like
//! the 2016 specimen CDF/PrKDF: TokenInfo `5032`, ODF `5031`, CDF `6004`, PrKDF `6001`; and the
//! compressed certificate file format.

use std::io::Write;

use crate::error::Error;
use crate::tlv::t;

/// TokenInfo: version 0, serial number, manufacturerID "DGP-FNMT", label [0] "DNI electrónico",
/// token flags (readonly, loginRequired).
pub fn token_info(serial: &[u8]) -> Vec<u8> {
    t(
        0x30,
        &[
            t(0x02, &[0x00]),
            t(0x04, serial),
            t(0x0C, b"DGP-FNMT"),
            t(0x80, "DNI electrónico".as_bytes()),
            t(0x03, &[0x06, 0xC0]),
        ]
        .concat(),
    )
}

/// ODF: private keys [0] → `6001`, certificates [4] → `6004` (paths relative to DF 5015).
pub fn odf() -> Vec<u8> {
    [
        t(0xA0, &t(0x30, &t(0x04, &[0x60, 0x01]))),
        t(0xA4, &t(0x30, &t(0x04, &[0x60, 0x04]))),
    ]
    .concat()
}

fn path(p: &[u8], length: usize) -> Vec<u8> {
    let len = u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes();
    t(
        0x30,
        &[t(0x04, p), t(0x02, &[0x00]), t(0x80, &len)].concat(),
    )
}

fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let mut v = bytes[first..].to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    t(0x02, &v)
}

/// One certificate described in the CDF.
#[derive(Clone, Debug)]
pub struct CertEntry<'a> {
    /// Label ("CertAutenticacion").
    pub label: &'a str,
    /// 29-character ASCII ID shared with the private key.
    pub id: &'a [u8],
    /// Path from the MF (`6061 7001`).
    pub path: [u8; 4],
    /// Length of the (compressed) file content.
    pub length: usize,
    /// Subject Name DER.
    pub subject: &'a [u8],
    /// Issuer Name DER.
    pub issuer: &'a [u8],
    /// Serial number bytes.
    pub serial: &'a [u8],
}

/// CDF: X509CertificateObject entries.
pub fn cdf(entries: &[CertEntry<'_>]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| {
            t(
                0x30,
                &[
                    t(
                        0x30,
                        &[t(0x0C, e.label.as_bytes()), t(0x03, &[0x06, 0x40])].concat(),
                    ),
                    t(0x30, &t(0x04, e.id)),
                    t(
                        0xA1,
                        &t(
                            0x30,
                            &[
                                path(&e.path, e.length),
                                e.subject.to_vec(),
                                t(0xA0, e.issuer),
                                der_integer(e.serial),
                            ]
                            .concat(),
                        ),
                    ),
                ]
                .concat(),
            )
        })
        .collect()
}

/// One private key described in the PrKDF.
#[derive(Clone, Debug)]
pub struct KeyEntry<'a> {
    /// Label ("KprivAutenticacion").
    pub label: &'a str,
    /// Same ID as the certificate.
    pub id: &'a [u8],
    /// Key reference (01 auth, 02 sign).
    pub key_ref: u8,
    /// Path from the MF (`3F11 0101`).
    pub path: [u8; 4],
    /// Modulus length in bits.
    pub bits: u16,
}

/// PrKDF: PrivateRSAKeyObject entries.
pub fn prkdf(entries: &[KeyEntry<'_>]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| {
            t(
                0x30,
                &[
                    t(
                        0x30,
                        &[t(0x0C, e.label.as_bytes()), t(0x03, &[0x06, 0xC0])].concat(),
                    ),
                    t(
                        0x30,
                        &[
                            t(0x04, e.id),
                            t(0x03, &[0x06, 0x20, 0x00]),
                            t(0x01, &[0xFF]),
                            t(0x03, &[0x03, 0xB8]),
                            t(0x02, &[e.key_ref]),
                        ]
                        .concat(),
                    ),
                    t(
                        0xA1,
                        &t(
                            0x30,
                            &[path(&e.path, 0), t(0x02, &e.bits.to_be_bytes())].concat(),
                        ),
                    ),
                ]
                .concat(),
            )
        })
        .collect()
}

/// The 29-character ID linking a certificate and its key: `prefix` + 28 hex digits of
/// SHA-1(modulus).
pub fn object_id(prefix: char, modulus: &[u8]) -> Vec<u8> {
    let h = crate::crypto::sha1(&[modulus]);
    format!("{prefix}{}", hex::encode_upper(&h[..14])).into_bytes()
}

/// Compressed-certificate file content: 4-byte LE uncompressed length ‖ 4-byte LE compressed
/// length ‖ zlib stream.
pub fn compress_cert(cert: &[u8]) -> Result<Vec<u8>, Error> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(cert)?;
    let z = enc.finish()?;
    let mut out = Vec::with_capacity(8 + z.len());
    out.extend_from_slice(&(cert.len() as u32).to_le_bytes());
    out.extend_from_slice(&(z.len() as u32).to_le_bytes());
    out.extend_from_slice(&z);
    Ok(out)
}
