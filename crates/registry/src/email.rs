//! The citizen's email address, checked by the `email_address` crate (RFC 5322 addr-spec,
//! no display names, no IP-literal domains, a dot in the domain).

use std::fmt;
use std::str::FromStr;

use email_address::{EmailAddress, Options};
use thiserror::Error;

/// RFC 5321 path limit.
const MAX_LEN: usize = 254;

/// Why an email was refused. Codes `EML-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EmailError {
    #[error("email is empty")]
    Empty,
    #[error("email is too long")]
    TooLong { max: usize },
    #[error("email has no @")]
    MissingAt,
    #[error("the part before the @ is not valid")]
    InvalidLocalPart,
    #[error("the domain is not valid")]
    InvalidDomain,
}

impl EmailError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "EML-001",
            Self::TooLong { .. } => "EML-002",
            Self::MissingAt => "EML-003",
            Self::InvalidLocalPart => "EML-004",
            Self::InvalidDomain => "EML-005",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooLong { max } => vec![("max", max.to_string())],
            _ => Vec::new(),
        }
    }
}

crate::error::impl_coded!(EmailError);

/// A validated email, domain in lowercase (the local part keeps its case: RFC 5321 lets the
/// receiving server decide). `Display`/`Debug` are masked: `j***@example.com`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email {
    local: String,
    domain: String,
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(EmailError::TooLong { max: MAX_LEN });
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(EmailError::MissingAt);
        };
        // Whitespace and control characters are legal inside quoted local parts, but not
        // something a clerk should type for a citizen.
        if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::InvalidLocalPart);
        }
        if domain.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::InvalidDomain);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        use email_address::Error as E;
        EmailAddress::parse_with_options(s, options).map_err(|e| match e {
            E::MissingSeparator => EmailError::MissingAt,
            E::LocalPartEmpty | E::LocalPartTooLong | E::UnbalancedQuotes => {
                EmailError::InvalidLocalPart
            }
            E::InvalidCharacter | E::InvalidComment => {
                if EmailAddress::is_valid_local_part(local) {
                    EmailError::InvalidDomain
                } else {
                    EmailError::InvalidLocalPart
                }
            }
            _ => EmailError::InvalidDomain,
        })?;
        Ok(Email {
            local: local.to_string(),
            domain: domain.to_lowercase(),
        })
    }

    /// `local@domain`. Personal data.
    pub fn unmasked(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `j***@example.com`.
    pub fn masked(&self) -> String {
        let first = self.local.chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Serde as the full address, opt-in only: `#[serde(with = "registry::email::unmasked_serde")]`.
pub mod unmasked_serde {
    use super::Email;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Email, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.unmasked())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Email, D::Error> {
        let raw = String::deserialize(d)?;
        Email::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_normalised() {
        let e = Email::parse("  Juan.Garcia@Example.COM ").unwrap();
        assert_eq!(e.unmasked(), "Juan.Garcia@example.com");
        assert_eq!(e.domain(), "example.com");
        for ok in [
            "a@b.es",
            "maria+clave@correo.gob.es",
            "o'brien@example.ie",
            "user_1@sub.example.co.uk",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejections() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        let cases = [
            ("", "EML-001"),
            ("   ", "EML-001"),
            (too_long.as_str(), "EML-002"),
            ("juan.example.com", "EML-003"),
            ("@example.com", "EML-004"),
            ("ju an@example.com", "EML-004"),
            ("juan..garcia@example.com", "EML-004"),
            ("juan@", "EML-005"),
            ("juan@localhost", "EML-005"),
            ("juan@exa mple.com", "EML-005"),
            ("juan@[127.0.0.1]", "EML-005"),
            ("juan@example..com", "EML-005"),
            ("Juan <juan@example.com>", "EML-004"),
        ];
        for (input, code) in cases {
            let err = Email::parse(input).unwrap_err();
            assert_eq!(err.code(), code, "{input:?} → {err:?}");
        }
    }

    #[test]
    fn masking() {
        let e = Email::parse("juan@example.com").unwrap();
        assert_eq!(e.to_string(), "j***@example.com");
        assert_eq!(format!("{e:?}"), "Email(j***@example.com)");
        assert!(!e.to_string().contains("juan"));
        assert!(!format!("{e:?}").contains("juan"));
    }

    #[test]
    fn serde_helper() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Row {
            #[serde(with = "unmasked_serde")]
            email: Email,
        }
        let row = Row {
            email: Email::parse("juan@Example.com").unwrap(),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"email":"juan@example.com"}"#);
        let back: Row = serde_json::from_str(&json).unwrap();
        assert_eq!(back.email, row.email);
    }
}
