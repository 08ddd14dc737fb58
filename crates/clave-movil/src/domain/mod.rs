//! The rules as plain Rust: request lifecycle, verification codes, rotating QR
//! frames, device signatures, abuse limits. Time and randomness are parameters; no
//! I/O here.

pub mod limits;
pub mod qr;
pub mod request;
pub mod signature;

pub use limits::{LimitKey, LimitPolicy, Limiter};
pub use qr::QrPayload;
pub use request::{
    AuthRequest, CompletedBy, Policy, QrState, Reason, RequestKind, RequestStatus, RequestType,
    SmsState, VerificationCode,
};
pub use signature::{DevicePublicKey, NonceCache, SignedHeaders};
