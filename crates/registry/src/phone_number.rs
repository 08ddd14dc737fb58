//! The citizen's mobile phone (Cl@ve sends SMS codes to it), stored in E.164.
//!
//! Parsing and number types come from the `phonenumber` crate (libphonenumber metadata);
//! the Spanish rule on top: a mobile starts with 6 or 7, numbers starting with 8 or 9 are
//! landlines and get their own code so the clerk can say why.

use std::fmt;
use std::str::FromStr;

use phonenumber::{Mode, Type, country};
use thiserror::Error;

/// Longest raw input handed to the parser (E.164 is at most 15 digits; room for spaces).
const MAX_INPUT: usize = 40;

/// Why a phone number was refused. Codes `PHN-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number contains a character that is not allowed")]
    InvalidCharacters { character: char },
    #[error("not a valid phone number")]
    Invalid,
    #[error("Spanish landline: a mobile number is required")]
    SpanishLandline,
    #[error("not a mobile number")]
    NotMobile,
}

impl PhoneError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "PHN-001",
            Self::InvalidCharacters { .. } => "PHN-002",
            Self::Invalid => "PHN-003",
            Self::SpanishLandline => "PHN-004",
            Self::NotMobile => "PHN-005",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::InvalidCharacters { character } => vec![("character", character.to_string())],
            _ => Vec::new(),
        }
    }
}

crate::error::impl_coded!(PhoneError);

/// A mobile phone number in E.164 (`+34612345678`). `Display`/`Debug` show only the last
/// 3 digits; serde only through [`unmasked_serde`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    /// Parses with Spain as the default region (`612345678`, `+34 612 345 678`,
    /// `0034612345678`, `+44 7700 900123`) and requires a mobile.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        // Only what people type in a phone number reaches the parser; keeps odd input
        // (letters, extensions, RFC 3966 parameters) out of a large third-party parser.
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')' | '/')))
        {
            return Err(PhoneError::InvalidCharacters { character: c });
        }
        if s.len() > MAX_INPUT || s.matches('+').count() > 1 {
            return Err(PhoneError::Invalid);
        }
        let number =
            phonenumber::parse(Some(country::Id::ES), s).map_err(|_| PhoneError::Invalid)?;
        if number.extension().is_some() || !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let country_code = number.code().value();
        let national = number.national().value().to_string();
        let kind = number.number_type(&phonenumber::metadata::DATABASE);
        if country_code == 34 {
            match national.chars().next() {
                Some('6' | '7') if kind == Type::Mobile => {}
                Some('8' | '9') if matches!(kind, Type::FixedLine | Type::Mobile) => {
                    return Err(PhoneError::SpanishLandline);
                }
                _ => return Err(PhoneError::NotMobile),
            }
        } else if !matches!(kind, Type::Mobile | Type::FixedLineOrMobile) {
            return Err(PhoneError::NotMobile);
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        Ok(PhoneNumber { e164, country_code })
    }

    /// `+34612345678`. Personal data.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Country calling code (34 for Spain).
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The last 3 digits, for "we sent a code to your number ending in 789".
    pub fn last_digits(&self) -> &str {
        let n = self.e164.len();
        self.e164.get(n.saturating_sub(3)..).unwrap_or_default()
    }

    /// `*******789`.
    pub fn masked(&self) -> String {
        format!("*******{}", self.last_digits())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Serde as E.164, opt-in only: `#[serde(with = "registry::phone_number::unmasked_serde")]`.
pub mod unmasked_serde {
    use super::PhoneNumber;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &PhoneNumber, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.e164())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PhoneNumber, D::Error> {
        let raw = String::deserialize(d)?;
        PhoneNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_mobiles() {
        for input in [
            "+34 612 345 678",
            "612345678",
            "612 34 56 78",
            "0034612345678",
            "(+34) 612-345-678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().e164(),
                "+34612345678",
                "{input}"
            );
        }
        let p = PhoneNumber::parse("712345678").unwrap();
        assert_eq!(p.e164(), "+34712345678");
        assert_eq!(p.country_code(), 34);
    }

    #[test]
    fn foreign_mobiles() {
        let uk = PhoneNumber::parse("+44 7911 123456").unwrap();
        assert_eq!(uk.e164(), "+447911123456");
        assert_eq!(uk.country_code(), 44);
        // 07700 900xxx is Ofcom's range reserved for drama: libphonenumber calls it invalid.
        assert_eq!(
            PhoneNumber::parse("+44 7700 900123").unwrap_err().code(),
            "PHN-003"
        );
        // US numbers are "fixed line or mobile" in the metadata.
        assert!(PhoneNumber::parse("+1 201 555 0123").is_ok());
        // A French landline is not a mobile.
        assert_eq!(
            PhoneNumber::parse("+33 1 42 68 53 00").unwrap_err().code(),
            "PHN-005"
        );
    }

    #[test]
    fn rejections() {
        let cases = [
            ("", "PHN-001"),
            ("   ", "PHN-001"),
            ("612abc678", "PHN-002"),
            ("tel:+34612345678", "PHN-002"),
            ("612345678 ext. 12", "PHN-002"),
            ("12", "PHN-003"),
            ("6123456789", "PHN-003"),
            ("+34+612345678", "PHN-003"),
            ("61234567", "PHN-003"),
            ("912345678", "PHN-004"),
            ("+34 812 345 678", "PHN-004"),
            ("900123456", "PHN-005"),
            ("701234567", "PHN-005"),
        ];
        for (input, code) in cases {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert_eq!(err.code(), code, "{input:?}");
        }
        let long = "6".repeat(1000);
        assert_eq!(PhoneNumber::parse(&long).unwrap_err().code(), "PHN-003");
    }

    #[test]
    fn masking() {
        let p = PhoneNumber::parse("612345789").unwrap();
        assert_eq!(p.to_string(), "*******789");
        assert_eq!(format!("{p:?}"), "PhoneNumber(*******789)");
        assert_eq!(p.last_digits(), "789");
        for shown in [p.to_string(), format!("{p:?}")] {
            assert!(!shown.contains("612345789"));
            assert!(!shown.contains("345"));
        }
    }

    #[test]
    fn serde_helper() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Row {
            #[serde(with = "unmasked_serde")]
            phone: PhoneNumber,
        }
        let row = Row {
            phone: PhoneNumber::parse("612345678").unwrap(),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"phone":"+34612345678"}"#);
        let back: Row = serde_json::from_str(&json).unwrap();
        assert_eq!(back.phone, row.phone);
        assert!(serde_json::from_str::<Row>(r#"{"phone":"912345678"}"#).is_err());
    }
}
