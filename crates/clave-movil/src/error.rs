//! Errors with stable codes. The HTTP layer turns each into an
//! `application/problem+json` answer ([`crate::api::Problem`]) whose `code` is
//! [`ClaveError::code`]; the desktop app translates codes, never messages.
//! `Display` is short English without personal data (it may be logged).

use thiserror::Error;

use crate::domain::RequestStatus;

/// Everything the endpoint can refuse or fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClaveError {
    // Input.
    #[error("the body is not valid JSON")]
    BadJson,
    #[error("a field of the body is missing, unknown or invalid")]
    InvalidField { detail: String },
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the body is too large")]
    TooLarge,
    #[error("a query or path parameter is invalid")]
    InvalidParameter { detail: String },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request took too long")]
    Timeout,
    #[error("too many attempts: try again later")]
    RateLimited { retry_after: u64 },
    #[error("internal error")]
    Internal,
    #[error("storage unavailable")]
    Storage,
    /// The document number or the contrast datum is malformed (format only: it says
    /// nothing about whether the citizen is registered). `inner` is a registry code.
    #[error("document number or contrast datum malformed")]
    InvalidIdentity { inner: &'static str },

    // Authentication of callers.
    #[error("missing or unknown API key")]
    ApiKey,
    #[error("this API key may not do this")]
    Forbidden,
    #[error("device signature headers missing or malformed")]
    SignatureMissing,
    #[error("device signature invalid or device unknown")]
    SignatureInvalid,
    #[error("signature timestamp outside the allowed window")]
    SignatureStale,
    #[error("signature nonce already used")]
    SignatureReplay,
    #[error("the device is not active")]
    DeviceInactive,

    // Requests.
    #[error("request not found")]
    RequestNotFound,
    #[error("request is no longer pending")]
    NotPending { status: RequestStatus },
    #[error("too many pending requests")]
    NoFreeCode,
    #[error("the chosen verification code is not the request's: the request was rejected")]
    CodeMismatch,
    #[error("not possible for this type of request")]
    WrongKind,
    #[error("the verification code choice is required")]
    CodeRequired,

    // QR.
    #[error("QR payload not recognised")]
    QrMalformed,
    #[error("QR code is stale: scan the current one")]
    QrStale,
    #[error("QR code already used")]
    QrUsed,
    #[error("QR code not valid")]
    QrInvalid,

    // SMS fallback.
    #[error("the SMS option is not available yet")]
    SmsTooEarly { retry_after: u64 },
    #[error("SMS limit per hour reached")]
    SmsCap { retry_after: u64 },
    #[error("wrong PIN")]
    WrongPin { tries_left: u32 },
    #[error("no PIN was requested")]
    NoPin,
    #[error("no PIN tries left: the request was rejected")]
    PinTriesExhausted,
    #[error("a new SMS can be asked for later")]
    SmsResendTooSoon { retry_after: u64 },
    #[error("the SMS gateway failed")]
    SmsGateway,

    // Device activation.
    #[error("activation not found or expired")]
    ActivationNotFound,
    #[error("wrong activation code")]
    WrongActivationCode { tries_left: u32 },
    #[error("no activation tries left")]
    ActivationTriesExhausted,
    #[error("invalid device public key")]
    InvalidPublicKey,
    #[error("activation QR already used or expired")]
    ActivationUsed,
}

impl ClaveError {
    /// Stable code. Never reused for another meaning.
    pub fn code(&self) -> &'static str {
        use ClaveError::*;
        match self {
            BadJson => "CM-001",
            InvalidField { .. } => "CM-002",
            UnsupportedMediaType => "CM-003",
            TooLarge => "CM-004",
            InvalidParameter { .. } => "CM-005",
            NotFound => "CM-006",
            MethodNotAllowed => "CM-007",
            Timeout => "CM-008",
            RateLimited { .. } => "CM-009",
            Internal => "CM-010",
            Storage => "CM-011",
            InvalidIdentity { .. } => "CM-012",
            ApiKey => "CM-AUTH-001",
            Forbidden => "CM-AUTH-002",
            SignatureMissing => "CM-AUTH-003",
            SignatureInvalid => "CM-AUTH-004",
            SignatureStale => "CM-AUTH-005",
            SignatureReplay => "CM-AUTH-006",
            DeviceInactive => "CM-AUTH-007",
            RequestNotFound => "CM-REQ-001",
            NotPending { .. } => "CM-REQ-002",
            NoFreeCode => "CM-REQ-003",
            CodeMismatch => "CM-REQ-004",
            WrongKind => "CM-REQ-005",
            CodeRequired => "CM-REQ-006",
            QrMalformed => "CM-QR-001",
            QrStale => "CM-QR-002",
            QrUsed => "CM-QR-003",
            QrInvalid => "CM-QR-004",
            SmsTooEarly { .. } => "CM-SMS-001",
            SmsCap { .. } => "CM-SMS-002",
            WrongPin { .. } => "CM-SMS-003",
            NoPin => "CM-SMS-004",
            PinTriesExhausted => "CM-SMS-005",
            SmsResendTooSoon { .. } => "CM-SMS-006",
            SmsGateway => "CM-SMS-007",
            ActivationNotFound => "CM-ACT-001",
            WrongActivationCode { .. } => "CM-ACT-002",
            ActivationTriesExhausted => "CM-ACT-003",
            InvalidPublicKey => "CM-ACT-004",
            ActivationUsed => "CM-ACT-005",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        use ClaveError::*;
        match self {
            BadJson | InvalidParameter { .. } => 400,
            ApiKey | SignatureMissing | SignatureInvalid | SignatureStale | SignatureReplay => 401,
            Forbidden | DeviceInactive => 403,
            NotFound | RequestNotFound | ActivationNotFound => 404,
            MethodNotAllowed => 405,
            Timeout => 408,
            NotPending { .. }
            | WrongKind
            | QrUsed
            | SmsTooEarly { .. }
            | NoPin
            | PinTriesExhausted
            | SmsResendTooSoon { .. }
            | ActivationTriesExhausted
            | ActivationUsed => 409,
            TooLarge => 413,
            UnsupportedMediaType => 415,
            InvalidField { .. }
            | InvalidIdentity { .. }
            | CodeMismatch
            | CodeRequired
            | QrMalformed
            | QrStale
            | QrInvalid
            | WrongPin { .. }
            | WrongActivationCode { .. }
            | InvalidPublicKey => 422,
            RateLimited { .. } | NoFreeCode | SmsCap { .. } => 429,
            Internal => 500,
            Storage | SmsGateway => 503,
        }
    }

    /// Seconds after which trying again makes sense (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ClaveError::RateLimited { retry_after }
            | ClaveError::SmsTooEarly { retry_after }
            | ClaveError::SmsCap { retry_after }
            | ClaveError::SmsResendTooSoon { retry_after } => Some(*retry_after),
            ClaveError::NoFreeCode => Some(5),
            _ => None,
        }
    }
}

impl From<store::StoreError> for ClaveError {
    fn from(e: store::StoreError) -> ClaveError {
        tracing::error!(code = e.code(), error = %e, "storage error");
        ClaveError::Storage
    }
}

impl From<sqlx::Error> for ClaveError {
    fn from(e: sqlx::Error) -> ClaveError {
        tracing::error!(error = %e, "database error");
        ClaveError::Storage
    }
}

/// Every code with its HTTP status and a short meaning (README table; a test checks it
/// matches [`ClaveError::code`]).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("CM-001", 400, "the body is not valid JSON"),
    (
        "CM-002",
        422,
        "a field is missing, unknown or has the wrong type",
    ),
    ("CM-003", 415, "the body must be application/json"),
    ("CM-004", 413, "the body is too large"),
    ("CM-005", 400, "a query or path parameter is invalid"),
    ("CM-006", 404, "no such endpoint"),
    ("CM-007", 405, "method not allowed"),
    ("CM-008", 408, "the request took too long"),
    (
        "CM-009",
        429,
        "too many attempts from this address or for this document: retry later",
    ),
    ("CM-010", 500, "internal error"),
    ("CM-011", 503, "storage unavailable"),
    (
        "CM-012",
        422,
        "document number or contrast datum malformed (`inner` has the DOC/CTR code)",
    ),
    ("CM-AUTH-001", 401, "missing or unknown API key"),
    ("CM-AUTH-002", 403, "this API key may not do this"),
    (
        "CM-AUTH-003",
        401,
        "device signature headers missing or malformed",
    ),
    (
        "CM-AUTH-004",
        401,
        "device signature invalid or device unknown",
    ),
    (
        "CM-AUTH-005",
        401,
        "signature timestamp outside the allowed window",
    ),
    ("CM-AUTH-006", 401, "signature nonce already used (replay)"),
    (
        "CM-AUTH-007",
        403,
        "the device is not active (signed out, replaced or blocked)",
    ),
    ("CM-REQ-001", 404, "request not found"),
    (
        "CM-REQ-002",
        409,
        "request is no longer pending (`request_status`)",
    ),
    (
        "CM-REQ-003",
        429,
        "too many pending requests: no free verification code",
    ),
    (
        "CM-REQ-004",
        422,
        "wrong verification code chosen: the request was rejected",
    ),
    ("CM-REQ-005", 409, "not possible for this type of request"),
    (
        "CM-REQ-006",
        422,
        "the verification code choice is required (no-QR requests)",
    ),
    ("CM-QR-001", 422, "QR payload not recognised"),
    (
        "CM-QR-002",
        422,
        "QR code is stale (it rotates every second)",
    ),
    ("CM-QR-003", 409, "QR code already used"),
    ("CM-QR-004", 422, "QR code not valid"),
    (
        "CM-SMS-001",
        409,
        "the SMS option is not available yet (`retry_after`)",
    ),
    ("CM-SMS-002", 429, "SMS limit per hour reached"),
    ("CM-SMS-003", 422, "wrong PIN (`tries_left`)"),
    ("CM-SMS-004", 409, "no PIN was requested"),
    (
        "CM-SMS-005",
        409,
        "no PIN tries left: the request was rejected",
    ),
    (
        "CM-SMS-006",
        409,
        "a new SMS can be asked for later (`retry_after`)",
    ),
    ("CM-SMS-007", 503, "the SMS gateway failed"),
    ("CM-ACT-001", 404, "activation not found or expired"),
    ("CM-ACT-002", 422, "wrong activation code (`tries_left`)"),
    ("CM-ACT-003", 409, "no activation tries left"),
    ("CM-ACT-004", 422, "invalid device public key"),
    ("CM-ACT-005", 409, "activation QR already used or expired"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_with_their_status() {
        let all = [
            ClaveError::BadJson,
            ClaveError::InvalidField { detail: "x".into() },
            ClaveError::UnsupportedMediaType,
            ClaveError::TooLarge,
            ClaveError::InvalidParameter { detail: "x".into() },
            ClaveError::NotFound,
            ClaveError::MethodNotAllowed,
            ClaveError::Timeout,
            ClaveError::RateLimited { retry_after: 1 },
            ClaveError::Internal,
            ClaveError::Storage,
            ClaveError::InvalidIdentity { inner: "DOC-001" },
            ClaveError::ApiKey,
            ClaveError::Forbidden,
            ClaveError::SignatureMissing,
            ClaveError::SignatureInvalid,
            ClaveError::SignatureStale,
            ClaveError::SignatureReplay,
            ClaveError::DeviceInactive,
            ClaveError::RequestNotFound,
            ClaveError::NotPending {
                status: RequestStatus::Expired,
            },
            ClaveError::NoFreeCode,
            ClaveError::CodeMismatch,
            ClaveError::WrongKind,
            ClaveError::CodeRequired,
            ClaveError::QrMalformed,
            ClaveError::QrStale,
            ClaveError::QrUsed,
            ClaveError::QrInvalid,
            ClaveError::SmsTooEarly { retry_after: 1 },
            ClaveError::SmsCap { retry_after: 1 },
            ClaveError::WrongPin { tries_left: 1 },
            ClaveError::NoPin,
            ClaveError::PinTriesExhausted,
            ClaveError::SmsResendTooSoon { retry_after: 1 },
            ClaveError::SmsGateway,
            ClaveError::ActivationNotFound,
            ClaveError::WrongActivationCode { tries_left: 1 },
            ClaveError::ActivationTriesExhausted,
            ClaveError::InvalidPublicKey,
            ClaveError::ActivationUsed,
        ];
        assert_eq!(all.len(), ERROR_CODES.len());
        for e in &all {
            let listed = ERROR_CODES
                .iter()
                .filter(|(c, _, _)| *c == e.code())
                .count();
            assert_eq!(listed, 1, "{}", e.code());
            let (_, status, _) = ERROR_CODES.iter().find(|(c, _, _)| *c == e.code()).unwrap();
            assert_eq!(*status, e.status(), "{}", e.code());
        }
    }
}
