//! Small helpers: ids, tokens, base64url, keyed hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use registry::Random;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// A fresh id in the UUID v4 layout, from the injected random source.
pub fn new_id(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A fresh id in the UUID v7 layout: milliseconds since the epoch from the injected
/// clock, then 74 random bits. Ids made in order sort in order, so inserts land at the
/// end of the primary-key index instead of on a random page each (one dirty page per
/// commit instead of one per row). Ids are names, not secrets: every call that takes
/// one is authenticated and checked against its owner.
pub fn new_ordered_id(now: chrono::DateTime<chrono::Utc>, random: &dyn Random) -> String {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random_bytes(random))
        .into_uuid()
        .to_string()
}

/// `n` random bytes.
pub fn random_bytes<const N: usize>(random: &dyn Random) -> [u8; N] {
    let mut bytes = [0u8; N];
    random.fill(&mut bytes);
    bytes
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// HMAC-SHA256 over length-prefixed parts (no two part lists give the same input).
pub fn hmac_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Comparison whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Plain HMAC-SHA256 (the QR frames: `HMAC(secret, ascii seconds)`, as BankID does).
pub fn hmac_plain(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::SeededRandom;

    #[test]
    fn ids_and_tokens() {
        let r = SeededRandom::new(1);
        let id = new_id(&r);
        assert_eq!(id.len(), 36);
        assert_ne!(id, new_id(&r));
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let a = new_ordered_id(t0, &r);
        let b = new_ordered_id(t0 + chrono::Duration::milliseconds(1), &r);
        let c = new_ordered_id(t0 + chrono::Duration::seconds(3600), &r);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert_ne!(a, new_ordered_id(t0, &r));
        let t: [u8; 16] = random_bytes(&r);
        assert_eq!(unb64(&b64(&t)).unwrap(), t.to_vec());
        assert!(unb64("***").is_none());
    }

    #[test]
    fn keyed_hashes() {
        let a = hmac_parts(b"k", &[b"ab", b"c"]);
        let b = hmac_parts(b"k", &[b"a", b"bc"]);
        assert_ne!(a, b);
        assert!(constant_time_eq(&a, &a));
        assert!(!constant_time_eq(&a, &b));
        assert!(!constant_time_eq(&a, &a[..3]));
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_plain(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
