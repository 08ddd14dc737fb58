//! Raw RSA and ISO/IEC 9796-2 message recovery of the DNIe card-verifiable certificates
//! (DNIE.md §3.1 "CVC layout").
//!
//! A CVC is `7F21 { 5F37 <signature> 5F38 <non-recoverable remainder> 42 <CAR> }`. The
//! signature opens, with the signer's public key, to `6A ‖ content[..k-22] ‖ SHA-1(content)
//! ‖ BC` where `content = recovered part ‖ remainder`.

use rsa::BigUint;
use sha1::{Digest, Sha1};

use crate::error::{DnieError, Result};
use crate::tlv;

/// `value^exp mod modulus`, big-endian, left-padded with zeros to the modulus length.
/// Errors if the value is not smaller than the modulus.
pub fn rsa_raw(value: &[u8], exp: &[u8], modulus: &[u8]) -> Result<Vec<u8>> {
    let n = BigUint::from_bytes_be(modulus);
    let v = BigUint::from_bytes_be(value);
    if v >= n || n.bits() < 512 {
        return Err(DnieError::Handshake("RSA input out of range"));
    }
    Ok(left_pad(
        &v.modpow(&BigUint::from_bytes_be(exp), &n).to_bytes_be(),
        byte_len(modulus),
    ))
}

/// Length of a big-endian number without leading zeros.
pub(crate) fn byte_len(n: &[u8]) -> usize {
    n.iter().position(|b| *b != 0).map_or(0, |i| n.len() - i)
}

/// Left-pads with zeros to `len` (returns the input if already longer).
pub(crate) fn left_pad(v: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(v.len())];
    out.extend_from_slice(v);
    out
}

/// The parts of a CVC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvcParts {
    /// `5F37` signature.
    pub signature: Vec<u8>,
    /// `5F38` non-recoverable remainder.
    pub remainder: Vec<u8>,
    /// `42` certification authority reference (name of the signing key).
    pub car: Vec<u8>,
}

/// Splits a CVC into its data objects.
pub fn split(cvc: &[u8]) -> Result<CvcParts> {
    let bad = DnieError::BadConfig("card-verifiable certificate");
    let (outer, _) = tlv::parse_one(cvc).map_err(|_| bad.clone())?;
    if outer.tag != 0x7F21 {
        return Err(bad);
    }
    let get = |tag| {
        outer
            .child(tag)
            .map(|t| t.value.to_vec())
            .ok_or_else(|| bad.clone())
    };
    Ok(CvcParts {
        signature: get(0x5F37)?,
        remainder: get(0x5F38)?,
        car: get(0x42)?,
    })
}

/// Recovers a CVC's content with the signer's public key, checking the `6A … BC` frame
/// and the SHA-1 over the content.
pub fn recover(cvc: &[u8], modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>> {
    let bad = DnieError::BadConfig("CVC signature does not recover");
    let parts = split(cvc)?;
    let m = rsa_raw(&parts.signature, exponent, modulus).map_err(|_| bad.clone())?;
    let k = m.len();
    if k < 22 || m[0] != 0x6A || m[k - 1] != 0xBC {
        return Err(bad);
    }
    let mut content = m[1..k - 21].to_vec();
    content.extend_from_slice(&parts.remainder);
    if Sha1::digest(&content)[..] != m[k - 21..k - 1] {
        return Err(bad);
    }
    Ok(content)
}

/// Decoded content of a DNIe CVC: `CPI | CAR 8 | CHR 12 | CHA 7 | OID | modulus | exponent 4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvcContent {
    /// Certificate profile identifier.
    pub cpi: u8,
    /// Certification authority reference.
    pub car: [u8; 8],
    /// Certificate holder reference (`00000000 ‖ name`).
    pub chr: [u8; 12],
    /// Certificate holder authorisation.
    pub cha: [u8; 7],
    /// Algorithm OID (without tag/length).
    pub oid: Vec<u8>,
    /// Public modulus.
    pub modulus: Vec<u8>,
    /// Public exponent.
    pub exponent: [u8; 4],
}

/// Parses recovered content for a key of `modulus_len` bytes.
pub fn parse_content(c: &[u8], modulus_len: usize) -> Result<CvcContent> {
    let bad = DnieError::BadConfig("CVC content layout");
    let fixed = 1 + 8 + 12 + 7;
    if c.len() < fixed + modulus_len + 4 {
        return Err(bad);
    }
    let exp_at = c.len() - 4;
    let mod_at = exp_at - modulus_len;
    let arr = |r: std::ops::Range<usize>| c.get(r).ok_or_else(|| bad.clone());
    Ok(CvcContent {
        cpi: c[0],
        car: arr(1..9)?.try_into().map_err(|_| bad.clone())?,
        chr: arr(9..21)?.try_into().map_err(|_| bad.clone())?,
        cha: arr(21..28)?.try_into().map_err(|_| bad.clone())?,
        oid: arr(28..mod_at)?.to_vec(),
        modulus: arr(mod_at..exp_at)?.to_vec(),
        exponent: arr(exp_at..c.len())?.try_into().map_err(|_| bad.clone())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::keys::TerminalKeySet;

    /// The built-in production constants check each other (DNIE.md §3.1): the root key
    /// recovers the terminal CA certificate (CAR = root name, CHR = CA name), the CA key so
    /// recovered recovers both terminal certificates, and those carry exactly the IFD
    /// moduli whose private exponents are built in.
    #[test]
    fn production_constants_are_consistent() {
        for set in [
            TerminalKeySet::production_legacy(),
            TerminalKeySet::production_r2(),
        ] {
            let root = &set.root;
            let ca = recover(&set.ca_cvc, &root.modulus, &root.exponent).unwrap();
            assert_eq!(ca.len(), 167, "{}", set.name);
            let ca = parse_content(&ca, 128).unwrap();
            assert_eq!(ca.cpi, 0x03);
            assert_eq!(ca.car, root.chr);
            assert_eq!(split(&set.ca_cvc).unwrap().car, root.chr);
            assert_eq!(ca.chr[4..], set.ca_chr);
            assert_eq!(ca.cha, [0xA0, 0x00, 0x00, 0x01, 0x67, 0x45, 0x22]);
            assert_eq!(ca.oid, [0x2B, 0x24, 0x03, 0x04, 0x02, 0x02, 0x01]);
            assert_eq!(ca.exponent, [0, 1, 0, 1]);
            for (ifd, role) in [(&set.user, 0x02u8), (&set.pin, 0x08u8)] {
                let c = recover(&ifd.cvc, &ca.modulus, &ca.exponent).unwrap();
                assert_eq!(c.len(), 166);
                let c = parse_content(&c, 128).unwrap();
                assert_eq!(c.cpi, 0x04);
                assert_eq!(c.car[..], set.ca_chr);
                assert_eq!(c.chr, ifd.chr());
                assert_eq!(c.cha[6], role);
                assert_eq!(c.modulus, ifd.modulus, "{} IFD modulus", set.name);
                // The private exponent belongs to that modulus: m^(d·e) = m.
                let m = [0x42u8; 100];
                let s = rsa_raw(&m, &ifd.private_exponent, &ifd.modulus).unwrap();
                assert_eq!(rsa_raw(&s, &[1, 0, 1], &ifd.modulus).unwrap()[28..], m);
            }
            // The wrong root does not recover it.
            let other = if set.name == "legacy" {
                TerminalKeySet::production_r2()
            } else {
                TerminalKeySet::production_legacy()
            };
            assert!(recover(&set.ca_cvc, &other.root.modulus, &other.root.exponent).is_err());
        }
    }

    #[test]
    fn split_rejects_garbage() {
        assert!(split(&[]).is_err());
        assert!(split(&[0x7F, 0x21, 0x00]).is_err());
        assert!(parse_content(&[0; 20], 128).is_err());
        assert!(rsa_raw(&[1], &[1], &[0; 4]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = split(&data);
            let _ = parse_content(&data, 128);
            let _ = recover(&data, &TerminalKeySet::production_legacy().root.modulus, &[1, 0, 1]);
        }
    }
}
