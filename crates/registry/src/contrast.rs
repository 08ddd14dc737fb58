//! Contrast data ("datos de contraste"): the second fact, printed on the physical document,
//! that Cl@ve asks together with the DNI/NIE number — the expiry date of a DNI, the issue
//! date of a permanent DNI (expiry 01-01-9999), or the support number of a NIE card.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use crate::document_number::DocumentKind;

/// The expiry date printed on a permanent DNI (holders over 70).
pub const PERMANENT_EXPIRY: NaiveDate = match NaiveDate::from_ymd_opt(9999, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// Which input a contrast error belongs to (the alta form shows it next to that field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContrastField {
    ExpiryDate,
    IssueDate,
    SupportNumber,
}

/// Why a date or contrast datum was refused. Codes `CTR-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ContrastError {
    #[error("date is empty")]
    DateEmpty,
    #[error("date format not recognised: use DD/MM/YYYY")]
    DateFormat,
    #[error("date does not exist")]
    DateInvalid,
    #[error("document expired")]
    DocumentExpired { expiry: NaiveDate },
    #[error("issue date is in the future")]
    IssueDateInFuture { issue: NaiveDate },
    #[error("a permanent DNI needs its issue date")]
    IssueDateRequired,
    #[error("expiry date is required")]
    ExpiryDateRequired,
    #[error("a NIE needs its support number")]
    SupportNumberRequired,
    #[error("IDESP must be three letters and six digits")]
    IdespFormat,
    #[error("NIE support number must be a letter and eight digits")]
    NieSupportFormat,
    #[error("contrast datum does not belong to a {document}", document = .document.as_str())]
    KindMismatch { document: DocumentKind },
    #[error("issue date is after the expiry date")]
    IssueAfterExpiry,
    #[error("a permanent DNI expires on 01/01/9999")]
    PermanentConflict,
    #[error("only a DNI can be permanent")]
    PermanentOnlyForDni,
}

impl ContrastError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::DateEmpty => "CTR-001",
            Self::DateFormat => "CTR-002",
            Self::DateInvalid => "CTR-003",
            Self::DocumentExpired { .. } => "CTR-004",
            Self::IssueDateInFuture { .. } => "CTR-005",
            Self::IssueDateRequired => "CTR-006",
            Self::ExpiryDateRequired => "CTR-007",
            Self::SupportNumberRequired => "CTR-008",
            Self::IdespFormat => "CTR-009",
            Self::NieSupportFormat => "CTR-010",
            Self::KindMismatch { .. } => "CTR-011",
            Self::IssueAfterExpiry => "CTR-012",
            Self::PermanentConflict => "CTR-013",
            Self::PermanentOnlyForDni => "CTR-014",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::DocumentExpired { expiry } => vec![("expiry", expiry.to_string())],
            Self::IssueDateInFuture { issue } => vec![("issue", issue.to_string())],
            Self::KindMismatch { document } => vec![("document", document.as_str().into())],
            _ => Vec::new(),
        }
    }

    /// The input the error is about, when it is about one (date parsing errors are about
    /// whichever date was being parsed).
    pub fn field(&self) -> Option<ContrastField> {
        match self {
            Self::DateEmpty | Self::DateFormat | Self::DateInvalid => None,
            Self::DocumentExpired { .. }
            | Self::ExpiryDateRequired
            | Self::PermanentConflict
            | Self::PermanentOnlyForDni => Some(ContrastField::ExpiryDate),
            Self::IssueDateInFuture { .. } | Self::IssueDateRequired | Self::IssueAfterExpiry => {
                Some(ContrastField::IssueDate)
            }
            Self::SupportNumberRequired
            | Self::IdespFormat
            | Self::NieSupportFormat
            | Self::KindMismatch { .. } => Some(ContrastField::SupportNumber),
        }
    }
}

crate::error::impl_coded!(ContrastError);

/// Parses `YYYY-MM-DD`, `DD/MM/YYYY`, `DD-MM-YYYY` (and `DD.MM.YYYY`); day and month may
/// have one digit.
pub fn parse_date(input: &str) -> Result<NaiveDate, ContrastError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(ContrastError::DateEmpty);
    }
    let sep = s
        .chars()
        .find(|c| matches!(c, '/' | '-' | '.'))
        .ok_or(ContrastError::DateFormat)?;
    let parts: Vec<&str> = s.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(ContrastError::DateFormat);
    };
    let numeric = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let (year, month, day) =
        if sep == '-' && numeric(a, 4, 4) && numeric(b, 1, 2) && numeric(c, 1, 2) {
            (*a, *b, *c)
        } else if numeric(a, 1, 2) && numeric(b, 1, 2) && numeric(c, 4, 4) {
            (*c, *b, *a)
        } else {
            return Err(ContrastError::DateFormat);
        };
    let (Ok(y), Ok(m), Ok(d)) = (
        year.parse::<i32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(ContrastError::DateFormat);
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or(ContrastError::DateInvalid)
}

/// Shows only the year of a contrast date: `**/**/2031`.
pub fn mask_date(date: NaiveDate) -> String {
    format!("**/**/{:04}", date.year())
}

fn normalise_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .flat_map(char::to_uppercase)
        .collect()
}

/// `*` for every character but the last 3.
fn mask_tail(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 3 < n { '*' } else { c })
        .collect()
}

/// The DNI support number (IDESP, "número de soporte"): three letters and six digits,
/// e.g. `BAA000589`. Read from the chip or typed from the card front.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Idesp(String);

impl Idesp {
    pub fn parse(input: &str) -> Result<Idesp, ContrastError> {
        let s = normalise_code(input);
        if s.is_empty() {
            return Err(ContrastError::SupportNumberRequired);
        }
        let b = s.as_bytes();
        let ok = b.len() == 9
            && b.iter().take(3).all(u8::is_ascii_uppercase)
            && b.iter().skip(3).all(u8::is_ascii_digit);
        if ok {
            Ok(Idesp(s))
        } else {
            Err(ContrastError::IdespFormat)
        }
    }

    pub fn unmasked(&self) -> &str {
        &self.0
    }

    /// `******589`.
    pub fn masked(&self) -> String {
        mask_tail(&self.0)
    }
}

impl fmt::Display for Idesp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Idesp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Idesp({})", self.masked())
    }
}

/// The support number of a NIE card (TIE / certificate): a letter and eight digits,
/// e.g. `E12345678`. It is the NIE's contrast datum.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NieSupportNumber(String);

impl NieSupportNumber {
    pub fn parse(input: &str) -> Result<NieSupportNumber, ContrastError> {
        let s = normalise_code(input);
        if s.is_empty() {
            return Err(ContrastError::SupportNumberRequired);
        }
        let b = s.as_bytes();
        let ok = b.len() == 9
            && b.first().is_some_and(u8::is_ascii_uppercase)
            && b.iter().skip(1).all(u8::is_ascii_digit);
        if ok {
            Ok(NieSupportNumber(s))
        } else {
            Err(ContrastError::NieSupportFormat)
        }
    }

    pub fn unmasked(&self) -> &str {
        &self.0
    }

    /// `******678`.
    pub fn masked(&self) -> String {
        mask_tail(&self.0)
    }
}

impl fmt::Display for NieSupportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for NieSupportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NieSupportNumber({})", self.masked())
    }
}

/// What the clerk (or the citizen, on the no-QR path) gives as contrast, already parsed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ContrastInput {
    pub expiry: Option<NaiveDate>,
    /// The "permanent DNI" checkbox; an expiry of 01/01/9999 means the same.
    pub permanent: bool,
    pub issue: Option<NaiveDate>,
    pub nie_support: Option<NieSupportNumber>,
}

impl fmt::Debug for ContrastInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContrastInput")
            .field("expiry", &self.expiry.map(mask_date))
            .field("permanent", &self.permanent)
            .field("issue", &self.issue.map(mask_date))
            .field("nie_support", &self.nie_support)
            .finish()
    }
}

/// Which contrast datum a citizen has (for screens and storage columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContrastKind {
    DniExpiry,
    PermanentDniIssue,
    NieSupport,
}

/// The contrast datum Cl@ve keeps for a citizen.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ContrastData {
    /// Ordinary DNI: its expiry date.
    DniExpiry(NaiveDate),
    /// Permanent DNI (expiry 01-01-9999): its issue date.
    PermanentDniIssue(NaiveDate),
    /// NIE: the card's support number.
    NieSupport(NieSupportNumber),
}

impl ContrastData {
    /// Builds the contrast datum for a document of `kind`, applying the rules (permanent
    /// DNI → issue date; expired documents and future issue dates refused). Returns the
    /// first error; [`ContrastData::validate`] returns them all.
    pub fn new(
        kind: DocumentKind,
        input: &ContrastInput,
        today: NaiveDate,
    ) -> Result<ContrastData, ContrastError> {
        // `validate` never fails with an empty list; the fallback only satisfies the types.
        Self::validate(kind, input, today).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .unwrap_or(ContrastError::DateEmpty)
        })
    }

    /// Like [`ContrastData::new`], reporting every error (at most one per field).
    pub fn validate(
        kind: DocumentKind,
        input: &ContrastInput,
        today: NaiveDate,
    ) -> Result<ContrastData, Vec<ContrastError>> {
        let mut errors = Vec::new();
        let permanent_expiry = input.expiry == Some(PERMANENT_EXPIRY);

        // Expiry (any document): refused in the past; 9999-01-01 marks a permanent DNI.
        match input.expiry {
            Some(_) if input.permanent && !permanent_expiry => {
                errors.push(ContrastError::PermanentConflict);
            }
            Some(expiry) if expiry < today => {
                errors.push(ContrastError::DocumentExpired { expiry });
            }
            _ => {}
        }
        let permanent = input.permanent || permanent_expiry;
        if permanent && kind == DocumentKind::Nie {
            errors.push(ContrastError::PermanentOnlyForDni);
        }

        match input.issue {
            Some(issue) if issue > today => {
                errors.push(ContrastError::IssueDateInFuture { issue });
            }
            Some(issue) if input.expiry.is_some_and(|e| issue > e) => {
                errors.push(ContrastError::IssueAfterExpiry);
            }
            _ => {}
        }

        let result = match kind {
            DocumentKind::Dni => {
                if input.nie_support.is_some() {
                    errors.push(ContrastError::KindMismatch {
                        document: DocumentKind::Dni,
                    });
                }
                if permanent {
                    match input.issue {
                        Some(issue) => Some(ContrastData::PermanentDniIssue(issue)),
                        None => {
                            errors.push(ContrastError::IssueDateRequired);
                            None
                        }
                    }
                } else {
                    match input.expiry {
                        Some(expiry) => Some(ContrastData::DniExpiry(expiry)),
                        None => {
                            errors.push(ContrastError::ExpiryDateRequired);
                            None
                        }
                    }
                }
            }
            DocumentKind::Nie => match &input.nie_support {
                Some(support) => Some(ContrastData::NieSupport(support.clone())),
                None => {
                    errors.push(ContrastError::SupportNumberRequired);
                    None
                }
            },
        };
        match result {
            Some(data) if errors.is_empty() => Ok(data),
            _ => Err(errors),
        }
    }

    /// The document kind this datum belongs to.
    pub fn document_kind(&self) -> DocumentKind {
        match self {
            Self::DniExpiry(_) | Self::PermanentDniIssue(_) => DocumentKind::Dni,
            Self::NieSupport(_) => DocumentKind::Nie,
        }
    }

    pub fn contrast_kind(&self) -> ContrastKind {
        match self {
            Self::DniExpiry(_) => ContrastKind::DniExpiry,
            Self::PermanentDniIssue(_) => ContrastKind::PermanentDniIssue,
            Self::NieSupport(_) => ContrastKind::NieSupport,
        }
    }

    /// Refuses a datum stored or typed for the other kind of document.
    pub fn check_kind(&self, kind: DocumentKind) -> Result<(), ContrastError> {
        if self.document_kind() == kind {
            Ok(())
        } else {
            Err(ContrastError::KindMismatch { document: kind })
        }
    }

    /// For the counter screen: dates show only the year, support numbers the last 3 chars.
    pub fn masked(&self) -> String {
        match self {
            Self::DniExpiry(d) | Self::PermanentDniIssue(d) => mask_date(*d),
            Self::NieSupport(s) => s.masked(),
        }
    }
}

impl fmt::Display for ContrastData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for ContrastData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DniExpiry(_) => write!(f, "DniExpiry({})", self.masked()),
            Self::PermanentDniIssue(_) => write!(f, "PermanentDniIssue({})", self.masked()),
            Self::NieSupport(_) => write!(f, "NieSupport({})", self.masked()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 5, 14);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn date_formats() {
        for s in [
            "2031-03-07",
            "07/03/2031",
            "07-03-2031",
            "7/3/2031",
            " 07.03.2031 ",
        ] {
            assert_eq!(parse_date(s).unwrap(), d(2031, 3, 7), "{s}");
        }
        assert_eq!(parse_date("01-01-9999").unwrap(), PERMANENT_EXPIRY);
        let cases = [
            ("", "CTR-001"),
            ("  ", "CTR-001"),
            ("20310307", "CTR-002"),
            ("2031/03/07", "CTR-002"),
            ("07/03-2031", "CTR-002"),
            ("07/03/31", "CTR-002"),
            ("a7/03/2031", "CTR-002"),
            ("+7/03/2031", "CTR-002"),
            ("07/03/2031/1", "CTR-002"),
            ("31/02/2031", "CTR-003"),
            ("00/01/2031", "CTR-003"),
            ("2031-13-01", "CTR-003"),
        ];
        for (s, code) in cases {
            assert_eq!(parse_date(s).unwrap_err().code(), code, "{s:?}");
        }
    }

    #[test]
    fn idesp_and_nie_support() {
        assert_eq!(Idesp::parse(" baa000589 ").unwrap().unmasked(), "BAA000589");
        assert_eq!(Idesp::parse("BAA 000 589").unwrap().unmasked(), "BAA000589");
        for bad in [
            "BA0000589",
            "BAA00058",
            "BAA0005890",
            "ÑAA000589",
            "E12345678",
        ] {
            assert_eq!(Idesp::parse(bad).unwrap_err().code(), "CTR-009", "{bad}");
        }
        assert_eq!(Idesp::parse("").unwrap_err().code(), "CTR-008");
        assert_eq!(
            NieSupportNumber::parse("e12345678").unwrap().unmasked(),
            "E12345678"
        );
        for bad in ["E1234567", "12345678E", "EE2345678", "BAA000589"] {
            assert_eq!(
                NieSupportNumber::parse(bad).unwrap_err().code(),
                "CTR-010",
                "{bad}"
            );
        }
    }

    #[test]
    fn masking() {
        let i = Idesp::parse("BAA000589").unwrap();
        assert_eq!(i.to_string(), "******589");
        assert_eq!(format!("{i:?}"), "Idesp(******589)");
        let s = NieSupportNumber::parse("E12345678").unwrap();
        assert_eq!(s.to_string(), "******678");
        assert!(!format!("{s:?}").contains("E12345678"));
        let c = ContrastData::DniExpiry(d(2031, 3, 7));
        assert_eq!(c.to_string(), "**/**/2031");
        assert_eq!(format!("{c:?}"), "DniExpiry(**/**/2031)");
        let input = ContrastInput {
            expiry: Some(d(2031, 3, 7)),
            issue: Some(d(2021, 3, 7)),
            nie_support: Some(s),
            permanent: false,
        };
        let dbg = format!("{input:?}");
        assert!(
            !dbg.contains("03-07") && !dbg.contains("E12345678"),
            "{dbg}"
        );
    }

    fn dni_input(
        expiry: Option<NaiveDate>,
        permanent: bool,
        issue: Option<NaiveDate>,
    ) -> ContrastInput {
        ContrastInput {
            expiry,
            permanent,
            issue,
            nie_support: None,
        }
    }

    #[test]
    fn dni_rules() {
        let ok = ContrastData::new(
            DocumentKind::Dni,
            &dni_input(Some(d(2031, 3, 7)), false, None),
            today(),
        );
        assert_eq!(ok.unwrap(), ContrastData::DniExpiry(d(2031, 3, 7)));
        // Expiring today is still valid.
        assert!(
            ContrastData::new(
                DocumentKind::Dni,
                &dni_input(Some(today()), false, None),
                today()
            )
            .is_ok()
        );
        // Permanent by date or by flag → issue date.
        for input in [
            dni_input(Some(PERMANENT_EXPIRY), false, Some(d(2015, 6, 1))),
            dni_input(None, true, Some(d(2015, 6, 1))),
            dni_input(Some(PERMANENT_EXPIRY), true, Some(d(2015, 6, 1))),
        ] {
            assert_eq!(
                ContrastData::new(DocumentKind::Dni, &input, today()).unwrap(),
                ContrastData::PermanentDniIssue(d(2015, 6, 1))
            );
        }
        let code = |input: ContrastInput| {
            ContrastData::new(DocumentKind::Dni, &input, today())
                .unwrap_err()
                .code()
        };
        assert_eq!(
            code(dni_input(Some(d(2026, 5, 13)), false, None)),
            "CTR-004"
        );
        assert_eq!(
            code(dni_input(Some(PERMANENT_EXPIRY), false, None)),
            "CTR-006"
        );
        assert_eq!(code(dni_input(None, true, None)), "CTR-006");
        assert_eq!(code(dni_input(None, false, None)), "CTR-007");
        assert_eq!(
            code(dni_input(Some(d(2031, 1, 1)), false, Some(d(2026, 5, 15)))),
            "CTR-005"
        );
        assert_eq!(
            code(dni_input(Some(d(2031, 1, 1)), true, Some(d(2015, 1, 1)))),
            "CTR-013"
        );
        let mut with_support = dni_input(Some(d(2031, 1, 1)), false, None);
        with_support.nie_support = Some(NieSupportNumber::parse("E12345678").unwrap());
        assert_eq!(code(with_support), "CTR-011");
    }

    #[test]
    fn expired_params_and_all_errors() {
        let err = ContrastData::validate(
            DocumentKind::Dni,
            &dni_input(Some(d(2020, 1, 1)), false, Some(d(2030, 1, 1))),
            today(),
        )
        .unwrap_err();
        let codes: Vec<_> = err.iter().map(ContrastError::code).collect();
        assert_eq!(codes, ["CTR-004", "CTR-005"]);
        assert_eq!(err[0].params(), vec![("expiry", "2020-01-01".to_string())]);
        assert_eq!(err[0].field(), Some(ContrastField::ExpiryDate));
        assert_eq!(err[1].field(), Some(ContrastField::IssueDate));
        assert_eq!(err[0].to_string(), "document expired");
    }

    #[test]
    fn issue_after_expiry() {
        let input = dni_input(Some(d(2026, 1, 1)), false, Some(d(2026, 3, 1)));
        let err = ContrastData::validate(DocumentKind::Dni, &input, today()).unwrap_err();
        let codes: Vec<_> = err.iter().map(ContrastError::code).collect();
        assert_eq!(codes, ["CTR-004", "CTR-012"]);
        let fine = dni_input(Some(d(2026, 6, 1)), false, Some(d(2016, 6, 1)));
        assert!(ContrastData::new(DocumentKind::Dni, &fine, today()).is_ok());
    }

    #[test]
    fn nie_rules() {
        let support = NieSupportNumber::parse("E12345678").unwrap();
        let input = ContrastInput {
            nie_support: Some(support.clone()),
            ..ContrastInput::default()
        };
        assert_eq!(
            ContrastData::new(DocumentKind::Nie, &input, today()).unwrap(),
            ContrastData::NieSupport(support.clone())
        );
        let missing = ContrastData::new(DocumentKind::Nie, &ContrastInput::default(), today());
        assert_eq!(missing.unwrap_err().code(), "CTR-008");
        let permanent = ContrastInput {
            permanent: true,
            nie_support: Some(support.clone()),
            ..ContrastInput::default()
        };
        assert_eq!(
            ContrastData::new(DocumentKind::Nie, &permanent, today())
                .unwrap_err()
                .code(),
            "CTR-014"
        );
        let expired = ContrastInput {
            expiry: Some(d(2025, 1, 1)),
            nie_support: Some(support),
            ..ContrastInput::default()
        };
        assert_eq!(
            ContrastData::new(DocumentKind::Nie, &expired, today())
                .unwrap_err()
                .code(),
            "CTR-004"
        );
    }

    #[test]
    fn kind_check() {
        let c = ContrastData::DniExpiry(d(2031, 1, 1));
        assert!(c.check_kind(DocumentKind::Dni).is_ok());
        assert_eq!(
            c.check_kind(DocumentKind::Nie).unwrap_err().code(),
            "CTR-011"
        );
    }
}
