//! The DNIe as the application sees it: open, read the identity, open the secure
//! channel, verify the PIN, prove possession of the authentication key.

use std::fmt;

use rand::RngCore;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::apdu::{Apdu, StatusWord};
use crate::atr::{self, AtrInfo, DnieVersion};
use crate::card::{Card, CardStats};
use crate::error::{DnieError, Result};
use crate::fci::Fci;
use crate::icao::{self, Dg1, Dg13, IcaoData};
use crate::identity::CitizenIdentity;
use crate::pin::Pin;
use crate::pkcs15;
use crate::sm::handshake::{self, HandshakeParams};
use crate::sm::keys::{ComponentRoot, KeySetChoice, TerminalKeySet};
use crate::sm::session::MacLength;
use crate::tlv;
use crate::transport::Transport;
use crate::x509::{self, ChipCertificate, CitizenCertificate};

/// DF name of the master file (DNIE.md §2).
pub const MASTER_FILE_NAME: &[u8] = b"Master.File";
/// EF IDESP (support number), in the MF.
pub const FID_IDESP: u16 = 0x0006;
/// EF software version, in the MF.
pub const FID_VERSION: u16 = 0x2F03;
/// EF of the chip's component certificate (X.509, RSA-1024), in the MF.
pub const FID_ICC_CERT: u16 = 0x601F;
/// EF of the intermediate CA certificate of the chip component PKI, in the MF.
pub const FID_ICC_CA_CERT: u16 = 0x6020;
/// DF PKCS#15.
pub const FID_PKCS15: u16 = 0x5015;
/// PKCS#15 ODF.
pub const FID_ODF: u16 = 0x5031;
/// PKCS#15 TokenInfo.
pub const FID_TOKEN_INFO: u16 = 0x5032;
/// PKCS#15 CDF.
pub const FID_CDF: u16 = 0x6004;
/// PKCS#15 PrKDF.
pub const FID_PRKDF: u16 = 0x6001;

/// DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Key reference of the authentication key when the PrKDF does not say (DNIE.md §4).
const DEFAULT_AUTH_KEY_REF: u8 = 0x01;

/// READ BINARY sizes tried, largest first, when the card answers 6700 (wrong length).
const READ_CHUNK_FALLBACKS: [u16; 4] = [0xFF, 0xEF, 0xDE, 0x80];

/// Configuration of the reader side.
#[derive(Clone, Debug)]
pub struct DnieConfig {
    /// Root the chip's component certificates (EF 6020/601F) must chain to. `None`: the
    /// root of the chosen terminal key set (production roots by default).
    pub component_root: Option<ComponentRoot>,
    /// Terminal key set: production by IDESP unless overridden.
    pub key_set: KeySetChoice,
    /// Check EF 6020 with the component root and 601F with 6020 (default true).
    pub verify_chip_certificates: bool,
    /// Largest READ BINARY Le in plain (default 0xFF, lowered if the card answers 6700).
    pub max_read_chunk: u16,
    /// Largest READ BINARY Le under secure messaging (default 0xDE so a wrapped answer
    /// with an 8-byte MAC fits one 256-byte response, as jmulticard's `MAX_READ_CHUNK`).
    pub max_sm_read_chunk: u16,
}

impl Default for DnieConfig {
    fn default() -> Self {
        DnieConfig {
            component_root: None,
            key_set: KeySetChoice::Auto,
            verify_chip_certificates: true,
            max_read_chunk: 0xFF,
            max_sm_read_chunk: 0xDE,
        }
    }
}

/// Which CWA-14890 identity the current channel was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Standard terminal identity (DNIe 2.0: everything; 3.0/4.0: key operations, ICAO).
    User,
    /// PIN-channel identity (DNIe 3.0/4.0: PIN verification).
    Pin,
}

/// Proof that the citizen holds the card and knows its PIN: the card's signature with the
/// authentication key over a fresh challenge, verified against the authentication
/// certificate. `Debug` is redacted.
#[derive(Clone)]
pub struct ProofOfPossession {
    /// Whose card it is.
    pub identity: CitizenIdentity,
    /// The random challenge that was hashed (SHA-256) and signed.
    pub challenge: Vec<u8>,
    /// PKCS#1 v1.5 signature over the SHA-256 DigestInfo of `challenge`.
    pub signature: Vec<u8>,
    /// DER of the authentication certificate that verified it.
    pub certificate: Vec<u8>,
}

impl fmt::Debug for ProofOfPossession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofOfPossession")
            .field("identity", &self.identity)
            .field("signature_len", &self.signature.len())
            .finish_non_exhaustive()
    }
}

struct AuthMaterial {
    identity: CitizenIdentity,
    certificate: CitizenCertificate,
    der: Vec<u8>,
    key_ref: Option<u8>,
}

/// A DNIe in a reader.
pub struct Dnie<T: Transport> {
    card: Card<T>,
    atr: AtrInfo,
    config: DnieConfig,
    chip_serial: Option<[u8; 7]>,
    idesp: Option<String>,
    key_set: Option<TerminalKeySet>,
    icc_public_key: Option<RsaPublicKey>,
    channel: Option<ChannelKind>,
    current_df: Option<Vec<u16>>,
    df_select_p2: u8,
    read_chunk: u16,
    auth: Option<AuthMaterial>,
}

fn sw_error(command: &'static str, sw: StatusWord) -> DnieError {
    DnieError::from_status(command, sw)
}

/// Length of the content of a zero-padded file of concatenated BER-TLV objects, once the
/// padding has been seen (`None` while more bytes are needed).
fn tlv_content_len(buf: &[u8]) -> Option<usize> {
    let mut rest = buf;
    loop {
        match rest.first() {
            None => return None,
            Some(0x00) | Some(0xFF) => return Some(buf.len() - rest.len()),
            Some(_) => {}
        }
        rest = tlv::parse_one(rest).ok()?.1;
    }
}

/// Like [`tlv_content_len`] for the CDF, but the content ends early right after the
/// entry labelled `CertAutenticacion` (the first one on DNIe cards): the rest of the CDF
/// is not needed for the identity, and not reading it saves READ BINARYs.
fn cdf_content_len(buf: &[u8]) -> Option<usize> {
    let mut rest = buf;
    loop {
        match rest.first() {
            None => return None,
            Some(0x00) | Some(0xFF) => return Some(buf.len() - rest.len()),
            Some(_) => {}
        }
        let next = tlv::parse_one(rest).ok()?.1;
        let entry = &rest[..rest.len() - next.len()];
        if pkcs15::parse_cdf(entry).is_ok_and(|certs| {
            certs
                .iter()
                .any(|c| c.label.as_deref() == Some(pkcs15::AUTH_CERT_LABEL))
        }) {
            return Some(buf.len() - next.len());
        }
        rest = next;
    }
}

impl<T: Transport> Dnie<T> {
    /// Recognises the card from its ATR (no APDU is sent): [`DnieError::NotADnie`] or
    /// [`DnieError::FinalisedDnie`] for cards we do not read.
    pub fn open(transport: T, atr: &[u8], config: &DnieConfig) -> Result<Self> {
        let info = atr::recognise(atr)?;
        Ok(Dnie {
            card: Card::new(transport),
            atr: info,
            config: config.clone(),
            chip_serial: None,
            idesp: None,
            key_set: None,
            icc_public_key: None,
            channel: None,
            current_df: None,
            df_select_p2: 0x0C,
            read_chunk: config.max_read_chunk.clamp(1, 256),
            auth: None,
        })
    }

    /// Card generation.
    pub fn version(&self) -> DnieVersion {
        self.atr.version
    }

    /// What the ATR said.
    pub fn atr_info(&self) -> AtrInfo {
        self.atr
    }

    /// APDU and byte counters.
    pub fn stats(&self) -> CardStats {
        self.card.stats()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) {
        self.card.reset_stats();
    }

    /// The channel currently open, if any.
    pub fn channel(&self) -> Option<ChannelKind> {
        if self.card.has_session() {
            self.channel
        } else {
            None
        }
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.card.into_transport()
    }

    fn mac_len(&self) -> MacLength {
        match self.atr.version {
            DnieVersion::V2 => MacLength::Four,
            DnieVersion::V3 => MacLength::Eight,
        }
    }

    // --- files ------------------------------------------------------------------------

    fn select_directory(&mut self, p1: u8, data: Vec<u8>, fid: u16) -> Result<()> {
        loop {
            let apdu = Apdu::new(0x00, 0xA4, p1, self.df_select_p2).with_data(data.clone());
            let resp = self.card.transmit(&apdu)?;
            match resp.sw {
                StatusWord::Ok => return Ok(()),
                StatusWord::FileNotFound => return Err(DnieError::FileNotFound { fid }),
                sw if sw.is_secure_messaging_failure()
                    || sw == StatusWord::SecurityStatusNotSatisfied =>
                {
                    return Err(sw_error("SELECT", sw));
                }
                // The card does not take "no response data": use P2 = 00 from now on.
                _ if self.df_select_p2 == 0x0C => self.df_select_p2 = 0x00,
                sw => return Err(sw_error("SELECT", sw)),
            }
        }
    }

    fn select_master_file(&mut self) -> Result<()> {
        self.current_df = None;
        self.select_directory(0x04, MASTER_FILE_NAME.to_vec(), 0x3F00)?;
        self.current_df = Some(Vec::new());
        Ok(())
    }

    fn enter_df(&mut self, dirs: &[u16]) -> Result<()> {
        if self.current_df.as_deref() == Some(dirs) {
            return Ok(());
        }
        let done = match &self.current_df {
            Some(cur) if dirs.starts_with(cur) => cur.len(),
            _ => {
                self.select_master_file()?;
                0
            }
        };
        for (i, fid) in dirs.iter().enumerate().skip(done) {
            self.current_df = None;
            self.select_directory(0x00, fid.to_be_bytes().to_vec(), *fid)?;
            self.current_df = Some(dirs[..=i].to_vec());
        }
        Ok(())
    }

    /// Selects an EF by its path relative to the MF (DFs then the EF, one FID at a time),
    /// skipping the DFs already current.
    fn select_ef(&mut self, path: &[u16]) -> Result<Fci> {
        let (ef, dirs) = path
            .split_last()
            .ok_or(DnieError::MalformedData("empty path"))?;
        self.enter_df(dirs)?;
        let resp = self
            .card
            .transmit(&Apdu::new(0x00, 0xA4, 0x00, 0x00).with_data(ef.to_be_bytes().to_vec()))?;
        match resp.sw {
            StatusWord::Ok if resp.data.is_empty() => Ok(Fci {
                kind: None,
                fid: Some(*ef),
                size: None,
                df_name: None,
            }),
            StatusWord::Ok => Fci::parse(&resp.data),
            StatusWord::FileNotFound => Err(DnieError::FileNotFound { fid: *ef }),
            sw => Err(sw_error("SELECT", sw)),
        }
    }

    /// Reads the selected EF: up to its FCI size, or less once `content_len` can tell
    /// from the bytes read so far where the content ends.
    fn read_selected(
        &mut self,
        size: Option<u16>,
        content_len: fn(&[u8]) -> Option<usize>,
    ) -> Result<Vec<u8>> {
        let mut target = size.map_or(0x7FFF, usize::from);
        let mut out = Vec::new();
        while out.len() < target {
            let offset = out.len();
            if offset > 0x7FFF {
                break;
            }
            let limit = if self.card.has_session() {
                self.config.max_sm_read_chunk.clamp(1, 256)
            } else {
                self.read_chunk
            };
            let want = (target - offset).min(usize::from(limit)) as u16;
            let apdu = Apdu::new(0x00, 0xB0, (offset >> 8) as u8, offset as u8).with_le(want);
            let mut resp = self.card.transmit(&apdu)?;
            match resp.sw {
                StatusWord::Ok if resp.data.is_empty() => break,
                StatusWord::Ok => out.append(&mut resp.data),
                StatusWord::EndOfFile => {
                    out.append(&mut resp.data);
                    break;
                }
                StatusWord::OffsetOutsideFile => break,
                StatusWord::WrongLength if !self.card.has_session() => {
                    match READ_CHUNK_FALLBACKS.iter().find(|c| **c < want) {
                        Some(c) => self.read_chunk = *c,
                        None => return Err(sw_error("READ BINARY", resp.sw)),
                    }
                    continue;
                }
                sw => return Err(sw_error("READ BINARY", sw)),
            }
            if let Some(n) = content_len(&out) {
                target = target.min(n);
            }
        }
        out.truncate(target);
        Ok(out)
    }

    fn read_file(
        &mut self,
        path: &[u16],
        content_len: fn(&[u8]) -> Option<usize>,
    ) -> Result<Vec<u8>> {
        let fci = self.select_ef(path)?;
        self.read_selected(fci.size, content_len)
    }

    // --- plain data -------------------------------------------------------------------

    /// GET CHIP INFO (`90 B8 00 00 07`): the 7-byte chip serial (cached).
    pub fn chip_serial(&mut self) -> Result<[u8; 7]> {
        if let Some(s) = self.chip_serial {
            return Ok(s);
        }
        let data = self
            .card
            .transmit(&Apdu::new(0x90, 0xB8, 0x00, 0x00).with_le(7))?
            .into_ok("GET CHIP INFO")?;
        let serial: [u8; 7] = data
            .try_into()
            .map_err(|_| DnieError::MalformedData("GET CHIP INFO length"))?;
        self.chip_serial = Some(serial);
        Ok(serial)
    }

    /// Support number (IDESP, EF 3F00/0006), ASCII (cached).
    pub fn idesp(&mut self) -> Result<String> {
        if let Some(s) = &self.idesp {
            return Ok(s.clone());
        }
        let raw = self.read_file(&[FID_IDESP], |_| None)?;
        let s: String = String::from_utf8_lossy(&raw)
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        if s.is_empty() || !s.is_ascii() {
            return Err(DnieError::MalformedData("IDESP"));
        }
        self.idesp = Some(s.clone());
        Ok(s)
    }

    /// Software version string (EF 3F00/2F03), `None` on cards without it.
    pub fn software_version(&mut self) -> Result<Option<String>> {
        match self.read_file(&[FID_VERSION], |_| None) {
            Ok(raw) => Ok(Some(
                String::from_utf8_lossy(&raw)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_owned(),
            )),
            Err(DnieError::FileNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_cdf(&mut self) -> Result<Vec<u8>> {
        match self.read_file(&[FID_PKCS15, FID_CDF], cdf_content_len) {
            Err(DnieError::FileNotFound { .. }) => {
                // Not at the usual place: ask the ODF.
                let odf =
                    pkcs15::parse_odf(&self.read_file(&[FID_PKCS15, FID_ODF], tlv_content_len)?)?;
                let entry = odf
                    .iter()
                    .find(|e| e.tag == 0xA4)
                    .ok_or(DnieError::FileNotFound { fid: FID_CDF })?;
                let path = pkcs15::path_to_fids(&entry.path)?;
                self.read_file(&path, cdf_content_len)
            }
            other => other,
        }
    }

    /// Reads the authentication certificate (CDF → certificate EF); also the PrKDF when the
    /// CDF does not label it.
    fn read_auth_certificate(&mut self) -> Result<(CitizenCertificate, Vec<u8>, Option<u8>)> {
        let certs = pkcs15::parse_cdf(&self.read_cdf()?)?;
        let (entry, key_ref) = match pkcs15::find_auth_certificate(&certs, None) {
            Some(c) => (c.clone(), None),
            None => {
                let keys = pkcs15::parse_prkdf(
                    &self.read_file(&[FID_PKCS15, FID_PRKDF], tlv_content_len)?,
                )?;
                let c = pkcs15::find_auth_certificate(&certs, Some(&keys)).ok_or(
                    DnieError::MalformedData("no authentication certificate in the CDF"),
                )?;
                (
                    c.clone(),
                    pkcs15::find_auth_key(&keys).and_then(|k| k.reference()),
                )
            }
        };
        let path = pkcs15::path_to_fids(&entry.path)?;
        let raw = self.read_file(&path, x509::certificate_file_content_len)?;
        let der = x509::decode_certificate_file(&raw)?;
        let cert = CitizenCertificate::parse(&der)?;
        Ok((cert, der, key_ref))
    }

    /// Reads who the card belongs to from the authentication certificate.
    ///
    /// DNIe 3.0/4.0: in plain (GET CHIP INFO, IDESP, CDF, compressed certificate). DNIe
    /// 2.0 keeps its certificates behind the PIN: there this works only inside a channel
    /// where the PIN was verified, else [`DnieError::Unsupported`]; use
    /// [`Dnie::prove_possession`].
    pub fn read_identity(&mut self) -> Result<CitizenIdentity> {
        if let Some(a) = &self.auth {
            return Ok(a.identity.clone());
        }
        if self.atr.version == DnieVersion::V2 && !self.card.has_session() {
            return Err(DnieError::Unsupported(
                "DNIe 2.0 certificates can only be read after the PIN",
            ));
        }
        let serial = self.chip_serial()?;
        let idesp = self.idesp()?;
        let (certificate, der, key_ref) = self.read_auth_certificate()?;
        let identity = CitizenIdentity::from_certificate(
            &certificate,
            idesp,
            hex::encode_upper(serial),
            self.atr.version,
        )?;
        self.auth = Some(AuthMaterial {
            identity: identity.clone(),
            certificate,
            der,
            key_ref,
        });
        Ok(identity)
    }

    // --- secure channel ---------------------------------------------------------------

    /// Reads what every handshake needs, once: chip serial, IDESP (key-set choice) and the
    /// chip's component certificates (verified up to the component root).
    fn prepare_channel(&mut self) -> Result<()> {
        if self.icc_public_key.is_some() && self.key_set.is_some() {
            return Ok(());
        }
        self.card.drop_session();
        self.channel = None;
        self.chip_serial()?;
        let idesp = self.idesp()?;
        let key_set = self.config.key_set.resolve(&idesp);
        tracing::debug!(key_set = %key_set.name, "CWA-14890 terminal key set chosen");
        let ca = ChipCertificate::parse(
            &self.read_file(&[FID_ICC_CA_CERT], x509::certificate_file_content_len)?,
        )
        .map_err(|_| DnieError::ChipCertificateInvalid("EF 6020 is not a certificate"))?;
        let icc = ChipCertificate::parse(
            &self.read_file(&[FID_ICC_CERT], x509::certificate_file_content_len)?,
        )
        .map_err(|_| DnieError::ChipCertificateInvalid("EF 601F is not a certificate"))?;
        if self.config.verify_chip_certificates {
            let root = self
                .config
                .component_root
                .clone()
                .unwrap_or_else(|| key_set.root.clone());
            ca.verify_signed_by(&root.public_key()?).map_err(|_| {
                DnieError::ChipCertificateInvalid("EF 6020 is not signed by the component root")
            })?;
            icc.verify_signed_by(
                &ca.public_key()
                    .map_err(|_| DnieError::ChipCertificateInvalid("EF 6020 key"))?,
            )
            .map_err(|_| DnieError::ChipCertificateInvalid("EF 601F is not signed by EF 6020"))?;
        }
        self.icc_public_key = Some(
            icc.public_key()
                .map_err(|_| DnieError::ChipCertificateInvalid("EF 601F key is not RSA"))?,
        );
        self.key_set = Some(key_set);
        Ok(())
    }

    fn open_channel(&mut self, kind: ChannelKind, rng: &mut dyn RngCore) -> Result<()> {
        self.prepare_channel()?;
        let (Some(key_set), Some(icc_pk), Some(serial)) = (
            self.key_set.clone(),
            self.icc_public_key.clone(),
            self.chip_serial,
        ) else {
            return Err(DnieError::Handshake("channel data missing"));
        };
        let mut sn_icc = [0u8; 8];
        sn_icc[1..].copy_from_slice(&serial);
        let ifd = match kind {
            ChannelKind::User => &key_set.user,
            ChannelKind::Pin => &key_set.pin,
        };
        self.card.drop_session();
        self.channel = None;
        self.current_df = None;
        let params = HandshakeParams {
            key_set: &key_set,
            ifd,
            icc_public_key: &icc_pk,
            sn_icc,
            mac_len: self.mac_len(),
        };
        let session = handshake::run(&mut self.card, &params, rng)?;
        self.card.set_session(session);
        self.channel = Some(kind);
        Ok(())
    }

    /// Opens the CWA-14890 user channel (device authentication both ways, session keys).
    /// Hold a PC/SC transaction while the channel is in use: any plain APDU from another
    /// application ends it.
    pub fn open_secure_channel(&mut self, rng: &mut dyn RngCore) -> Result<()> {
        self.open_channel(ChannelKind::User, rng)
    }

    /// Ends the channel with a plain SELECT MF; the SM error the card may answer is the
    /// expected outcome (OpenSC `cwa_create_secure_channel(CWA_SM_OFF)`).
    pub fn close_secure_channel(&mut self) -> Result<()> {
        let open = self.card.has_session() || self.card.card_may_hold_session();
        self.card.drop_session();
        self.channel = None;
        if !open {
            return Ok(());
        }
        self.current_df = None;
        let resp = self.card.close_session(
            &Apdu::new(0x00, 0xA4, 0x04, self.df_select_p2).with_data(MASTER_FILE_NAME.to_vec()),
        )?;
        if resp.sw.is_ok() {
            self.current_df = Some(Vec::new());
        }
        Ok(())
    }

    /// Verifies the PIN inside the right channel (3.0/4.0: the PIN channel; 2.0: the only
    /// channel). Never retried: a wrong PIN returns [`DnieError::WrongPin`] with the tries
    /// left; `63C0` and `6983` return [`DnieError::PinBlocked`].
    pub fn verify_pin(&mut self, pin: &Pin, rng: &mut dyn RngCore) -> Result<()> {
        let kind = match self.atr.version {
            DnieVersion::V2 => ChannelKind::User,
            DnieVersion::V3 => ChannelKind::Pin,
        };
        if self.channel() != Some(kind) {
            self.open_channel(kind, rng)?;
        }
        let apdu =
            Zeroizing::new(Apdu::new(0x00, 0x20, 0x00, 0x00).with_data(pin.bytes().to_vec()));
        let resp = self.card.transmit(&apdu)?;
        match resp.sw {
            StatusWord::Ok => Ok(()),
            StatusWord::WrongPin { tries_left: 0 } | StatusWord::PinBlocked => {
                Err(DnieError::PinBlocked)
            }
            StatusWord::WrongPin { tries_left } => Err(DnieError::WrongPin { tries_left }),
            sw => Err(sw_error("VERIFY", sw)),
        }
    }

    /// Proves that the citizen holds this card and knows its PIN: VERIFY, then the card
    /// signs the SHA-256 DigestInfo of a fresh random challenge with the authentication key
    /// (`MSE SET DST` + `PSO COMPUTE DIGITAL SIGNATURE`), verified here against the
    /// authentication certificate. 3.0/4.0: PIN channel → VERIFY → user channel → sign;
    /// 2.0: one channel. The channel is closed afterwards. The PIN is never retried.
    pub fn prove_possession(
        &mut self,
        pin: &Pin,
        rng: &mut dyn RngCore,
    ) -> Result<ProofOfPossession> {
        let result = self.prove_possession_inner(pin, rng);
        // Best effort: a dead card gives the original error anyway.
        let _ = self.close_secure_channel();
        result
    }

    fn prove_possession_inner(
        &mut self,
        pin: &Pin,
        rng: &mut dyn RngCore,
    ) -> Result<ProofOfPossession> {
        match self.atr.version {
            DnieVersion::V3 => {
                if self.auth.is_none() {
                    self.read_identity()?;
                }
                self.verify_pin(pin, rng)?;
                self.open_channel(ChannelKind::User, rng)?;
            }
            DnieVersion::V2 => {
                self.verify_pin(pin, rng)?;
                if self.auth.is_none() {
                    self.read_identity()?;
                }
            }
        }
        let auth = self
            .auth
            .as_ref()
            .ok_or(DnieError::Handshake("identity missing"))?;
        let key_ref = auth.key_ref.unwrap_or(DEFAULT_AUTH_KEY_REF);
        let public_key = auth.certificate.public_key.clone();

        let mut challenge = vec![0u8; 32];
        rng.fill_bytes(&mut challenge);
        let digest = Sha256::digest(&challenge);
        let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
        digest_info.extend_from_slice(&digest);

        // DNIE.md §4: MSE SET DST `84 02 01 <keyref>`, then PSO CDS.
        self.card
            .transmit(
                &Apdu::new(0x00, 0x22, 0x41, 0xB6).with_data(vec![0x84, 0x02, 0x01, key_ref]),
            )?
            .into_ok("MSE SET DST")?;
        let signature = self
            .card
            .transmit(
                &Apdu::new(0x00, 0x2A, 0x9E, 0x9A)
                    .with_data(digest_info)
                    .with_le(256),
            )?
            .into_ok("PSO COMPUTE DIGITAL SIGNATURE")?;
        public_key
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
            .map_err(|_| DnieError::SignatureInvalid)?;
        let auth = self
            .auth
            .as_ref()
            .ok_or(DnieError::Handshake("identity missing"))?;
        Ok(ProofOfPossession {
            identity: auth.identity.clone(),
            challenge,
            signature,
            certificate: auth.der.clone(),
        })
    }

    /// Reads ICAO DG1 and DG13 through the CWA user channel without PIN (DNIe 3.0/4.0,
    /// DNIE.md §6), then closes the channel. A data group the card refuses (`6982`) or
    /// lacks is `None`.
    pub fn read_icao(&mut self, rng: &mut dyn RngCore) -> Result<IcaoData> {
        if self.atr.version == DnieVersion::V2 {
            return Err(DnieError::Unsupported("DNIe 2.0 has no ICAO data groups"));
        }
        let result = self.read_icao_inner(rng);
        let _ = self.close_secure_channel();
        result
    }

    fn read_icao_inner(&mut self, rng: &mut dyn RngCore) -> Result<IcaoData> {
        let mut read = |this: &mut Self, fid: u16| {
            // A refusal that came back unwrapped ends the channel (see `Card::transmit`):
            // the next data group needs a new one, never a plain read.
            if this.channel() != Some(ChannelKind::User) {
                this.open_channel(ChannelKind::User, rng)?;
            }
            match this.read_file(&[icao::FID_ICAO_DF, fid], tlv_content_len) {
                Ok(d) => Ok(Some(d)),
                Err(DnieError::FileNotFound { .. } | DnieError::SecurityStatusNotSatisfied) => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        let dg1 = read(self, icao::FID_DG1)?
            .map(|d| Dg1::parse(&d))
            .transpose()?;
        let dg13 = read(self, icao::FID_DG13)?
            .map(|d| Dg13::parse(&d))
            .transpose()?;
        Ok(IcaoData { dg1, dg13 })
    }

    /// Sends an arbitrary APDU through the card layer (wrapped if a channel is open).
    /// For diagnostics and tests; the DNIe operations above are the normal way in.
    pub fn transmit(&mut self, apdu: &Apdu) -> Result<crate::apdu::Response> {
        self.current_df = None;
        self.card.transmit(apdu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_read_stops_after_the_authentication_entry() {
        use crate::pkcs15::tests::cdf_entry;
        let auth = cdf_entry(
            "CertAutenticacion",
            b"A1",
            &[0x3F, 0x00, 0x60, 0x61, 0x70, 0x01],
        );
        let sign = cdf_entry(
            "CertFirmaDigital",
            b"F1",
            &[0x3F, 0x00, 0x60, 0x61, 0x70, 0x02],
        );
        let mut cdf = auth.clone();
        cdf.extend(&sign);
        cdf.extend([0u8; 16]);
        assert_eq!(cdf_content_len(&cdf[..auth.len() - 1]), None);
        assert_eq!(cdf_content_len(&cdf[..auth.len()]), Some(auth.len()));
        assert_eq!(cdf_content_len(&cdf), Some(auth.len()));
        // Signature certificate first: read on to the padding.
        let mut other = sign.clone();
        other.extend([0u8; 4]);
        assert_eq!(cdf_content_len(&other), Some(sign.len()));
        assert_eq!(cdf_content_len(&other[..sign.len()]), None);
    }

    #[test]
    fn content_len_of_padded_tlv_files() {
        assert_eq!(
            tlv_content_len(&[0x30, 0x01, 0x05, 0x30, 0x00, 0x00, 0x00]),
            Some(5)
        );
        assert_eq!(tlv_content_len(&[0x30, 0x03, 0x05]), None);
        assert_eq!(tlv_content_len(&[0x30, 0x01, 0x05]), None);
        assert_eq!(tlv_content_len(&[0x00]), Some(0));
    }
}
