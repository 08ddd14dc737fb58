//! The HTTP API's bodies, shared by the server and [`crate::client`]. Request bodies
//! refuse unknown fields; answers are read leniently by the client (forward
//! compatible).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{CompletedBy, Reason, RequestKind, RequestStatus, RequestType};

/// An error answer (RFC 9457 `application/problem+json`). `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:ventanilla:clave-movil:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// Stable error code, e.g. `CM-REQ-002`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Seconds to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// PIN or activation-code tries left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<u32>,
    /// The request's status when it is no longer pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_status: Option<RequestStatus>,
    /// The registry's code for a malformed document number or contrast datum
    /// (`DOC-00x`, `CTR-0xx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
}

// ---------------------------------------------------------------- services

/// Start an authentication.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// `qr` (the citizen scans) or `no_qr` (the citizen gave DNI/NIE + contrast datum).
    #[serde(rename = "type")]
    pub kind: RequestKind,
    /// DNI or NIE (no-QR only). Spaces, dots, dashes and lower case are also accepted;
    /// a wrong check letter is refused (CM-012).
    #[serde(default)]
    #[schema(
        max_length = 32,
        pattern = "^([0-9]{8}|[XYZ][0-9]{7})[TRWAGMYFPDXBNJZSQVHLCKE]$",
        example = "12345678Z"
    )]
    pub document: Option<String>,
    /// Expiry date of a DNI (issue date for a permanent DNI), or the NIE support number
    /// (no-QR only). Dates as `YYYY-MM-DD` (also `DD/MM/YYYY`); an expired document is
    /// refused (CM-012).
    #[serde(default)]
    #[schema(
        max_length = 32,
        pattern = "^((19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[A-Z][0-9]{8})$",
        example = "2031-05-20"
    )]
    pub contrast: Option<String>,
    /// Counter whose screen shows the request (default: the endpoint's).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 999)]
    pub counter: Option<u16>,
}

/// JSON does not tell `534` from `534.0` (RFC 8259 §6), nor does JSON Schema's
/// `integer`: a whole number is accepted written either way; `534.5` is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(f))
            .map(|f| f as u64)
    });
    whole
        .and_then(|w| u16::try_from(w).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!("counter must be a whole number 1 to 999, not {n}"))
        })
}

/// A request as its service sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    pub id: String,
    /// How it was started.
    pub kind: RequestKind,
    /// `qr`, `no_qr`, or `sms` once completed with an SMS PIN.
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    /// The 3-digit verification code the citizen compares (shown with the counter).
    pub code: String,
    pub counter: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub seconds_left: u64,
    /// No-QR: when the "PIN by SMS" option opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_available_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<CompletedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// The answer of the long-poll: the request, and when final, the signed outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    pub request: RequestView,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Compact JWS (EdDSA, key at `/.well-known/clave-movil/jwks.json`) over
    /// [`OutcomeClaims`]; present once the request is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

/// What the signed outcome says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeClaims {
    /// `ventanilla:<DIR3 office code>`.
    pub iss: String,
    /// The API key id the request belongs to.
    pub aud: String,
    pub request_id: String,
    pub body: String,
    pub status: RequestStatus,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<CompletedBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The authenticated citizen's DNI/NIE, only when confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Seconds to wait for a change (0–30; default 25).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Also send a `qr` event with the current frame every second.
    pub qr: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QrFormat {
    /// A [`QrFrame`] (the payload, to draw yourself).
    #[default]
    Json,
    Svg,
    Png,
}

/// One event of `GET /v1/requests/{id}/events` (in OpenAPI 3.1 the schema of a
/// `text/event-stream` response describes each event). Only documented: the server
/// writes the events with axum's SSE encoder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestEvent {
    /// What `data` holds.
    pub event: RequestEventKind,
    /// JSON text: a [`RequestView`] for `status`, an [`Outcome`] for `outcome` (the
    /// last event), a [`QrFrame`] for `qr`.
    pub data: String,
}

/// The kinds of [`RequestEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestEventKind {
    /// The request changed (sent first, then on every change).
    Status,
    /// The request is final; the stream ends after it.
    Outcome,
    /// With `qr=true`: the rotating QR's new frame (every second).
    Qr,
}

impl RequestEventKind {
    /// The SSE `event:` name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestEventKind::Status => "status",
            RequestEventKind::Outcome => "outcome",
            RequestEventKind::Qr => "qr",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    pub format: Option<QrFormat>,
}

/// One QR frame (rotates every second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QrFrame {
    pub payload: String,
    /// Seconds since the request was created (the frame's number).
    pub elapsed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SmsSent {
    /// Always true: the same answer whether or not the citizen exists.
    pub sent: bool,
    /// Seconds before another SMS may be asked for.
    pub resend_after: u64,
    pub tries_left: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPin {
    /// The 6-digit PIN the citizen received.
    #[schema(pattern = "^[0-9]{6}$")]
    pub pin: String,
}

// ---------------------------------------------------------------- office

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActivationQr {
    /// The DNI/NIE of the citizen at the counter (identified by the clerk).
    #[schema(
        max_length = 32,
        pattern = "^([0-9]{8}|[XYZ][0-9]{7})[TRWAGMYFPDXBNJZSQVHLCKE]$",
        example = "12345678Z"
    )]
    pub document: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActivationQr {
    pub id: String,
    /// The QR payload (single use, 5 minutes).
    pub payload: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub citizen_id: String,
    pub device_id: String,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
}

// ---------------------------------------------------------------- devices

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartActivation {
    #[schema(
        max_length = 32,
        pattern = "^([0-9]{8}|[XYZ][0-9]{7})[TRWAGMYFPDXBNJZSQVHLCKE]$",
        example = "12345678Z"
    )]
    pub document: String,
    /// Expiry date (DNI), issue date (permanent DNI) or support number (NIE).
    #[schema(
        max_length = 32,
        pattern = "^((19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[A-Z][0-9]{8})$",
        example = "2031-05-20"
    )]
    pub contrast: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActivationStarted {
    /// Same answer whether or not the data matched a citizen.
    pub activation_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteActivation {
    /// The 6-digit code received by SMS.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// The device's P-256 public key, SEC1 point, base64url. The call is signed by it.
    #[schema(pattern = "^[A-Za-z0-9_-]{44,87}$")]
    pub public_key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QrActivation {
    /// The activation QR's payload, as scanned.
    #[schema(max_length = 1000)]
    pub payload: String,
    #[schema(pattern = "^[A-Za-z0-9_-]{44,87}$")]
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceActivated {
    pub device_id: String,
    pub activated_at: DateTime<Utc>,
    /// The citizen's document, masked (`****5678Z`).
    pub document_masked: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    #[schema(max_length = 1000)]
    pub payload: String,
}

/// A request as the citizen's app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceRequest {
    pub id: String,
    pub body: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    /// QR requests: the code to compare with the screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// No-QR requests: three codes, one of them the screen's (number matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    pub counter: u16,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub seconds_left: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingList {
    pub requests: Vec<DeviceRequest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The code the citizen picked (required for no-QR requests).
    #[serde(default)]
    #[schema(pattern = "^[1-9][0-9]{2}$")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOrder {
    #[default]
    Newest,
    Oldest,
    Body,
}

/// Filters, ordering and paging of "My requests".
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub status: Option<RequestStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub request_type: Option<RequestType>,
    /// Part of the requesting body's name (case-insensitive).
    #[param(max_length = 200)]
    pub body: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    pub from: Option<chrono::NaiveDate>,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    pub to: Option<chrono::NaiveDate>,
    pub order: Option<HistoryOrder>,
    /// From 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryItem {
    pub id: String,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// `HH:MM:SS` (UTC).
    pub time: String,
    pub created_at: DateTime<Utc>,
    pub body: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub status: RequestStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<CompletedBy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryItem>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotMeRecorded {
    /// The device is blocked: activate again at an office or with an SMS code.
    pub blocked: bool,
    pub alert_id: String,
}

// ---------------------------------------------------------------- public

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The Ed25519 public key, base64url.
    pub x: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub alg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// SHA-256 of the TLS certificate's public key (SPKI), base64url; the pin in QR codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_pin: Option<String>,
}
