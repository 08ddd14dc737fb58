//! A minimal CWA-14890 host (reader side) for the engine tests: T=0 handling, handshake, SM.
//! Written for the tests only; the real reader is the `dnie` crate.

use rand::RngCore;

use crate::VirtualCard;
use crate::apdu::Command;
use crate::crypto::{
    RawPublicKey, iso_pad, iso_unpad, left_pad, n_minus, retail_mac, rsa_private_raw_parts, sha1,
    sig_min, ssc_increment, tdes_cbc_decrypt, tdes_cbc_encrypt,
};
use crate::pki::{IfdKeyBytes, TerminalKeySetBytes};
use crate::tlv;

#[derive(Clone)]
pub struct HostSm {
    pub kenc: [u8; 16],
    pub kmac: [u8; 16],
    pub ssc: [u8; 8],
    pub mac_len: usize,
}

impl HostSm {
    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let input = [&self.ssc[..], &iso_pad(data)].concat();
        retail_mac(&self.kmac, &input)[..self.mac_len].to_vec()
    }

    /// Wraps a plain command (increments SSC).
    pub fn wrap(&mut self, cmd: &Command) -> Vec<u8> {
        ssc_increment(&mut self.ssc);
        let cla = cmd.cla | 0x0C;
        let mut dos = Vec::new();
        if !cmd.data.is_empty() {
            let enc = tdes_cbc_encrypt(&self.kenc, &iso_pad(&cmd.data));
            dos.extend(tlv::t(0x87, &[&[1u8][..], &enc].concat()));
        } else if let Some(le) = cmd.le {
            dos.extend(tlv::t(0x97, &[(le & 0xFF) as u8]));
        }
        let mut mac_in = iso_pad(&[cla, cmd.ins, cmd.p1, cmd.p2]);
        mac_in.extend_from_slice(&dos);
        let mac = self.mac(&mac_in);
        dos.extend(tlv::t(0x8E, &mac));
        Command {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: dos,
            le: None,
        }
        .to_bytes()
    }

    /// Unwraps a response body (increments SSC); `Err` on a MAC failure.
    pub fn unwrap(&mut self, body: &[u8]) -> Result<(Vec<u8>, u16), String> {
        ssc_increment(&mut self.ssc);
        let items = tlv::parse_all(body).ok_or("bad DOs")?;
        let (last, dos) = items.split_last().ok_or("empty")?;
        if last.tag != 0x8E {
            return Err("no MAC".into());
        }
        let covered: Vec<u8> = dos.iter().flat_map(|d| d.raw.to_vec()).collect();
        if self.mac(&covered) != last.value {
            return Err("MAC mismatch".into());
        }
        let mut data = Vec::new();
        let mut sw = 0;
        for d in dos {
            match d.tag {
                0x87 => {
                    let plain = tdes_cbc_decrypt(&self.kenc, &d.value[1..]).ok_or("decrypt")?;
                    data = iso_unpad(&plain).ok_or("padding")?.to_vec();
                }
                0x99 => sw = u16::from_be_bytes([d.value[0], d.value[1]]),
                _ => return Err("unexpected DO".into()),
            }
        }
        Ok((data, sw))
    }
}

pub struct Host<'a> {
    pub card: &'a mut VirtualCard,
    pub apdus: usize,
    pub sm: Option<HostSm>,
}

pub fn sw_of(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

pub fn cmd(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Command {
    Command {
        cla,
        ins,
        p1,
        p2,
        data: data.to_vec(),
        le,
    }
}

impl<'a> Host<'a> {
    pub fn new(card: &'a mut VirtualCard) -> Self {
        Self {
            card,
            apdus: 0,
            sm: None,
        }
    }

    pub fn raw(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.apdus += 1;
        self.card.process(apdu)
    }

    /// Plain transmit with 61xx → GET RESPONSE and 6Cxx → resend.
    pub fn plain(&mut self, c: &Command) -> (Vec<u8>, u16) {
        let mut c = c.clone();
        loop {
            let r = self.raw(&c.to_bytes());
            let sw = sw_of(&r);
            if sw >> 8 == 0x6C {
                c.le = Some(if sw & 0xFF == 0 {
                    256
                } else {
                    usize::from(sw as u8)
                });
                continue;
            }
            let mut data = r[..r.len() - 2].to_vec();
            let mut sw = sw;
            while sw >> 8 == 0x61 {
                let le = sw as u8;
                let r = self.raw(&[0x00, 0xC0, 0x00, 0x00, le]);
                data.extend_from_slice(&r[..r.len() - 2]);
                sw = sw_of(&r);
            }
            return (data, sw);
        }
    }

    /// Sends through the channel if one is open (unwrapping), else plain.
    pub fn send(&mut self, c: &Command) -> Result<(Vec<u8>, u16), String> {
        let Some(mut sm) = self.sm.take() else {
            return Ok(self.plain(c));
        };
        let wrapped = sm.wrap(c);
        let cmd = Command::parse(&wrapped).map_err(|e| format!("{e:04X}"))?;
        let (body, sw) = self.plain(&cmd);
        if sw != 0x9000 {
            // Unwrapped error: the session is gone on the card.
            return Ok((body, sw));
        }
        let out = sm.unwrap(&body)?;
        self.sm = Some(sm);
        Ok(out)
    }

    pub fn select_mf(&mut self) -> u16 {
        self.send(&cmd(0, 0xA4, 4, 0, b"Master.File", None))
            .map(|r| r.1)
            .unwrap_or(0)
    }

    pub fn select(&mut self, fid: u16) -> Result<(Vec<u8>, u16), String> {
        self.send(&cmd(0, 0xA4, 0, 0, &fid.to_be_bytes(), None))
    }

    /// Reads `len` bytes of the current EF in chunks of `chunk`.
    pub fn read(&mut self, len: usize, chunk: usize) -> Result<Vec<u8>, u16> {
        let mut out = Vec::new();
        while out.len() < len {
            let n = chunk.min(len - out.len());
            let off = out.len() as u16;
            let (d, sw) = self
                .send(&cmd(0, 0xB0, (off >> 8) as u8, off as u8, &[], Some(n)))
                .map_err(|_| 0u16)?;
            if sw != 0x9000 && sw != 0x6282 {
                return Err(sw);
            }
            if d.is_empty() {
                break;
            }
            out.extend_from_slice(&d);
        }
        Ok(out)
    }

    /// Selects a path of FIDs from the MF and reads the whole EF (size from the FCI).
    pub fn read_path(&mut self, path: &[u16], chunk: usize) -> Result<Vec<u8>, u16> {
        let sw = self.select_mf();
        if sw != 0x9000 {
            return Err(sw);
        }
        let mut fci = Vec::new();
        for fid in path {
            let (d, sw) = self.select(*fid).map_err(|_| 0u16)?;
            if sw != 0x9000 {
                return Err(sw);
            }
            fci = d;
        }
        let size = fci_size(&fci).ok_or(0u16)?;
        self.read(size, chunk)
    }

    /// CWA-14890 handshake with `ifd`, run through the current channel if one is open.
    pub fn open_channel(
        &mut self,
        ks: &TerminalKeySetBytes,
        ifd: &IfdKeyBytes,
        icc: &RawPublicKey,
        mac_len: usize,
    ) -> Result<(), String> {
        let e = |s: &str, sw: u16| format!("{s}: {sw:04X}");
        let (serial, sw) = self.send(&cmd(0x90, 0xB8, 0, 0, &[], Some(7)))?;
        if sw != 0x9000 {
            return Err(e("chip info", sw));
        }
        let sn_icc = [&[0u8][..], &serial].concat();
        for (r, cert) in [
            (&[0x02u8, 0x0F][..], &ks.c_cv_ca),
            (&ks.c_cv_ca_chr[..], &ifd.c_cv_ifd),
        ] {
            let (_, sw) = self.send(&cmd(0, 0x22, 0x81, 0xB6, &tlv::t(0x83, r), None))?;
            if sw != 0x9000 {
                return Err(e("mse set", sw));
            }
            let (_, sw) = self.send(&cmd(0, 0x2A, 0x00, 0xAE, cert, None))?;
            if sw != 0x9000 {
                return Err(e("pso verify", sw));
            }
        }
        let at = [tlv::t(0x83, &ifd.chr), tlv::t(0x84, &[0x02, 0x1F])].concat();
        let (_, sw) = self.send(&cmd(0, 0x22, 0xC1, 0xA4, &at, None))?;
        if sw != 0x9000 {
            return Err(e("mse at", sw));
        }
        let mut rnd_ifd = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut rnd_ifd);
        let (resp, sw) = self.send(&cmd(
            0,
            0x88,
            0,
            0,
            &[&rnd_ifd[..], &ifd.sn_ifd].concat(),
            Some(128),
        ))?;
        if sw != 0x9000 {
            return Err(e("internal auth", sw));
        }
        let ifd_pub = RawPublicKey::from_be(&ifd.modulus, &ifd.public_exponent);
        let x = rsa_private_raw_parts(&ifd.modulus, &ifd.private_exponent, &resp)
            .ok_or("ifd decrypt")?;
        let y = icc
            .raw(&left_pad(&x, icc.len()).ok_or("len")?)
            .ok_or("icc raw")?;
        let y = if y[0] == 0x6A && y[127] == 0xBC {
            y
        } else {
            n_minus(&icc.n, &y, 128).ok_or("n-")?
        };
        if y[0] != 0x6A || y[127] != 0xBC {
            return Err("internal auth does not recover".into());
        }
        let mut k_icc = [0u8; 32];
        k_icc.copy_from_slice(&y[75..107]);
        if sha1(&[&y[1..75], &k_icc, &rnd_ifd, &ifd.sn_ifd])[..] != y[107..127] {
            return Err("internal auth hash".into());
        }
        let (rnd, sw) = self.send(&cmd(0, 0x84, 0, 0, &[], Some(8)))?;
        if sw != 0x9000 {
            return Err(e("challenge", sw));
        }
        let mut rnd_icc = [0u8; 8];
        rnd_icc.copy_from_slice(&rnd);
        let mut prnd2 = [0u8; 74];
        let mut k_ifd = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut prnd2);
        rand::rngs::OsRng.fill_bytes(&mut k_ifd);
        let h = sha1(&[&prnd2, &k_ifd, &rnd_icc, &sn_icc]);
        let m = [&[0x6A][..], &prnd2, &k_ifd, &h, &[0xBC]].concat();
        let sig =
            rsa_private_raw_parts(&ifd.modulus, &ifd.private_exponent, &m).ok_or("ifd sign")?;
        let sigmin = sig_min(&ifd_pub.n, &sig, 128).ok_or("sigmin")?;
        let c = icc.raw(&sigmin).ok_or("icc enc")?;
        let (_, sw) = self.send(&cmd(0, 0x82, 0, 0, &c, None))?;
        if sw != 0x9000 {
            return Err(e("external auth", sw));
        }
        let (kenc, kmac, ssc) = crate::sm::derive(&k_ifd, &k_icc, &rnd_icc, &rnd_ifd);
        self.sm = Some(HostSm {
            kenc,
            kmac,
            ssc,
            mac_len,
        });
        Ok(())
    }
}

/// Size field of an FCI (`85` bytes 3..5).
pub fn fci_size(fci: &[u8]) -> Option<usize> {
    let (outer, _) = tlv::parse_one(fci)?;
    let items = tlv::parse_all(outer.value)?;
    let p = tlv::find(&items, 0x85)?;
    Some(usize::from(u16::from_be_bytes([p[3], p[4]])))
}
