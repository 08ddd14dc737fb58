//! Short command APDUs (ISO 7816-3 cases 1–4) and status words as the card emits them.

/// Status words the virtual card answers (ISO 7816-4, DNIE.md §7).
pub mod sw {
    /// Normal processing.
    pub const OK: u16 = 0x9000;
    /// End of file reached before reading Le bytes.
    pub const EOF_BEFORE_LE: u16 = 0x6282;
    /// Authentication failed (EXTERNAL AUTHENTICATE).
    pub const AUTH_FAILED: u16 = 0x6300;
    /// Memory failure (used by the finalised card).
    pub const MEMORY_FAILURE: u16 = 0x6581;
    /// Wrong length.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Command incompatible with the file structure (no current EF).
    pub const INCOMPATIBLE_FILE: u16 = 0x6981;
    /// Security status not satisfied.
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    /// Authentication method blocked (PIN blocked).
    pub const PIN_BLOCKED: u16 = 0x6983;
    /// Conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    /// Command not allowed (no current EF).
    pub const NOT_ALLOWED: u16 = 0x6986;
    /// Expected secure-messaging data objects missing.
    pub const SM_MISSING: u16 = 0x6987;
    /// Secure-messaging data objects incorrect (bad MAC).
    pub const SM_INCORRECT: u16 = 0x6988;
    /// Incorrect parameters in the data field.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// File not found.
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    /// Incorrect P1-P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Referenced data (key) not found.
    pub const REF_NOT_FOUND: u16 = 0x6A88;
    /// Offset outside the EF.
    pub const WRONG_OFFSET: u16 = 0x6B00;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// A parsed short command APDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (empty for cases 1 and 2).
    pub data: Vec<u8>,
    /// Expected length Ne (1..=256; `00` on the wire means 256), `None` for cases 1 and 3.
    pub le: Option<usize>,
}

impl Command {
    /// Parses a short APDU; extended-length or inconsistent encodings give `Err(6700)`.
    pub fn parse(apdu: &[u8]) -> Result<Self, u16> {
        if apdu.len() < 4 {
            return Err(sw::WRONG_LENGTH);
        }
        let (cla, ins, p1, p2) = (apdu[0], apdu[1], apdu[2], apdu[3]);
        let body = &apdu[4..];
        let le_of = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let (data, le) = match body.len() {
            0 => (Vec::new(), None),
            1 => (Vec::new(), Some(le_of(body[0]))),
            n => {
                let lc = usize::from(body[0]);
                if lc == 0 {
                    // Extended length (or Lc = 0): not supported by a T=0 DNIe.
                    return Err(sw::WRONG_LENGTH);
                }
                if n == 1 + lc {
                    (body[1..].to_vec(), None)
                } else if n == 2 + lc {
                    (body[1..=lc].to_vec(), Some(le_of(body[1 + lc])))
                } else {
                    return Err(sw::WRONG_LENGTH);
                }
            }
        };
        Ok(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }

    /// Serialises the command (short form).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            out.push(self.data.len() as u8);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(if le >= 256 { 0 } else { le as u8 });
        }
        out
    }

    /// P1‖P2 as one number.
    pub fn p1p2(&self) -> u16 {
        u16::from_be_bytes([self.p1, self.p2])
    }
}

/// A response: data and status word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// SW1‖SW2.
    pub sw: u16,
}

impl Response {
    /// A status word alone.
    pub fn sw(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Data with 9000.
    pub fn ok(data: Vec<u8>) -> Self {
        Self { data, sw: sw::OK }
    }

    /// Serialised R-APDU (data ‖ SW1 SW2).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        let c = Command::parse(&[0, 0xA4, 4, 0]).unwrap();
        assert_eq!((c.data.len(), c.le), (0, None));
        let c = Command::parse(&[0x90, 0xB8, 0, 0, 7]).unwrap();
        assert_eq!(c.le, Some(7));
        let c = Command::parse(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(c.le, Some(256));
        let c = Command::parse(&[0, 0x88, 0, 0, 2, 1, 2, 0x80]).unwrap();
        assert_eq!((c.data, c.le), (vec![1, 2], Some(128)));
        assert_eq!(Command::parse(&[0, 0x88, 0, 0, 3, 1]), Err(0x6700));
        assert_eq!(Command::parse(&[0, 0x88, 0, 0, 0, 0, 1]), Err(0x6700));
    }
}
