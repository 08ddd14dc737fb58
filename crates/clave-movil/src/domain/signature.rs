//! Device-signed calls.
//!
//! Every call a device makes after activation (and the activation's own last step)
//! carries four headers:
//!
//! | header | value |
//! |---|---|
//! | `X-Clave-Device` | the device id (for activation: absent, the key is in the body) |
//! | `X-Clave-Timestamp` | milliseconds since the Unix epoch |
//! | `X-Clave-Nonce` | 16–64 random bytes, base64url (no padding) |
//! | `X-Clave-Signature` | ECDSA P-256 / SHA-256 signature, 64 bytes `r‖s`, base64url |
//!
//! over the canonical string
//!
//! ```text
//! clave-movil-v1\n<device id or "activation">\n<METHOD>\n<path?query>\n<timestamp>\n<nonce>\n<hex SHA-256 of the body>
//! ```
//!
//! A timestamp more than `signature_skew_secs` away from the server clock, or from
//! before the server started (so a restart does not reopen the replay window), is
//! refused; so is a nonce already seen for that device within the window.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};

use chrono::{DateTime, Utc};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

use crate::error::ClaveError;
use crate::util::{b64, sha256, unb64};

pub const HEADER_DEVICE: &str = "x-clave-device";
pub const HEADER_TIMESTAMP: &str = "x-clave-timestamp";
pub const HEADER_NONCE: &str = "x-clave-nonce";
pub const HEADER_SIGNATURE: &str = "x-clave-signature";
/// The device id slot of the canonical string during activation.
pub const ACTIVATION_SUBJECT: &str = "activation";

/// The canonical string a device signs.
pub fn canonical(
    subject: &str,
    method: &str,
    path_and_query: &str,
    timestamp_ms: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    format!(
        "clave-movil-v1\n{subject}\n{method}\n{path_and_query}\n{timestamp_ms}\n{nonce}\n{}",
        hex::encode(sha256(body))
    )
}

/// A device's P-256 public key, validated (on the curve, not the identity).
#[derive(Clone)]
pub struct DevicePublicKey {
    /// Uncompressed SEC1 point, 65 bytes.
    sec1: Vec<u8>,
    verifier: UnparsedPublicKey<Vec<u8>>,
}

impl std::fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DevicePublicKey({})", &self.to_b64()[..8])
    }
}

impl PartialEq for DevicePublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.sec1 == other.sec1
    }
}

impl DevicePublicKey {
    /// From base64url of a SEC1 point (compressed or uncompressed).
    pub fn from_b64(text: &str) -> Result<DevicePublicKey, ClaveError> {
        if text.len() > 100 {
            return Err(ClaveError::InvalidPublicKey);
        }
        let bytes = unb64(text).ok_or(ClaveError::InvalidPublicKey)?;
        let key =
            p256::PublicKey::from_sec1_bytes(&bytes).map_err(|_| ClaveError::InvalidPublicKey)?;
        let sec1 = key.to_encoded_point(false).as_bytes().to_vec();
        Ok(DevicePublicKey {
            verifier: UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, sec1.clone()),
            sec1,
        })
    }

    /// base64url of the uncompressed point (what the store keeps).
    pub fn to_b64(&self) -> String {
        b64(&self.sec1)
    }

    /// Checks a 64-byte `r‖s` signature over `message` (ring's P-256, fast).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == 64 && self.verifier.verify(message, signature).is_ok()
    }
}

/// The signature headers of one call, parsed but not yet checked.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    pub device_id: Option<String>,
    pub timestamp_ms: i64,
    pub nonce: String,
    pub signature: Vec<u8>,
}

impl SignedHeaders {
    /// From header values (`None` when absent).
    pub fn parse(
        device: Option<&str>,
        timestamp: Option<&str>,
        nonce: Option<&str>,
        signature: Option<&str>,
    ) -> Result<SignedHeaders, ClaveError> {
        let (Some(timestamp), Some(nonce), Some(signature)) = (timestamp, nonce, signature) else {
            return Err(ClaveError::SignatureMissing);
        };
        let timestamp_ms: i64 =
            if timestamp.len() <= 16 && timestamp.bytes().all(|b| b.is_ascii_digit()) {
                timestamp
                    .parse()
                    .map_err(|_| ClaveError::SignatureMissing)?
            } else {
                return Err(ClaveError::SignatureMissing);
            };
        let nonce_bytes = unb64(nonce).ok_or(ClaveError::SignatureMissing)?;
        if !(16..=64).contains(&nonce_bytes.len()) {
            return Err(ClaveError::SignatureMissing);
        }
        let signature = unb64(signature).ok_or(ClaveError::SignatureMissing)?;
        if signature.len() != 64 {
            return Err(ClaveError::SignatureMissing);
        }
        let device_id = match device {
            Some(d) if d.len() == 36 && d.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') => {
                Some(d.to_owned())
            }
            Some(_) => return Err(ClaveError::SignatureMissing),
            None => None,
        };
        Ok(SignedHeaders {
            device_id,
            timestamp_ms,
            nonce: nonce.to_owned(),
            signature,
        })
    }

    /// Checks the timestamp window: within `skew_ms` of `now` and not before `started`.
    pub fn check_time(
        &self,
        now: DateTime<Utc>,
        started: DateTime<Utc>,
        skew_ms: i64,
    ) -> Result<(), ClaveError> {
        let now_ms = now.timestamp_millis();
        if (self.timestamp_ms - now_ms).abs() > skew_ms
            || self.timestamp_ms < started.timestamp_millis() - 1000
        {
            return Err(ClaveError::SignatureStale);
        }
        Ok(())
    }
}

/// The nonces seen per device inside the time window. Memory is bounded by the calls
/// a device makes within the window (16 bytes a call, plus the set).
#[derive(Debug)]
pub struct NonceCache {
    hasher: RandomState,
    window_ms: i64,
    per_subject: HashMap<String, Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<(i64, u64)>,
    set: HashSet<u64>,
}

impl NonceCache {
    pub fn new(window_ms: i64) -> NonceCache {
        NonceCache {
            hasher: RandomState::new(),
            window_ms,
            per_subject: HashMap::new(),
        }
    }

    /// Records `nonce` for `subject`; false when it was already seen (a replay).
    pub fn check_and_insert(&mut self, subject: &str, nonce: &str, now_ms: i64) -> bool {
        let fp = self.hasher.hash_one(nonce);
        let seen = self.per_subject.entry(subject.to_owned()).or_default();
        while let Some((at, old)) = seen.order.front().copied() {
            if at >= now_ms - self.window_ms {
                break;
            }
            seen.order.pop_front();
            seen.set.remove(&old);
        }
        if !seen.set.insert(fp) {
            return false;
        }
        seen.order.push_back((now_ms, fp));
        true
    }

    /// Forgets subjects with nothing inside the window.
    pub fn purge(&mut self, now_ms: i64) {
        let limit = now_ms - self.window_ms;
        self.per_subject
            .retain(|_, s| s.order.back().is_some_and(|(at, _)| *at >= limit));
    }

    pub fn len(&self) -> usize {
        self.per_subject.values().map(|s| s.order.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};

    #[test]
    fn verifies_p256_signatures_from_the_p256_crate() {
        let sk = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let pk = b64(sk.verifying_key().to_encoded_point(true).as_bytes());
        let key = DevicePublicKey::from_b64(&pk).unwrap();
        assert_eq!(key.to_b64().len(), 87); // uncompressed, 65 bytes
        let msg = canonical("dev", "POST", "/v1/x?a=1", 1, "n", b"{}");
        let sig: Signature = sk.sign(msg.as_bytes());
        assert!(key.verify(msg.as_bytes(), &sig.to_bytes()));
        let other = canonical("dev", "POST", "/v1/x?a=2", 1, "n", b"{}");
        assert!(!key.verify(other.as_bytes(), &sig.to_bytes()));
        assert!(!key.verify(msg.as_bytes(), &sig.to_bytes()[..63]));
        assert!(DevicePublicKey::from_b64("AAAA").is_err());
        assert!(DevicePublicKey::from_b64(&"A".repeat(87)).is_err());
    }

    #[test]
    fn headers_and_time_window() {
        let sig = b64(&[1u8; 64]);
        let nonce = b64(&[2u8; 16]);
        let h = SignedHeaders::parse(None, Some("1000"), Some(&nonce), Some(&sig)).unwrap();
        let t = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        assert!(h.check_time(t(20_000), t(0), 30_000).is_ok());
        assert_eq!(
            h.check_time(t(40_000), t(0), 30_000),
            Err(ClaveError::SignatureStale)
        );
        // Signed before the server started: refused even inside the skew.
        assert_eq!(
            h.check_time(t(20_000), t(10_000), 30_000),
            Err(ClaveError::SignatureStale)
        );
        for (ts, n, s) in [
            (None, Some(nonce.as_str()), Some(sig.as_str())),
            (Some("-5"), Some(nonce.as_str()), Some(sig.as_str())),
            (Some("1"), Some("AAAA"), Some(sig.as_str())),
            (Some("1"), Some(nonce.as_str()), Some("AAAA")),
        ] {
            assert_eq!(
                SignedHeaders::parse(None, ts, n, s).unwrap_err(),
                ClaveError::SignatureMissing
            );
        }
        assert!(SignedHeaders::parse(Some("../etc"), Some("1"), Some(&nonce), Some(&sig)).is_err());
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let mut cache = NonceCache::new(60_000);
        assert!(cache.check_and_insert("d1", "n1", 0));
        assert!(!cache.check_and_insert("d1", "n1", 10));
        assert!(cache.check_and_insert("d2", "n1", 10));
        assert!(cache.check_and_insert("d1", "n2", 20));
        assert_eq!(cache.len(), 3);
        // Outside the window the old entries go (the timestamp check refuses them anyway).
        assert!(cache.check_and_insert("d1", "n3", 70_000));
        assert_eq!(cache.len(), 2);
        cache.purge(200_000);
        assert!(cache.is_empty());
    }
}
