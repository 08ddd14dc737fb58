//! The TEST PKI of the virtual DNIe. **TEST MATERIAL ONLY — never production.**
//!
//! Generated once by `card-sim gen-pki <dir>` ([`generate`]) and committed under
//! `crates/card-sim/pki/` (RSA key generation is slow in debug builds, so tests load, never
//! generate). [`TestPki::builtin`] loads the committed files compiled into the crate;
//! [`TestPki::load_dir`] loads a directory with the same layout.
//!
//! | file | what |
//! |---|---|
//! | `component/root.{key.pem,crt.der}` | test component root, RSA-1024, self-signed (sha1WithRSA). Its public key is *pk-RCA*: the reader verifies EF 6020 with it and the card verifies the terminal CVC chain with it (key reference `02 0F`) |
//! | `component/intermediate.{key.pem,crt.der}` | intermediate CA, RSA-1024, issued by the root → EF `3F00/6020` |
//! | `component/icc.{key.pem,crt.der}` | chip component key (`02 1F`), RSA-1024, issued by the intermediate → EF `3F00/601F` |
//! | `terminal/ca.key.pem`, `terminal/c_cv_ca.cvc` | terminal CA key and its CVC (CPI 03) signed by the root |
//! | `terminal/ifd_user.key.pem`, `terminal/c_cv_ifd_user.cvc` | IFD identity of the user channel (and of the DNIe 2.0 channel), CVC signed by the terminal CA |
//! | `terminal/ifd_pin.key.pem`, `terminal/c_cv_ifd_pin.cvc` | IFD identity of the DNIe 3.0 PIN channel |
//! | `terminal/terminal.json` | the same names and keys as hex, for other tools |
//! | `citizen/ca.{key.pem,crt.der}` | test citizen CA, RSA-2048, self-signed (sha256WithRSA) |
//! | `citizen/<id>.{auth,sign}.{key.pem,crt.der}` | citizen key pairs (RSA-2048) and certificates |

use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use der::Tag;
use rand::RngCore;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};

use crate::crypto::RawPublicKey;
use crate::cvc::{self, CvcBody};
use crate::error::Error;
use crate::x509::{self as x, CertSubject, CitizenCertKind, ComponentProfile};

/// Name (CAR) of the test component root key as it appears in C_CV_CA: "esRDIT" 00 01.
pub const ROOT_CHR: [u8; 8] = [0x65, 0x73, 0x52, 0x44, 0x49, 0x54, 0x00, 0x01];
/// Name (CHR) of the test terminal CA key: "esSDIT" 00 01.
pub const CA_CHR: [u8; 8] = [0x65, 0x73, 0x53, 0x44, 0x49, 0x54, 0x00, 0x01];
/// SN.IFD of the test user-channel terminal identity ("TEST" in the middle).
pub const SN_IFD_USER: [u8; 8] = [0x20, 0x54, 0x45, 0x53, 0x54, 0x00, 0x00, 0x01];
/// SN.IFD of the test PIN-channel terminal identity.
pub const SN_IFD_PIN: [u8; 8] = [0x40, 0x54, 0x45, 0x53, 0x54, 0x00, 0x00, 0x01];

/// A citizen of the test PKI: the person the committed certificates name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CitizenSpec {
    /// File stem and handle (`citizen/<id>.auth.crt.der`).
    pub id: &'static str,
    /// Given name.
    pub given_name: &'static str,
    /// First surname.
    pub first_surname: &'static str,
    /// Second surname.
    pub second_surname: &'static str,
    /// DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter).
    pub number: &'static str,
    /// Whether the certificate serialNumber carries the ETSI `IDCES-` prefix.
    pub idces_prefix: bool,
    /// Date of birth (YYYY, MM, DD).
    pub birth: (i32, u32, u32),
}

/// The fictitious citizens of the test PKI (numbers carry valid mod-23 letters).
pub const CITIZENS: &[CitizenSpec] = &[
    CitizenSpec {
        id: "especimen",
        given_name: "FICTICIO",
        first_surname: "ESPECIMEN",
        second_surname: "SPECIMEN",
        number: "99999018D",
        idces_prefix: false,
        birth: (1980, 3, 15),
    },
    CitizenSpec {
        id: "ficticia",
        given_name: "MUESTRA",
        first_surname: "FICTICIA",
        second_surname: "EJEMPLO",
        number: "99999025Q",
        idces_prefix: true,
        birth: (1975, 11, 2),
    },
    CitizenSpec {
        id: "extranjera",
        given_name: "NIE FICTICIO",
        first_surname: "PRUEBA",
        second_surname: "EXTRANJERA",
        number: "X9999990G",
        idces_prefix: true,
        birth: (1990, 7, 21),
    },
    CitizenSpec {
        id: "antiguo",
        given_name: "FICTICIO DOS",
        first_surname: "ESPECIMEN",
        second_surname: "ANTIGUO",
        number: "99999036G",
        idces_prefix: false,
        birth: (1958, 1, 31),
    },
];

impl CitizenSpec {
    /// The certificate subject of this citizen.
    pub fn subject(&self) -> CertSubject {
        CertSubject {
            given_name: self.given_name.into(),
            first_surname: self.first_surname.into(),
            second_surname: self.second_surname.into(),
            serial_number: if self.idces_prefix {
                format!("IDCES-{}", self.number)
            } else {
                self.number.into()
            },
            birth_date: NaiveDate::from_ymd_opt(self.birth.0, self.birth.1, self.birth.2)
                .unwrap_or_default(),
        }
    }
}

/// Component (chip) keys and certificates.
#[derive(Clone, Debug)]
pub struct ComponentPki {
    /// Root private key (only needed to re-issue; the card needs its public half).
    pub root_key: RsaPrivateKey,
    /// Root certificate (DER).
    pub root_cert: Vec<u8>,
    /// Intermediate CA private key.
    pub intermediate_key: RsaPrivateKey,
    /// Intermediate certificate (DER) = content of EF 6020.
    pub intermediate_cert: Vec<u8>,
    /// Chip private key (`02 1F`).
    pub icc_key: RsaPrivateKey,
    /// Chip certificate (DER) = content of EF 601F.
    pub icc_cert: Vec<u8>,
}

/// One terminal (IFD) identity with its private key.
#[derive(Clone, Debug)]
pub struct IfdPki {
    /// IFD private key.
    pub key: RsaPrivateKey,
    /// C_CV_IFD.
    pub cvc: Vec<u8>,
    /// SN.IFD.
    pub sn_ifd: [u8; 8],
}

/// Terminal-side test material.
#[derive(Clone, Debug)]
pub struct TerminalPki {
    /// Terminal CA private key.
    pub ca_key: RsaPrivateKey,
    /// C_CV_CA.
    pub c_cv_ca: Vec<u8>,
    /// User-channel identity (also the DNIe 2.0 channel).
    pub user: IfdPki,
    /// PIN-channel identity (DNIe 3.0).
    pub pin: IfdPki,
}

/// Key pairs and certificates of one citizen.
#[derive(Clone, Debug)]
pub struct CitizenPki {
    /// Who.
    pub spec: CitizenSpec,
    /// Authentication key (`3F11/0101`, ref 01).
    pub auth_key: RsaPrivateKey,
    /// Authentication certificate (DER).
    pub auth_cert: Vec<u8>,
    /// Signature key (`3F11/0102`, ref 02).
    pub sign_key: RsaPrivateKey,
    /// Signature certificate (DER).
    pub sign_cert: Vec<u8>,
}

/// The whole TEST PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    /// Chip chain.
    pub component: ComponentPki,
    /// Terminal CVCs and keys.
    pub terminal: TerminalPki,
    /// Citizen CA private key (to re-issue citizen certificates for custom identities).
    pub citizen_ca_key: RsaPrivateKey,
    /// Citizen CA certificate (DER); also stored compressed in EF `6061/7003`.
    pub citizen_ca_cert: Vec<u8>,
    /// The citizens, in [`CITIZENS`] order.
    pub citizens: Vec<CitizenPki>,
}

/// One terminal identity as the reader side needs it injected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfdKeyBytes {
    /// C_CV_IFD certificate bytes (sent with `00 2A 00 AE`).
    pub c_cv_ifd: Vec<u8>,
    /// Full 12-byte CHR of C_CV_IFD (`00000000 ‖ SN.IFD`), used in MSE SET AT (`83 0C`).
    pub chr: [u8; 12],
    /// SN.IFD (8 bytes), hashed in EXTERNAL AUTHENTICATE.
    pub sn_ifd: [u8; 8],
    /// IFD modulus (128 bytes, big-endian).
    pub modulus: Vec<u8>,
    /// IFD public exponent (big-endian).
    pub public_exponent: Vec<u8>,
    /// IFD private exponent (big-endian, left-padded to 128 bytes).
    pub private_exponent: Vec<u8>,
}

/// Everything a reader (host) needs to talk CWA-14890 to a card of this test PKI: the raw bytes
/// that replace the production constants. TEST material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalKeySetBytes {
    /// Component root modulus (pk-RCA, 128 bytes): verifies EF 6020 on the host and the CVC
    /// chain on the card (key reference `02 0F`).
    pub root_modulus: Vec<u8>,
    /// Component root public exponent.
    pub root_exponent: Vec<u8>,
    /// Name of the root key (CAR of C_CV_CA).
    pub root_chr: [u8; 8],
    /// C_CV_CA certificate bytes.
    pub c_cv_ca: Vec<u8>,
    /// 8-byte CHR of C_CV_CA (MSE SET `83 08 <chr>` before verifying C_CV_IFD).
    pub c_cv_ca_chr: [u8; 8],
    /// User-channel identity (DNIe 2.0 channel; DNIe 3.0 user channel).
    pub user: IfdKeyBytes,
    /// PIN-channel identity (DNIe 3.0).
    pub pin: IfdKeyBytes,
}

fn be(n: &rsa::BigUint) -> Vec<u8> {
    n.to_bytes_be()
}

fn ifd_bytes(ifd: &IfdPki) -> IfdKeyBytes {
    let mut chr = [0u8; 12];
    chr[4..].copy_from_slice(&ifd.sn_ifd);
    let k = ifd.key.size();
    IfdKeyBytes {
        c_cv_ifd: ifd.cvc.clone(),
        chr,
        sn_ifd: ifd.sn_ifd,
        modulus: crate::crypto::left_pad(&be(ifd.key.n()), k).unwrap_or_default(),
        public_exponent: be(ifd.key.e()),
        private_exponent: crate::crypto::left_pad(&be(ifd.key.d()), k).unwrap_or_default(),
    }
}

impl TestPki {
    /// The committed TEST PKI compiled into the crate (parsed once, then shared).
    pub fn builtin() -> Result<&'static TestPki, Error> {
        static PKI: OnceLock<Result<TestPki, String>> = OnceLock::new();
        PKI.get_or_init(|| {
            Self::from_source(&|p: &str| {
                builtin_file(p)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| Error::Pki(format!("{p} is not built in")))
            })
            .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Pki(e.clone()))
    }

    /// Loads a PKI directory with the layout written by [`generate`].
    pub fn load_dir(dir: &Path) -> Result<TestPki, Error> {
        Self::from_source(&|p: &str| {
            std::fs::read(dir.join(p)).map_err(|e| Error::Pki(format!("{p}: {e}")))
        })
    }

    fn from_source(get: &dyn Fn(&str) -> Result<Vec<u8>, Error>) -> Result<TestPki, Error> {
        let key = |p: &str| -> Result<RsaPrivateKey, Error> {
            let text =
                String::from_utf8(get(p)?).map_err(|_| Error::Pki(format!("{p}: not UTF-8")))?;
            // Our files start with a `#` TEST banner line, which PEM parsers do not accept.
            let pem: String = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect();
            RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| Error::Pki(format!("{p}: {e}")))
        };
        let component = ComponentPki {
            root_key: key("component/root.key.pem")?,
            root_cert: get("component/root.crt.der")?,
            intermediate_key: key("component/intermediate.key.pem")?,
            intermediate_cert: get("component/intermediate.crt.der")?,
            icc_key: key("component/icc.key.pem")?,
            icc_cert: get("component/icc.crt.der")?,
        };
        let terminal = TerminalPki {
            ca_key: key("terminal/ca.key.pem")?,
            c_cv_ca: get("terminal/c_cv_ca.cvc")?,
            user: IfdPki {
                key: key("terminal/ifd_user.key.pem")?,
                cvc: get("terminal/c_cv_ifd_user.cvc")?,
                sn_ifd: SN_IFD_USER,
            },
            pin: IfdPki {
                key: key("terminal/ifd_pin.key.pem")?,
                cvc: get("terminal/c_cv_ifd_pin.cvc")?,
                sn_ifd: SN_IFD_PIN,
            },
        };
        let mut citizens = Vec::new();
        for spec in CITIZENS {
            let id = spec.id;
            citizens.push(CitizenPki {
                spec: *spec,
                auth_key: key(&format!("citizen/{id}.auth.key.pem"))?,
                auth_cert: get(&format!("citizen/{id}.auth.crt.der"))?,
                sign_key: key(&format!("citizen/{id}.sign.key.pem"))?,
                sign_cert: get(&format!("citizen/{id}.sign.crt.der"))?,
            });
        }
        Ok(TestPki {
            component,
            terminal,
            citizen_ca_key: key("citizen/ca.key.pem")?,
            citizen_ca_cert: get("citizen/ca.crt.der")?,
            citizens,
        })
    }

    /// The component root public key (pk-RCA of this test PKI).
    pub fn root_public(&self) -> RawPublicKey {
        RawPublicKey::of(&self.component.root_key)
    }

    /// The raw bytes a reader needs injected to open CWA-14890 channels with cards of this PKI.
    pub fn terminal_key_set(&self) -> TerminalKeySetBytes {
        let root = &self.component.root_key;
        TerminalKeySetBytes {
            root_modulus: be(root.n()),
            root_exponent: be(root.e()),
            root_chr: ROOT_CHR,
            c_cv_ca: self.terminal.c_cv_ca.clone(),
            c_cv_ca_chr: CA_CHR,
            user: ifd_bytes(&self.terminal.user),
            pin: ifd_bytes(&self.terminal.pin),
        }
    }

    /// A citizen by id.
    pub fn citizen(&self, id: &str) -> Option<&CitizenPki> {
        self.citizens.iter().find(|c| c.spec.id == id)
    }

    /// Checks the whole PKI: X.509 chains, CVC chain (recovered with the root), key/cert pairs.
    pub fn verify(&self) -> Result<(), Error> {
        let c = &self.component;
        x::verify_signed_by(&c.root_cert, &c.root_key.to_public_key())?;
        x::verify_signed_by(&c.intermediate_cert, &c.root_key.to_public_key())?;
        x::verify_signed_by(&c.icc_cert, &c.intermediate_key.to_public_key())?;
        if x::cert_public_key(&c.icc_cert)? != c.icc_key.to_public_key() {
            return Err(Error::Pki("EF 601F does not certify the ICC key".into()));
        }
        if x::cert_public_key(&c.intermediate_cert)? != c.intermediate_key.to_public_key() {
            return Err(Error::Pki(
                "EF 6020 does not certify the intermediate key".into(),
            ));
        }
        let root = self.root_public();
        let ca = cvc::verify(&self.terminal.c_cv_ca, &root, &ROOT_CHR)
            .map_err(|e| Error::Pki(format!("C_CV_CA: {e}")))?;
        if ca.chr_name() != CA_CHR || ca.public_key() != RawPublicKey::of(&self.terminal.ca_key) {
            return Err(Error::Pki(
                "C_CV_CA does not certify the terminal CA key".into(),
            ));
        }
        for (ifd, cha) in [
            (&self.terminal.user, cvc::CHA_IFD_USER),
            (&self.terminal.pin, cvc::CHA_IFD_PIN),
        ] {
            let body = cvc::verify(&ifd.cvc, &ca.public_key(), &CA_CHR)
                .map_err(|e| Error::Pki(format!("C_CV_IFD: {e}")))?;
            if body.chr_name() != ifd.sn_ifd
                || body.cha != cha
                || body.public_key() != RawPublicKey::of(&ifd.key)
            {
                return Err(Error::Pki("C_CV_IFD does not match its key".into()));
            }
        }
        let ca_pub = self.citizen_ca_key.to_public_key();
        x::verify_signed_by(&self.citizen_ca_cert, &ca_pub)?;
        for cit in &self.citizens {
            for (cert, key) in [
                (&cit.auth_cert, &cit.auth_key),
                (&cit.sign_cert, &cit.sign_key),
            ] {
                x::verify_signed_by(cert, &ca_pub)?;
                if x::cert_public_key(cert)? != key.to_public_key() {
                    return Err(Error::Pki(format!(
                        "{}: certificate/key mismatch",
                        cit.spec.id
                    )));
                }
            }
        }
        Ok(())
    }
}

macro_rules! builtin_files {
    ($($p:literal),* $(,)?) => {
        fn builtin_file(path: &str) -> Option<&'static [u8]> {
            match path {
                $($p => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/pki/", $p))),)*
                _ => None,
            }
        }
    };
}

builtin_files!(
    "component/root.key.pem",
    "component/root.crt.der",
    "component/intermediate.key.pem",
    "component/intermediate.crt.der",
    "component/icc.key.pem",
    "component/icc.crt.der",
    "terminal/ca.key.pem",
    "terminal/c_cv_ca.cvc",
    "terminal/ifd_user.key.pem",
    "terminal/c_cv_ifd_user.cvc",
    "terminal/ifd_pin.key.pem",
    "terminal/c_cv_ifd_pin.cvc",
    "citizen/ca.key.pem",
    "citizen/ca.crt.der",
    "citizen/especimen.auth.key.pem",
    "citizen/especimen.auth.crt.der",
    "citizen/especimen.sign.key.pem",
    "citizen/especimen.sign.crt.der",
    "citizen/ficticia.auth.key.pem",
    "citizen/ficticia.auth.crt.der",
    "citizen/ficticia.sign.key.pem",
    "citizen/ficticia.sign.crt.der",
    "citizen/extranjera.auth.key.pem",
    "citizen/extranjera.auth.crt.der",
    "citizen/extranjera.sign.key.pem",
    "citizen/extranjera.sign.crt.der",
    "citizen/antiguo.auth.key.pem",
    "citizen/antiguo.auth.crt.der",
    "citizen/antiguo.sign.key.pem",
    "citizen/antiguo.sign.crt.der",
);

const TEST_OU: &str = "PRUEBAS - SOLO TEST - NO PRODUCCION";

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, Error> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| Error::Pki("bad date".into()))
}

fn pem(key: &RsaPrivateKey) -> Result<Vec<u8>, Error> {
    let doc = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::Pki(e.to_string()))?;
    let banner = "# TEST KEY of Ventanilla card-sim. NOT A PRODUCTION KEY. Never trust it.\n";
    Ok(format!("{banner}{}", doc.as_str()).into_bytes())
}

fn ifd_cvc(
    ca_key: &RsaPrivateKey,
    key: &RsaPrivateKey,
    sn_ifd: [u8; 8],
    cha: [u8; 7],
) -> Result<Vec<u8>, Error> {
    let mut chr = [0u8; 12];
    chr[4..].copy_from_slice(&sn_ifd);
    let body = CvcBody {
        cpi: cvc::CPI_IFD,
        car: CA_CHR,
        chr,
        cha,
        oid: cvc::OID_IFD.to_vec(),
        modulus: crate::crypto::left_pad(&be(key.n()), 128).unwrap_or_default(),
        exponent: crate::crypto::left_pad(&be(key.e()), 4).unwrap_or_default(),
    };
    cvc::build(&body, ca_key).ok_or_else(|| Error::Pki("CVC signing failed".into()))
}

/// Generates a complete new TEST PKI with `rng`; returns `(relative path, bytes)` pairs.
/// Slow (≈ 9 RSA-2048 and 6 RSA-1024 key generations): run it in a release build.
pub fn generate(
    rng: &mut (impl RngCore + rand::CryptoRng),
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let serial = |rng: &mut dyn RngCore| {
        let mut s = [0u8; 16];
        rng.fill_bytes(&mut s);
        s
    };
    let dn = |ou: &str, cn: &str| {
        x::name(&[
            (x::OID_C, Tag::PrintableString, "ES"),
            (x::OID_O, Tag::Utf8String, "DIRECCION GENERAL DE LA POLICIA"),
            (x::OID_OU, Tag::Utf8String, ou),
            (x::OID_OU, Tag::Utf8String, TEST_OU),
            (x::OID_CN, Tag::Utf8String, cn),
        ])
    };
    let component_validity = (date(2020, 1, 1)?, date(2049, 12, 31)?);

    // Component chain (RSA-1024, sha1WithRSA).
    let root_key = RsaPrivateKey::new(rng, 1024)?;
    let root_name = dn("DNIE", "AC RAIZ COMPONENTES TEST")?;
    let s = serial(rng);
    let root_cert = x::issue_component(
        ComponentProfile::Root,
        s,
        component_validity,
        root_name.clone(),
        &root_key.to_public_key(),
        &root_key,
    )?;
    let int_key = RsaPrivateKey::new(rng, 1024)?;
    let int_name = dn("DNIE", "AC COMPONENTES TEST 001")?;
    let s = serial(rng);
    let int_cert = x::issue_component(
        ComponentProfile::SubCa(root_name),
        s,
        component_validity,
        int_name.clone(),
        &int_key.to_public_key(),
        &root_key,
    )?;
    let icc_key = RsaPrivateKey::new(rng, 1024)?;
    let icc_name = dn("DNIE", "CHIP DNIE TEST 0001")?;
    let s = serial(rng);
    let icc_cert = x::issue_component(
        ComponentProfile::Leaf(int_name),
        s,
        component_validity,
        icc_name,
        &icc_key.to_public_key(),
        &int_key,
    )?;
    files.push(("component/root.key.pem".into(), pem(&root_key)?));
    files.push(("component/root.crt.der".into(), root_cert));
    files.push(("component/intermediate.key.pem".into(), pem(&int_key)?));
    files.push(("component/intermediate.crt.der".into(), int_cert));
    files.push(("component/icc.key.pem".into(), pem(&icc_key)?));
    files.push(("component/icc.crt.der".into(), icc_cert));

    // Terminal CVCs (RSA-1024): C_CV_CA signed by the root, C_CV_IFD by the terminal CA.
    let ca_key = RsaPrivateKey::new(rng, 1024)?;
    let mut ca_chr = [0u8; 12];
    ca_chr[4..].copy_from_slice(&CA_CHR);
    let ca_body = CvcBody {
        cpi: cvc::CPI_CA,
        car: ROOT_CHR,
        chr: ca_chr,
        cha: cvc::CHA_CA,
        oid: cvc::OID_CA.to_vec(),
        modulus: crate::crypto::left_pad(&be(ca_key.n()), 128).unwrap_or_default(),
        exponent: crate::crypto::left_pad(&be(ca_key.e()), 4).unwrap_or_default(),
    };
    let c_cv_ca = cvc::build(&ca_body, &root_key).ok_or_else(|| Error::Pki("CVC".into()))?;
    let user_key = RsaPrivateKey::new(rng, 1024)?;
    let pin_key = RsaPrivateKey::new(rng, 1024)?;
    let c_cv_user = ifd_cvc(&ca_key, &user_key, SN_IFD_USER, cvc::CHA_IFD_USER)?;
    let c_cv_pin = ifd_cvc(&ca_key, &pin_key, SN_IFD_PIN, cvc::CHA_IFD_PIN)?;
    files.push(("terminal/ca.key.pem".into(), pem(&ca_key)?));
    files.push(("terminal/c_cv_ca.cvc".into(), c_cv_ca.clone()));
    files.push(("terminal/ifd_user.key.pem".into(), pem(&user_key)?));
    files.push(("terminal/c_cv_ifd_user.cvc".into(), c_cv_user.clone()));
    files.push(("terminal/ifd_pin.key.pem".into(), pem(&pin_key)?));
    files.push(("terminal/c_cv_ifd_pin.cvc".into(), c_cv_pin.clone()));

    // Citizen CA and citizens (RSA-2048, sha256WithRSA).
    let cit_ca_key = RsaPrivateKey::new(rng, 2048)?;
    let s = serial(rng);
    let cit_ca_cert = x::issue_citizen_ca(
        s,
        (date(2020, 1, 1)?, date(2045, 12, 31)?),
        dn("DNIE", "AC DNIE TEST 001")?,
        &cit_ca_key,
    )?;
    files.push(("citizen/ca.key.pem".into(), pem(&cit_ca_key)?));
    files.push(("citizen/ca.crt.der".into(), cit_ca_cert.clone()));
    for spec in CITIZENS {
        let subject = spec.subject();
        for (kind, suffix) in [
            (CitizenCertKind::Auth, "auth"),
            (CitizenCertKind::Sign, "sign"),
        ] {
            let key = RsaPrivateKey::new(rng, 2048)?;
            let s = serial(rng);
            let cert = x::issue_citizen(
                kind,
                &subject,
                &key.to_public_key(),
                s,
                (date(2024, 1, 15)?, date(2034, 1, 15)?),
                &cit_ca_cert,
                &cit_ca_key,
            )?;
            files.push((format!("citizen/{}.{suffix}.key.pem", spec.id), pem(&key)?));
            files.push((format!("citizen/{}.{suffix}.crt.der", spec.id), cert));
        }
    }

    // Hex summary for other tools.
    let pki = TestPki::from_source(&|p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| Error::Pki(format!("{p} missing")))
    })?;
    pki.verify()?;
    let ks = pki.terminal_key_set();
    let ifd_json = |i: &IfdKeyBytes| {
        serde_json::json!({
            "c_cv_ifd": hex::encode_upper(&i.c_cv_ifd),
            "chr": hex::encode_upper(i.chr),
            "sn_ifd": hex::encode_upper(i.sn_ifd),
            "modulus": hex::encode_upper(&i.modulus),
            "public_exponent": hex::encode_upper(&i.public_exponent),
            "private_exponent": hex::encode_upper(&i.private_exponent),
        })
    };
    let json = serde_json::json!({
        "_comment": "TEST terminal key set of Ventanilla card-sim. NOT production material: \
                     cards of the real world do not trust it.",
        "root_modulus": hex::encode_upper(&ks.root_modulus),
        "root_exponent": hex::encode_upper(&ks.root_exponent),
        "root_chr": hex::encode_upper(ks.root_chr),
        "c_cv_ca": hex::encode_upper(&ks.c_cv_ca),
        "c_cv_ca_chr": hex::encode_upper(ks.c_cv_ca_chr),
        "user": ifd_json(&ks.user),
        "pin": ifd_json(&ks.pin),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::Pki(e.to_string()))?;
    files.push(("terminal/terminal.json".into(), text.into_bytes()));
    files.push(("README.md".into(), PKI_README.as_bytes().to_vec()));
    Ok(files)
}

/// README written next to the generated files.
pub const PKI_README: &str = "# TEST PKI of Ventanilla card-sim — TEST MATERIAL, NEVER PRODUCTION

Everything in this directory was generated by `cargo run -p card-sim --release --bin card-sim -- gen-pki <dir>`.
The private keys are published on purpose: no real card, reader or authority trusts them. Every
certificate name carries `PRUEBAS - SOLO TEST - NO PRODUCCION` / `TEST`.

| file | what |
|---|---|
| `component/root.{key.pem,crt.der}` | test component root (RSA-1024, self-signed, sha1WithRSA). Its public key is the test *pk-RCA*: the reader verifies EF 6020 with it; the card verifies the terminal CVC chain with it (key reference `02 0F`). CVC name (CAR) `6573524449540001`. |
| `component/intermediate.{key.pem,crt.der}` | component intermediate CA (RSA-1024) issued by the root: content of EF `3F00/6020` |
| `component/icc.{key.pem,crt.der}` | chip component key `02 1F` (RSA-1024) issued by the intermediate: content of EF `3F00/601F` |
| `terminal/ca.key.pem`, `terminal/c_cv_ca.cvc` | terminal CA key and C_CV_CA (CPI 03, CHR `6573534449540001`) signed by the root |
| `terminal/ifd_user.key.pem`, `terminal/c_cv_ifd_user.cvc` | user-channel IFD identity (CHA `…4502`), SN.IFD `2054455354000001`; also the DNIe 2.0 channel |
| `terminal/ifd_pin.key.pem`, `terminal/c_cv_ifd_pin.cvc` | PIN-channel IFD identity (CHA `…4508`), SN.IFD `4054455354000001` (DNIe 3.0) |
| `terminal/terminal.json` | the terminal key set as hex (what `TestPki::terminal_key_set()` returns) |
| `citizen/ca.{key.pem,crt.der}` | test citizen CA `AC DNIE TEST 001` (RSA-2048, sha256WithRSA); stored compressed in EF `6061/7003` |
| `citizen/<id>.{auth,sign}.{key.pem,crt.der}` | citizen key pairs (RSA-2048) and their authentication / signature certificates for the fictitious people of `card_sim::pki::CITIZENS` |

Keys are PKCS#8 PEM (with a leading `#` TEST banner line), certificates DER, CVCs raw bytes.
";
