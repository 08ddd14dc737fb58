//! ICAO LDS data groups of the DNIe 3.0 (DF `3F01`), DNIE.md §6. A documented subset:
//!
//! - **EF.COM** `011E`: `60 { 5F01 "0107", 5F36 "040000", 5C <61 6B 6D> }`.
//! - **DG1** `0101`: `61 5D 5F1F 5A <TD1 MRZ, 3 × 30 characters>`; line 1 `IDESP` + support
//!   number (IDESP) + check digit + DNI number as optional data; line 2 birth date YYMMDD + check,
//!   sex, **expiry** YYMMDD + check, nationality, composite check; line 3 `SURNAME1<SURNAME2<<NAME`.
//! - **DG11** `010B`: `6B { 5C <5F0E 5F10 5F2B 5F11 5F42>, 5F0E full name, 5F10 DNI number,
//!   5F2B birth date YYYYMMDD, 5F11 place of birth, 5F42 address }`.
//! - **DG13** `010D` (Spain-specific): `6D L` followed by the fields of
//!   [`dg13_fields`] each as a UTF8String `0C len value` — so every field is preceded by two
//!   control characters when `len < 32`, which is how the field separation is described for the
//!   real card (jmulticard `OptionalDetails` splits on two control characters). Dates are
//!   `dd MM yyyy`. Order: surname 1, surname 2, name, DNI number, birth date, nationality,
//!   expiry date, support number, sex, birth place, birth province, parents, address, city,
//!   province, country.
//! - DG2 (face), DG7 (signature image), SOD and EF.CardAccess are **not** provided; DG3
//!   exists and always answers 6982 (it needs an administrative channel on real cards).

use crate::identity::Identity;
use crate::tlv::{t, tlv};

/// MRZ character value for check digits.
fn mrz_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A'..=b'Z' => u32::from(c - b'A') + 10,
        _ => 0,
    }
}

/// ICAO 9303 check digit (weights 7, 3, 1).
pub fn check_digit(s: &str) -> char {
    let w = [7, 3, 1];
    let sum: u32 = s
        .bytes()
        .enumerate()
        .map(|(i, c)| mrz_value(c) * w[i % 3])
        .sum();
    char::from(b'0' + (sum % 10) as u8)
}

/// Upper-case MRZ transliteration: Spanish letters lose their accents, others become `<`.
pub fn mrz_text(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_ascii_uppercase() {
            'Á' | 'á' | 'À' | 'à' | 'Ä' | 'ä' => 'A',
            'É' | 'é' | 'È' | 'è' | 'Ë' | 'ë' => 'E',
            'Í' | 'í' | 'Ï' | 'ï' => 'I',
            'Ó' | 'ó' | 'Ö' | 'ö' => 'O',
            'Ú' | 'ú' | 'Ü' | 'ü' => 'U',
            'Ñ' | 'ñ' => 'N',
            'Ç' | 'ç' => 'C',
            c @ ('A'..='Z' | '0'..='9') => c,
            _ => '<',
        })
        .collect()
}

fn field(s: &str, len: usize) -> String {
    let mut out: String = mrz_text(s).chars().take(len).collect();
    while out.len() < len {
        out.push('<');
    }
    out
}

/// The three 30-character lines of the TD1 MRZ.
pub fn mrz(id: &Identity) -> [String; 3] {
    let doc = field(&id.idesp, 9);
    let l1 = format!(
        "IDESP{doc}{}{}",
        check_digit(&doc),
        field(&id.document_number, 15)
    );
    let birth = id.birth_date.format("%y%m%d").to_string();
    let expiry = id.expiry_date.format("%y%m%d").to_string();
    let sex = if id.sex == "X" {
        "<".to_string()
    } else {
        id.sex.clone()
    };
    let l2_head = format!(
        "{birth}{}{sex}{expiry}{}{}{}",
        check_digit(&birth),
        check_digit(&expiry),
        field(&id.nationality, 3),
        field("", 11)
    );
    let composite = format!(
        "{}{}{}{}",
        &l1[5..30],
        &l2_head[0..7],
        &l2_head[8..15],
        &l2_head[18..29]
    );
    let l2 = format!("{l2_head}{}", check_digit(&composite));
    let name = format!(
        "{}<{}<<{}",
        mrz_text(&id.first_surname),
        mrz_text(&id.second_surname),
        mrz_text(&id.given_name)
    );
    [l1, l2, field(&name, 30)]
}

/// EF.COM.
pub fn com() -> Vec<u8> {
    t(
        0x60,
        &[
            tlv(&[0x5F, 0x01], b"0107"),
            tlv(&[0x5F, 0x36], b"040000"),
            t(0x5C, &[0x61, 0x6B, 0x6D]),
        ]
        .concat(),
    )
}

/// DG1 (MRZ).
pub fn dg1(id: &Identity) -> Vec<u8> {
    let m = mrz(id).concat();
    t(0x61, &tlv(&[0x5F, 0x1F], m.as_bytes()))
}

/// DG11 (additional personal details).
pub fn dg11(id: &Identity) -> Vec<u8> {
    let full = format!(
        "{}<{}<<{}",
        id.first_surname.replace(' ', "<"),
        id.second_surname.replace(' ', "<"),
        id.given_name.replace(' ', "<")
    );
    let place = format!("{}<{}", id.birth_place, id.birth_province);
    let addr = format!("{}<{}<{}", id.address, id.city, id.province);
    t(
        0x6B,
        &[
            t(
                0x5C,
                &[0x5F, 0x0E, 0x5F, 0x10, 0x5F, 0x2B, 0x5F, 0x11, 0x5F, 0x42],
            ),
            tlv(&[0x5F, 0x0E], full.as_bytes()),
            tlv(&[0x5F, 0x10], id.document_number.as_bytes()),
            tlv(
                &[0x5F, 0x2B],
                id.birth_date.format("%Y%m%d").to_string().as_bytes(),
            ),
            tlv(&[0x5F, 0x11], place.as_bytes()),
            tlv(&[0x5F, 0x42], addr.as_bytes()),
        ]
        .concat(),
    )
}

/// DG13 fields in card order, with their names.
pub fn dg13_fields(id: &Identity) -> Vec<(&'static str, String)> {
    vec![
        ("first_surname", id.first_surname.clone()),
        ("second_surname", id.second_surname.clone()),
        ("given_name", id.given_name.clone()),
        ("document_number", id.document_number.clone()),
        ("birth_date", id.birth_date.format("%d %m %Y").to_string()),
        ("nationality", id.nationality.clone()),
        ("expiry_date", id.expiry_date.format("%d %m %Y").to_string()),
        ("idesp", id.idesp.clone()),
        ("sex", id.sex.clone()),
        ("birth_place", id.birth_place.clone()),
        ("birth_province", id.birth_province.clone()),
        ("parents", id.parents.clone()),
        ("address", id.address.clone()),
        ("city", id.city.clone()),
        ("province", id.province.clone()),
        ("country", "ESPAÑA".to_string()),
    ]
}

/// DG13 (Spanish optional details).
pub fn dg13(id: &Identity) -> Vec<u8> {
    let body: Vec<u8> = dg13_fields(id)
        .iter()
        .flat_map(|(_, v)| t(0x0C, v.as_bytes()))
        .collect();
    t(0x6D, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icao_check_digits() {
        // ICAO 9303 part 3 examples.
        assert_eq!(check_digit("520727"), '3');
        assert_eq!(check_digit("D23145890"), '7');
        assert_eq!(mrz_text("Muñoz Peña"), "MUNOZ<PENA");
    }
}
