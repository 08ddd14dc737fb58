//! [`VirtualCard`]: the transport-free card engine (`process(apdu) -> R-APDU`) with T=0
//! behaviour, for a DNIe and for the "not a DNIe" cards the tests need.

use crate::apdu::{Command, Response, sw};
use crate::dnie::{CardOptions, DnieCard};
use crate::error::Error;
use crate::identity::{DnieVersion, Identity};
use crate::pki::TestPki;
use crate::sm::Channel;

/// ATR of the virtual DNIe 3.0 (pcsc-tools "Spanish DNI (3.0 version)"; byte 15 = 0x04).
pub const ATR_DNIE_3: [u8; 20] = [
    0x3B, 0x7F, 0x96, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x10, 0x01, 0x01, 0x55, 0x04,
    0x21, 0x03, 0x90, 0x00,
];
/// ATR of the virtual DNIe 2.0 (byte 15 = 0x01).
pub const ATR_DNIE_2: [u8; 20] = [
    0x3B, 0x7F, 0x38, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x10, 0x02, 0x4C, 0x34, 0x01,
    0x13, 0x03, 0x90, 0x00,
];
/// ATR of a finalised ("burned") DNIe: life cycle 0F, status 65 81.
pub const ATR_DNIE_FINALISED: [u8; 20] = [
    0x3B, 0x7F, 0x38, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x00, 0x02, 0x4C, 0x34, 0x01,
    0x13, 0x0F, 0x65, 0x81,
];
/// ATR of an FNMT CERES card (pcsc-tools list; "6A 46 4E 4D 54" = FNMT): DNIe-like, not a DNIe.
pub const ATR_CERES: [u8; 20] = [
    0x3B, 0x7F, 0x96, 0x00, 0x00, 0x00, 0x6A, 0x46, 0x4E, 0x4D, 0x54, 0x03, 0x04, 0x11, 0x43, 0x04,
    0x30, 0x03, 0x90, 0x00,
];
/// ATR of the blank ISO 7816 card (T=0, no interface bytes beyond TA1/TB1 ... just history).
pub const ATR_BLANK: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

/// One-shot faults the engine itself injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineFault {
    /// Corrupt the MAC of the next secure-messaging response.
    CorruptNextMac,
    /// Answer the next command that returns data for an Le with `6Cxx` (xx = the right Le),
    /// once; the command is not executed further. Inside SM the 6Cxx is the inner SW.
    WrongLengthOnce,
}

enum Kind {
    Dnie(Box<DnieCard>),
    Ceres,
    Blank,
    Finalised,
}

/// A virtual smart card: a DNIe, or another card for "not a DNIe" tests.
pub struct VirtualCard {
    kind: Kind,
    pending: Option<Response>,
    apdus: usize,
    label: String,
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("label", &self.label)
            .field("apdus", &self.apdus)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// A DNIe for `identity` with the committed TEST PKI and default options.
    pub fn dnie(identity: &Identity) -> Result<Self, Error> {
        Self::dnie_with(identity, TestPki::builtin()?, CardOptions::default())
    }

    /// A DNIe for `identity` with a given PKI and options.
    pub fn dnie_with(identity: &Identity, pki: &TestPki, opts: CardOptions) -> Result<Self, Error> {
        Ok(Self {
            kind: Kind::Dnie(Box::new(DnieCard::new(identity, pki, opts)?)),
            pending: None,
            apdus: 0,
            label: format!("DNIe {:?} ({})", identity.version, identity.name),
        })
    }

    /// An FNMT CERES-like card: another ATR; answers GET CHIP INFO and SELECT "Master.File",
    /// nothing DNIe-specific (6A82 for every FID, 6D00 otherwise).
    pub fn ceres_like() -> Self {
        Self::other(Kind::Ceres, "FNMT CERES-like card")
    }

    /// A blank ISO 7816 card: SELECT → 6A82, anything else → 6D00.
    pub fn blank() -> Self {
        Self::other(Kind::Blank, "blank ISO 7816 card")
    }

    /// A finalised DNIe (ATR ending `0F 65 81`): every command → 6581.
    pub fn finalised_dnie() -> Self {
        Self::other(Kind::Finalised, "finalised DNIe")
    }

    fn other(kind: Kind, label: &str) -> Self {
        Self {
            kind,
            pending: None,
            apdus: 0,
            label: label.into(),
        }
    }

    /// A short description ("DNIe V3 (especimen)").
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The ATR.
    pub fn atr(&self) -> Vec<u8> {
        match &self.kind {
            Kind::Dnie(d) if d.version == DnieVersion::V2 => ATR_DNIE_2.to_vec(),
            Kind::Dnie(_) => ATR_DNIE_3.to_vec(),
            Kind::Ceres => ATR_CERES.to_vec(),
            Kind::Blank => ATR_BLANK.to_vec(),
            Kind::Finalised => ATR_DNIE_FINALISED.to_vec(),
        }
    }

    /// Reset (vpcd `02`, and also what power off/on do): volatile state is lost.
    pub fn reset(&mut self) {
        self.pending = None;
        if let Kind::Dnie(d) = &mut self.kind {
            d.reset();
        }
    }

    /// Number of C-APDUs processed since creation.
    pub fn apdu_count(&self) -> usize {
        self.apdus
    }

    /// PIN tries left (DNIe only).
    pub fn pin_tries_left(&self) -> Option<u8> {
        match &self.kind {
            Kind::Dnie(d) => Some(d.pin_tries),
            _ => None,
        }
    }

    /// The open secure channel, if any (DNIe only).
    pub fn channel(&self) -> Option<Channel> {
        match &self.kind {
            Kind::Dnie(d) => d.channel(),
            _ => None,
        }
    }

    /// The (authentication, signature) certificates on the card, DER (DNIe only).
    pub fn certificates(&self) -> Option<(&[u8], &[u8])> {
        match &self.kind {
            Kind::Dnie(d) => Some((&d.certificates.0, &d.certificates.1)),
            _ => None,
        }
    }

    /// Arms a one-shot engine fault.
    pub fn inject(&mut self, fault: EngineFault) {
        if let Kind::Dnie(d) = &mut self.kind {
            match fault {
                EngineFault::CorruptNextMac => d.corrupt_next_mac = true,
                EngineFault::WrongLengthOnce => d.wrong_length_once = true,
            }
        }
    }

    /// Processes one C-APDU and returns the R-APDU (data ‖ SW1 SW2), as a T=0 card would:
    /// data of case-1/3/4 commands, or more data than Le, come as `61xx` + GET RESPONSE.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus += 1;
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(s) => {
                self.pending = None;
                return s.to_be_bytes().to_vec();
            }
        };
        if cmd.ins == 0xC0 && cmd.cla == 0x00 {
            return self.get_response(&cmd);
        }
        self.pending = None;
        let resp = match &mut self.kind {
            Kind::Dnie(d) => d.process(&cmd),
            Kind::Ceres => ceres(&cmd),
            Kind::Blank => match cmd.ins {
                0xA4 => Response::sw(sw::FILE_NOT_FOUND),
                _ => Response::sw(sw::INS_NOT_SUPPORTED),
            },
            Kind::Finalised => Response::sw(sw::MEMORY_FAILURE),
        };
        self.t0(&cmd, resp)
    }

    fn t0(&mut self, cmd: &Command, resp: Response) -> Vec<u8> {
        if resp.data.is_empty() {
            return resp.sw.to_be_bytes().to_vec();
        }
        if let (Some(le), true) = (cmd.le, cmd.data.is_empty())
            && resp.data.len() <= le
        {
            return resp.to_bytes();
        }
        let n = resp.data.len();
        self.pending = Some(resp);
        vec![0x61, (n.min(256) & 0xFF) as u8]
    }

    /// GET RESPONSE (`00 C0 00 00 Le`).
    fn get_response(&mut self, cmd: &Command) -> Vec<u8> {
        let Some(mut p) = self.pending.take() else {
            return sw::CONDITIONS_NOT_SATISFIED.to_be_bytes().to_vec();
        };
        if cmd.p1p2() != 0 || !cmd.data.is_empty() {
            self.pending = Some(p);
            return sw::WRONG_P1P2.to_be_bytes().to_vec();
        }
        let avail = p.data.len();
        let le = cmd.le.unwrap_or(256);
        if le > avail {
            self.pending = Some(p);
            return vec![0x6C, (avail & 0xFF) as u8];
        }
        if le < avail {
            let rest = p.data.split_off(le);
            let mut out = p.data;
            let left = rest.len();
            self.pending = Some(Response {
                data: rest,
                sw: p.sw,
            });
            out.extend_from_slice(&[0x61, (left.min(256) & 0xFF) as u8]);
            return out;
        }
        p.to_bytes()
    }
}

fn ceres(cmd: &Command) -> Response {
    match (cmd.cla, cmd.ins, cmd.p1) {
        (0x90, 0xB8, _) if cmd.le == Some(7) => {
            Response::ok(vec![0x0C, 0xE5, 0x00, 0x00, 0x12, 0x34, 0x56])
        }
        (0x90, 0xB8, _) => Response::sw(0x6C07),
        (0x00, 0xA4, 0x04) if cmd.data == b"Master.File" => {
            let mut fci = crate::tlv::t(0x84, b"Master.File");
            fci.extend(crate::tlv::t(
                0x85,
                &[0x38, 0x3F, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0],
            ));
            Response::ok(crate::tlv::t(0x6F, &fci))
        }
        (0x00, 0xA4, _) => Response::sw(sw::FILE_NOT_FOUND),
        (0x00, 0xB0, _) => Response::sw(sw::NOT_ALLOWED),
        _ => Response::sw(sw::INS_NOT_SUPPORTED),
    }
}
