//! Who is "at the counter": identities loaded from a TOML file.
//!
//! ```toml
//! # Every identity is FICTITIOUS and uses the TEST PKI.
//! [[identity]]
//! name = "especimen"              # handle: `card-sim run --identity especimen`
//! given_name = "FICTICIO"
//! first_surname = "ESPECIMEN"
//! second_surname = "SPECIMEN"     # optional
//! document_number = "99999018D"   # DNI or NIE with a valid mod-23 letter
//! idesp = "BMP104321"             # support number (EF 3F00/0006, DG1, DG13)
//! birth_date = 1980-03-15
//! expiry_date = 2034-01-15
//! sex = "M"                       # F, M or X (default X)
//! pin = "FICTICIO1234"            # 8–16 letters/digits
//! version = "3.0"                 # "3.0" (default) or "2.0"
//! pki = "especimen"               # citizen key pair + certificates of the TEST PKI
//! # optional:
//! reissue_certificates = false    # true: issue new certificates naming THIS identity over the
//!                                 # `pki` key pair (needed when the names differ from the PKI)
//! idces_prefix = false            # serialNumber "IDCES-…" in re-issued certificates
//! certificates_not_before = 2024-01-15   # validity of re-issued certificates
//! certificates_not_after = 2034-01-15    # (defaults: expiry − 10 years … expiry)
//! pin_tries_left = 3              # 0 = a blocked card
//! chip_serial = "06CFC2227A398A"  # 7 bytes hex (default: derived from the IDESP)
//! nationality = "ESP"
//! birth_place = "MADRID"
//! birth_province = "MADRID"
//! parents = "JUAN / MARIA"
//! address = "CALLE FICTICIA 1"
//! city = "MADRID"
//! province = "MADRID"
//! ```
//!
//! DG13 fields must be shorter than 32 bytes (see [`crate::icao`]).

use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The default identities file (committed next to the crate's Cargo.toml).
pub const DEFAULT_IDENTITIES_TOML: &str = include_str!("../identities.toml");

/// DNIe generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnieVersion {
    /// DNIe 2.0: OS-version byte 0x01, one channel, 4-byte MACs, certificates behind SM + PIN.
    #[serde(rename = "2.0")]
    V2,
    /// DNIe 3.0 (default): OS-version byte 0x04, PIN channel then user channel, 8-byte MACs.
    #[serde(rename = "3.0")]
    #[default]
    V3,
}

fn default_sex() -> String {
    "X".into()
}

fn default_nationality() -> String {
    "ESP".into()
}

/// One fictitious citizen with their card. `Debug` never prints the PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Handle used to pick the identity.
    pub name: String,
    /// Given name(s).
    pub given_name: String,
    /// First surname.
    pub first_surname: String,
    /// Second surname.
    #[serde(default)]
    pub second_surname: String,
    /// DNI or NIE number with its letter.
    pub document_number: String,
    /// Support number (IDESP).
    pub idesp: String,
    /// Date of birth.
    #[serde(with = "date")]
    pub birth_date: NaiveDate,
    /// Card expiry date.
    #[serde(with = "date")]
    pub expiry_date: NaiveDate,
    /// F, M or X.
    #[serde(default = "default_sex")]
    pub sex: String,
    /// The card PIN (TEST value).
    pub pin: String,
    /// DNIe generation.
    #[serde(default)]
    pub version: DnieVersion,
    /// Citizen id in the TEST PKI ([`crate::pki::CITIZENS`]).
    pub pki: String,
    /// Issue fresh certificates naming this identity over the `pki` key pair.
    #[serde(default)]
    pub reissue_certificates: bool,
    /// `IDCES-` prefix in re-issued certificates.
    #[serde(default)]
    pub idces_prefix: bool,
    /// notBefore of re-issued certificates.
    #[serde(default, with = "opt_date")]
    pub certificates_not_before: Option<NaiveDate>,
    /// notAfter of re-issued certificates.
    #[serde(default, with = "opt_date")]
    pub certificates_not_after: Option<NaiveDate>,
    /// PIN tries left at insertion (3 = fresh, 0 = blocked).
    #[serde(default)]
    pub pin_tries_left: Option<u8>,
    /// 7-byte chip serial (hex).
    #[serde(default)]
    pub chip_serial: Option<String>,
    /// Nationality (ICAO code).
    #[serde(default = "default_nationality")]
    pub nationality: String,
    /// Place of birth.
    #[serde(default)]
    pub birth_place: String,
    /// Province (or country) of birth.
    #[serde(default)]
    pub birth_province: String,
    /// Parents' names.
    #[serde(default)]
    pub parents: String,
    /// Address.
    #[serde(default)]
    pub address: String,
    /// City of residence.
    #[serde(default)]
    pub city: String,
    /// Province of residence.
    #[serde(default)]
    pub province: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("pki", &self.pki)
            .field("pin", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The identities file: `[[identity]]` tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityFile {
    /// All identities, in file order.
    #[serde(default)]
    pub identity: Vec<Identity>,
}

/// Dates as TOML local dates (`1980-03-15`) or strings (`"1980-03-15"`).
mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Toml(toml::value::Datetime),
    }

    fn parse<'de, D: Deserializer<'de>>(raw: Raw) -> Result<NaiveDate, D::Error> {
        let text = match raw {
            Raw::Str(s) => s,
            Raw::Toml(d) => d.to_string(),
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(serde::de::Error::custom)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let raw = Raw::deserialize(d)?;
        parse::<D>(raw)
    }

    pub fn serialize<S: Serializer>(v: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.format("%Y-%m-%d").to_string())
    }

    pub(super) fn raw_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            Some(r) => parse::<D>(r).map(Some),
            None => Ok(None),
        }
    }
}

mod opt_date {
    use chrono::NaiveDate;
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        super::date::raw_option(d)
    }

    pub fn serialize<S: Serializer>(v: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.format("%Y-%m-%d").to_string()),
            None => s.serialize_none(),
        }
    }
}

/// The mod-23 control letters of DNI/NIE numbers.
pub const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Control letter of a DNI (8 digits) or NIE (X/Y/Z + 7 digits) number without its letter.
pub fn control_letter(number: &str) -> Option<char> {
    let digits: String = match number.chars().next()? {
        'X' => format!("0{}", &number[1..]),
        'Y' => format!("1{}", &number[1..]),
        'Z' => format!("2{}", &number[1..]),
        _ => number.to_string(),
    };
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    Some(char::from(DNI_LETTERS[(n % 23) as usize]))
}

/// Whether `doc` is a DNI/NIE number with the right letter.
pub fn is_valid_document_number(doc: &str) -> bool {
    if doc.len() != 9 || !doc.is_ascii() {
        return false;
    }
    let (num, letter) = doc.split_at(8);
    control_letter(num).map(String::from) == Some(letter.to_string())
}

impl Identity {
    /// Checks the fields a card needs.
    pub fn validate(&self) -> Result<(), Error> {
        let err = |m: String| Err(Error::Identity(format!("{}: {m}", self.name)));
        if !is_valid_document_number(&self.document_number) {
            return err(format!("invalid DNI/NIE number {:?}", self.document_number));
        }
        let pin_ok = (8..=16).contains(&self.pin.len())
            && self.pin.bytes().all(|b| b.is_ascii_alphanumeric());
        if !pin_ok {
            return err("PIN must be 8 to 16 letters or digits".into());
        }
        if self.idesp.len() != 9 || !self.idesp.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return err("IDESP must be 9 letters/digits".into());
        }
        if !["F", "M", "X"].contains(&self.sex.as_str()) {
            return err("sex must be F, M or X".into());
        }
        if self.pin_tries_left.is_some_and(|t| t > 3) {
            return err("pin_tries_left must be 0..=3".into());
        }
        if let Some(s) = &self.chip_serial
            && hex::decode(s).map(|b| b.len()) != Ok(7)
        {
            return err("chip_serial must be 7 bytes of hex".into());
        }
        for (field, value) in crate::icao::dg13_fields(self) {
            if value.len() >= 32 {
                return err(format!("{field} is too long for DG13 (max 31 bytes)"));
            }
        }
        Ok(())
    }

    /// "FIRST SECOND".
    pub fn surnames(&self) -> String {
        if self.second_surname.is_empty() {
            self.first_surname.clone()
        } else {
            format!("{} {}", self.first_surname, self.second_surname)
        }
    }

    /// The 7-byte chip serial (GET CHIP INFO): configured, or derived from the IDESP.
    pub fn chip_serial_bytes(&self) -> [u8; 7] {
        let mut out = [0u8; 7];
        match self
            .chip_serial
            .as_deref()
            .and_then(|s| hex::decode(s).ok())
        {
            Some(b) if b.len() == 7 => out.copy_from_slice(&b),
            _ => out.copy_from_slice(&crate::crypto::sha1(&[self.idesp.as_bytes()])[..7]),
        }
        out
    }
}

impl IdentityFile {
    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let file: IdentityFile =
            toml::from_str(text).map_err(|e| Error::Identity(e.to_string()))?;
        for id in &file.identity {
            id.validate()?;
        }
        let mut names: Vec<&str> = file.identity.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::Identity("duplicate identity name".into()));
        }
        Ok(file)
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    /// The committed default identities.
    pub fn builtin() -> Result<Self, Error> {
        Self::parse(DEFAULT_IDENTITIES_TOML)
    }

    /// An identity by handle.
    pub fn get(&self, name: &str) -> Option<&Identity> {
        self.identity.iter().find(|i| i.name == name)
    }
}
