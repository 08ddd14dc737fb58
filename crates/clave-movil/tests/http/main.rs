//! HTTP tests of the Cl@ve Móvil endpoint against a real server on 127.0.0.1 and a real
//! SQLite file. One test binary with modules (link time on a 2-core machine).

// Helpers outside `#[test]` functions unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod abuse;
mod devices;
mod enumeration;
mod history;
mod input;
mod logs;
mod qr;
mod requests;
mod sms;
mod tls;
