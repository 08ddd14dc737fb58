//! Error codes shared by every error type of the crate.
//!
//! The UI translates `code()` + `params()`; it never parses `Display`, which is English,
//! short, and free of personal data because it may end up in a log.

/// An error with a stable code and the parameters a translated message needs.
///
/// `params()` may contain personal data (the digits of a DNI in `DOC-004`, for instance):
/// it is for the clerk's screen, never for logs. `Display` never contains it.
pub trait Coded: std::error::Error {
    /// Stable code, e.g. `"DOC-004"`. Never reused for another meaning.
    fn code(&self) -> &'static str;
    /// Named parameters for the translated message.
    fn params(&self) -> Vec<(&'static str, String)>;
}

/// Implements [`Coded`] by delegating to the type's inherent `code()`/`params()`.
macro_rules! impl_coded {
    ($($ty:ty),+ $(,)?) => {$(
        impl $crate::error::Coded for $ty {
            fn code(&self) -> &'static str {
                <$ty>::code(self)
            }
            fn params(&self) -> Vec<(&'static str, String)> {
                <$ty>::params(self)
            }
        }
    )+};
}
pub(crate) use impl_coded;

/// Every error code of the crate with a short English meaning (the table in the crate doc).
/// A test checks that each variant's code is listed here exactly once.
pub const ERROR_CODES: &[(&str, &str)] = &[
    ("DOC-001", "document number is empty"),
    (
        "DOC-002",
        "document number contains a character that is not allowed",
    ),
    ("DOC-003", "document number has the wrong number of digits"),
    ("DOC-004", "check letter does not match the digits"),
    ("DOC-005", "document number has no check letter"),
    ("DOC-006", "K/L/M NIF: Cl@ve registers DNI and NIE holders"),
    (
        "DOC-007",
        "company CIF: Cl@ve registers DNI and NIE holders",
    ),
    ("DOC-008", "not a DNI or NIE shape"),
    ("CTR-001", "date is empty"),
    (
        "CTR-002",
        "date format not recognised (DD/MM/YYYY, DD-MM-YYYY, YYYY-MM-DD)",
    ),
    ("CTR-003", "date does not exist (e.g. 31/02)"),
    ("CTR-004", "document expired"),
    ("CTR-005", "issue date is in the future"),
    ("CTR-006", "permanent DNI needs its issue date"),
    ("CTR-007", "expiry date is required"),
    ("CTR-008", "NIE needs its support number"),
    ("CTR-009", "IDESP must be three letters and six digits"),
    (
        "CTR-010",
        "NIE support number must be a letter and eight digits",
    ),
    (
        "CTR-011",
        "contrast datum does not belong to this kind of document",
    ),
    ("CTR-012", "issue date is after the expiry date"),
    (
        "CTR-013",
        "permanent flag with an expiry date other than 01/01/9999",
    ),
    ("CTR-014", "only a DNI can be permanent"),
    ("PHN-001", "phone number is empty"),
    (
        "PHN-002",
        "phone number contains a character that is not allowed",
    ),
    ("PHN-003", "not a valid phone number"),
    ("PHN-004", "Spanish landline: a mobile is required"),
    ("PHN-005", "not a mobile number"),
    ("EML-001", "email is empty"),
    ("EML-002", "email is too long"),
    ("EML-003", "email has no @"),
    ("EML-004", "part before the @ is not valid"),
    ("EML-005", "domain is not valid"),
    ("DIR-001", "DIR3 code is empty"),
    ("DIR-002", "DIR3 office code must start with O"),
    ("DIR-003", "DIR3 office code must be O + 8 digits"),
    (
        "DIR-004",
        "DIR3 code contains a character that is not allowed",
    ),
    ("NAM-001", "name is empty"),
    ("NAM-002", "name is too long"),
    ("NAM-003", "name contains a character that is not allowed"),
    ("NAM-004", "name has no letter"),
    ("VAL-001", "unknown value for an enumeration"),
    ("USR-001", "username too short"),
    ("USR-002", "username too long"),
    (
        "USR-003",
        "username contains a character that is not allowed",
    ),
    ("PWD-001", "password too short"),
    ("PWD-002", "password is one character repeated"),
    ("PWD-003", "password equals the username"),
    ("PWD-004", "password too long"),
    ("PWH-001", "password hashing failed"),
    ("PWH-002", "stored password hash is not a valid PHC string"),
    ("PWH-003", "stored password hash is not argon2id"),
    ("ALT-001", "operation not allowed in the current state"),
    ("ALT-002", "the form has invalid fields"),
    ("ALT-003", "the citizen is already registered in Cl@ve"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alta::{AltaError, AltaEvent, AltaState};
    use crate::clerk::{PasswordError, PasswordHashError, UsernameError};
    use crate::contrast::ContrastError;
    use crate::dir3::Dir3Error;
    use crate::document_number::{DocumentError, DocumentKind};
    use crate::email::EmailError;
    use crate::level::{Level, UnknownValue};
    use crate::person_name::NameError;
    use crate::phone_number::PhoneError;
    use std::collections::HashSet;

    /// One value of every error variant of the crate.
    fn every_variant() -> Vec<Box<dyn Coded>> {
        let date = chrono::NaiveDate::MIN;
        vec![
            Box::new(DocumentError::Empty),
            Box::new(DocumentError::InvalidCharacters { character: '/' }),
            Box::new(DocumentError::WrongLength {
                expected: 8,
                actual: 6,
            }),
            Box::new(DocumentError::WrongLetter {
                digits: "12345678".into(),
                expected: 'Z',
                given: 'A',
            }),
            Box::new(DocumentError::MissingLetter),
            Box::new(DocumentError::NifNotAccepted { prefix: 'K' }),
            Box::new(DocumentError::CifNotAccepted),
            Box::new(DocumentError::Invalidat),
            Box::new(ContrastError::DateEmpty),
            Box::new(ContrastError::DateFormat),
            Box::new(ContrastError::DateInvalid),
            Box::new(ContrastError::DocumentExpired { expiry: date }),
            Box::new(ContrastError::IssueDateInFuture { issue: date }),
            Box::new(ContrastError::IssueDateRequired),
            Box::new(ContrastError::ExpiryDateRequired),
            Box::new(ContrastError::SupportNumberRequired),
            Box::new(ContrastError::IdespFormat),
            Box::new(ContrastError::NieSupportFormat),
            Box::new(ContrastError::KindMismatch {
                document: DocumentKind::Dni,
            }),
            Box::new(ContrastError::IssueAfterExpiry),
            Box::new(ContrastError::PermanentConflict),
            Box::new(ContrastError::PermanentOnlyForDni),
            Box::new(PhoneError::Empty),
            Box::new(PhoneError::InvalidCharacters { character: 'a' }),
            Box::new(PhoneError::Invalid),
            Box::new(PhoneError::SpanishLandline),
            Box::new(PhoneError::NotMobile),
            Box::new(EmailError::Empty),
            Box::new(EmailError::TooLong { max: 254 }),
            Box::new(EmailError::MissingAt),
            Box::new(EmailError::InvalidLocalPart),
            Box::new(EmailError::InvalidDomain),
            Box::new(Dir3Error::Empty),
            Box::new(Dir3Error::NotAnOffice { prefix: 'E' }),
            Box::new(Dir3Error::WrongLength { actual: 3 }),
            Box::new(Dir3Error::InvalidCharacters { character: '#' }),
            Box::new(NameError::Empty),
            Box::new(NameError::TooLong { max: 60 }),
            Box::new(NameError::InvalidCharacters { character: '2' }),
            Box::new(NameError::NoLetter),
            Box::new(UnknownValue {
                kind: "level",
                value: "x".into(),
            }),
            Box::new(UsernameError::TooShort { min: 3 }),
            Box::new(UsernameError::TooLong { max: 32 }),
            Box::new(UsernameError::InvalidCharacters { character: ' ' }),
            Box::new(PasswordError::TooShort { min: 12 }),
            Box::new(PasswordError::AllSameCharacter),
            Box::new(PasswordError::EqualsUsername),
            Box::new(PasswordError::TooLong { max: 128 }),
            Box::new(PasswordHashError::Hashing),
            Box::new(PasswordHashError::InvalidPhc),
            Box::new(PasswordHashError::UnsupportedAlgorithm),
            Box::new(AltaError::InvalidTransition {
                state: AltaState::Confirmed,
                event: AltaEvent::Cancelled,
            }),
            Box::new(AltaError::Invalid(Vec::new())),
            Box::new(AltaError::AlreadyRegistered {
                level: Level::Basico,
            }),
        ]
    }

    #[test]
    fn every_code_is_listed_once_and_unique() {
        let table: HashSet<&str> = ERROR_CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            table.len(),
            ERROR_CODES.len(),
            "duplicate code in ERROR_CODES"
        );
        let mut seen = HashSet::new();
        for e in every_variant() {
            let code = e.code();
            assert!(seen.insert(code), "two variants share {code}");
            assert!(table.contains(code), "{code} missing from ERROR_CODES");
            let b = code.as_bytes();
            assert!(b.len() == 7 && b[3] == b'-' && b[..3].iter().all(u8::is_ascii_uppercase));
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(seen, table, "ERROR_CODES lists codes no variant uses");
    }

    #[test]
    fn display_and_debug_never_carry_document_digits() {
        for e in every_variant() {
            for shown in [e.to_string(), format!("{e:?}")] {
                assert!(!shown.contains("12345678"), "{} shows digits", e.code());
            }
        }
    }
}
