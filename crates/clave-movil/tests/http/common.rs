//! The harness: [`clave_movil::testkit`] — a real server on 127.0.0.1 (random port), a
//! real SQLite file in a temporary directory, a manual clock shared by the server and
//! the clients, ANA, BEA and CARLOS registered.

pub use clave_movil::testkit::{
    ANA, BEA, BODY, CARLOS, OTHER_BODY, SERVICE_KEY, TestEndpoint as Harness, keys,
    test_clock as clock,
};
