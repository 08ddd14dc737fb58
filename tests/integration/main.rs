//! Ventanilla's integration tests: one binary, one module per area (every
//! extra test binary costs link time on a 2-core machine).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_cli;
mod dnie_stack;
mod e2e;
mod store_file;
