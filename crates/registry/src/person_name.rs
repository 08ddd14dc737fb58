//! A citizen's name as printed on a DNI/NIE: uppercase, with Spanish, Catalan, Galician
//! and Basque letters (Á É Í Ó Ú À È Ò Ï Ü Ñ Ç …), apostrophes, hyphens, the Catalan
//! middle dot (L·L) and single spaces.

use std::fmt;

use thiserror::Error;

/// Longest name component, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// Why a name component was refused. Codes `NAM-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name is too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("name contains a character that is not allowed")]
    InvalidCharacters { character: char },
    #[error("name has no letter")]
    NoLetter,
}

impl NameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "NAM-001",
            Self::TooLong { .. } => "NAM-002",
            Self::InvalidCharacters { .. } => "NAM-003",
            Self::NoLetter => "NAM-004",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::InvalidCharacters { character } => vec![("character", character.to_string())],
            Self::Empty | Self::NoLetter => Vec::new(),
        }
    }
}

crate::error::impl_coded!(NameError);

/// Uppercase letters allowed besides A–Z.
const ACCENTED: &str = "ÀÁÂÄÈÉÊËÌÍÎÏÒÓÔÖÙÚÛÜÑÇ";

fn is_name_letter(c: char) -> bool {
    c.is_ascii_uppercase() || ACCENTED.contains(c)
}

/// The uppercase form of `c` if it may appear in a name.
fn normalise_char(c: char) -> Option<char> {
    match c {
        '\'' | '’' | '`' | '´' => return Some('\''),
        '-' | '‐' | '‑' => return Some('-'),
        '·' => return Some('·'),
        _ => {}
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if is_name_letter(u) => Some(u),
        _ => None,
    }
}

/// One validated component of a name (given name or a surname), uppercase.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NamePart(String);

impl NamePart {
    /// Trims, collapses inner whitespace to one space and uppercases.
    pub fn parse(input: &str) -> Result<NamePart, NameError> {
        // Cheap guard before any allocation: 4 bytes per char is the UTF-8 maximum.
        if input.len() > MAX_NAME_CHARS * 4 + 64 {
            return Err(NameError::TooLong {
                max: MAX_NAME_CHARS,
            });
        }
        let mut out = String::with_capacity(input.len());
        for word in input.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            for c in word.chars() {
                match normalise_char(c) {
                    Some(n) => out.push(n),
                    None => return Err(NameError::InvalidCharacters { character: c }),
                }
            }
        }
        if out.is_empty() {
            return Err(NameError::Empty);
        }
        if out.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong {
                max: MAX_NAME_CHARS,
            });
        }
        if !out.chars().any(is_name_letter) {
            return Err(NameError::NoLetter);
        }
        Ok(NamePart(out))
    }

    /// The full component. Personal data.
    pub fn unmasked(&self) -> &str {
        &self.0
    }

    /// First letter and `***`.
    pub fn masked(&self) -> String {
        let first = self.0.chars().next().unwrap_or('*');
        format!("{first}***")
    }
}

impl fmt::Display for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamePart({})", self.masked())
    }
}

/// Given name and surnames (a second surname is optional: many NIE holders have one).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName {
    given_name: NamePart,
    first_surname: NamePart,
    second_surname: Option<NamePart>,
}

impl PersonName {
    pub fn new(
        given_name: NamePart,
        first_surname: NamePart,
        second_surname: Option<NamePart>,
    ) -> PersonName {
        PersonName {
            given_name,
            first_surname,
            second_surname,
        }
    }

    /// Parses the three inputs; an empty second surname means none. Returns the first
    /// error (the alta form validates each part itself to report them all).
    pub fn parse(
        given_name: &str,
        first_surname: &str,
        second_surname: &str,
    ) -> Result<PersonName, NameError> {
        let second = if second_surname.trim().is_empty() {
            None
        } else {
            Some(NamePart::parse(second_surname)?)
        };
        Ok(PersonName::new(
            NamePart::parse(given_name)?,
            NamePart::parse(first_surname)?,
            second,
        ))
    }

    pub fn given_name(&self) -> &NamePart {
        &self.given_name
    }

    pub fn first_surname(&self) -> &NamePart {
        &self.first_surname
    }

    pub fn second_surname(&self) -> Option<&NamePart> {
        self.second_surname.as_ref()
    }

    /// Given name, in full. Personal data.
    pub fn given_name_unmasked(&self) -> &str {
        &self.given_name.0
    }

    /// First surname, in full. Personal data.
    pub fn first_surname_unmasked(&self) -> &str {
        &self.first_surname.0
    }

    /// Second surname, in full, if any. Personal data.
    pub fn second_surname_unmasked(&self) -> Option<&str> {
        self.second_surname.as_ref().map(|p| p.0.as_str())
    }

    /// `JUAN GARCÍA LÓPEZ`. Personal data.
    pub fn full_unmasked(&self) -> String {
        let mut s = format!("{} {}", self.given_name.0, self.first_surname.0);
        if let Some(second) = &self.second_surname {
            s.push(' ');
            s.push_str(&second.0);
        }
        s
    }

    /// `J*** G*** L***`.
    pub fn masked(&self) -> String {
        let mut s = format!(
            "{} {}",
            self.given_name.masked(),
            self.first_surname.masked()
        );
        if let Some(second) = &self.second_surname {
            s.push(' ');
            s.push_str(&second.masked());
        }
        s
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// Serde as `{"givenName", "firstSurname", "secondSurname"}`, opt-in only:
/// `#[serde(with = "registry::person_name::unmasked_serde")]`.
pub mod unmasked_serde {
    use super::{NamePart, PersonName};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        given_name: String,
        first_surname: String,
        #[serde(default)]
        second_surname: Option<String>,
    }

    pub fn serialize<S: Serializer>(value: &PersonName, s: S) -> Result<S::Ok, S::Error> {
        Raw {
            given_name: value.given_name.0.clone(),
            first_surname: value.first_surname.0.clone(),
            second_surname: value.second_surname.as_ref().map(|p| p.0.clone()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PersonName, D::Error> {
        let raw = Raw::deserialize(d)?;
        let part = |s: &str| NamePart::parse(s).map_err(serde::de::Error::custom);
        let second = match raw.second_surname.as_deref() {
            Some(s) if !s.trim().is_empty() => Some(part(s)?),
            _ => None,
        };
        Ok(PersonName::new(
            part(&raw.given_name)?,
            part(&raw.first_surname)?,
            second,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        let cases = [
            ("  juan   carlos ", "JUAN CARLOS"),
            ("núñez", "NÚÑEZ"),
            ("Gonçal", "GONÇAL"),
            ("Pal·lès", "PAL·LÈS"),
            ("d’Ors", "D'ORS"),
            ("Martín-Pérez", "MARTÍN-PÉREZ"),
            ("Agirre Etxeberría", "AGIRRE ETXEBERRÍA"),
            ("Güell", "GÜELL"),
            ("Xoán", "XOÁN"),
            ("Iñaki", "IÑAKI"),
            ("Lluïsa", "LLUÏSA"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                NamePart::parse(input).unwrap().unmasked(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn rejections() {
        let long = "A".repeat(61);
        let very_long = "A".repeat(100_000);
        let cases = [
            ("", "NAM-001"),
            ("   ", "NAM-001"),
            (long.as_str(), "NAM-002"),
            (very_long.as_str(), "NAM-002"),
            ("Juan2", "NAM-003"),
            ("Strauß", "NAM-003"),
            ("Juan.", "NAM-003"),
            ("Ana@", "NAM-003"),
            ("Łukasz", "NAM-003"),
            ("- '", "NAM-004"),
        ];
        for (input, code) in cases {
            assert_eq!(
                NamePart::parse(input).unwrap_err().code(),
                code,
                "{input:?}"
            );
        }
        assert_eq!(
            NamePart::parse(&"Á".repeat(60))
                .unwrap()
                .unmasked()
                .chars()
                .count(),
            60
        );
        let err = NamePart::parse("Juan2").unwrap_err();
        assert_eq!(err.params(), vec![("character", "2".to_string())]);
    }

    #[test]
    fn full_name_and_masking() {
        let n = PersonName::parse("juan", "garcía", "lópez").unwrap();
        assert_eq!(n.full_unmasked(), "JUAN GARCÍA LÓPEZ");
        assert_eq!(n.given_name_unmasked(), "JUAN");
        assert_eq!(n.first_surname_unmasked(), "GARCÍA");
        assert_eq!(n.second_surname_unmasked(), Some("LÓPEZ"));
        assert_eq!(n.to_string(), "J*** G*** L***");
        assert_eq!(format!("{n:?}"), "PersonName(J*** G*** L***)");
        let single = PersonName::parse("Ana", "Smith", "  ").unwrap();
        assert_eq!(single.second_surname(), None);
        assert_eq!(single.masked(), "A*** S***");
        assert_eq!(single.full_unmasked(), "ANA SMITH");
        assert_eq!(
            PersonName::parse("", "Smith", "").unwrap_err().code(),
            "NAM-001"
        );
        assert_eq!(
            PersonName::parse("Ana", "Smith", "X1").unwrap_err().code(),
            "NAM-003"
        );
    }

    #[test]
    fn serde_helper() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Row {
            #[serde(with = "unmasked_serde")]
            name: PersonName,
        }
        let row = Row {
            name: PersonName::parse("Juan", "García", "").unwrap(),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"name":{"givenName":"JUAN","firstSurname":"GARCÍA","secondSurname":null}}"#
        );
        let back: Row = serde_json::from_str(&json).unwrap();
        assert_eq!(back.name, row.name);
    }
}
