//! Command APDUs (ISO/IEC 7816-3/-4 short form) and status words.

use std::fmt;

use crate::error::{DnieError, Result};

/// A command APDU in short form: case 1 (header), 2 (Le), 3 (Lc data), 4 (Lc data Le).
/// Zeroizable, because command data can be a PIN.
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize)]
pub struct Apdu {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length, at most 255 in short form).
    pub data: Vec<u8>,
    /// Expected response length, 1..=256 (256 is encoded `00`); `None` = no Le.
    pub le: Option<u16>,
}

impl fmt::Debug for Apdu {
    // Command data can hold a PIN: only its length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Apdu({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Apdu {
    /// Case 1 APDU (header only); add data with [`Apdu::with_data`] and Le with
    /// [`Apdu::with_le`].
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Apdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Sets the command data (case 3, or 4 with Le).
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets Le (1..=256; 256 is sent as `00`).
    #[must_use]
    pub fn with_le(mut self, le: u16) -> Self {
        self.le = Some(le);
        self
    }

    /// ISO 7816-3 case (1–4) of this APDU.
    pub fn case(&self) -> u8 {
        match (self.data.is_empty(), self.le.is_some()) {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        }
    }

    /// Encodes the APDU in short form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(6 + self.data.len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            let lc = u8::try_from(self.data.len())
                .map_err(|_| DnieError::MalformedData("APDU data longer than 255 bytes"))?;
            out.push(lc);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(match le {
                256 => 0,
                1..=255 => le as u8,
                _ => return Err(DnieError::MalformedData("APDU Le outside 1..=256")),
            });
        }
        Ok(out)
    }
}

/// A card's status word (SW1 SW2), classified. Unknown values keep their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// `9000`.
    Ok,
    /// `61xx`: more data; fetch with GET RESPONSE (`xx`=0 means 256).
    MoreData(u8),
    /// `6Cxx`: wrong Le; re-send with Le = `xx` (0 means 256).
    WrongLe(u8),
    /// `63Cx`: wrong PIN (verification failed), `x` tries left.
    WrongPin {
        /// Remaining tries.
        tries_left: u8,
    },
    /// `6983`: authentication method (PIN) blocked.
    PinBlocked,
    /// `6982`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6282`: end of file reached before Le bytes.
    EndOfFile,
    /// `6B00`: wrong parameters P1-P2 (offset outside the EF).
    OffsetOutsideFile,
    /// `6688`: secure messaging: cryptographic checksum (MAC) invalid.
    SmMacInvalid,
    /// `6987`: expected secure-messaging data objects missing.
    SmDataObjectsMissing,
    /// `6988`: secure-messaging data objects incorrect.
    SmDataObjectsIncorrect,
    /// `6700`: wrong length.
    WrongLength,
    /// `6A80`: incorrect parameters in the data field.
    IncorrectData,
    /// `6A86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A88`: referenced data (key, object) not found.
    ReferencedDataNotFound,
    /// `6D00`: instruction not supported.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Anything else.
    Unknown(u8, u8),
}

impl StatusWord {
    /// Classifies SW1 SW2.
    pub fn new(sw1: u8, sw2: u8) -> Self {
        match (sw1, sw2) {
            (0x90, 0x00) => StatusWord::Ok,
            (0x61, n) => StatusWord::MoreData(n),
            (0x6C, n) => StatusWord::WrongLe(n),
            (0x63, n) if n & 0xF0 == 0xC0 => StatusWord::WrongPin {
                tries_left: n & 0x0F,
            },
            (0x69, 0x83) => StatusWord::PinBlocked,
            (0x69, 0x82) => StatusWord::SecurityStatusNotSatisfied,
            (0x69, 0x85) => StatusWord::ConditionsNotSatisfied,
            (0x69, 0x86) => StatusWord::CommandNotAllowed,
            (0x6A, 0x82) => StatusWord::FileNotFound,
            (0x62, 0x82) => StatusWord::EndOfFile,
            (0x6B, 0x00) => StatusWord::OffsetOutsideFile,
            (0x66, 0x88) => StatusWord::SmMacInvalid,
            (0x69, 0x87) => StatusWord::SmDataObjectsMissing,
            (0x69, 0x88) => StatusWord::SmDataObjectsIncorrect,
            (0x67, 0x00) => StatusWord::WrongLength,
            (0x6A, 0x80) => StatusWord::IncorrectData,
            (0x6A, 0x86) => StatusWord::IncorrectP1P2,
            (0x6A, 0x88) => StatusWord::ReferencedDataNotFound,
            (0x6D, 0x00) => StatusWord::InsNotSupported,
            (0x6E, 0x00) => StatusWord::ClaNotSupported,
            (0x6F, 0x00) => StatusWord::NoPreciseDiagnosis,
            (a, b) => StatusWord::Unknown(a, b),
        }
    }

    /// Classifies a 16-bit SW.
    pub fn from_u16(sw: u16) -> Self {
        let [a, b] = sw.to_be_bytes();
        Self::new(a, b)
    }

    /// The SW1 SW2 bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        match self {
            StatusWord::Ok => [0x90, 0x00],
            StatusWord::MoreData(n) => [0x61, n],
            StatusWord::WrongLe(n) => [0x6C, n],
            StatusWord::WrongPin { tries_left } => [0x63, 0xC0 | (tries_left & 0x0F)],
            StatusWord::PinBlocked => [0x69, 0x83],
            StatusWord::SecurityStatusNotSatisfied => [0x69, 0x82],
            StatusWord::ConditionsNotSatisfied => [0x69, 0x85],
            StatusWord::CommandNotAllowed => [0x69, 0x86],
            StatusWord::FileNotFound => [0x6A, 0x82],
            StatusWord::EndOfFile => [0x62, 0x82],
            StatusWord::OffsetOutsideFile => [0x6B, 0x00],
            StatusWord::SmMacInvalid => [0x66, 0x88],
            StatusWord::SmDataObjectsMissing => [0x69, 0x87],
            StatusWord::SmDataObjectsIncorrect => [0x69, 0x88],
            StatusWord::WrongLength => [0x67, 0x00],
            StatusWord::IncorrectData => [0x6A, 0x80],
            StatusWord::IncorrectP1P2 => [0x6A, 0x86],
            StatusWord::ReferencedDataNotFound => [0x6A, 0x88],
            StatusWord::InsNotSupported => [0x6D, 0x00],
            StatusWord::ClaNotSupported => [0x6E, 0x00],
            StatusWord::NoPreciseDiagnosis => [0x6F, 0x00],
            StatusWord::Unknown(a, b) => [a, b],
        }
    }

    /// SW as a 16-bit number.
    pub fn to_u16(self) -> u16 {
        u16::from_be_bytes(self.to_bytes())
    }

    /// `9000`.
    pub fn is_ok(self) -> bool {
        self == StatusWord::Ok
    }

    /// 6688/6987/6988: the card dropped the secure-messaging session (CWA-14890 §9.3;
    /// OpenSC cwa14890.c `cwa_decode_response`).
    pub fn is_secure_messaging_failure(self) -> bool {
        matches!(
            self,
            StatusWord::SmMacInvalid
                | StatusWord::SmDataObjectsMissing
                | StatusWord::SmDataObjectsIncorrect
        )
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.to_u16())
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (without SW1 SW2).
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    // Responses carry personal data: only the length and SW are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, SW {})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Splits a raw R-APDU. Fewer than two bytes means the card did not answer.
    pub fn from_bytes(raw: &[u8]) -> Option<Self> {
        let split = raw.len().checked_sub(2)?;
        let (data, sw) = raw.split_at(split);
        Some(Response {
            data: data.to_vec(),
            sw: StatusWord::new(sw[0], sw[1]),
        })
    }

    /// Data if the status is 9000, else the error that status means.
    pub fn into_ok(self, command: &'static str) -> Result<Vec<u8>> {
        if self.sw.is_ok() {
            Ok(self.data)
        } else {
            Err(DnieError::from_status(command, self.sw))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cases_encode() {
        assert_eq!(
            Apdu::new(0, 0x84, 0, 0).to_bytes().unwrap(),
            [0, 0x84, 0, 0]
        );
        assert_eq!(
            Apdu::new(0x00, 0x84, 0, 0).with_le(8).to_bytes().unwrap(),
            [0, 0x84, 0, 0, 8]
        );
        assert_eq!(
            Apdu::new(0x00, 0xB0, 0, 0).with_le(256).to_bytes().unwrap(),
            [0, 0xB0, 0, 0, 0]
        );
        assert_eq!(
            Apdu::new(0, 0xA4, 0, 0)
                .with_data([0x3F, 0x00])
                .to_bytes()
                .unwrap(),
            [0, 0xA4, 0, 0, 2, 0x3F, 0x00]
        );
        let a = Apdu::new(0, 0x88, 0, 0).with_data([1u8; 16]).with_le(0x80);
        assert_eq!(a.case(), 4);
        let b = a.to_bytes().unwrap();
        assert_eq!(b.len(), 4 + 1 + 16 + 1);
        assert_eq!(b[4], 16);
        assert_eq!(b[21], 0x80);
        assert!(
            Apdu::new(0, 0, 0, 0)
                .with_data(vec![0; 256])
                .to_bytes()
                .is_err()
        );
        assert!(Apdu::new(0, 0, 0, 0).with_le(0).to_bytes().is_err());
        assert!(Apdu::new(0, 0, 0, 0).with_le(257).to_bytes().is_err());
    }

    #[test]
    fn debug_hides_data() {
        let a = Apdu::new(0, 0x20, 0, 0).with_data(b"SECRETPIN".to_vec());
        assert!(!format!("{a:?}").contains("SECRET"));
        let r = Response {
            data: b"SECRET".to_vec(),
            sw: StatusWord::Ok,
        };
        assert!(!format!("{r:?}").contains("SECRET"));
    }

    #[test]
    fn known_status_words() {
        assert_eq!(StatusWord::new(0x90, 0), StatusWord::Ok);
        assert_eq!(StatusWord::new(0x61, 0x1B), StatusWord::MoreData(0x1B));
        assert_eq!(StatusWord::new(0x6C, 0x10), StatusWord::WrongLe(0x10));
        assert_eq!(
            StatusWord::new(0x63, 0xC2),
            StatusWord::WrongPin { tries_left: 2 }
        );
        assert_eq!(StatusWord::new(0x63, 0x00), StatusWord::Unknown(0x63, 0));
        assert_eq!(StatusWord::new(0x69, 0x83), StatusWord::PinBlocked);
        assert_eq!(StatusWord::new(0x6A, 0x82), StatusWord::FileNotFound);
        assert!(StatusWord::new(0x66, 0x88).is_secure_messaging_failure());
        assert!(StatusWord::new(0x69, 0x87).is_secure_messaging_failure());
        assert!(StatusWord::new(0x69, 0x88).is_secure_messaging_failure());
        assert_eq!(StatusWord::new(0x12, 0x34), StatusWord::Unknown(0x12, 0x34));
        assert_eq!(StatusWord::from_u16(0x6A82).to_string(), "6A82");
    }

    #[test]
    fn response_needs_two_bytes() {
        assert!(Response::from_bytes(&[]).is_none());
        assert!(Response::from_bytes(&[0x90]).is_none());
        let r = Response::from_bytes(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!(r.data, [1, 2]);
        assert!(r.sw.is_ok());
    }

    proptest! {
        #[test]
        fn status_word_roundtrips(sw1 in any::<u8>(), sw2 in any::<u8>()) {
            prop_assert_eq!(StatusWord::new(sw1, sw2).to_bytes(), [sw1, sw2]);
        }
    }
}
