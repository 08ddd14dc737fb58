//! The DNIe card engine: file system, CWA-14890 device authentication (card side), secure
//! messaging, PIN and private-key operations (DNIE.md §2–§4, §6).

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rsa::RsaPrivateKey;
use rsa::traits::PublicKeyParts;

use crate::apdu::{Command, Response, sw};
use crate::crypto::{RawPublicKey, left_pad, n_minus, rsa_private_raw, sha1, sig_min};
use crate::cvc::{self, CvcError};
use crate::error::Error;
use crate::fs::{Access, FileKind, FileSystem, MF};
use crate::identity::{DnieVersion, Identity};
use crate::pki::{ROOT_CHR, TestPki};
use crate::sm::{Channel, Session};
use crate::x509::{self as x, CertSubject, CitizenCertKind};
use crate::{icao, pkcs15, tlv};

/// DF name of the MF.
pub const MF_NAME: &[u8] = b"Master.File";
/// DF name (AID) of the ICAO LDS application, DF `3F01`.
pub const ICAO_AID: &[u8] = &[0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// Published production component root (legacy set, cards before IDESP BMP100001): modulus.
/// Public data: DNIE.md §11 / dnie-production-public.json (`icc_root_ca_modulus_0`).
pub const PRODUCTION_ROOT_LEGACY_N: &str = "EADEDA455332945039DAA404C8EBC4D3B7F5DC869283CDEA2F101E2AB54FB0D0B03D8F030DAF2458028288F54CE552F8FA57AB2FB103B112427E11131D1D27E10A5B500EAAE5D940301E30EB26C3E9066B257156ED639D70CCC090B863AFBB3BFED8C17BE7673034B9823E977ED657252927F9575B9FFF6691DB64F80B5E92CD";
/// Name (CAR) of the legacy production root.
pub const PRODUCTION_ROOT_LEGACY_CHR: [u8; 8] = [0x65, 0x73, 0x52, 0x44, 0x49, 0x60, 0x00, 0x06];
/// Published production component root ("R2" set, IDESP from BMP100001): modulus.
pub const PRODUCTION_ROOT_R2_N: &str = "B972345E35BCDD12DC2C8E85F62297979F122BB7C9C3ED13A0C4EB5934E70CD6D00C540618386E42F2BA0089C0DD800EBA783BDC9D93D9FBFC3C169F9AF64E80100FC687CCA562E7FC84D11292C2404C59B8A860D39E2D66547DC7B2D48CA789814F43062634E3E0C0D6BF5F54BA1D9C466445831DCDEAB08708F3F6220E0775";
/// Name (CAR) of the R2 production root.
pub const PRODUCTION_ROOT_R2_CHR: [u8; 8] = [0x65, 0x73, 0x52, 0x44, 0x49, 0x62, 0x00, 0x18];

/// Which root public key(s) the card uses under key reference `02 0F` to verify terminal CVCs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TerminalTrust {
    /// The TEST PKI root (default): readers must be configured with the test terminal key set.
    #[default]
    TestPki,
    /// The published production root, chosen as real cards do (IDESP ≥ "BMP100001" → R2,
    /// else legacy). Lets a reader with its built-in production terminal key set open channels,
    /// with only the (test) component root injected.
    Production,
    /// Both the test root and the production root of the card's generation.
    TestAndProduction,
}

/// What the card does with a plain command while a secure channel is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlainDuringSm {
    /// Drop the channel and answer 6987 (default; how OpenSC describes closing a channel:
    /// the plain SELECT MF gets an SM error).
    #[default]
    CloseAndFail,
    /// Drop the channel and process the command.
    CloseAndProcess,
}

/// How a refused command inside a secure channel is answered (DNIE.md §3.3: error SWs
/// "may come back unwrapped").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmErrorReplies {
    /// `99 02 SW 8E MAC`, like every other answer (default).
    #[default]
    Wrapped,
    /// The bare SW, no data objects. The session stays open and its SSC steps as if the
    /// reply had been wrapped (jmulticard's model, which keeps using the channel after a
    /// refused DG3); a reader unsure of that can drop the channel and handshake again.
    Plain,
}

/// Options of a virtual DNIe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardOptions {
    /// Terminal CVC root(s).
    pub trust: TerminalTrust,
    /// Plain commands during SM.
    pub plain_during_sm: PlainDuringSm,
    /// Largest READ BINARY Le accepted inside SM (default 0xE7 = 231: the wrapped reply
    /// `87 81 E9 01 <232> 99 02 SW 8E 08 MAC` then fits one GET RESPONSE). Larger → 6700.
    pub max_sm_read: usize,
    /// Seed of the card's random generator (`None`: from the OS).
    pub rng_seed: Option<u64>,
    /// Refusals inside a channel: wrapped (default) or bare.
    pub sm_error_replies: SmErrorReplies,
}

impl Default for CardOptions {
    fn default() -> Self {
        Self {
            trust: TerminalTrust::TestPki,
            plain_during_sm: PlainDuringSm::CloseAndFail,
            max_sm_read: 0xE7,
            rng_seed: None,
            sm_error_replies: SmErrorReplies::Wrapped,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    Plain,
    Sm(Channel),
}

#[derive(Clone, Debug)]
enum VerifSel {
    Root,
    Key([u8; 8], RawPublicKey),
}

#[derive(Clone, Debug)]
struct IfdKey {
    chr: [u8; 12],
    key: RawPublicKey,
    cha: [u8; 7],
}

/// The state of one virtual DNIe.
pub struct DnieCard {
    pub(crate) version: DnieVersion,
    opts: CardOptions,
    fs: FileSystem,
    cur_df: usize,
    cur_ef: Option<usize>,
    chip_serial: [u8; 7],
    icc_key: RsaPrivateKey,
    roots: Vec<([u8; 8], RawPublicKey)>,
    verif: Option<VerifSel>,
    cas: Vec<([u8; 8], RawPublicKey)>,
    ifds: Vec<IfdKey>,
    at: Option<usize>,
    ia: Option<([u8; 8], [u8; 32])>,
    challenge: Option<[u8; 8]>,
    session: Option<Session>,
    pending_session: Option<Session>,
    pin: Vec<u8>,
    pub(crate) pin_tries: u8,
    pin_verified: bool,
    dst: Option<u8>,
    auth_key: RsaPrivateKey,
    sign_key: RsaPrivateKey,
    rng: StdRng,
    pub(crate) corrupt_next_mac: bool,
    pub(crate) wrong_length_once: bool,
    /// Certificates as put on the card (auth, sign), for tests and the training UI.
    pub(crate) certificates: (Vec<u8>, Vec<u8>),
}

impl std::fmt::Debug for DnieCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnieCard")
            .field("version", &self.version)
            .field("pin_tries", &self.pin_tries)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn years_before(d: NaiveDate, years: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year() - years, d.month(), d.day().min(28)).unwrap_or(d)
}

fn padded_alloc(len: usize) -> usize {
    len.div_ceil(256) * 256 + 256
}

impl DnieCard {
    /// Builds the card of `id` with material from `pki`.
    pub fn new(id: &Identity, pki: &TestPki, opts: CardOptions) -> Result<Self, Error> {
        id.validate()?;
        let citizen = pki.citizen(&id.pki).ok_or_else(|| {
            Error::Identity(format!(
                "{}: no citizen {:?} in the test PKI",
                id.name, id.pki
            ))
        })?;
        let mut rng = match opts.rng_seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        let (auth_cert, sign_cert) = if id.reissue_certificates {
            let subject = CertSubject {
                given_name: id.given_name.clone(),
                first_surname: id.first_surname.clone(),
                second_surname: id.second_surname.clone(),
                serial_number: if id.idces_prefix {
                    format!("IDCES-{}", id.document_number)
                } else {
                    id.document_number.clone()
                },
                birth_date: id.birth_date,
            };
            let validity = (
                id.certificates_not_before
                    .unwrap_or_else(|| years_before(id.expiry_date, 10)),
                id.certificates_not_after.unwrap_or(id.expiry_date),
            );
            let mut issue = |kind, key: &RsaPrivateKey| {
                let mut serial = [0u8; 16];
                rng.fill_bytes(&mut serial);
                x::issue_citizen(
                    kind,
                    &subject,
                    &key.to_public_key(),
                    serial,
                    validity,
                    &pki.citizen_ca_cert,
                    &pki.citizen_ca_key,
                )
            };
            (
                issue(CitizenCertKind::Auth, &citizen.auth_key)?,
                issue(CitizenCertKind::Sign, &citizen.sign_key)?,
            )
        } else {
            (citizen.auth_cert.clone(), citizen.sign_cert.clone())
        };
        let chip_serial = id.chip_serial_bytes();
        let fs = build_fs(id, pki, &auth_cert, &sign_cert, &chip_serial)?;
        let test_root = (ROOT_CHR, pki.root_public());
        let production = if id.idesp.as_str() >= "BMP100001" {
            (PRODUCTION_ROOT_R2_CHR, PRODUCTION_ROOT_R2_N)
        } else {
            (PRODUCTION_ROOT_LEGACY_CHR, PRODUCTION_ROOT_LEGACY_N)
        };
        let production = (
            production.0,
            RawPublicKey::from_be(&hex::decode(production.1).unwrap_or_default(), &[1, 0, 1]),
        );
        let roots = match opts.trust {
            TerminalTrust::TestPki => vec![test_root],
            TerminalTrust::Production => vec![production],
            TerminalTrust::TestAndProduction => vec![test_root, production],
        };
        Ok(Self {
            version: id.version,
            opts,
            fs,
            cur_df: MF,
            cur_ef: None,
            chip_serial,
            icc_key: pki.component.icc_key.clone(),
            roots,
            verif: None,
            cas: Vec::new(),
            ifds: Vec::new(),
            at: None,
            ia: None,
            challenge: None,
            session: None,
            pending_session: None,
            pin: id.pin.as_bytes().to_vec(),
            pin_tries: id.pin_tries_left.unwrap_or(3),
            pin_verified: false,
            dst: None,
            auth_key: citizen.auth_key.clone(),
            sign_key: citizen.sign_key.clone(),
            rng,
            corrupt_next_mac: false,
            wrong_length_once: false,
            certificates: (auth_cert, sign_cert),
        })
    }

    /// Cold/warm reset and power off: channel, PIN status, CWA state and selection are lost; the
    /// PIN try counter (non-volatile) is kept.
    pub fn reset(&mut self) {
        self.cur_df = MF;
        self.cur_ef = None;
        self.verif = None;
        self.cas.clear();
        self.ifds.clear();
        self.at = None;
        self.ia = None;
        self.challenge = None;
        self.session = None;
        self.pending_session = None;
        self.pin_verified = false;
        self.dst = None;
    }

    /// Whether a secure channel is open (and which).
    pub fn channel(&self) -> Option<Channel> {
        self.session.as_ref().map(|s| s.channel)
    }

    fn drop_session(&mut self) {
        self.session = None;
        self.pending_session = None;
        self.dst = None;
    }

    /// Processes one (already T=0-parsed) command.
    pub fn process(&mut self, cmd: &Command) -> Response {
        if cmd.cla & 0x0C == 0x0C {
            return self.process_sm(cmd);
        }
        if self.session.is_some() {
            self.drop_session();
            if self.opts.plain_during_sm == PlainDuringSm::CloseAndFail {
                return Response::sw(sw::SM_MISSING);
            }
        }
        let resp = self.dispatch(cmd, Ctx::Plain);
        if self.wrong_length_once
            && cmd.data.is_empty()
            && cmd.le.is_some()
            && !resp.data.is_empty()
        {
            self.wrong_length_once = false;
            return Response::sw(0x6C00 | (resp.data.len() & 0xFF) as u16);
        }
        resp
    }

    fn process_sm(&mut self, cmd: &Command) -> Response {
        let Some(mut session) = self.session.take() else {
            return Response::sw(sw::SM_INCORRECT);
        };
        let inner = match session.unwrap_command(cmd, self.version == DnieVersion::V3) {
            Ok(c) => c,
            Err(e) => {
                self.drop_session();
                return Response::sw(e.sw());
            }
        };
        let channel = session.channel;
        self.session = Some(session);
        let mut resp = self.dispatch(&inner, Ctx::Sm(channel));
        if self.wrong_length_once && inner.le.is_some() && !resp.data.is_empty() {
            self.wrong_length_once = false;
            resp = Response::sw(0x6C00 | (resp.data.len() & 0xFF) as u16);
        }
        let bare = self.opts.sm_error_replies == SmErrorReplies::Plain
            && resp.data.is_empty()
            && resp.sw != sw::OK;
        let out = match self.session.as_mut() {
            Some(s) if bare => {
                s.step_without_reply();
                resp
            }
            Some(s) => s.wrap_response(&resp, std::mem::take(&mut self.corrupt_next_mac)),
            None => resp,
        };
        if let Some(next) = self.pending_session.take() {
            self.session = Some(next);
        }
        out
    }

    fn dispatch(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        match (cmd.cla, cmd.ins) {
            (0x00, 0xA4) => self.select(cmd),
            (0x00, 0xB0) => self.read_binary(cmd, ctx),
            (0x90, 0xB8) => self.chip_info(cmd),
            (0x00, 0x22) => self.mse_set(cmd, ctx),
            (0x00, 0x2A) => self.pso(cmd, ctx),
            (0x00, 0x88) => self.internal_authenticate(cmd),
            (0x00, 0x84) => self.get_challenge(cmd),
            (0x00, 0x82) => self.external_authenticate(cmd, ctx),
            (0x00, 0x20) => self.verify(cmd, ctx),
            (0x00 | 0x90, _) => Response::sw(sw::INS_NOT_SUPPORTED),
            _ => Response::sw(sw::CLA_NOT_SUPPORTED),
        }
    }

    /// SELECT (`00 A4`): by DF name (P1 04) or by FID (P1 00/01/02) one level at a time.
    fn select(&mut self, cmd: &Command) -> Response {
        let target = match cmd.p1 {
            0x04 => self.fs.select_name(&cmd.data),
            0x00..=0x02 => {
                if cmd.data.len() != 2 {
                    return Response::sw(sw::WRONG_LENGTH);
                }
                self.fs
                    .select_fid(self.cur_df, u16::from_be_bytes([cmd.data[0], cmd.data[1]]))
            }
            _ => return Response::sw(sw::WRONG_P1P2),
        };
        let Some(idx) = target else {
            return Response::sw(sw::FILE_NOT_FOUND);
        };
        if self.fs.is_df(idx) {
            self.cur_df = idx;
            self.cur_ef = None;
        } else {
            self.cur_df = self.fs.file(idx).and_then(|f| f.parent).unwrap_or(MF);
            self.cur_ef = Some(idx);
        }
        if cmd.p2 & 0x0C == 0x0C {
            Response::sw(sw::OK)
        } else {
            Response::ok(self.fs.fci(idx))
        }
    }

    fn can_read(&self, access: Access, ctx: Ctx) -> bool {
        match access {
            Access::Always => true,
            Access::UserChannel => ctx == Ctx::Sm(Channel::User),
            Access::ChannelAndPin => matches!(ctx, Ctx::Sm(_)) && self.pin_verified,
            Access::Never => false,
        }
    }

    /// READ BINARY (`00 B0`), offset in P1-P2 (15 bits).
    fn read_binary(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        if cmd.p1 & 0x80 != 0 {
            return Response::sw(sw::WRONG_P1P2);
        }
        let Some(file) = self.cur_ef.and_then(|i| self.fs.file(i)) else {
            return Response::sw(sw::NOT_ALLOWED);
        };
        if !self.can_read(file.read, ctx) {
            return Response::sw(sw::SECURITY_NOT_SATISFIED);
        }
        let Some(le) = cmd.le else {
            return Response::sw(sw::WRONG_LENGTH);
        };
        if matches!(ctx, Ctx::Sm(_)) && le > self.opts.max_sm_read {
            return Response::sw(sw::WRONG_LENGTH);
        }
        let off = usize::from(cmd.p1p2());
        let len = file.content.len();
        if off >= len {
            return Response::sw(sw::WRONG_OFFSET);
        }
        let end = (off + le).min(len);
        let data = file.content[off..end].to_vec();
        if end - off < le {
            Response {
                data,
                sw: sw::EOF_BEFORE_LE,
            }
        } else {
            Response::ok(data)
        }
    }

    /// GET CHIP INFO (`90 B8 00 00 07`): the 7-byte chip serial.
    fn chip_info(&mut self, cmd: &Command) -> Response {
        if cmd.p1p2() != 0 {
            return Response::sw(sw::WRONG_P1P2);
        }
        if cmd.le != Some(7) {
            return Response::sw(0x6C07);
        }
        Response::ok(self.chip_serial.to_vec())
    }

    /// MSE SET: `81 B6` verification key, `C1 A4` authentication template, `41 B6` DST.
    fn mse_set(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        let Some(items) = tlv::parse_all(&cmd.data) else {
            return Response::sw(sw::WRONG_DATA);
        };
        match (cmd.p1, cmd.p2) {
            (0x81, 0xB6) => {
                let Some(r) = tlv::find(&items, 0x83) else {
                    return Response::sw(sw::WRONG_DATA);
                };
                if r == [0x02, 0x0F] {
                    self.verif = Some(VerifSel::Root);
                } else if let Some((n, k)) = self
                    .cas
                    .iter()
                    .chain(self.roots.iter())
                    .find(|(n, _)| n[..] == *r)
                {
                    self.verif = Some(VerifSel::Key(*n, k.clone()));
                } else {
                    return Response::sw(sw::REF_NOT_FOUND);
                }
                Response::sw(sw::OK)
            }
            (0xC1, 0xA4) => {
                let (Some(ifd), Some(icc)) = (tlv::find(&items, 0x83), tlv::find(&items, 0x84))
                else {
                    return Response::sw(sw::WRONG_DATA);
                };
                if icc != [0x02, 0x1F] {
                    return Response::sw(sw::REF_NOT_FOUND);
                }
                let Some(pos) = self.ifds.iter().position(|k| k.chr[..] == *ifd) else {
                    return Response::sw(sw::REF_NOT_FOUND);
                };
                self.at = Some(pos);
                self.ia = None;
                self.challenge = None;
                Response::sw(sw::OK)
            }
            (0x41, 0xB6) => {
                if !self.key_op_channel(ctx) {
                    return Response::sw(sw::SECURITY_NOT_SATISFIED);
                }
                // DNIe 3.0 refuses the key selection without a fresh PIN (DNIE.md §11).
                if self.version == DnieVersion::V3 && !self.pin_verified {
                    return Response::sw(sw::SECURITY_NOT_SATISFIED);
                }
                match tlv::find(&items, 0x84) {
                    Some([0x01, r @ (0x01 | 0x02)]) => {
                        self.dst = Some(*r);
                        Response::sw(sw::OK)
                    }
                    Some(_) => Response::sw(sw::REF_NOT_FOUND),
                    None => Response::sw(sw::WRONG_DATA),
                }
            }
            _ => Response::sw(sw::WRONG_P1P2),
        }
    }

    fn key_op_channel(&self, ctx: Ctx) -> bool {
        match ctx {
            Ctx::Plain => false,
            Ctx::Sm(Channel::Pin) => self.version == DnieVersion::V2,
            Ctx::Sm(Channel::User) => true,
        }
    }

    fn pso(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        match (cmd.p1, cmd.p2) {
            (0x00, 0xAE) => self.verify_certificate(cmd),
            (0x9E, 0x9A) => self.compute_signature(cmd, ctx),
            _ => Response::sw(sw::WRONG_P1P2),
        }
    }

    /// PSO VERIFY CERTIFICATE (`00 2A 00 AE`): recover a terminal CVC with the selected key.
    fn verify_certificate(&mut self, cmd: &Command) -> Response {
        let (name, key) = match &self.verif {
            None => return Response::sw(sw::CONDITIONS_NOT_SATISFIED),
            Some(VerifSel::Key(n, k)) => (*n, k.clone()),
            Some(VerifSel::Root) => {
                // The outer CAR (tag 42) names which of the trusted roots signed it.
                let car = tlv::parse_one(&cmd.data)
                    .and_then(|(o, _)| tlv::parse_all(o.value))
                    .and_then(|items| tlv::find(&items, 0x42).map(<[u8]>::to_vec));
                let Some(car) = car else {
                    return Response::sw(sw::WRONG_DATA);
                };
                match self.roots.iter().find(|(n, _)| n[..] == car[..]) {
                    Some((n, k)) => (*n, k.clone()),
                    None => return Response::sw(sw::REF_NOT_FOUND),
                }
            }
        };
        match cvc::verify(&cmd.data, &key, &name) {
            Ok(body) => {
                let pk = body.public_key();
                if body.cpi == cvc::CPI_CA {
                    let n = body.chr_name();
                    self.cas.retain(|(m, _)| *m != n);
                    self.cas.push((n, pk));
                } else {
                    self.ifds.retain(|k| k.chr != body.chr);
                    self.ifds.push(IfdKey {
                        chr: body.chr,
                        key: pk,
                        cha: body.cha,
                    });
                    self.at = None;
                }
                Response::sw(sw::OK)
            }
            Err(CvcError::Malformed | CvcError::BadSignature | CvcError::WrongIssuer) => {
                Response::sw(sw::WRONG_DATA)
            }
        }
    }

    fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.fill_bytes(&mut b);
        b
    }

    /// INTERNAL AUTHENTICATE (`00 88 00 00 10 <RND.IFD ‖ SN.IFD>`): returns
    /// `PK.IFD(min(SIG, N.ICC − SIG))` with `SIG = SK.ICC(6A ‖ PRND1 ‖ K.ICC ‖ H ‖ BC)`.
    fn internal_authenticate(&mut self, cmd: &Command) -> Response {
        if cmd.p1p2() != 0 {
            return Response::sw(sw::WRONG_P1P2);
        }
        let Some(ifd) = self.at.and_then(|i| self.ifds.get(i)).cloned() else {
            return Response::sw(sw::CONDITIONS_NOT_SATISFIED);
        };
        if cmd.data.len() != 16 {
            return Response::sw(sw::WRONG_LENGTH);
        }
        if cmd.data[8..] != ifd.chr[4..] {
            return Response::sw(sw::WRONG_DATA);
        }
        let mut rnd_ifd = [0u8; 8];
        rnd_ifd.copy_from_slice(&cmd.data[..8]);
        let prnd1: [u8; 74] = self.random();
        let k_icc: [u8; 32] = self.random();
        let h = sha1(&[&prnd1, &k_icc, &rnd_ifd, &cmd.data[8..]]);
        let m = [&[0x6A][..], &prnd1, &k_icc, &h, &[0xBC]].concat();
        let k = self.icc_key.size();
        let out = rsa_private_raw(&self.icc_key, &m)
            .and_then(|sig| sig_min(self.icc_key.n(), &sig, k))
            .and_then(|sigmin| ifd.key.raw(&sigmin));
        match out {
            Some(out) => {
                self.ia = Some((rnd_ifd, k_icc));
                Response::ok(out)
            }
            None => Response::sw(sw::CONDITIONS_NOT_SATISFIED),
        }
    }

    /// GET CHALLENGE (`00 84 00 00 08`).
    fn get_challenge(&mut self, cmd: &Command) -> Response {
        if cmd.p1p2() != 0 {
            return Response::sw(sw::WRONG_P1P2);
        }
        if cmd.le != Some(8) {
            return Response::sw(0x6C08);
        }
        let c: [u8; 8] = self.random();
        self.challenge = Some(c);
        Response::ok(c.to_vec())
    }

    /// EXTERNAL AUTHENTICATE (`00 82 00 00 80 <128>`): checks the terminal and opens the channel.
    fn external_authenticate(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        let (Some(ifd), Some((rnd_ifd, k_icc))) =
            (self.at.and_then(|i| self.ifds.get(i)).cloned(), self.ia)
        else {
            return Response::sw(sw::CONDITIONS_NOT_SATISFIED);
        };
        let Some(rnd_icc) = self.challenge.take() else {
            return Response::sw(sw::CONDITIONS_NOT_SATISFIED);
        };
        let k = self.icc_key.size();
        if cmd.data.len() != k {
            return Response::sw(sw::WRONG_LENGTH);
        }
        self.ia = None;
        let kl = ifd.key.len();
        let good = |y: &[u8]| y.len() == kl && y[0] == 0x6A && y[kl - 1] == 0xBC;
        let recovered = rsa_private_raw(&self.icc_key, &cmd.data)
            .and_then(|x| left_pad(&x, kl))
            .and_then(|x| ifd.key.raw(&x))
            .and_then(|y| {
                if good(&y) {
                    Some(y)
                } else {
                    n_minus(&ifd.key.n, &y, kl).filter(|y| good(y))
                }
            });
        let Some(y) = recovered else {
            return Response::sw(sw::AUTH_FAILED);
        };
        if kl < 128 {
            return Response::sw(sw::AUTH_FAILED);
        }
        let prnd2 = &y[1..kl - 53];
        let mut k_ifd = [0u8; 32];
        k_ifd.copy_from_slice(&y[kl - 53..kl - 21]);
        let sn_icc = [&[0u8][..], &self.chip_serial].concat();
        if sha1(&[prnd2, &k_ifd, &rnd_icc, &sn_icc])[..] != y[kl - 21..kl - 1] {
            return Response::sw(sw::AUTH_FAILED);
        }
        let (kenc, kmac, ssc) = crate::sm::derive(&k_ifd, &k_icc, &rnd_icc, &rnd_ifd);
        let channel = if self.version == DnieVersion::V3 && ifd.cha == cvc::CHA_IFD_PIN {
            Channel::Pin
        } else {
            Channel::User
        };
        let session = Session {
            kenc,
            kmac,
            ssc,
            channel,
            mac_len: if self.version == DnieVersion::V3 {
                8
            } else {
                4
            },
        };
        self.dst = None;
        match ctx {
            Ctx::Plain => self.session = Some(session),
            Ctx::Sm(_) => self.pending_session = Some(session),
        }
        Response::sw(sw::OK)
    }

    /// VERIFY (`00 20 00 00 [PIN]`), inside SM (3.0: the PIN channel only).
    fn verify(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        if cmd.p1p2() != 0 {
            return Response::sw(sw::WRONG_P1P2);
        }
        match ctx {
            Ctx::Plain => return Response::sw(sw::SECURITY_NOT_SATISFIED),
            Ctx::Sm(Channel::User) if self.version == DnieVersion::V3 => {
                return Response::sw(sw::SECURITY_NOT_SATISFIED);
            }
            Ctx::Sm(_) => {}
        }
        if self.pin_tries == 0 {
            return Response::sw(sw::PIN_BLOCKED);
        }
        if cmd.data.is_empty() {
            return Response::sw(0x63C0 | u16::from(self.pin_tries));
        }
        if cmd.data == self.pin {
            self.pin_tries = 3;
            self.pin_verified = true;
            Response::sw(sw::OK)
        } else {
            self.pin_tries -= 1;
            self.pin_verified = false;
            Response::sw(0x63C0 | u16::from(self.pin_tries))
        }
    }

    /// PSO COMPUTE DIGITAL SIGNATURE (`00 2A 9E 9A <DigestInfo>`): PKCS#1 v1.5 with the key of
    /// the DST. On 3.0 the PIN is consumed by the operation.
    fn compute_signature(&mut self, cmd: &Command, ctx: Ctx) -> Response {
        if !self.key_op_channel(ctx) {
            return Response::sw(sw::SECURITY_NOT_SATISFIED);
        }
        let Some(key_ref) = self.dst else {
            return Response::sw(sw::CONDITIONS_NOT_SATISFIED);
        };
        if !self.pin_verified {
            return Response::sw(sw::SECURITY_NOT_SATISFIED);
        }
        let key = if key_ref == 0x01 {
            &self.auth_key
        } else {
            &self.sign_key
        };
        if cmd.data.is_empty() || cmd.data.len() > key.size() - 11 {
            return Response::sw(sw::WRONG_LENGTH);
        }
        let Ok(sig) = key.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &cmd.data) else {
            return Response::sw(sw::WRONG_DATA);
        };
        if self.version == DnieVersion::V3 {
            self.pin_verified = false;
        }
        Response::ok(sig)
    }
}

fn build_fs(
    id: &Identity,
    pki: &TestPki,
    auth_cert: &[u8],
    sign_cert: &[u8],
    chip_serial: &[u8; 7],
) -> Result<FileSystem, Error> {
    let v3 = id.version == DnieVersion::V3;
    let mut fs = FileSystem::new(MF_NAME);
    fs.add_ef(
        MF,
        0x0006,
        FileKind::Transparent,
        id.idesp.as_bytes(),
        0,
        Access::Always,
    );
    let version = if v3 {
        "DNIe 03.00 CARD-SIM TEST"
    } else {
        "DNIe 01.13 CARD-SIM TEST"
    };
    fs.add_ef(
        MF,
        0x2F03,
        FileKind::Transparent,
        version.as_bytes(),
        0,
        Access::Always,
    );
    let c = &pki.component;
    fs.add_ef(
        MF,
        0x601F,
        FileKind::Transparent,
        &c.icc_cert,
        0,
        Access::Always,
    );
    fs.add_ef(
        MF,
        0x6020,
        FileKind::Transparent,
        &c.intermediate_cert,
        0,
        Access::Always,
    );

    // Certificates (DF 6061), compressed.
    let cert_read = if v3 {
        Access::Always
    } else {
        Access::ChannelAndPin
    };
    let df6061 = fs.add_df(MF, 0x6061, None);
    let mut lengths = Vec::new();
    for (fid, cert) in [
        (0x7001, auth_cert),
        (0x7002, sign_cert),
        (0x7003, &pki.citizen_ca_cert[..]),
    ] {
        let z = pkcs15::compress_cert(cert)?;
        lengths.push(z.len());
        fs.add_ef(
            df6061,
            fid,
            FileKind::CompressedCert,
            &z,
            padded_alloc(z.len()),
            cert_read,
        );
    }

    // Keys (DF 3F11).
    let df3f11 = fs.add_df(MF, 0x3F11, None);
    fs.add_ef(df3f11, 0x0101, FileKind::Key, &[], 0x0500, Access::Never);
    fs.add_ef(df3f11, 0x0102, FileKind::Key, &[], 0x0500, Access::Never);

    // PKCS#15 (DF 5015).
    let modulus = |cert: &[u8]| -> Result<Vec<u8>, Error> {
        use rsa::traits::PublicKeyParts;
        Ok(x::cert_public_key(cert)?.n().to_bytes_be())
    };
    let id_auth = pkcs15::object_id('A', &modulus(auth_cert)?);
    let id_sign = pkcs15::object_id('F', &modulus(sign_cert)?);
    let id_ca = pkcs15::object_id('S', &modulus(&pki.citizen_ca_cert)?);
    let names: Vec<x::CertNames> = [auth_cert, sign_cert, &pki.citizen_ca_cert[..]]
        .iter()
        .map(|c| x::cert_names(c))
        .collect::<Result<_, _>>()?;
    let entries: Vec<pkcs15::CertEntry<'_>> = [
        ("CertAutenticacion", &id_auth, [0x60, 0x61, 0x70, 0x01]),
        ("CertFirmaDigital", &id_sign, [0x60, 0x61, 0x70, 0x02]),
        ("CertCAIntermediaDGP", &id_ca, [0x60, 0x61, 0x70, 0x03]),
    ]
    .iter()
    .zip(names.iter())
    .zip(lengths.iter())
    .map(|(((label, oid, path), names), len)| pkcs15::CertEntry {
        label,
        id: oid,
        path: *path,
        length: *len,
        subject: &names.subject,
        issuer: &names.issuer,
        serial: &names.serial,
    })
    .collect();
    let cdf = pkcs15::cdf(&entries);
    let prkdf = pkcs15::prkdf(&[
        pkcs15::KeyEntry {
            label: "KprivAutenticacion",
            id: &id_auth,
            key_ref: 0x01,
            path: [0x3F, 0x11, 0x01, 0x01],
            bits: 2048,
        },
        pkcs15::KeyEntry {
            label: "KprivFirmaDigital",
            id: &id_sign,
            key_ref: 0x02,
            path: [0x3F, 0x11, 0x01, 0x02],
            bits: 2048,
        },
    ]);
    let df5015 = fs.add_df(MF, 0x5015, None);
    let serial_hex = hex::encode_upper(chip_serial);
    let ti = pkcs15::token_info(serial_hex.as_bytes());
    fs.add_ef(
        df5015,
        0x5032,
        FileKind::Transparent,
        &ti,
        ti.len().div_ceil(64) * 64 + 64,
        Access::Always,
    );
    let odf = pkcs15::odf();
    fs.add_ef(
        df5015,
        0x5031,
        FileKind::Transparent,
        &odf,
        0x30,
        Access::Always,
    );
    fs.add_ef(
        df5015,
        0x6004,
        FileKind::Transparent,
        &cdf,
        padded_alloc(cdf.len()).max(2100),
        Access::Always,
    );
    fs.add_ef(
        df5015,
        0x6001,
        FileKind::Transparent,
        &prkdf,
        padded_alloc(prkdf.len()).max(2100),
        Access::Always,
    );

    // ICAO LDS (DF 3F01), DNIe 3.0 only.
    if v3 {
        let df = fs.add_df(MF, 0x3F01, Some(ICAO_AID));
        fs.add_ef(
            df,
            0x011E,
            FileKind::Transparent,
            &icao::com(),
            0,
            Access::UserChannel,
        );
        fs.add_ef(
            df,
            0x0101,
            FileKind::Transparent,
            &icao::dg1(id),
            0,
            Access::UserChannel,
        );
        fs.add_ef(
            df,
            0x0103,
            FileKind::Transparent,
            &[0u8; 16],
            0,
            Access::Never,
        );
        fs.add_ef(
            df,
            0x010B,
            FileKind::Transparent,
            &icao::dg11(id),
            0,
            Access::UserChannel,
        );
        fs.add_ef(
            df,
            0x010D,
            FileKind::Transparent,
            &icao::dg13(id),
            0,
            Access::UserChannel,
        );
    }
    Ok(fs)
}
