//! Cryptographic primitives of the card side: 3DES-CBC (IV 0), ISO 7816-4 padding, the ISO 9797-1
//! algorithm 3 retail MAC of CWA-14890 secure messaging, raw RSA and ISO 9796-2 DS1 (SHA-1).
//!
//! DNIE.md §3.2–§3.3. Everything here is our own code written from those facts.

use cipher::generic_array::GenericArray;
use cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::{Des, TdesEde2};
use rsa::BigUint;
use rsa::traits::PublicKeyParts;
use sha1::{Digest, Sha1};

/// ISO/IEC 7816-4 padding: `80` then `00` up to a multiple of 8 (always adds at least one byte).
pub fn iso_pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % 8 != 0 {
        out.push(0x00);
    }
    out
}

/// Removes ISO/IEC 7816-4 padding; `None` when the padding is malformed.
pub fn iso_unpad(data: &[u8]) -> Option<&[u8]> {
    let pos = data.iter().rposition(|&b| b != 0)?;
    if data[pos] == 0x80 && data.len() - pos <= 8 {
        Some(&data[..pos])
    } else {
        None
    }
}

fn tdes(key: &[u8; 16]) -> Option<TdesEde2> {
    TdesEde2::new_from_slice(key).ok()
}

/// Two-key 3DES in CBC mode with a zero IV. `data` must be a multiple of 8 bytes.
pub fn tdes_cbc_encrypt(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let Some(cipher) = tdes(key) else {
        return Vec::new();
    };
    let mut chain = [0u8; 8];
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(8) {
        let mut b = [0u8; 8];
        for (i, x) in block.iter().enumerate() {
            b[i] = x ^ chain[i];
        }
        b[block.len()..].copy_from_slice(&chain[block.len()..]);
        let mut ga = GenericArray::from(b);
        cipher.encrypt_block(&mut ga);
        chain.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    out
}

/// Two-key 3DES CBC decryption with a zero IV; `None` unless `data` is a multiple of 8 bytes.
pub fn tdes_cbc_decrypt(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(8) {
        return None;
    }
    let cipher = tdes(key)?;
    let mut chain = [0u8; 8];
    let mut out = Vec::with_capacity(data.len());
    for block in data.chunks(8) {
        let mut ga = GenericArray::clone_from_slice(block);
        cipher.decrypt_block(&mut ga);
        for i in 0..8 {
            out.push(ga[i] ^ chain[i]);
        }
        chain.copy_from_slice(block);
    }
    Some(out)
}

/// ISO 9797-1 MAC algorithm 3 ("retail MAC"), IV 0: single DES with K1 over every block, then
/// decrypt with K2 and encrypt with K1. `data` must already be padded to a multiple of 8.
pub fn retail_mac(key: &[u8; 16], data: &[u8]) -> [u8; 8] {
    let (Ok(k1), Ok(k2)) = (
        Des::new_from_slice(&key[..8]),
        Des::new_from_slice(&key[8..]),
    ) else {
        return [0u8; 8];
    };
    let mut h = GenericArray::from([0u8; 8]);
    for block in data.chunks(8) {
        for (i, x) in block.iter().enumerate() {
            h[i] ^= x;
        }
        k1.encrypt_block(&mut h);
    }
    k2.decrypt_block(&mut h);
    k1.encrypt_block(&mut h);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h);
    out
}

/// Big-endian +1 of the send-sequence counter.
pub fn ssc_increment(ssc: &mut [u8; 8]) {
    for b in ssc.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
}

/// SHA-1 of the concatenation of `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `bytes` as a big-endian integer left-padded to `len` bytes (`None` if it does not fit).
pub fn left_pad(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[first..];
    if significant.len() > len {
        return None;
    }
    let mut out = vec![0u8; len - significant.len()];
    out.extend_from_slice(significant);
    Some(out)
}

/// A raw RSA public key (modulus and exponent), as the card keeps the terminal keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPublicKey {
    /// Modulus N.
    pub n: BigUint,
    /// Public exponent e.
    pub e: BigUint,
}

impl RawPublicKey {
    /// From big-endian modulus and exponent bytes.
    pub fn from_be(n: &[u8], e: &[u8]) -> Self {
        Self {
            n: BigUint::from_bytes_be(n),
            e: BigUint::from_bytes_be(e),
        }
    }

    /// The public half of an `rsa` key.
    pub fn of(key: &impl PublicKeyParts) -> Self {
        Self {
            n: key.n().clone(),
            e: key.e().clone(),
        }
    }

    /// Modulus length in bytes.
    pub fn len(&self) -> usize {
        self.n.bits().div_ceil(8)
    }

    /// Always false for a real key (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Raw `x^e mod n`, output left-padded to the modulus length; `None` if `x >= n`.
    pub fn raw(&self, x: &[u8]) -> Option<Vec<u8>> {
        let x = BigUint::from_bytes_be(x);
        if x >= self.n || self.n.bits() < 2 {
            return None;
        }
        left_pad(&x.modpow(&self.e, &self.n).to_bytes_be(), self.len())
    }
}

/// Raw RSA private operation (CRT) `x^d mod n`, left-padded to the modulus length.
pub fn rsa_private_raw(key: &rsa::RsaPrivateKey, x: &[u8]) -> Option<Vec<u8>> {
    let c = BigUint::from_bytes_be(x);
    let m = rsa::hazmat::rsa_decrypt_and_check(key, None::<&mut rand::rngs::StdRng>, &c).ok()?;
    left_pad(&m.to_bytes_be(), key.size())
}

/// `n - x` for big-endian byte strings, left-padded to `len`.
pub fn n_minus(n: &BigUint, x: &[u8], len: usize) -> Option<Vec<u8>> {
    let x = BigUint::from_bytes_be(x);
    if &x > n {
        return None;
    }
    left_pad(&(n - x).to_bytes_be(), len)
}

/// `min(x, n - x)` (CWA-14890 SIGMIN), left-padded to `len`.
pub fn sig_min(n: &BigUint, x: &[u8], len: usize) -> Option<Vec<u8>> {
    let xv = BigUint::from_bytes_be(x);
    if &xv > n {
        return None;
    }
    let other = n - &xv;
    let m = if other < xv { other } else { xv };
    left_pad(&m.to_bytes_be(), len)
}

/// Builds an ISO 9796-2 DS1 message for a 1024-bit key with SHA-1 and total recovery of
/// `content[..106]`: `6A ‖ content[0..106] ‖ SHA1(content) ‖ BC`. `content` must be ≥ 106 bytes.
pub fn iso9796_2_message(content: &[u8], k: usize) -> Option<Vec<u8>> {
    let recoverable = k.checked_sub(22)?;
    if content.len() < recoverable {
        return None;
    }
    let mut m = Vec::with_capacity(k);
    m.push(0x6A);
    m.extend_from_slice(&content[..recoverable]);
    m.extend_from_slice(&sha1(&[content]));
    m.push(0xBC);
    Some(m)
}

/// Recovers an ISO 9796-2 DS1 (SHA-1) signature with `key`; accepts the message or `n - message`.
/// Returns the recovered part (`k - 22` bytes) and the hash.
pub fn iso9796_2_recover(key: &RawPublicKey, sig: &[u8]) -> Option<(Vec<u8>, [u8; 20])> {
    let k = key.len();
    if sig.len() != k || k < 23 {
        return None;
    }
    let m = key.raw(sig)?;
    let m = if m[0] == 0x6A && m[k - 1] == 0xBC {
        m
    } else {
        let alt = n_minus(&key.n, &m, k)?;
        if alt[0] == 0x6A && alt[k - 1] == 0xBC {
            alt
        } else {
            return None;
        }
    };
    let mut hash = [0u8; 20];
    hash.copy_from_slice(&m[k - 21..k - 1]);
    Some((m[1..k - 21].to_vec(), hash))
}

/// Raw RSA private operation from big-endian modulus and private exponent (no CRT), as a reader
/// holding the IFD key bytes does it; output left-padded to the modulus length.
pub fn rsa_private_raw_parts(n: &[u8], d: &[u8], x: &[u8]) -> Option<Vec<u8>> {
    let n = BigUint::from_bytes_be(n);
    let x = BigUint::from_bytes_be(x);
    if x >= n {
        return None;
    }
    left_pad(
        &x.modpow(&BigUint::from_bytes_be(d), &n).to_bytes_be(),
        n.bits().div_ceil(8),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_round_trip() {
        assert_eq!(iso_pad(&[1, 2, 3]), vec![1, 2, 3, 0x80, 0, 0, 0, 0]);
        assert_eq!(iso_pad(&[0; 8]).len(), 16);
        assert_eq!(iso_unpad(&iso_pad(&[9, 0, 0])), Some(&[9u8, 0, 0][..]));
        assert_eq!(iso_unpad(&[1, 2, 0, 0]), None);
    }

    #[test]
    fn ssc_carries() {
        let mut s = [0, 0, 0, 0, 0, 0, 0x01, 0xFF];
        ssc_increment(&mut s);
        assert_eq!(s, [0, 0, 0, 0, 0, 0, 0x02, 0x00]);
    }

    #[test]
    fn tdes_round_trip() {
        let k = [7u8; 16];
        let data = iso_pad(b"Master.File");
        let c = tdes_cbc_encrypt(&k, &data);
        assert_eq!(tdes_cbc_decrypt(&k, &c), Some(data));
    }
}
