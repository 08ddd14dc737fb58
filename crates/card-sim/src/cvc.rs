//! DNIe card-verifiable certificates (CWA-14890 terminal CVCs), DNIE.md §3.1.
//!
//! Layout: `7F21 L | 5F37 81 80 <sig> | 5F38 L <remainder> | 42 08 <CAR>`. The signature is
//! ISO 9796-2 DS1 with SHA-1 over `content`; the first 106 content bytes are recovered from it
//! and the rest travels in `5F38`. Content: `CPI | CAR(8) | CHR(12) | CHA(7) | OID | N | e`.

use crate::crypto::{
    RawPublicKey, iso9796_2_message, iso9796_2_recover, left_pad, rsa_private_raw,
};
use crate::tlv;

/// Certificate profile indicator of a terminal CA CVC (C_CV_CA).
pub const CPI_CA: u8 = 0x03;
/// Certificate profile indicator of a terminal (IFD) CVC (C_CV_IFD).
pub const CPI_IFD: u8 = 0x04;
/// CHA of C_CV_CA.
pub const CHA_CA: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x67, 0x45, 0x22];
/// CHA of the IFD CVC used for the user channel (and the only channel of DNIe 2.0).
pub const CHA_IFD_USER: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x67, 0x45, 0x02];
/// CHA of the IFD CVC used for the PIN channel (DNIe 3.0/4.0).
pub const CHA_IFD_PIN: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x67, 0x45, 0x08];
/// Algorithm OID bytes in a C_CV_CA.
pub const OID_CA: [u8; 7] = [0x2B, 0x24, 0x03, 0x04, 0x02, 0x02, 0x01];
/// Algorithm OID bytes in a C_CV_IFD.
pub const OID_IFD: [u8; 6] = [0x2B, 0x24, 0x07, 0x02, 0x01, 0x01];

/// The signed content of a DNIe CVC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CvcBody {
    /// Certificate profile indicator (03 CA, 04 IFD).
    pub cpi: u8,
    /// Certification authority reference: the name of the signing key.
    pub car: [u8; 8],
    /// Certificate holder reference (12 bytes: `00000000 ‖ name`).
    pub chr: [u8; 12],
    /// Certificate holder authorisation.
    pub cha: [u8; 7],
    /// Algorithm OID bytes.
    pub oid: Vec<u8>,
    /// Modulus (128 bytes).
    pub modulus: Vec<u8>,
    /// Public exponent (4 bytes, `00 01 00 01`).
    pub exponent: Vec<u8>,
}

impl CvcBody {
    /// Serialised content (the signed bytes).
    pub fn content(&self) -> Vec<u8> {
        let mut c = vec![self.cpi];
        c.extend_from_slice(&self.car);
        c.extend_from_slice(&self.chr);
        c.extend_from_slice(&self.cha);
        c.extend_from_slice(&self.oid);
        c.extend_from_slice(&self.modulus);
        c.extend_from_slice(&self.exponent);
        c
    }

    /// Parses the content layout (fixed fields; the OID takes what the 128-byte modulus and the
    /// 4-byte exponent leave).
    pub fn parse(content: &[u8]) -> Option<Self> {
        const FIXED: usize = 1 + 8 + 12 + 7 + 128 + 4;
        let oid_len = content.len().checked_sub(FIXED)?;
        if oid_len == 0 || oid_len > 16 {
            return None;
        }
        let mut car = [0u8; 8];
        car.copy_from_slice(&content[1..9]);
        let mut chr = [0u8; 12];
        chr.copy_from_slice(&content[9..21]);
        let mut cha = [0u8; 7];
        cha.copy_from_slice(&content[21..28]);
        let oid_end = 28 + oid_len;
        Some(Self {
            cpi: content[0],
            car,
            chr,
            cha,
            oid: content[28..oid_end].to_vec(),
            modulus: content[oid_end..oid_end + 128].to_vec(),
            exponent: content[oid_end + 128..].to_vec(),
        })
    }

    /// The 8-byte name in the CHR (its last 8 bytes).
    pub fn chr_name(&self) -> [u8; 8] {
        let mut n = [0u8; 8];
        n.copy_from_slice(&self.chr[4..]);
        n
    }

    /// The certified public key.
    pub fn public_key(&self) -> RawPublicKey {
        RawPublicKey::from_be(&self.modulus, &self.exponent)
    }
}

/// Signs `body` with `issuer` (the key named by `body.car`) and returns the CVC bytes.
pub fn build(body: &CvcBody, issuer: &rsa::RsaPrivateKey) -> Option<Vec<u8>> {
    let content = body.content();
    let k = rsa::traits::PublicKeyParts::size(issuer);
    let m = iso9796_2_message(&content, k)?;
    let sig = rsa_private_raw(issuer, &m)?;
    let sig = left_pad(&sig, k)?;
    let remainder = &content[k - 22..];
    let inner = tlv::cat(&[
        &tlv::tlv(&[0x5F, 0x37], &sig),
        &tlv::tlv(&[0x5F, 0x38], remainder),
        &tlv::t(0x42, &body.car),
    ]);
    Some(tlv::tlv(&[0x7F, 0x21], &inner))
}

/// Why a CVC was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CvcError {
    /// Not a `7F21` structure with `5F37`, `5F38` and `42`.
    #[error("malformed CVC")]
    Malformed,
    /// The signature does not recover to `6A … BC` with the issuer key, or the hash differs.
    #[error("CVC signature does not verify")]
    BadSignature,
    /// The content's CAR does not name the issuer key (or differs from the outer `42`).
    #[error("CVC CAR does not match the verifying key")]
    WrongIssuer,
}

/// Verifies `cvc` with `issuer` (whose name is `issuer_name`) and returns its body.
pub fn verify(
    cvc: &[u8],
    issuer: &RawPublicKey,
    issuer_name: &[u8; 8],
) -> Result<CvcBody, CvcError> {
    let (outer, rest) = tlv::parse_one(cvc).ok_or(CvcError::Malformed)?;
    if outer.tag != 0x7F21 || !rest.is_empty() {
        return Err(CvcError::Malformed);
    }
    let items = tlv::parse_all(outer.value).ok_or(CvcError::Malformed)?;
    let sig = tlv::find(&items, 0x5F37).ok_or(CvcError::Malformed)?;
    let remainder = tlv::find(&items, 0x5F38).ok_or(CvcError::Malformed)?;
    let car = tlv::find(&items, 0x42).ok_or(CvcError::Malformed)?;
    let (recovered, hash) = iso9796_2_recover(issuer, sig).ok_or(CvcError::BadSignature)?;
    let content = tlv::cat(&[&recovered, remainder]);
    if crate::crypto::sha1(&[&content]) != hash {
        return Err(CvcError::BadSignature);
    }
    let body = CvcBody::parse(&content).ok_or(CvcError::Malformed)?;
    if body.car != *issuer_name || car != issuer_name {
        return Err(CvcError::WrongIssuer);
    }
    Ok(body)
}
