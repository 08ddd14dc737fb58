//! Ventanilla's local **Cl@ve Móvil** endpoint: a small identity provider on the office
//! LAN that follows the Cl@ve Móvil rules (5-minute requests, 3-digit verification
//! codes, QR and no-QR paths, SMS PIN fallback after 60 s, one active device per
//! DNI/NIE) and is stricter where the public service is weak (rotating QR codes pinned
//! to the endpoint's TLS key, device-signed calls, number matching, signed outcomes,
//! no enumeration, escalating delays instead of lockouts).
//!
//! * [`domain`] — the rules as plain Rust (time and randomness are parameters).
//! * [`engine::Engine`] — live state, rules applied, group-commit persistence,
//!   notifications. The desktop app uses it directly (counter requests, QR frames,
//!   activation QR, alerts, [`engine::Engine::subscribe`]).
//! * [`http`] — the HTTP API (axum): problem+json errors, OpenAPI at `/openapi.json`.
//! * [`server::ClaveMovil::start`] — embed; [`server::serve`] — the `clave-movil serve`
//!   command.
//! * [`client`] — a Rust client for services and devices (tests, the bench, and the
//!   `clave-app` reference client).
//!
//! No code, PIN, phone number or DNI/NIE is ever logged: the registry types mask
//! themselves, codes travel as [`registry::Secret`], logs carry ids and error codes.

pub mod api;
pub mod client;
pub mod config;
mod counter;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod keys;
pub mod net;
mod persist;
pub mod server;
pub mod sms;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
mod util;

pub use config::{Config, ConfigError, KeyRole, hash_api_key};
pub use engine::{ApiKey, Engine, EngineStats};
pub use error::{ClaveError, ERROR_CODES};
pub use server::{ClaveMovil, Running, StartError, serve};
