//! DIR3 office codes (Directorio Común de Unidades Orgánicas y Oficinas): a registry
//! office is `O` + 8 digits, e.g. `O00001234`. Not personal data: plain Display and serde.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a DIR3 office code was refused. Codes `DIR-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Dir3Error {
    #[error("DIR3 code is empty")]
    Empty,
    #[error("DIR3 office codes start with O (units start with other letters)")]
    NotAnOffice { prefix: char },
    #[error("DIR3 office code must be O followed by 8 digits")]
    WrongLength { actual: usize },
    #[error("DIR3 code contains a character that is not allowed")]
    InvalidCharacters { character: char },
}

impl Dir3Error {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "DIR-001",
            Self::NotAnOffice { .. } => "DIR-002",
            Self::WrongLength { .. } => "DIR-003",
            Self::InvalidCharacters { .. } => "DIR-004",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::NotAnOffice { prefix } => vec![("prefix", prefix.to_string())],
            Self::WrongLength { actual } => vec![("actual", actual.to_string())],
            Self::InvalidCharacters { character } => vec![("character", character.to_string())],
            Self::Empty => Vec::new(),
        }
    }
}

crate::error::impl_coded!(Dir3Error);

/// A DIR3 registry-office code, uppercase: `O00001234`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Dir3Office(String);

impl Dir3Office {
    pub fn parse(input: &str) -> Result<Dir3Office, Dir3Error> {
        let s = input.trim().to_uppercase();
        let Some(first) = s.chars().next() else {
            return Err(Dir3Error::Empty);
        };
        if !first.is_ascii_alphabetic() {
            return Err(if first.is_ascii_digit() {
                Dir3Error::NotAnOffice { prefix: first }
            } else {
                Dir3Error::InvalidCharacters { character: first }
            });
        }
        if first != 'O' {
            return Err(Dir3Error::NotAnOffice { prefix: first });
        }
        if let Some(c) = s.chars().skip(1).find(|c| !c.is_ascii_digit()) {
            return Err(Dir3Error::InvalidCharacters { character: c });
        }
        let digits = s.len() - 1;
        if digits != 8 {
            return Err(Dir3Error::WrongLength { actual: digits });
        }
        Ok(Dir3Office(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Dir3Office {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Dir3Office {
    type Err = Dir3Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Dir3Office {
    type Error = Dir3Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Dir3Office> for String {
    fn from(d: Dir3Office) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            Dir3Office::parse("O00001234").unwrap().as_str(),
            "O00001234"
        );
        assert_eq!(
            Dir3Office::parse(" o00001234 ").unwrap().to_string(),
            "O00001234"
        );
    }

    #[test]
    fn rejections() {
        let cases = [
            ("", "DIR-001"),
            ("  ", "DIR-001"),
            ("E04975701", "DIR-002"),
            ("000001234", "DIR-002"),
            ("O0000123", "DIR-003"),
            ("O000012345", "DIR-003"),
            ("O", "DIR-003"),
            ("O0000A234", "DIR-004"),
            ("O 00001234", "DIR-004"),
            ("#00001234", "DIR-004"),
        ];
        for (input, code) in cases {
            assert_eq!(
                Dir3Office::parse(input).unwrap_err().code(),
                code,
                "{input:?}"
            );
        }
    }

    #[test]
    fn serde_as_string() {
        let d = Dir3Office::parse("O00001234").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""O00001234""#);
        assert_eq!(
            serde_json::from_str::<Dir3Office>(r#""o00001234""#).unwrap(),
            d
        );
        assert!(serde_json::from_str::<Dir3Office>(r#""X""#).is_err());
    }
}
