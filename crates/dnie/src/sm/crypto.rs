//! Symmetric primitives of CWA-14890 secure messaging: two-key 3DES-CBC with IV 0,
//! ISO/IEC 7816-4 padding and the ISO/IEC 9797-1 algorithm 3 ("retail") MAC
//! (DNIE.md §3.3; OpenSC cwa14890.c `cwa_encode_apdu`).

use cipher::block_padding::NoPadding;
use cipher::{
    BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit,
    generic_array::GenericArray,
};
use des::{Des, TdesEde2};
use zeroize::Zeroizing;

/// A 16-byte two-key 3DES key (K1 ‖ K2), zeroized on drop.
pub type Key16 = Zeroizing<[u8; 16]>;

/// ISO/IEC 7816-4 padding: append `80` then `00` up to a multiple of 8.
pub fn pad(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    out
}

/// Removes ISO/IEC 7816-4 padding; `None` if there is none.
pub fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|b| *b != 0)?;
    (data[end] == 0x80).then(|| &data[..end])
}

type TdesCbcEnc = cbc::Encryptor<TdesEde2>;
type TdesCbcDec = cbc::Decryptor<TdesEde2>;

/// 3DES-CBC encryption, IV 0, of data whose length is a multiple of 8 (callers pad first;
/// a partial last block is zero-filled).
pub fn tdes_cbc_encrypt(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    buf.resize(data.len().div_ceil(8) * 8, 0);
    let len = buf.len();
    TdesCbcEnc::new(key.into(), &[0u8; 8].into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// 3DES-CBC decryption, IV 0. `None` if the length is not a multiple of 8.
pub fn tdes_cbc_decrypt(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(8) {
        return None;
    }
    let mut buf = data.to_vec();
    TdesCbcDec::new(key.into(), &[0u8; 8].into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .ok()
        .map(<[u8]>::to_vec)
}

/// ISO/IEC 9797-1 MAC algorithm 3 with DES, IV 0, over `data` (already padded to a
/// multiple of 8): single-DES CBC with K1 over every block, then DES⁻¹ with K2 and DES
/// with K1 on the last result. Returns the full 8-byte MAC.
pub fn retail_mac(key: &[u8; 16], data: &[u8]) -> [u8; 8] {
    let (k1, k2) = key.split_at(8);
    let d1 = Des::new(GenericArray::from_slice(k1));
    let d2 = Des::new(GenericArray::from_slice(k2));
    let mut h = GenericArray::clone_from_slice(&[0u8; 8]);
    for block in data.chunks(8) {
        for (i, x) in block.iter().enumerate() {
            h[i] ^= x;
        }
        d1.encrypt_block(&mut h);
    }
    d2.decrypt_block(&mut h);
    d1.encrypt_block(&mut h);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h);
    out
}

/// Constant-time byte-slice equality (lengths are public).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding() {
        assert_eq!(pad(&[]), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(pad(&[1; 8]).len(), 16);
        assert_eq!(pad(&[1; 7]), [1, 1, 1, 1, 1, 1, 1, 0x80]);
        assert_eq!(unpad(&pad(&[1, 0, 2])).unwrap(), [1, 0, 2]);
        assert_eq!(unpad(&pad(&[])).unwrap(), [] as [u8; 0]);
        assert!(unpad(&[1, 2, 0]).is_none());
        assert!(unpad(&[0, 0]).is_none());
    }

    #[test]
    fn cbc_roundtrip() {
        let key = [7u8; 16];
        let key2: [u8; 16] = core::array::from_fn(|i| i as u8 * 17);
        let data = pad(b"some secret data that spans blocks");
        let enc = tdes_cbc_encrypt(&key2, &data);
        assert_ne!(enc, data);
        assert_eq!(tdes_cbc_decrypt(&key2, &enc).unwrap(), data);
        assert!(tdes_cbc_decrypt(&key, &[0; 7]).is_none());
    }

    #[test]
    fn retail_mac_equals_3des_when_k1_equals_k2() {
        // With K1 = K2 the final DES⁻¹/DES cancel out: the MAC is plain single-DES CBC-MAC,
        // which equals 3DES-CBC with K1=K2 (EDE collapses to DES).
        let key = [0x11u8; 16];
        let data = pad(b"abcdefghij");
        let mac = retail_mac(&key, &data);
        let cbc = tdes_cbc_encrypt(&key, &data);
        assert_eq!(&mac[..], &cbc[cbc.len() - 8..]);
    }
}
