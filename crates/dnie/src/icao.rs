//! ICAO data groups of the DNIe 3.0/4.0 (DNIE.md §6): DG1 (TD1 MRZ) and DG13 (Spanish
//! optional details), read through the CWA user channel without PIN from DF `3F01`.
//!
//! Everything here is personal data: `Debug` is redacted. Parsers never panic
//! (property-tested).

use std::fmt;

use chrono::NaiveDate;

use crate::error::{DnieError, Result};
use crate::tlv;

/// DF of the ICAO application (LDS1) relative to the MF (jmulticard `MrtdLds1`).
pub const FID_ICAO_DF: u16 = 0x3F01;
/// EF.DG1.
pub const FID_DG1: u16 = 0x0101;
/// EF.DG13.
pub const FID_DG13: u16 = 0x010D;

/// DG1: the machine-readable zone (TD1, 3 × 30 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct Dg1 {
    /// The MRZ as read (90 characters for TD1).
    pub mrz: String,
    /// Document number: on the DNIe, the support number (IDESP).
    pub document_number: String,
    /// Optional data 1: on the DNIe, the DNI number.
    pub optional_data: String,
    /// Date of birth `YYMMDD` (the century is not in the MRZ).
    pub birth_date: String,
    /// `M`, `F` or `<`.
    pub sex: char,
    /// Expiry date (`YYMMDD` read as 20YY).
    pub expiry_date: Option<NaiveDate>,
    /// Nationality (ICAO 3-letter code).
    pub nationality: String,
    /// Primary identifier (surnames), `<` turned into spaces.
    pub surnames: String,
    /// Secondary identifier (given names).
    pub given_names: String,
}

impl fmt::Debug for Dg1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dg1(<personal data redacted>)")
    }
}

fn mrz_field(s: &str) -> String {
    s.trim_end_matches('<').replace('<', " ").trim().to_owned()
}

impl Dg1 {
    /// Parses EF.DG1: `61 { 5F1F <MRZ> }`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let bad = DnieError::MalformedData("DG1");
        let outer = tlv::find(data, 0x61).ok_or_else(|| bad.clone())?;
        let mrz = outer.child(0x5F1F).ok_or_else(|| bad.clone())?.value;
        if mrz.len() != 90 || !mrz.is_ascii() {
            return Err(bad);
        }
        let mrz = String::from_utf8_lossy(mrz).into_owned();
        let l1 = &mrz[0..30];
        let l2 = &mrz[30..60];
        let l3 = &mrz[60..90];
        let (surnames, given) = l3.split_once("<<").unwrap_or((l3, ""));
        let expiry = NaiveDate::parse_from_str(&format!("20{}", &l2[8..14]), "%Y%m%d").ok();
        Ok(Dg1 {
            document_number: mrz_field(&l1[5..14]),
            optional_data: mrz_field(&l1[15..30]),
            birth_date: l2[0..6].to_owned(),
            sex: l2.as_bytes()[7] as char,
            expiry_date: expiry,
            nationality: mrz_field(&l2[15..18]),
            surnames: mrz_field(surnames),
            given_names: mrz_field(given),
            mrz,
        })
    }
}

/// DG13 (Spain): fields separated by pairs of control characters (jmulticard
/// `OptionalDetails`). Field names follow jmulticard's order; `fields` keeps them all.
#[derive(Clone, PartialEq, Eq)]
pub struct Dg13 {
    /// Every field in order.
    pub fields: Vec<String>,
}

impl fmt::Debug for Dg13 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Dg13({} fields, <personal data redacted>)",
            self.fields.len()
        )
    }
}

impl Dg13 {
    /// Parses EF.DG13: `6D <fields>`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let outer = tlv::find(data, 0x6D).ok_or(DnieError::MalformedData("DG13"))?;
        let text = String::from_utf8_lossy(outer.value);
        // Split on consecutive pairs of control characters, left to right.
        let chars: Vec<char> = text.chars().collect();
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_control() && chars.get(i + 1).is_some_and(|c| c.is_control()) {
                fields.push(std::mem::take(&mut cur));
                i += 2;
            } else {
                cur.push(chars[i]);
                i += 1;
            }
        }
        fields.push(cur);
        // The value opens with a separator: drop what precedes it, and trailing empties.
        if fields.first().is_some_and(|f| f.is_empty()) {
            fields.remove(0);
        }
        while fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        Ok(Dg13 { fields })
    }

    fn field(&self, i: usize) -> Option<&str> {
        self.fields.get(i).map(String::as_str)
    }

    fn date(&self, i: usize) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.field(i)?.trim(), "%d %m %Y").ok()
    }

    /// First surname.
    pub fn first_surname(&self) -> Option<&str> {
        self.field(0)
    }
    /// Second surname.
    pub fn second_surname(&self) -> Option<&str> {
        self.field(1)
    }
    /// Given name.
    pub fn name(&self) -> Option<&str> {
        self.field(2)
    }
    /// DNI number.
    pub fn dni_number(&self) -> Option<&str> {
        self.field(3)
    }
    /// Date of birth (`dd MM yyyy`).
    pub fn birth_date(&self) -> Option<NaiveDate> {
        self.date(4)
    }
    /// Nationality.
    pub fn nationality(&self) -> Option<&str> {
        self.field(5)
    }
    /// Expiry date of the card (`dd MM yyyy`).
    pub fn expiry_date(&self) -> Option<NaiveDate> {
        self.date(6)
    }
    /// Support number (IDESP).
    pub fn support_number(&self) -> Option<&str> {
        self.field(7)
    }
    /// Sex.
    pub fn sex(&self) -> Option<&str> {
        self.field(8)
    }
}

/// What the ICAO application gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcaoData {
    /// DG1, if the card let us read it.
    pub dg1: Option<Dg1>,
    /// DG13, if the card let us read it.
    pub dg13: Option<Dg13>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tlv::encode;
    use proptest::prelude::*;

    pub(crate) fn sample_dg1() -> Vec<u8> {
        let mrz = concat!(
            "IDESPBMP100001599999002Q<<<<<<",
            "8001014F3001015ESP<<<<<<<<<<<6",
            "ESPANOL<ESPANOL<<MARIA<JOSE<<<"
        );
        encode(0x61, &encode(0x5F1F, mrz.as_bytes()))
    }

    pub(crate) fn sample_dg13() -> Vec<u8> {
        let sep = "\u{1}\u{2}";
        let fields = [
            "ESPAÑOL",
            "ESPAÑOL",
            "MARÍA JOSÉ",
            "99999002Q",
            "01 01 1980",
            "ESP",
            "01 01 2030",
            "BMP100001",
            "F",
            "MADRID",
            "MADRID",
        ];
        let mut s = String::new();
        for f in fields {
            s.push_str(sep);
            s.push_str(f);
        }
        encode(0x6D, s.as_bytes())
    }

    #[test]
    fn dg1_td1() {
        let d = Dg1::parse(&sample_dg1()).unwrap();
        assert_eq!(d.document_number, "BMP100001");
        assert_eq!(d.optional_data, "99999002Q");
        assert_eq!(d.birth_date, "800101");
        assert_eq!(d.sex, 'F');
        assert_eq!(d.expiry_date, NaiveDate::from_ymd_opt(2030, 1, 1));
        assert_eq!(d.nationality, "ESP");
        assert_eq!(d.surnames, "ESPANOL ESPANOL");
        assert_eq!(d.given_names, "MARIA JOSE");
        assert!(!format!("{d:?}").contains("MARIA"));
    }

    #[test]
    fn dg13_fields() {
        let d = Dg13::parse(&sample_dg13()).unwrap();
        assert_eq!(d.first_surname(), Some("ESPAÑOL"));
        assert_eq!(d.name(), Some("MARÍA JOSÉ"));
        assert_eq!(d.dni_number(), Some("99999002Q"));
        assert_eq!(d.birth_date(), NaiveDate::from_ymd_opt(1980, 1, 1));
        assert_eq!(d.expiry_date(), NaiveDate::from_ymd_opt(2030, 1, 1));
        assert_eq!(d.support_number(), Some("BMP100001"));
        assert_eq!(d.sex(), Some("F"));
        assert!(!format!("{d:?}").contains("MAR"));
    }

    #[test]
    fn rejects() {
        assert!(Dg1::parse(&[]).is_err());
        assert!(Dg1::parse(&encode(0x61, &encode(0x5F1F, b"SHORT"))).is_err());
        assert!(Dg13::parse(&[0x6E, 0]).is_err());
    }

    proptest! {
        #[test]
        fn never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Dg1::parse(&data);
            let _ = Dg13::parse(&data);
            let _ = Dg1::parse(&encode(0x61, &encode(0x5F1F, &data)));
            let _ = Dg13::parse(&encode(0x6D, &data));
        }

        #[test]
        fn any_ascii_mrz(mrz in "[ -~]{90}") {
            let _ = Dg1::parse(&encode(0x61, &encode(0x5F1F, mrz.as_bytes())));
        }
    }
}
