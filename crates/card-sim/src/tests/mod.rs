//! Crate tests (one test binary): engine, PKI, secure channel, properties, vpcd framing.
mod engine;
mod host;
mod pki;
mod props;
mod secure;
mod vpcd;

use crate::{CardOptions, IdentityFile, TestPki, VirtualCard};

pub fn ids() -> IdentityFile {
    IdentityFile::builtin().unwrap()
}

pub fn pki() -> &'static TestPki {
    TestPki::builtin().unwrap()
}

pub fn card(name: &str) -> VirtualCard {
    let ids = ids();
    VirtualCard::dnie_with(ids.get(name).unwrap(), pki(), CardOptions::default()).unwrap()
}

pub fn card_with(name: &str, opts: CardOptions) -> VirtualCard {
    let ids = ids();
    VirtualCard::dnie_with(ids.get(name).unwrap(), pki(), opts).unwrap()
}
