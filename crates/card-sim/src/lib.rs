//! `card-sim`: the virtual Spanish eID card (DNIe) of Ventanilla.
//!
//! - [`VirtualCard`]: a transport-free card engine (`process(apdu) -> R-APDU`) behaving as a
//!   DNIe 3.0 (or 2.0) with T=0 response handling, or as a "not a DNIe" card.
//! - [`pki::TestPki`]: its own **TEST** PKI, committed under `pki/` (never production).
//! - [`identity::IdentityFile`]: who is "at the counter" (TOML).
//! - [`vpcd`]: the connector to pcscd's vsmartcard `vpcd` reader driver, with fault injection.
//!
//! Facts come from Ventanilla's `shared/reference/DNIE.md`; the code is our own.
pub mod apdu;
pub mod card;
pub mod crypto;
pub mod cvc;
pub mod dnie;
pub mod error;
pub mod fs;
pub mod icao;
pub mod identity;
pub mod pkcs15;
pub mod pki;
pub mod sm;
pub mod tlv;
pub mod vpcd;
pub mod x509;

#[cfg(test)]
mod tests;

pub use card::{EngineFault, VirtualCard};
pub use dnie::{CardOptions, PlainDuringSm, SmErrorReplies, TerminalTrust};
pub use error::Error;
pub use identity::{DnieVersion, Identity, IdentityFile};
pub use pki::{IfdKeyBytes, TerminalKeySetBytes, TestPki};
pub use vpcd::{ConnectOptions, Faults, SimHandle};

#[cfg(test)]
pub(crate) use identity::DEFAULT_IDENTITIES_TOML as DEFAULT_IDENTITIES_TOML_FOR_TESTS;
