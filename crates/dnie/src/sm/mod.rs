//! CWA-14890 secure channel (DNIE.md §3).

pub mod crypto;
pub mod cvc;
pub mod handshake;
pub mod keys;
#[rustfmt::skip]
mod production;
pub mod session;
