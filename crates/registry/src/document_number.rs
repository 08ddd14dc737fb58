//! DNI and NIE numbers (Orden INT/2058/2008 for the NIE letter; the DNI check letter is the
//! Ministerio del Interior's mod-23 rule).
//!
//! Only DNI and NIE holders can register in Cl@ve, so K/L/M NIFs and company CIFs are
//! recognised and refused with their own codes instead of a generic "invalid" message.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Check letters indexed by `number mod 23`.
pub const CHECK_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Longest raw input we look at; anything longer is certainly wrong and not worth scanning.
const MAX_INPUT: usize = 64;

/// The check letter for an 8-digit DNI number (or a NIE with its prefix replaced).
pub fn check_letter(number: u32) -> char {
    // `number % 23` is always < 23, so the index is in bounds.
    CHECK_LETTERS
        .get((number % 23) as usize)
        .map_or('?', |b| char::from(*b))
}

/// Which document a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Dni,
    Nie,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dni => "dni",
            Self::Nie => "nie",
        }
    }

    /// Best guess from raw input (X/Y/Z first → NIE), used to validate the contrast data
    /// even when the number itself is wrong, so the clerk sees every error at once.
    pub fn guess(raw: &str) -> DocumentKind {
        match raw.trim_start().chars().next() {
            Some('X' | 'Y' | 'Z' | 'x' | 'y' | 'z') => Self::Nie,
            _ => Self::Dni,
        }
    }
}

/// Why a document number was refused. Codes `DOC-0xx`. `Debug` hides the digits of
/// `WrongLetter` (errors get logged); `params()` carries them for the clerk's screen.
#[derive(Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DocumentError {
    #[error("document number is empty")]
    Empty,
    #[error("document number contains a character that is not allowed")]
    InvalidCharacters { character: char },
    #[error("wrong number of digits: expected {expected}, got {actual}")]
    WrongLength { expected: usize, actual: usize },
    #[error("check letter does not match: expected {expected}, got {given}")]
    WrongLetter {
        /// Canonical number without its letter ("12345678", "X1234567"): personal data,
        /// kept out of `Display`.
        digits: String,
        expected: char,
        given: char,
    },
    #[error("document number has no check letter")]
    MissingLetter,
    #[error("K/L/M NIF: Cl@ve registers DNI and NIE holders")]
    NifNotAccepted { prefix: char },
    #[error("company CIF: Cl@ve registers DNI and NIE holders")]
    CifNotAccepted,
    #[error("not a DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter)")]
    Invalidat,
}

impl DocumentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "DOC-001",
            Self::InvalidCharacters { .. } => "DOC-002",
            Self::WrongLength { .. } => "DOC-003",
            Self::WrongLetter { .. } => "DOC-004",
            Self::MissingLetter => "DOC-005",
            Self::NifNotAccepted { .. } => "DOC-006",
            Self::CifNotAccepted => "DOC-007",
            Self::Invalidat => "DOC-008",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::InvalidCharacters { character } => vec![("character", character.to_string())],
            Self::WrongLength { expected, actual } => vec![
                ("expected", expected.to_string()),
                ("actual", actual.to_string()),
            ],
            Self::WrongLetter {
                digits,
                expected,
                given,
            } => vec![
                ("digits", digits.clone()),
                ("expected", expected.to_string()),
                ("given", given.to_string()),
            ],
            Self::NifNotAccepted { prefix } => vec![("prefix", prefix.to_string())],
            Self::Empty | Self::MissingLetter | Self::CifNotAccepted | Self::Invalidat => {
                Vec::new()
            }
        }
    }
}

crate::error::impl_coded!(DocumentError);

impl fmt::Debug for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::InvalidCharacters { character } => f
                .debug_struct("InvalidCharacters")
                .field("character", character)
                .finish(),
            Self::WrongLength { expected, actual } => f
                .debug_struct("WrongLength")
                .field("expected", expected)
                .field("actual", actual)
                .finish(),
            Self::WrongLetter {
                expected, given, ..
            } => f
                .debug_struct("WrongLetter")
                .field("digits", &"[redacted]")
                .field("expected", expected)
                .field("given", given)
                .finish(),
            Self::MissingLetter => f.write_str("MissingLetter"),
            Self::NifNotAccepted { prefix } => f
                .debug_struct("NifNotAccepted")
                .field("prefix", prefix)
                .finish(),
            Self::CifNotAccepted => f.write_str("CifNotAccepted"),
            Self::Invalidat => f.write_str("Invalidat"),
        }
    }
}

/// A Spanish DNI: 8 digits and the mod-23 check letter.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dni {
    number: u32,
}

impl Dni {
    /// Builds the DNI for `number` (0..=99_999_999), computing its letter.
    pub fn from_number(number: u32) -> Result<Dni, DocumentError> {
        if number > 99_999_999 {
            return Err(DocumentError::WrongLength {
                expected: 8,
                actual: digit_count(number),
            });
        }
        Ok(Dni { number })
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn letter(&self) -> char {
        check_letter(self.number)
    }

    /// Canonical form, e.g. `12345678Z`. Personal data.
    pub fn unmasked(&self) -> String {
        format!("{:08}{}", self.number, self.letter())
    }

    /// `****5678Z`: last 4 digits and the letter.
    pub fn masked(&self) -> String {
        format!("****{:04}{}", self.number % 10_000, self.letter())
    }
}

impl fmt::Display for Dni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Dni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dni({})", self.masked())
    }
}

/// NIE prefix letter; it stands for 0, 1 or 2 in the check-letter computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NiePrefix {
    X,
    Y,
    Z,
}

impl NiePrefix {
    pub fn as_char(self) -> char {
        match self {
            Self::X => 'X',
            Self::Y => 'Y',
            Self::Z => 'Z',
        }
    }

    fn value(self) -> u32 {
        match self {
            Self::X => 0,
            Self::Y => 1,
            Self::Z => 2,
        }
    }

    pub fn from_char(c: char) -> Option<NiePrefix> {
        match c {
            'X' => Some(Self::X),
            'Y' => Some(Self::Y),
            'Z' => Some(Self::Z),
            _ => None,
        }
    }
}

/// A NIE: X/Y/Z, 7 digits and the check letter (computed as for a DNI with X/Y/Z → 0/1/2).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nie {
    prefix: NiePrefix,
    number: u32,
}

impl Nie {
    /// Builds the NIE for `prefix` + `number` (0..=9_999_999), computing its letter.
    pub fn from_parts(prefix: NiePrefix, number: u32) -> Result<Nie, DocumentError> {
        if number > 9_999_999 {
            return Err(DocumentError::WrongLength {
                expected: 7,
                actual: digit_count(number),
            });
        }
        Ok(Nie { prefix, number })
    }

    pub fn prefix(&self) -> NiePrefix {
        self.prefix
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn letter(&self) -> char {
        check_letter(self.prefix.value() * 10_000_000 + self.number)
    }

    /// Canonical form, e.g. `X1234567L`. Personal data.
    pub fn unmasked(&self) -> String {
        format!(
            "{}{:07}{}",
            self.prefix.as_char(),
            self.number,
            self.letter()
        )
    }

    /// `X****567L`: prefix, last 3 digits and the letter.
    pub fn masked(&self) -> String {
        format!(
            "{}****{:03}{}",
            self.prefix.as_char(),
            self.number % 1_000,
            self.letter()
        )
    }
}

impl fmt::Display for Nie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Nie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nie({})", self.masked())
    }
}

/// A DNI or NIE number, validated. `Display`/`Debug` are masked; `unmasked()` is explicit
/// and serde goes through [`unmasked_serde`] only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum DocumentNumber {
    Dni(Dni),
    Nie(Nie),
}

impl DocumentNumber {
    /// Normalises (trim, uppercase, drop spaces/dots/dashes, restore a DNI's missing leading
    /// zero, drop the leading 0 of an old 8-digit NIE) and validates the check letter.
    pub fn parse(input: &str) -> Result<DocumentNumber, DocumentError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DocumentError::Empty);
        }
        let mut chars: Vec<char> = Vec::with_capacity(12);
        for c in trimmed.chars() {
            if c.is_whitespace() || c == '.' || c == '-' {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(DocumentError::InvalidCharacters { character: c });
            }
            if chars.len() >= MAX_INPUT {
                return Err(DocumentError::WrongLength {
                    expected: 8,
                    actual: MAX_INPUT,
                });
            }
            chars.push(c.to_ascii_uppercase());
        }
        let Some(&first) = chars.first() else {
            // Only separators were typed.
            return Err(DocumentError::Empty);
        };
        if first.is_ascii_digit() {
            parse_dni(&chars).map(DocumentNumber::Dni)
        } else if let Some(prefix) = NiePrefix::from_char(first) {
            parse_nie(prefix, chars.get(1..).unwrap_or_default()).map(DocumentNumber::Nie)
        } else if matches!(first, 'K' | 'L' | 'M') {
            if has_nif_shape(&chars) {
                Err(DocumentError::NifNotAccepted { prefix: first })
            } else {
                Err(DocumentError::Invalidat)
            }
        } else if "ABCDEFGHJNPQRSUVW".contains(first) && has_nif_shape(&chars) {
            Err(DocumentError::CifNotAccepted)
        } else {
            Err(DocumentError::Invalidat)
        }
    }

    pub fn kind(&self) -> DocumentKind {
        match self {
            Self::Dni(_) => DocumentKind::Dni,
            Self::Nie(_) => DocumentKind::Nie,
        }
    }

    /// Canonical form: `12345678Z`, `X1234567L`. Personal data.
    pub fn unmasked(&self) -> String {
        match self {
            Self::Dni(d) => d.unmasked(),
            Self::Nie(n) => n.unmasked(),
        }
    }

    /// `****5678Z` or `X****567L`.
    pub fn masked(&self) -> String {
        match self {
            Self::Dni(d) => d.masked(),
            Self::Nie(n) => n.masked(),
        }
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dni(d) => write!(f, "DocumentNumber::{d:?}"),
            Self::Nie(n) => write!(f, "DocumentNumber::{n:?}"),
        }
    }
}

impl FromStr for DocumentNumber {
    type Err = DocumentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Dni> for DocumentNumber {
    fn from(d: Dni) -> Self {
        Self::Dni(d)
    }
}

impl From<Nie> for DocumentNumber {
    fn from(n: Nie) -> Self {
        Self::Nie(n)
    }
}

fn digit_count(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Letter + 7 digits + one more alphanumeric: the shape of a K/L/M NIF or a CIF.
fn has_nif_shape(chars: &[char]) -> bool {
    chars.len() == 9
        && chars
            .get(1..8)
            .is_some_and(|d| d.iter().all(char::is_ascii_digit))
        && chars.get(8).is_some_and(char::is_ascii_alphanumeric)
}

/// Splits `digits…letter`, reporting what is wrong with the shape.
fn split_body(body: &[char]) -> Result<(u32, usize, char), DocumentError> {
    let (last, digits) = match body.split_last() {
        Some((last, digits)) if last.is_ascii_alphabetic() => (*last, digits),
        Some(_) => {
            return if body.iter().all(char::is_ascii_digit) {
                Err(DocumentError::MissingLetter)
            } else {
                Err(DocumentError::Invalidat)
            };
        }
        None => return Err(DocumentError::MissingLetter),
    };
    if !digits.iter().all(char::is_ascii_digit) {
        return Err(DocumentError::Invalidat);
    }
    let mut value: u32 = 0;
    for d in digits.iter().take(9) {
        value = value * 10 + d.to_digit(10).unwrap_or(0);
    }
    Ok((value, digits.len(), last))
}

fn parse_dni(chars: &[char]) -> Result<Dni, DocumentError> {
    let (number, len, given) = split_body(chars).map_err(|e| match e {
        // 7 or 8 digits and no letter: the letter is missing, not the shape.
        DocumentError::MissingLetter if !(7..=8).contains(&chars.len()) => {
            DocumentError::WrongLength {
                expected: 8,
                actual: chars.len(),
            }
        }
        other => other,
    })?;
    // 7 digits: the leading zero was dropped (common on forms and old records).
    if !(7..=8).contains(&len) {
        return Err(DocumentError::WrongLength {
            expected: 8,
            actual: len,
        });
    }
    let dni = Dni { number };
    let expected = dni.letter();
    if given != expected {
        return Err(DocumentError::WrongLetter {
            digits: format!("{number:08}"),
            expected,
            given,
        });
    }
    Ok(dni)
}

fn parse_nie(prefix: NiePrefix, body: &[char]) -> Result<Nie, DocumentError> {
    let (number, len, given) = split_body(body).map_err(|e| match e {
        DocumentError::MissingLetter if body.len() != 7 => DocumentError::WrongLength {
            expected: 7,
            actual: body.len(),
        },
        other => other,
    })?;
    // Pre-2008 NIEs had 8 digits with a leading 0 (X01234567L); the letter is the same.
    let old_format = len == 8 && body.first() == Some(&'0');
    if len != 7 && !old_format {
        return Err(DocumentError::WrongLength {
            expected: 7,
            actual: len,
        });
    }
    let nie = Nie { prefix, number };
    let expected = nie.letter();
    if given != expected {
        return Err(DocumentError::WrongLetter {
            digits: format!("{}{number:07}", prefix.as_char()),
            expected,
            given,
        });
    }
    Ok(nie)
}

/// Serde as the unmasked canonical string, opt-in only:
/// `#[serde(with = "registry::document_number::unmasked_serde")]`.
pub mod unmasked_serde {
    use super::DocumentNumber;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &DocumentNumber, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.unmasked())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DocumentNumber, D::Error> {
        let raw = String::deserialize(d)?;
        // The error's Display has no digits, so it is safe to surface.
        DocumentNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DocumentNumber, DocumentError> {
        DocumentNumber::parse(s)
    }

    #[test]
    fn algorithm_matches_known_vectors() {
        // 12345678 = 23 * 536768 + 14 → Z; 0 → T.
        assert_eq!(check_letter(12_345_678), 'Z');
        assert_eq!(check_letter(0), 'T');
        // X→0: 1234567 % 23 = 19 → L; Y→1: 11234567 % 23 = 10 → X; Z→2: 21234567 % 23 = 1 → R.
        assert_eq!(check_letter(1_234_567), 'L');
        assert_eq!(check_letter(11_234_567), 'X');
        assert_eq!(check_letter(21_234_567), 'R');
    }

    #[test]
    fn valid_vectors() {
        for (input, canonical, kind) in [
            ("12345678Z", "12345678Z", DocumentKind::Dni),
            ("00000000T", "00000000T", DocumentKind::Dni),
            ("X1234567L", "X1234567L", DocumentKind::Nie),
            ("Y1234567X", "Y1234567X", DocumentKind::Nie),
            ("Z1234567R", "Z1234567R", DocumentKind::Nie),
        ] {
            let d = parse(input).unwrap();
            assert_eq!(d.unmasked(), canonical);
            assert_eq!(d.kind(), kind);
        }
    }

    #[test]
    fn normalisation() {
        for (input, canonical) in [
            ("12.345.678-z", "12345678Z"),
            (" 1234567 8z ", "12345678Z"),
            ("1234567L", "01234567L"),
            ("x-1234567-l", "X1234567L"),
            ("X01234567L", "X1234567L"),
            ("\t12345678 Z\n", "12345678Z"),
        ] {
            assert_eq!(parse(input).unwrap().unmasked(), canonical, "{input:?}");
        }
    }

    #[test]
    fn rejections_have_their_codes() {
        let cases: &[(&str, &str)] = &[
            ("", "DOC-001"),
            ("   ", "DOC-001"),
            (" .-. ", "DOC-001"),
            ("12345678/Z", "DOC-002"),
            ("1234567ñ", "DOC-002"),
            ("123456Z", "DOC-003"),
            ("123456789Z", "DOC-003"),
            ("X123456L", "DOC-003"),
            ("X12345678L", "DOC-003"),
            ("12345", "DOC-003"),
            ("12345678A", "DOC-004"),
            ("X1234567A", "DOC-004"),
            ("12345678", "DOC-005"),
            ("1234567", "DOC-005"),
            ("X1234567", "DOC-005"),
            ("K1234567L", "DOC-006"),
            ("L1234567A", "DOC-006"),
            ("M1234567Z", "DOC-006"),
            ("B12345674", "DOC-007"),
            ("A1234567J", "DOC-007"),
            ("Q2826000H", "DOC-007"),
            ("T1234567A", "DOC-008"),
            ("1234A678Z", "DOC-008"),
            ("XA1234567L", "DOC-008"),
            ("ZZ", "DOC-003"),
            ("B123", "DOC-008"),
            ("K12", "DOC-008"),
        ];
        for (input, code) in cases {
            let err = parse(input).unwrap_err();
            assert_eq!(err.code(), *code, "input {input:?} gave {err:?}");
        }
    }

    #[test]
    fn wrong_letter_params_carry_digits_but_display_does_not() {
        let err = parse("12345678A").unwrap_err();
        assert_eq!(
            err,
            DocumentError::WrongLetter {
                digits: "12345678".into(),
                expected: 'Z',
                given: 'A'
            }
        );
        assert_eq!(
            err.params(),
            vec![
                ("digits", "12345678".to_string()),
                ("expected", "Z".to_string()),
                ("given", "A".to_string())
            ]
        );
        let shown = err.to_string();
        assert_eq!(shown, "check letter does not match: expected Z, got A");
        assert!(!shown.contains("12345678"));
        assert!(!format!("{err:?}").contains("12345678"));
        let nie = parse("X1234567A").unwrap_err();
        assert_eq!(nie.params().first().map(|p| p.1.as_str()), Some("X1234567"));
    }

    #[test]
    fn very_long_input_is_refused_without_scanning_it_all() {
        let long = "1".repeat(10_000);
        assert_eq!(parse(&long).unwrap_err().code(), "DOC-003");
    }

    #[test]
    fn masking() {
        let dni = parse("12345678Z").unwrap();
        assert_eq!(dni.to_string(), "****5678Z");
        assert_eq!(format!("{dni:?}"), "DocumentNumber::Dni(****5678Z)");
        let nie = parse("X1234567L").unwrap();
        assert_eq!(nie.to_string(), "X****567L");
        assert!(!format!("{nie:?}").contains("1234567"));
        assert_eq!(parse("00000000T").unwrap().masked(), "****0000T");
        for d in [&dni, &nie] {
            assert!(!d.to_string().contains(&d.unmasked()));
            assert!(!format!("{d:?}").contains(&d.unmasked()));
        }
    }

    #[test]
    fn constructors_compute_letter() {
        assert_eq!(
            Dni::from_number(12_345_678).unwrap().unmasked(),
            "12345678Z"
        );
        assert_eq!(Dni::from_number(100_000_000).unwrap_err().code(), "DOC-003");
        assert_eq!(
            Nie::from_parts(NiePrefix::Y, 1_234_567).unwrap().unmasked(),
            "Y1234567X"
        );
        assert!(Nie::from_parts(NiePrefix::Z, 10_000_000).is_err());
    }

    #[test]
    fn serde_only_through_helper() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Row {
            #[serde(with = "unmasked_serde")]
            doc: DocumentNumber,
        }
        let row = Row {
            doc: parse("X1234567L").unwrap(),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"doc":"X1234567L"}"#);
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
        let bad = serde_json::from_str::<Row>(r#"{"doc":"12345678A"}"#).unwrap_err();
        assert!(!bad.to_string().contains("12345678"));
    }

    #[test]
    fn kind_guess() {
        assert_eq!(DocumentKind::guess(" x123"), DocumentKind::Nie);
        assert_eq!(DocumentKind::guess("123"), DocumentKind::Dni);
        assert_eq!(DocumentKind::guess(""), DocumentKind::Dni);
    }
}
