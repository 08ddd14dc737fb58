//! Secure-channel configuration: the component root that the chip's certificates chain
//! to, and the terminal key sets (CV certificates and IFD keys) presented to the card.
//!
//! Production values are built in (see [`super::production`]); tests and the card
//! simulator inject their own.

use std::fmt;

use rsa::{BigUint, RsaPublicKey};
use zeroize::Zeroizing;

use super::production as p;
use crate::error::{DnieError, Result};

/// The root public key of the chip component PKI ("AC RAIZ COMPONENTES"). Verifies the
/// X.509 EF 3F00/6020; real cards use the same key under reference `02 0F` to verify the
/// terminal CV chain.
#[derive(Clone, PartialEq, Eq)]
pub struct ComponentRoot {
    /// RSA modulus, big-endian.
    pub modulus: Vec<u8>,
    /// RSA public exponent, big-endian.
    pub exponent: Vec<u8>,
    /// Key name (CHR), the CAR of the terminal CA certificate.
    pub chr: [u8; 8],
}

impl fmt::Debug for ComponentRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComponentRoot(chr {})", hex::encode_upper(self.chr))
    }
}

impl ComponentRoot {
    /// Production root for cards before IDESP `BMP100001`.
    pub fn production_legacy() -> Self {
        ComponentRoot {
            modulus: p::LEGACY_ROOT_MODULUS.to_vec(),
            exponent: vec![1, 0, 1],
            chr: p::LEGACY_ROOT_CHR,
        }
    }

    /// Production "R2" root ("AC RAIZ COMPONENTES 2"), cards from `BMP100001` on.
    pub fn production_r2() -> Self {
        ComponentRoot {
            modulus: p::R2_ROOT_MODULUS.to_vec(),
            exponent: vec![1, 0, 1],
            chr: p::R2_ROOT_CHR,
        }
    }

    /// As an RSA public key.
    pub fn public_key(&self) -> Result<RsaPublicKey> {
        RsaPublicKey::new(
            BigUint::from_bytes_be(&self.modulus),
            BigUint::from_bytes_be(&self.exponent),
        )
        .map_err(|_| DnieError::BadConfig("component root key"))
    }
}

/// One terminal (IFD) identity: its CV certificate (signed by the terminal CA), its
/// serial number SN.IFD and its RSA key.
#[derive(Clone)]
pub struct IfdIdentity {
    /// `C_CV_IFD`: the terminal's card-verifiable certificate.
    pub cvc: Vec<u8>,
    /// SN.IFD (the terminal CHR is `00 00 00 00 ‖ SN.IFD`).
    pub sn_ifd: [u8; 8],
    /// RSA modulus of the IFD key, big-endian.
    pub modulus: Vec<u8>,
    /// RSA public exponent of the IFD key.
    pub public_exponent: Vec<u8>,
    /// RSA private exponent of the IFD key (zeroized on drop).
    pub private_exponent: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for IfdIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IfdIdentity(sn_ifd {})", hex::encode_upper(self.sn_ifd))
    }
}

impl IfdIdentity {
    /// The terminal certificate's CHR used in MSE SET AT: `00000000 ‖ SN.IFD`.
    pub fn chr(&self) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[4..].copy_from_slice(&self.sn_ifd);
        c
    }
}

/// A complete terminal key set: root, terminal CA certificate and the two IFD identities.
#[derive(Clone, Debug)]
pub struct TerminalKeySet {
    /// Short name for logs ("legacy", "r2", "test").
    pub name: String,
    /// Root the chip's component certificates chain to (unless
    /// [`crate::DnieConfig::component_root`] overrides it).
    pub root: ComponentRoot,
    /// `C_CV_CA`: terminal CA certificate, verified by the card with the root (`02 0F`).
    pub ca_cvc: Vec<u8>,
    /// CHR of `C_CV_CA`, sent in the second MSE SET before the terminal certificate.
    pub ca_chr: [u8; 8],
    /// Identity of the user channel (DNIe 2.0: the only one).
    pub user: IfdIdentity,
    /// Identity of the PIN channel (DNIe 3.0/4.0).
    pub pin: IfdIdentity,
}

impl TerminalKeySet {
    /// Production set for cards before IDESP `BMP100001` (OpenSC set `_0`).
    pub fn production_legacy() -> Self {
        TerminalKeySet {
            name: "legacy".into(),
            root: ComponentRoot::production_legacy(),
            ca_cvc: p::LEGACY_C_CV_CA.to_vec(),
            ca_chr: p::LEGACY_CA_CHR,
            user: IfdIdentity {
                cvc: p::LEGACY_C_CV_IFD_USER.to_vec(),
                sn_ifd: p::LEGACY_SN_IFD_USER,
                modulus: p::LEGACY_IFD_USER_MODULUS.to_vec(),
                public_exponent: vec![1, 0, 1],
                private_exponent: Zeroizing::new(p::LEGACY_IFD_USER_PRIVATE_EXPONENT.to_vec()),
            },
            pin: IfdIdentity {
                cvc: p::LEGACY_C_CV_IFD_PIN.to_vec(),
                sn_ifd: p::LEGACY_SN_IFD_PIN,
                modulus: p::LEGACY_IFD_PIN_MODULUS.to_vec(),
                public_exponent: vec![1, 0, 1],
                private_exponent: Zeroizing::new(p::LEGACY_IFD_PIN_PRIVATE_EXPONENT.to_vec()),
            },
        }
    }

    /// Production "R2" set for cards from IDESP `BMP100001` on (OpenSC set `_1`).
    pub fn production_r2() -> Self {
        TerminalKeySet {
            name: "r2".into(),
            root: ComponentRoot::production_r2(),
            ca_cvc: p::R2_C_CV_CA.to_vec(),
            ca_chr: p::R2_CA_CHR,
            user: IfdIdentity {
                cvc: p::R2_C_CV_IFD_USER.to_vec(),
                sn_ifd: p::R2_SN_IFD_USER,
                modulus: p::R2_IFD_USER_MODULUS.to_vec(),
                public_exponent: vec![1, 0, 1],
                private_exponent: Zeroizing::new(p::R2_IFD_USER_PRIVATE_EXPONENT.to_vec()),
            },
            pin: IfdIdentity {
                cvc: p::R2_C_CV_IFD_PIN.to_vec(),
                sn_ifd: p::R2_SN_IFD_PIN,
                modulus: p::R2_IFD_PIN_MODULUS.to_vec(),
                public_exponent: vec![1, 0, 1],
                private_exponent: Zeroizing::new(p::R2_IFD_PIN_PRIVATE_EXPONENT.to_vec()),
            },
        }
    }

    /// The production set a card with this support number (IDESP) needs: R2 when
    /// `idesp >= "BMP100001"` (plain string comparison, as jmulticard `DnieFactory`).
    pub fn production_for_idesp(idesp: &str) -> Self {
        if idesp >= R2_FIRST_IDESP {
            Self::production_r2()
        } else {
            Self::production_legacy()
        }
    }
}

/// First support number that uses the R2 key set (jmulticard `DnieFactory`; OpenSC
/// PR #2109).
pub const R2_FIRST_IDESP: &str = "BMP100001";

/// Which terminal key set to use.
#[derive(Clone, Debug, Default)]
pub enum KeySetChoice {
    /// Production set chosen by the IDESP (the default).
    #[default]
    Auto,
    /// Always the legacy production set.
    Legacy,
    /// Always the R2 production set.
    R2,
    /// A set of one's own (tests, simulator).
    Custom(Box<TerminalKeySet>),
}

impl KeySetChoice {
    /// Resolves the choice for a card with support number `idesp`.
    pub fn resolve(&self, idesp: &str) -> TerminalKeySet {
        match self {
            KeySetChoice::Auto => TerminalKeySet::production_for_idesp(idesp),
            KeySetChoice::Legacy => TerminalKeySet::production_legacy(),
            KeySetChoice::R2 => TerminalKeySet::production_r2(),
            KeySetChoice::Custom(k) => (**k).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idesp_selects_key_set() {
        assert_eq!(
            TerminalKeySet::production_for_idesp("AGR148953").name,
            "legacy"
        );
        assert_eq!(
            TerminalKeySet::production_for_idesp("BMP100000").name,
            "legacy"
        );
        assert_eq!(TerminalKeySet::production_for_idesp("BMP100001").name, "r2");
        assert_eq!(TerminalKeySet::production_for_idesp("CAA000001").name, "r2");
        assert_eq!(KeySetChoice::Legacy.resolve("CAA000001").name, "legacy");
        assert_eq!(KeySetChoice::R2.resolve("AAA000001").name, "r2");
    }

    #[test]
    fn chr_layout() {
        let k = TerminalKeySet::production_r2();
        assert_eq!(hex::encode_upper(k.user.chr()), "00000000D002E00000000002");
        assert_eq!(hex::encode_upper(k.pin.chr()), "00000000D002E00000000004");
        assert!(k.root.public_key().is_ok());
        assert!(
            !format!("{:?}", k.user).contains(&hex::encode_upper(&k.user.private_exponent[..4]))
        );
    }

    /// The built-in constants equal the project's reference data, when it is beside the
    /// repository (`shared/reference/dnie-production-public.json`).
    #[test]
    fn constants_match_reference_json() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/dnie-production-public.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (name, set) in [
            ("legacy", TerminalKeySet::production_legacy()),
            ("r2", TerminalKeySet::production_r2()),
        ] {
            let s = &json["sets"][name];
            let hx = |v: &serde_json::Value| v.as_str().unwrap().to_ascii_uppercase();
            assert_eq!(hx(&s["root"]["n"]), hex::encode_upper(&set.root.modulus));
            assert_eq!(hx(&s["root"]["chr"]), hex::encode_upper(set.root.chr));
            assert_eq!(hx(&s["c_cv_ca"]["hex"]), hex::encode_upper(&set.ca_cvc));
            assert_eq!(hx(&s["c_cv_ca"]["chr"]), hex::encode_upper(set.ca_chr));
            assert_eq!(
                hx(&s["c_cv_ifd_user"]["hex"]),
                hex::encode_upper(&set.user.cvc)
            );
            assert_eq!(
                hx(&s["c_cv_ifd_user"]["sn_ifd"]),
                hex::encode_upper(set.user.sn_ifd)
            );
            assert_eq!(
                hx(&s["c_cv_ifd_user"]["chr"]),
                hex::encode_upper(set.user.chr())
            );
            assert_eq!(
                hx(&s["c_cv_ifd_pin"]["hex"]),
                hex::encode_upper(&set.pin.cvc)
            );
            assert_eq!(
                hx(&s["c_cv_ifd_pin"]["sn_ifd"]),
                hex::encode_upper(set.pin.sn_ifd)
            );
        }
    }
}
