//! CWA-14890 secure messaging, card side (DNIE.md §3.3): unwrap protected commands, wrap
//! responses, with 3DES-CBC (IV 0) and the retail MAC over `SSC ‖ padded data`.

use crate::apdu::{Command, Response, sw};
use crate::crypto::{
    iso_pad, iso_unpad, retail_mac, sha1, ssc_increment, tdes_cbc_decrypt, tdes_cbc_encrypt,
};
use crate::tlv;

/// Which terminal identity opened the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// DNIe 3.0 PIN channel (IFD CHA `…45 08`): only PIN VERIFY (and plain-readable files).
    Pin,
    /// User channel (IFD CHA `…45 02`); the only channel of a DNIe 2.0.
    User,
}

/// Session keys and counter of an open channel.
#[derive(Clone)]
pub struct Session {
    /// Encryption key (two-key 3DES).
    pub kenc: [u8; 16],
    /// MAC key.
    pub kmac: [u8; 16],
    /// Send-sequence counter.
    pub ssc: [u8; 8],
    /// Channel kind.
    pub channel: Channel,
    /// MAC length: 8 on 3.0, 4 on 2.0.
    pub mac_len: usize,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("channel", &self.channel)
            .field("mac_len", &self.mac_len)
            .finish_non_exhaustive()
    }
}

/// Derives Kenc, Kmac (SHA-1 of `K.IFD ⊕ K.ICC ‖ 0000000x`, first 16 bytes) and the SSC
/// (`RND.ICC[4..8] ‖ RND.IFD[4..8]`).
pub fn derive(
    k_ifd: &[u8; 32],
    k_icc: &[u8; 32],
    rnd_icc: &[u8; 8],
    rnd_ifd: &[u8; 8],
) -> ([u8; 16], [u8; 16], [u8; 8]) {
    let mut seed = [0u8; 32];
    for i in 0..32 {
        seed[i] = k_ifd[i] ^ k_icc[i];
    }
    let enc = sha1(&[&seed, &[0, 0, 0, 1]]);
    let mac = sha1(&[&seed, &[0, 0, 0, 2]]);
    let mut kenc = [0u8; 16];
    let mut kmac = [0u8; 16];
    kenc.copy_from_slice(&enc[..16]);
    kmac.copy_from_slice(&mac[..16]);
    let mut ssc = [0u8; 8];
    ssc[..4].copy_from_slice(&rnd_icc[4..]);
    ssc[4..].copy_from_slice(&rnd_ifd[4..]);
    (kenc, kmac, ssc)
}

/// Why unwrapping failed; the session is dead either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmError {
    /// A mandatory DO (8E) is missing or the DOs do not parse: 6987.
    Missing,
    /// Wrong MAC, bad cryptogram or padding, both 87 and 97 on a 3.0 VERIFY: 6988.
    Incorrect,
}

impl SmError {
    /// The status word answered (in plain).
    pub fn sw(self) -> u16 {
        match self {
            SmError::Missing => sw::SM_MISSING,
            SmError::Incorrect => sw::SM_INCORRECT,
        }
    }
}

impl Session {
    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let input = [&self.ssc[..], &iso_pad(data)].concat();
        retail_mac(&self.kmac, &input)[..self.mac_len].to_vec()
    }

    /// Checks and decrypts a protected command (increments the SSC first). `strict_verify`
    /// refuses VERIFY commands carrying both 87 and 97 (DNIe 3.0).
    pub fn unwrap_command(
        &mut self,
        cmd: &Command,
        strict_verify: bool,
    ) -> Result<Command, SmError> {
        ssc_increment(&mut self.ssc);
        let items = tlv::parse_all(&cmd.data).ok_or(SmError::Missing)?;
        let (last, dos) = items.split_last().ok_or(SmError::Missing)?;
        if last.tag != 0x8E {
            return Err(SmError::Missing);
        }
        if last.value.len() != self.mac_len {
            return Err(SmError::Incorrect);
        }
        let covered: Vec<u8> = dos.iter().flat_map(|d| d.raw.iter().copied()).collect();
        let header = iso_pad(&[cmd.cla, cmd.ins, cmd.p1, cmd.p2]);
        let mut mac_input = header;
        mac_input.extend_from_slice(&covered);
        if self.mac(&mac_input) != last.value {
            return Err(SmError::Incorrect);
        }
        let mut data = Vec::new();
        let mut le = None;
        let mut has87 = false;
        for d in dos {
            match d.tag {
                0x87 => {
                    let (ind, enc) = d.value.split_first().ok_or(SmError::Incorrect)?;
                    if *ind != 0x01 || enc.is_empty() {
                        return Err(SmError::Incorrect);
                    }
                    let plain = tdes_cbc_decrypt(&self.kenc, enc).ok_or(SmError::Incorrect)?;
                    data = iso_unpad(&plain).ok_or(SmError::Incorrect)?.to_vec();
                    has87 = true;
                }
                0x81 => data = d.value.to_vec(),
                0x97 => {
                    let b = *d.value.first().ok_or(SmError::Incorrect)?;
                    le = Some(if b == 0 { 256 } else { usize::from(b) });
                }
                _ => return Err(SmError::Incorrect),
            }
        }
        if strict_verify && cmd.ins == 0x20 && has87 && le.is_some() {
            return Err(SmError::Incorrect);
        }
        Ok(Command {
            cla: cmd.cla & !0x0C,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
        })
    }

    /// Counts a reply sent unwrapped (a bare error SW) as if it had been wrapped.
    pub fn step_without_reply(&mut self) {
        ssc_increment(&mut self.ssc);
    }

    /// Wraps a response (increments the SSC first): `[87 01 ‖ enc] 99 02 SW 8E MAC`, SW 9000.
    pub fn wrap_response(&mut self, resp: &Response, corrupt_mac: bool) -> Response {
        ssc_increment(&mut self.ssc);
        let mut dos = Vec::new();
        if !resp.data.is_empty() {
            let enc = tdes_cbc_encrypt(&self.kenc, &iso_pad(&resp.data));
            dos.extend(tlv::t(0x87, &[&[0x01u8][..], &enc].concat()));
        }
        dos.extend(tlv::t(0x99, &resp.sw.to_be_bytes()));
        let mut mac = self.mac(&dos);
        if corrupt_mac && let Some(b) = mac.last_mut() {
            *b ^= 0x5A;
        }
        dos.extend(tlv::t(0x8E, &mac));
        Response::ok(dos)
    }
}
