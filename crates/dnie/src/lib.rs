//! The Spanish eID card (DNIe) read over PC/SC contact readers: the host side.
//!
//! Layers, bottom up (facts and sources: `shared/reference/DNIE.md`):
//! - [`Transport`]: one APDU out, one response back. [`transport::pcsc`] is the PC/SC
//!   implementation (the only user of the `pcsc` crate); a [`transport::pcsc::PcscTransaction`]
//!   is held by the caller for a whole secure session.
//! - [`Card`]: `61xx` → plain GET RESPONSE, `6Cxx` → re-send, secure messaging when a
//!   CWA-14890 session is active, APDU/byte counters ([`CardStats`]).
//! - Parsers that never panic on card data: [`atr`], [`tlv`], [`fci`], [`pkcs15`],
//!   [`x509`] (compressed certificate EFs), [`icao`].
//! - [`sm`]: CWA-14890 device authentication ([`sm::handshake`]), 3DES secure messaging
//!   with the retail MAC ([`sm::session`]), CVC recovery ([`sm::cvc`]) and the key
//!   configuration ([`ComponentRoot`], [`TerminalKeySet`], production values built in).
//! - [`Dnie`]: what the application calls.
//! - [`watcher`]: the reader watcher thread (readers and cards coming and going, the
//!   identity read at each insertion) and its state machine.
//!
//! ```no_run
//! # fn main() -> Result<(), dnie::DnieError> {
//! use dnie::{Dnie, DnieConfig, Pin};
//! use dnie::transport::pcsc::PcscContext;
//!
//! let ctx = PcscContext::establish()?;
//! let reader = ctx.readers()?.into_iter().next().ok_or(dnie::DnieError::NoReader)?;
//! let mut card = ctx.connect(&reader)?;
//! let atr = card.atr()?;
//! let mut tx = card.transaction()?;
//! let mut dnie = Dnie::open(&mut tx, &atr, &DnieConfig::default())?;
//! let identity = dnie.read_identity()?;                 // plain, DNIe 3.0/4.0
//! let pin = Pin::new("typed-by-the-citizen")?;
//! let mut rng = rand::rngs::OsRng;
//! let proof = dnie.prove_possession(&pin, &mut rng)?;  // PIN + signature, verified
//! # let _ = (identity, proof); Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod apdu;
pub mod atr;
pub mod card;
mod dnie;
pub mod error;
pub mod fci;
pub mod icao;
pub mod identity;
pub mod pin;
pub mod pkcs15;
pub mod sm;
pub mod tlv;
pub mod transport;
pub mod watcher;
pub mod x509;

pub use apdu::{Apdu, Response, StatusWord};
pub use atr::{AtrInfo, DnieVersion};
pub use card::{Card, CardStats};
pub use dnie::{
    ChannelKind, Dnie, DnieConfig, FID_CDF, FID_ICC_CA_CERT, FID_ICC_CERT, FID_IDESP, FID_ODF,
    FID_PKCS15, FID_PRKDF, FID_TOKEN_INFO, FID_VERSION, MASTER_FILE_NAME, ProofOfPossession,
};
pub use error::{DnieError, Result, TransportError};
pub use icao::{Dg1, Dg13, IcaoData};
pub use identity::CitizenIdentity;
pub use pin::Pin;
pub use sm::keys::{ComponentRoot, IfdIdentity, KeySetChoice, TerminalKeySet};
pub use transport::Transport;
pub use watcher::{ReaderEvent, ReaderState, Watcher, WatcherConfig};
