//! `clave-app` against a real Cl@ve Móvil endpoint on 127.0.0.1 with a real SQLite
//! store: the commands through `clave_app::run` (with the server's clock), and the built
//! binary as a process. One test binary with modules (link time on a 2-core machine).

// Helpers outside `#[test]` functions unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod activation;
mod binary;
mod errors;
mod history;
mod requests;
