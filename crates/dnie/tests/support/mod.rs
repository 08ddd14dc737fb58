//! A small in-test DNIe: just enough card side (file system, T=0 `61xx`, CWA-14890 card
//! half, secure messaging card half, PIN, signature) to drive the reader through whole
//! conversations without pcscd. It is test scaffolding for this crate only; the real
//! virtual card is `card-sim`, written independently.
//!
//! It uses its own test component PKI (root → intermediate → chip) and the *production*
//! terminal certificates, which it verifies with the production root like a real card.

// Test scaffolding: failing loudly is what we want here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::OnceLock;

use dnie::sm::crypto;
use dnie::sm::cvc;
use dnie::tlv::encode;
use dnie::{Transport, TransportError};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

pub const ATR_V3_FULL: [u8; 20] = [
    0x3B, 0x7F, 0x96, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x10, 0x01, 0x01, 0x55, 0x04,
    0x10, 0x03, 0x90, 0x00,
];
pub const ATR_V2_FULL: [u8; 20] = [
    0x3B, 0x7F, 0x38, 0x00, 0x00, 0x00, 0x6A, 0x44, 0x4E, 0x49, 0x65, 0x10, 0x02, 0x4C, 0x34, 0x01,
    0x13, 0x03, 0x90, 0x00,
];

pub struct Pki {
    pub root: RsaPrivateKey,
    pub ca: RsaPrivateKey,
    pub icc: RsaPrivateKey,
    pub citizen: RsaPrivateKey,
}

/// Keys generated once per test binary (debug-mode RSA generation is slow).
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(7);
        let mut k = || RsaPrivateKey::new(&mut rng, 1024).unwrap();
        Pki {
            root: k(),
            ca: k(),
            icc: k(),
            citizen: k(),
        }
    })
}

// --- X.509 by hand --------------------------------------------------------------------

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    encode(0x30, &parts.concat())
}

pub fn name(attrs: &[(&[u8], u8, &str)]) -> Vec<u8> {
    seq(&attrs
        .iter()
        .map(|(oid, tag, v)| {
            encode(
                0x31,
                &seq(&[encode(0x06, oid), encode(u16::from(*tag), v.as_bytes())]),
            )
        })
        .collect::<Vec<_>>())
}

pub const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
pub const OID_SN: &[u8] = &[0x55, 0x04, 0x04];
pub const OID_SERIAL: &[u8] = &[0x55, 0x04, 0x05];
pub const OID_C: &[u8] = &[0x55, 0x04, 0x06];
pub const OID_GN: &[u8] = &[0x55, 0x04, 0x2A];

pub fn cert(
    issuer: &[u8],
    subject: &[u8],
    key: &RsaPublicKey,
    signer: &RsaPrivateKey,
    sha256: bool,
) -> Vec<u8> {
    let alg_oid: &[u8] = if sha256 {
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]
    } else {
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05]
    };
    let alg = seq(&[encode(0x06, alg_oid), vec![0x05, 0x00]]);
    let mut bits = vec![0];
    bits.extend(key.to_pkcs1_der().unwrap().as_bytes());
    let spki = seq(&[
        seq(&[
            encode(
                0x06,
                &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]),
        encode(0x03, &bits),
    ]);
    let tbs = seq(&[
        encode(0xA0, &encode(0x02, &[2])),
        encode(0x02, &[0x01, 0x23]),
        alg.clone(),
        issuer.to_vec(),
        seq(&[
            encode(0x17, b"200101000000Z"),
            encode(0x17, b"300101000000Z"),
        ]),
        subject.to_vec(),
        spki,
    ]);
    let sig = if sha256 {
        signer
            .sign(
                Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(&tbs),
            )
            .unwrap()
    } else {
        signer
            .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(&tbs))
            .unwrap()
    };
    let mut sbits = vec![0];
    sbits.extend(sig);
    seq(&[tbs, alg, encode(0x03, &sbits)])
}

pub fn compress(der: &[u8], pad_to: usize) -> Vec<u8> {
    use flate2::write::ZlibEncoder;
    use std::io::Write;
    let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(der).unwrap();
    let z = e.finish().unwrap();
    let mut out = (der.len() as u32).to_le_bytes().to_vec();
    out.extend((z.len() as u32).to_le_bytes());
    out.extend(z);
    out.resize(out.len().max(pad_to), 0);
    out
}

fn cdf_entry(label: &str, id: &[u8], path: &[u8]) -> Vec<u8> {
    seq(&[
        seq(&[encode(0x0C, label.as_bytes()), encode(0x03, &[0x06, 0x40])]),
        seq(&[encode(0x04, id)]),
        encode(
            0xA1,
            &seq(&[seq(&[
                encode(0x04, path),
                encode(0x02, &[0]),
                encode(0x80, &[0x05, 0x48]),
            ])]),
        ),
    ])
}

fn prkdf_entry(label: &str, id: &[u8], keyref: u8, path: &[u8]) -> Vec<u8> {
    seq(&[
        seq(&[
            encode(0x0C, label.as_bytes()),
            encode(0x03, &[0x06, 0xC0]),
            encode(0x04, &[1]),
        ]),
        seq(&[
            encode(0x04, id),
            encode(0x03, &[0x06, 0x30, 0x00]),
            encode(0x01, &[0xFF]),
            encode(0x03, &[0x03, 0xB8]),
            encode(0x02, &[keyref]),
        ]),
        encode(
            0xA1,
            &seq(&[seq(&[encode(0x04, path)]), encode(0x02, &[0x04, 0x00])]),
        ),
    ])
}

// --- the card ---------------------------------------------------------------------------

#[derive(Clone)]
pub struct File {
    pub kind: u8, // 01 EF, 24 compressed cert EF, 38 DF
    pub data: Vec<u8>,
    pub needs_sm_pin: bool,
    pub needs_sm: bool,
}

#[derive(Default)]
pub struct Faults {
    /// Answer 6700 to READ BINARY with Le above this.
    pub max_le: Option<usize>,
    /// Flip a bit of the response MAC of the n-th wrapped response.
    pub corrupt_mac_at: Option<usize>,
    /// Return an empty response (card gone) at APDU index n.
    pub vanish_at: Option<usize>,
    /// Refuse SELECT with P2=0C (6A86).
    pub refuse_p2_0c: bool,
    /// Make the EXTERNAL AUTHENTICATE check fail unless SIGMIN was sent padded to 128.
    pub strict_length: bool,
}

struct Session {
    kenc: [u8; 16],
    kmac: [u8; 16],
    ssc: [u8; 8],
    user_channel: bool,
}

pub struct FakeDnie {
    pub v3: bool,
    pub files: HashMap<Vec<u16>, File>,
    pub current: Vec<u16>,
    pub chip_serial: [u8; 7],
    pub pin: Vec<u8>,
    pub tries: u8,
    pub pin_fresh: bool,
    pub pin_verified: bool,
    pub faults: Faults,
    pub log: Vec<Vec<u8>>,
    pending: Vec<u8>,
    current_ef: Option<Vec<u16>>,
    roots: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    rng: StdRng,
    // CWA state
    verify_key: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>, // (name, n, e)
    ca_key: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    ifd_key: Option<(Vec<u8>, Vec<u8>, [u8; 12])>, // (n, e, chr)
    auth_ifd: Option<[u8; 12]>,
    rnd_ifd: [u8; 8],
    k_icc: [u8; 32],
    rnd_icc: Option<[u8; 8]>,
    session: Option<Session>,
    dst_key: Option<u8>,
    wrapped_count: usize,
    pub signatures: usize,
    pub verifies: usize,
}

pub fn production_root_of(set: &dnie::TerminalKeySet) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    (
        set.root.chr.to_vec(),
        set.root.modulus.clone(),
        set.root.exponent.clone(),
    )
}

impl FakeDnie {
    pub fn new(v3: bool, idesp: &str) -> Self {
        let p = pki();
        let root_name = name(&[(OID_C, 0x13, "ES"), (OID_CN, 0x0C, "TEST RAIZ COMPONENTES")]);
        let ca_name = name(&[(OID_C, 0x13, "ES"), (OID_CN, 0x0C, "TEST AC COMPONENTES")]);
        let icc_name = name(&[(OID_CN, 0x0C, "TEST CHIP 0001")]);
        let ca_cert = cert(&root_name, &ca_name, &p.ca.to_public_key(), &p.root, false);
        let icc_cert = cert(&ca_name, &icc_name, &p.icc.to_public_key(), &p.ca, true);
        let citizen_subject = name(&[
            (OID_C, 0x13, "ES"),
            (OID_SERIAL, 0x13, "IDCES-99999002Q"),
            (OID_SN, 0x0C, "ESPAÑOL ESPAÑOL"),
            (OID_GN, 0x0C, "MARÍA JOSÉ"),
            (OID_CN, 0x0C, "ESPAÑOL ESPAÑOL, MARÍA JOSÉ (AUTENTICACIÓN)"),
        ]);
        let issuer = name(&[(OID_C, 0x13, "ES"), (OID_CN, 0x0C, "AC DNIE 004")]);
        let citizen = cert(
            &issuer,
            &citizen_subject,
            &p.citizen.to_public_key(),
            &p.root,
            true,
        );

        let mut cdf = cdf_entry("CertFirmaDigital", b"F-ID", &[0x60, 0x61, 0x70, 0x02]);
        cdf.extend(cdf_entry(
            "CertAutenticacion",
            b"A-ID",
            &[0x60, 0x61, 0x70, 0x01],
        ));
        cdf.resize(1200, 0);
        let mut prkdf = prkdf_entry("KprivAutenticacion", b"A-ID", 1, &[0x3F, 0x11, 0x01, 0x01]);
        prkdf.resize(400, 0);
        let mut files = HashMap::new();
        let ef = |data: Vec<u8>, sm: bool| File {
            kind: 0x01,
            data,
            needs_sm_pin: sm,
            needs_sm: false,
        };
        let df = || File {
            kind: 0x38,
            data: vec![],
            needs_sm_pin: false,
            needs_sm: false,
        };
        let pinned = !v3;
        files.insert(vec![0x0006], ef(idesp.as_bytes().to_vec(), false));
        files.insert(vec![0x2F03], ef(b"DNIe TEST".to_vec(), false));
        files.insert(
            vec![0x6020],
            ef([ca_cert.clone(), vec![0; 40]].concat(), false),
        );
        files.insert(
            vec![0x601F],
            ef([icc_cert.clone(), vec![0; 40]].concat(), false),
        );
        files.insert(vec![0x5015], df());
        files.insert(vec![0x5015, 0x6004], ef(cdf, pinned));
        files.insert(vec![0x5015, 0x6001], ef(prkdf, pinned));
        files.insert(vec![0x6061], df());
        files.insert(vec![0x3F01], df());
        let mrz = concat!(
            "IDESPBMP100001599999002Q<<<<<<",
            "8001014F3001015ESP<<<<<<<<<<<6",
            "ESPANOL<ESPANOL<<MARIA<JOSE<<<"
        );
        files.insert(
            vec![0x3F01, 0x0101],
            File {
                kind: 0x01,
                data: encode(0x61, &encode(0x5F1F, mrz.as_bytes())),
                needs_sm_pin: false,
                needs_sm: true,
            },
        );
        let dg13 = "\u{1}\u{2}ESPAÑOL\u{1}\u{2}ESPAÑOL\u{1}\u{2}MARÍA JOSÉ\u{1}\u{2}99999002Q\u{1}\u{2}01 01 1980\u{1}\u{2}ESP\u{1}\u{2}01 01 2030\u{1}\u{2}BMP100001";
        files.insert(
            vec![0x3F01, 0x010D],
            File {
                kind: 0x01,
                data: [encode(0x6D, dg13.as_bytes()), vec![0; 30]].concat(),
                needs_sm_pin: false,
                needs_sm: true,
            },
        );
        files.insert(
            vec![0x6061, 0x7001],
            File {
                kind: 0x24,
                data: compress(&citizen, 2000),
                needs_sm_pin: pinned,
                needs_sm: false,
            },
        );
        files.insert(
            vec![0x6061, 0x7002],
            File {
                kind: 0x24,
                data: compress(&[0x30, 0x00], 100),
                needs_sm_pin: pinned,
                needs_sm: false,
            },
        );
        FakeDnie {
            v3,
            files,
            current: vec![],
            chip_serial: [0x06, 0xCF, 0xC2, 0x22, 0x7A, 0x39, 0x8A],
            pin: b"CORRECT1".to_vec(),
            tries: 3,
            pin_fresh: false,
            pin_verified: false,
            faults: Faults::default(),
            log: vec![],
            pending: vec![],
            current_ef: None,
            roots: vec![],
            rng: StdRng::seed_from_u64(99),
            verify_key: None,
            ca_key: None,
            ifd_key: None,
            auth_ifd: None,
            rnd_ifd: [0; 8],
            k_icc: [0; 32],
            rnd_icc: None,
            session: None,
            dst_key: None,
            wrapped_count: 0,
            signatures: 0,
            verifies: 0,
        }
    }

    pub fn atr(&self) -> [u8; 20] {
        if self.v3 { ATR_V3_FULL } else { ATR_V2_FULL }
    }

    pub fn component_root() -> dnie::ComponentRoot {
        let k = pki().root.to_public_key();
        dnie::ComponentRoot {
            modulus: k.n().to_bytes_be(),
            exponent: k.e().to_bytes_be(),
            chr: [0; 8],
        }
    }

    /// T=0: data goes out through `61xx` + GET RESPONSE.
    fn t0(&mut self, data: Vec<u8>, sw: [u8; 2]) -> Vec<u8> {
        if data.is_empty() {
            return sw.to_vec();
        }
        self.pending = [data, sw.to_vec()].concat();
        let avail = self.pending.len() - 2;
        vec![0x61, if avail >= 256 { 0 } else { avail as u8 }]
    }

    fn get_response(&mut self, le: usize) -> Vec<u8> {
        if self.pending.is_empty() {
            return vec![0x69, 0x85];
        }
        let data_len = self.pending.len() - 2;
        let le = if le == 0 { 256 } else { le };
        let n = le.min(data_len);
        let mut out: Vec<u8> = self.pending.drain(..n).collect();
        let left = self.pending.len() - 2;
        if left == 0 {
            out.append(&mut self.pending);
        } else {
            out.extend([0x61, if left >= 256 { 0 } else { left as u8 }]);
        }
        out
    }

    fn fci(&self, path: &[u16]) -> Vec<u8> {
        let f = &self.files[path];
        let fid = *path.last().unwrap();
        let size = f.data.len() as u16;
        let mut p85 = vec![f.kind];
        p85.extend(fid.to_be_bytes());
        p85.extend(size.to_be_bytes());
        p85.extend([0; 5]);
        encode(0x6F, &encode(0x85, &p85))
    }

    /// Handles one (plain) command; returns (data, sw).
    fn process(&mut self, apdu: &[u8], wrapped: bool) -> (Vec<u8>, [u8; 2]) {
        let (cla, ins, p1, p2) = (apdu[0], apdu[1], apdu[2], apdu[3]);
        let body = &apdu[4..];
        let (data, le): (&[u8], usize) = match body.len() {
            0 => (&[], 0),
            1 => (&[], if body[0] == 0 { 256 } else { body[0] as usize }),
            _ => {
                let lc = body[0] as usize;
                let d = &body[1..1 + lc];
                let le = body
                    .get(1 + lc)
                    .map_or(0, |b| if *b == 0 { 256 } else { *b as usize });
                (d, le)
            }
        };
        let _ = cla;
        match ins {
            0xB8 if cla == 0x90 => (self.chip_serial.to_vec(), [0x90, 0]),
            0xA4 => {
                let target: Option<Vec<u16>> = if p1 == 0x04 {
                    (data == b"Master.File").then(Vec::new)
                } else {
                    if data.len() != 2 {
                        return (vec![], [0x67, 0]);
                    }
                    let fid = u16::from_be_bytes([data[0], data[1]]);
                    let mut cand = self.current.clone();
                    cand.push(fid);
                    if self.files.contains_key(&cand) {
                        Some(cand)
                    } else {
                        None
                    }
                };
                let Some(path) = target else {
                    return (vec![], [0x6A, 0x82]);
                };
                if p2 == 0x0C && self.faults.refuse_p2_0c {
                    return (vec![], [0x6A, 0x86]);
                }
                let is_df = path.is_empty() || self.files[&path].kind == 0x38;
                if is_df {
                    self.current = path.clone();
                    self.current_ef = None;
                } else {
                    self.current = path[..path.len() - 1].to_vec();
                    self.current_ef = Some(path.clone());
                }
                if p2 == 0x0C {
                    return (vec![], [0x90, 0]);
                }
                let fci = if path.is_empty() {
                    let mut v = encode(0x84, b"Master.File");
                    v.extend(encode(0x85, &[0x38, 0x3F, 0x00, 0, 0, 0, 0, 0, 0, 0]));
                    encode(0x6F, &v)
                } else {
                    self.fci(&path)
                };
                (fci, [0x90, 0])
            }
            0xB0 => {
                let Some(path) = self.current_ef.clone() else {
                    return (vec![], [0x69, 0x86]);
                };
                let f = self.files[&path].clone();
                if (f.needs_sm && !wrapped) || (f.needs_sm_pin && !(wrapped && self.pin_verified)) {
                    return (vec![], [0x69, 0x82]);
                }
                if self.faults.max_le.is_some_and(|m| le > m) {
                    return (vec![], [0x67, 0x00]);
                }
                let off = u16::from_be_bytes([p1 & 0x7F, p2]) as usize;
                if off >= f.data.len() {
                    return (vec![], [0x6B, 0x00]);
                }
                let end = (off + le).min(f.data.len());
                let sw = if end - off < le {
                    [0x62, 0x82]
                } else {
                    [0x90, 0]
                };
                (f.data[off..end].to_vec(), sw)
            }
            0x22 => self.mse_set(p1, p2, data),
            0x2A if p1 == 0x00 && p2 == 0xAE => self.pso_verify(data),
            0x88 => self.internal_authenticate(data),
            0x84 => {
                let mut r = [0u8; 8];
                self.rng.fill_bytes(&mut r);
                self.rnd_icc = Some(r);
                (r.to_vec(), [0x90, 0])
            }
            0x82 => self.external_authenticate(data),
            0x20 => {
                if !wrapped {
                    return (vec![], [0x69, 0x82]);
                }
                if self.v3 && self.session.as_ref().is_some_and(|s| s.user_channel) {
                    return (vec![], [0x69, 0x82]);
                }
                if self.tries == 0 {
                    return (vec![], [0x69, 0x83]);
                }
                self.verifies += 1;
                if data == self.pin.as_slice() {
                    self.tries = 3;
                    self.pin_verified = true;
                    self.pin_fresh = true;
                    (vec![], [0x90, 0])
                } else {
                    self.tries -= 1;
                    (vec![], [0x63, 0xC0 | self.tries])
                }
            }
            0x2A if p1 == 0x9E && p2 == 0x9A => {
                let ok_channel =
                    wrapped && (!self.v3 || self.session.as_ref().is_some_and(|s| s.user_channel));
                if !ok_channel || !self.pin_fresh || self.dst_key != Some(1) {
                    return (vec![], [0x69, 0x82]);
                }
                if self.v3 {
                    self.pin_fresh = false;
                }
                self.signatures += 1;
                let sig = pki()
                    .citizen
                    .sign(Pkcs1v15Sign::new_unprefixed(), data)
                    .unwrap();
                (sig, [0x90, 0])
            }
            _ => (vec![], [0x6D, 0x00]),
        }
    }

    fn mse_set(&mut self, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        match (p1, p2) {
            (0x81, 0xB6) => {
                let name = &data[2..];
                if name == [0x02, 0x0F] {
                    let set = dnie::TerminalKeySet::production_r2();
                    let legacy = dnie::TerminalKeySet::production_legacy();
                    // A real card holds one root; this one holds both production roots
                    // and picks by the CAR of the certificate that follows.
                    self.verify_key = None;
                    self.roots = vec![production_root_of(&set), production_root_of(&legacy)];
                    return (vec![], [0x90, 0]);
                }
                match &self.ca_key {
                    Some(k) if k.0 == name => {
                        self.verify_key = Some(k.clone());
                        (vec![], [0x90, 0])
                    }
                    _ => (vec![], [0x6A, 0x88]),
                }
            }
            (0xC1, 0xA4) => {
                let chr: [u8; 12] = data[2..14].try_into().unwrap();
                match &self.ifd_key {
                    Some(k) if k.2 == chr && data[14..] == [0x84, 0x02, 0x02, 0x1F] => {
                        self.auth_ifd = Some(chr);
                        (vec![], [0x90, 0])
                    }
                    _ => (vec![], [0x6A, 0x88]),
                }
            }
            (0x41, 0xB6) => {
                if data.len() == 4 && data[..3] == [0x84, 0x02, 0x01] {
                    self.dst_key = Some(data[3]);
                    (vec![], [0x90, 0])
                } else {
                    (vec![], [0x6A, 0x88])
                }
            }
            _ => (vec![], [0x6A, 0x86]),
        }
    }

    fn pso_verify(&mut self, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        let parts = match cvc::split(data) {
            Ok(p) => p,
            Err(_) => return (vec![], [0x6A, 0x80]),
        };
        let key = match &self.verify_key {
            Some(k) => Some(k.clone()),
            None => self.roots.iter().find(|r| r.0 == parts.car).cloned(),
        };
        let Some((_, n, e)) = key else {
            return (vec![], [0x6A, 0x88]);
        };
        let Ok(content) = cvc::recover(data, &n, &e) else {
            return (vec![], [0x69, 0x88]);
        };
        let Ok(c) = cvc::parse_content(&content, 128) else {
            return (vec![], [0x6A, 0x80]);
        };
        if self.verify_key.is_none() {
            self.ca_key = Some((c.chr[4..].to_vec(), c.modulus, c.exponent.to_vec()));
        } else {
            self.ifd_key = Some((c.modulus, c.exponent.to_vec(), c.chr));
        }
        (vec![], [0x90, 0])
    }

    fn internal_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        let (Some(chr), Some((ifd_n, ifd_e, _))) = (self.auth_ifd, self.ifd_key.clone()) else {
            return (vec![], [0x69, 0x85]);
        };
        if data.len() != 16 || data[8..] != chr[4..] {
            return (vec![], [0x6A, 0x80]);
        }
        self.rnd_ifd.copy_from_slice(&data[..8]);
        let mut prnd1 = [0u8; 74];
        self.rng.fill_bytes(&mut prnd1);
        self.rng.fill_bytes(&mut self.k_icc);
        let mut h = Sha1::new();
        h.update(prnd1);
        h.update(self.k_icc);
        h.update(&data[..8]);
        h.update(&data[8..]);
        let m = [
            vec![0x6A],
            prnd1.to_vec(),
            self.k_icc.to_vec(),
            h.finalize().to_vec(),
            vec![0xBC],
        ]
        .concat();
        let icc = &pki().icc;
        let n = icc.n();
        let sig = BigUint::from_bytes_be(&m).modpow(icc.d(), n);
        let other = n - &sig;
        let sigmin = if other < sig { other } else { sig };
        let out = sigmin
            .modpow(
                &BigUint::from_bytes_be(&ifd_e),
                &BigUint::from_bytes_be(&ifd_n),
            )
            .to_bytes_be();
        let mut padded = vec![0u8; 128 - out.len()];
        padded.extend(out);
        (padded, [0x90, 0])
    }

    fn external_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, [u8; 2]) {
        let (Some(rnd_icc), Some((ifd_n, ifd_e, chr))) =
            (self.rnd_icc.take(), self.ifd_key.clone())
        else {
            return (vec![], [0x69, 0x85]);
        };
        if data.len() != 128 {
            return (vec![], [0x67, 0x00]);
        }
        let icc = &pki().icc;
        let v = BigUint::from_bytes_be(data).modpow(icc.d(), icc.n());
        let n_ifd = BigUint::from_bytes_be(&ifd_n);
        let mut m = v.modpow(&BigUint::from_bytes_be(&ifd_e), &n_ifd);
        let frame_ok = |m: &BigUint| {
            let b = m.to_bytes_be();
            b.len() == 128 && b[0] == 0x6A && b[127] == 0xBC
        };
        if !frame_ok(&m) {
            m = &n_ifd - &m;
            if !frame_ok(&m) {
                return (vec![], [0x63, 0x00]);
            }
        }
        let m = m.to_bytes_be();
        let mut sn_icc = vec![0u8];
        sn_icc.extend(self.chip_serial);
        let mut h = Sha1::new();
        h.update(&m[1..107]);
        h.update(rnd_icc);
        h.update(&sn_icc);
        if h.finalize()[..] != m[107..127] {
            return (vec![], [0x63, 0x00]);
        }
        let k_ifd = &m[75..107];
        let mut seed = [0u8; 32];
        for i in 0..32 {
            seed[i] = k_ifd[i] ^ self.k_icc[i];
        }
        let kdf = |c: u8| -> [u8; 16] {
            let mut h = Sha1::new();
            h.update(seed);
            h.update([0, 0, 0, c]);
            h.finalize()[..16].try_into().unwrap()
        };
        let mut ssc = [0u8; 8];
        ssc[..4].copy_from_slice(&rnd_icc[4..]);
        ssc[4..].copy_from_slice(&self.rnd_ifd[4..]);
        let set_user = [
            dnie::TerminalKeySet::production_legacy(),
            dnie::TerminalKeySet::production_r2(),
        ]
        .iter()
        .any(|s| s.user.chr() == chr);
        self.session = Some(Session {
            kenc: kdf(1),
            kmac: kdf(2),
            ssc,
            user_channel: set_user,
        });
        (vec![], [0x90, 0])
    }

    fn mac_len(&self) -> usize {
        if self.v3 { 8 } else { 4 }
    }

    /// Card half of secure messaging: checks and opens a wrapped command.
    fn unwrap_command(&mut self, apdu: &[u8]) -> Result<Vec<u8>, [u8; 2]> {
        let mac_len = self.mac_len();
        let s = self.session.as_mut().unwrap();
        inc(&mut s.ssc);
        let lc = apdu[4] as usize;
        let Some(dos) = apdu.get(5..5 + lc) else {
            return Err([0x67, 0x00]);
        };
        let Some(mac_at) = dos.len().checked_sub(2 + mac_len) else {
            return Err([0x69, 0x87]);
        };
        if dos[mac_at] != 0x8E {
            return Err([0x69, 0x87]);
        }
        let mut body = crypto::pad(&apdu[..4]);
        body.extend_from_slice(&dos[..mac_at]);
        let mut input = s.ssc.to_vec();
        input.extend(crypto::pad(&body));
        if crypto::retail_mac(&s.kmac, &input)[..mac_len] != dos[mac_at + 2..] {
            return Err([0x66, 0x88]);
        }
        let mut plain = vec![apdu[0] & !0x0C, apdu[1], apdu[2], apdu[3]];
        let inner = &dos[..mac_at];
        match inner.first() {
            Some(0x87) => {
                let (t, _) = dnie::tlv::parse_one(inner).unwrap();
                let dec = crypto::tdes_cbc_decrypt(&s.kenc, &t.value[1..]).unwrap();
                let d = crypto::unpad(&dec).unwrap().to_vec();
                plain.push(d.len() as u8);
                plain.extend(d);
            }
            Some(0x97) => plain.push(inner[2]),
            None => {}
            _ => return Err([0x69, 0x88]),
        }
        Ok(plain)
    }

    fn wrap_response(&mut self, data: &[u8], sw: [u8; 2]) -> Vec<u8> {
        let mac_len = self.mac_len();
        self.wrapped_count += 1;
        let corrupt = self.faults.corrupt_mac_at == Some(self.wrapped_count);
        let s = self.session.as_mut().unwrap();
        inc(&mut s.ssc);
        let mut dos = Vec::new();
        if !data.is_empty() {
            let mut v = vec![0x01];
            v.extend(crypto::tdes_cbc_encrypt(&s.kenc, &crypto::pad(data)));
            dos.extend(encode(0x87, &v));
        }
        dos.extend(encode(0x99, &sw));
        let mut input = s.ssc.to_vec();
        input.extend(crypto::pad(&dos));
        let mut mac = crypto::retail_mac(&s.kmac, &input);
        if corrupt {
            mac[0] ^= 1;
        }
        dos.extend(encode(0x8E, &mac[..mac_len]));
        dos
    }
}

fn inc(ssc: &mut [u8; 8]) {
    *ssc = u64::from_be_bytes(*ssc).wrapping_add(1).to_be_bytes();
}

impl Transport for FakeDnie {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.log.push(apdu.to_vec());
        if self.faults.vanish_at == Some(self.log.len() - 1) {
            return Ok(vec![]);
        }
        if apdu[1] == 0xC0 && apdu[0] == 0x00 {
            return Ok(self.get_response(apdu[4] as usize));
        }
        self.pending.clear();
        if apdu[0] & 0x0C == 0x0C {
            if self.session.is_none() {
                return Ok(vec![0x69, 0x88]);
            }
            let plain = match self.unwrap_command(apdu) {
                Ok(p) => p,
                Err(sw) => {
                    self.session = None;
                    return Ok(sw.to_vec());
                }
            };
            let (data, sw) = self.process(&plain, true);
            let wrapped = self.wrap_response(&data, sw);
            return Ok(self.t0(wrapped, [0x90, 0]));
        }
        // Any plain command ends a secure-messaging session (the verified PIN survives,
        // DNIE.md §4).
        self.session = None;
        let (data, sw) = self.process(apdu, false);
        Ok(self.t0(data, sw))
    }
}
