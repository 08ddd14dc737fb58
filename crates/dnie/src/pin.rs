//! The citizen's PIN: 8–16 printable ASCII characters (DNIE.md §4), sent as raw ASCII.
//! Zeroized on drop; `Debug` prints nothing of it; no `Display`, no `Serialize`.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{DnieError, Result};

/// A DNIe PIN.
#[derive(Clone)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl Pin {
    /// Validates and wraps a PIN typed by the citizen. The input string is not kept
    /// (callers should hold it in a zeroizing type too).
    pub fn new(pin: &str) -> Result<Self> {
        let len = pin.chars().count();
        if !(8..=16).contains(&len) {
            return Err(DnieError::InvalidPinFormat("must have 8 to 16 characters"));
        }
        if !pin.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DnieError::InvalidPinFormat(
                "only letters, digits and symbols, no spaces or accents",
            ));
        }
        Ok(Pin(Zeroizing::new(pin.as_bytes().to_vec())))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(Pin::new("abcd1234").is_ok());
        assert!(Pin::new("ABCDEFGHIJKLMNOP").is_ok());
        assert!(Pin::new("abc1234").is_err());
        assert!(Pin::new("ABCDEFGHIJKLMNOPQ").is_err());
        assert!(Pin::new("abcd 1234").is_err());
        assert!(Pin::new("abcdñ1234").is_err());
        assert_eq!(Pin::new("x").unwrap_err().code(), "PIN-003");
    }

    #[test]
    fn debug_hides() {
        let p = Pin::new("Secret123").unwrap();
        assert!(!format!("{p:?}").contains("Secret"));
        assert_eq!(p.bytes(), b"Secret123");
    }
}
