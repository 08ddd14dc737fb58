//! The endpoints. Each is a few lines over [`crate::engine::Engine`].

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use utoipa::openapi::security::{
    ApiKey as ApiKeyScheme, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
};
use utoipa::{IntoResponses, Modify, OpenApi};

use super::AppState;
use super::extract::{
    ActivationCall, ClientIp, DeviceCall, Id, JsonBody, NoBody, Service, StrictQuery,
};
use crate::api::*;
use crate::domain::{CompletedBy, Reason, RequestKind, RequestStatus, RequestType};
use crate::error::ClaveError;

/// Every error answer (problem+json with a stable `code`).
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum Errors {
    #[response(
        status = 400,
        description = "Malformed JSON or query parameter (CM-001, CM-005)",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "Missing or wrong API key or device signature (CM-AUTH-00x)",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "Not allowed, or the device is not active (CM-AUTH-002, CM-AUTH-007)",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "No such request or activation (CM-REQ-001, CM-ACT-001, CM-006)",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 408,
        description = "Took too long (CM-008)",
        content_type = "application/problem+json"
    )]
    Timeout(Problem),
    #[response(
        status = 409,
        description = "Not possible in the current state (CM-REQ-002, CM-QR-003, CM-SMS-00x, CM-ACT-00x)",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    #[response(
        status = 413,
        description = "Body too large (CM-004)",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "Body is not application/json (CM-003)",
        content_type = "application/problem+json"
    )]
    MediaType(Problem),
    #[response(
        status = 422,
        description = "A field is missing, unknown or invalid; wrong code or PIN (CM-002, CM-012, CM-REQ-004, CM-QR-00x, CM-SMS-003, CM-ACT-00x)",
        content_type = "application/problem+json"
    )]
    Unprocessable(Problem),
    #[response(
        status = 429,
        description = "Too many attempts: wait `retry_after` seconds (CM-009, CM-REQ-003, CM-SMS-002)",
        content_type = "application/problem+json"
    )]
    TooMany(Problem),
    #[response(
        status = 500,
        description = "Internal error (CM-010)",
        content_type = "application/problem+json"
    )]
    Internal(Problem),
    #[response(
        status = 503,
        description = "Storage or SMS gateway unavailable (CM-011, CM-SMS-007)",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The requesting body's API key (stored hashed in the endpoint's configuration)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device_signature",
            SecurityScheme::ApiKey(ApiKeyScheme::Header(ApiKeyValue::with_description(
                "X-Clave-Signature",
                "ECDSA P-256/SHA-256 signature (r‖s, base64url) by the device key over \
                 `clave-movil-v1\\n<X-Clave-Device or \"activation\">\\n<METHOD>\\n<path?query>\\n<X-Clave-Timestamp>\\n<X-Clave-Nonce>\\n<hex SHA-256 of the body>`; \
                 also send X-Clave-Device (not during activation), X-Clave-Timestamp (ms since the epoch, within 30 s) and X-Clave-Nonce (16–64 random bytes, base64url, single use).",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ventanilla — local Cl@ve Móvil endpoint",
        description = "Authentication requests for relying services at the office, and the API the Cl@ve app (device) uses. Errors are application/problem+json with a stable `code`.",
        version = "1"
    ),
    paths(
        create_request, get_request, outcome, events, qr, cancel, request_sms, verify_pin,
        office_activation_qr, office_alerts,
        start_activation, complete_activation, activate_qr,
        device_pending, device_scan, device_request, device_confirm, device_reject, device_not_me,
        device_history, device_sign_out,
        jwks, openapi_json, health
    ),
    components(schemas(
        Problem, CreateRequest, RequestView, RequestEvent, RequestEventKind, Outcome, OutcomeClaims, QrFrame, QrFormat, SmsSent,
        VerifyPin, CreateActivationQr, ActivationQr, Alert, AlertList, StartActivation,
        ActivationStarted, CompleteActivation, QrActivation, DeviceActivated, Scan, DeviceRequest,
        PendingList, Confirm, HistoryOrder, HistoryItem, HistoryPage, NotMeRecorded, Jwk, Jwks,
        Health, RequestKind, RequestType, RequestStatus, CompletedBy, Reason
    )),
    modifiers(&Security),
    tags(
        (name = "services", description = "Relying services: create requests and learn the outcome"),
        (name = "office", description = "The office's own tools (office API key)"),
        (name = "device", description = "The Cl@ve app: activation and requests (signed calls)"),
        (name = "public", description = "Keys, the API document, health"),
    )
)]
pub struct ApiDoc;

fn wait_of(state: &AppState, wait: Option<u64>) -> Result<Duration, ClaveError> {
    match wait {
        Some(w) if w > 30 => Err(ClaveError::InvalidParameter {
            detail: "wait is 0 to 30 seconds".into(),
        }),
        w => Ok(Duration::from_secs(w.unwrap_or(25)).min(state.long_poll_max)),
    }
}

// ---------------------------------------------------------------- services

/// Create an authentication request.
#[utoipa::path(post, path = "/v1/requests", tag = "services", request_body = CreateRequest,
    security(("api_key" = [])),
    responses((status = 201, description = "Created (the same answer whether or not a no-QR citizen matched)", body = RequestView), Errors))]
pub async fn create_request(
    State(state): State<AppState>,
    Service(key): Service,
    JsonBody(input): JsonBody<CreateRequest>,
) -> Result<Response, ClaveError> {
    let view = state.engine.create_request(&key, input).await?;
    let location = format!("/v1/requests/{}", view.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(view)).into_response())
}

/// A request's current (committed) state.
#[utoipa::path(get, path = "/v1/requests/{id}", tag = "services",
    params(("id" = String, Path, description = "Request id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The request", body = RequestView), Errors))]
pub async fn get_request(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
) -> Result<Json<RequestView>, ClaveError> {
    state.engine.request_view(&key, &id).await.map(Json)
}

/// Long-poll for the outcome: answers as soon as the request is final (with the signed
/// outcome), or after `wait` seconds with its current state.
#[utoipa::path(get, path = "/v1/requests/{id}/outcome", tag = "services",
    params(("id" = String, Path, description = "Request id"), WaitQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Outcome (final or not yet)", body = Outcome), Errors))]
pub async fn outcome(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
    StrictQuery(q): StrictQuery<WaitQuery>,
) -> Result<Json<Outcome>, ClaveError> {
    let wait = wait_of(&state, q.wait)?;
    state.engine.outcome(&key, &id, wait).await.map(Json)
}

/// Server-sent events: `status` (a [`RequestView`]) on every change, `outcome` (an
/// [`Outcome`]) once final, and with `qr=true` a `qr` event (a [`QrFrame`]) every second.
#[utoipa::path(get, path = "/v1/requests/{id}/events", tag = "services",
    params(("id" = String, Path, description = "Request id"), EventsQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Server-sent events: `status`, then `outcome` once final (and `qr` frames with `qr=true`)", content_type = "text/event-stream", body = RequestEvent), Errors))]
pub async fn events(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
    StrictQuery(q): StrictQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ClaveError> {
    let rx = state.engine.watch(&key, &id).await?;
    let engine = state.engine.clone();
    let with_qr = q.qr.unwrap_or(false);
    struct S {
        rx: tokio::sync::watch::Receiver<std::sync::Arc<crate::engine::Published>>,
        tick: tokio::time::Interval,
        first: bool,
        done: bool,
        last_frame: Option<u64>,
    }
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = S {
        rx,
        tick,
        first: true,
        done: false,
        last_frame: None,
    };
    let limit = tokio::time::Instant::now() + Duration::from_secs(600);
    let stream = futures_util::stream::unfold(start, move |mut s| {
        let engine = engine.clone();
        let key = key.clone();
        let id = id.clone();
        async move {
            if s.done || tokio::time::Instant::now() >= limit {
                return None;
            }
            loop {
                let changed = s.first || s.rx.has_changed().unwrap_or(false);
                if changed {
                    s.first = false;
                    let current = s.rx.borrow_and_update().clone();
                    let outcome = engine.outcome_json(&current);
                    if outcome.is_final {
                        s.done = true;
                        let data = serde_json::to_string(&outcome).unwrap_or_default();
                        return Some((
                            Ok(Event::default()
                                .event(RequestEventKind::Outcome.as_str())
                                .data(data)),
                            s,
                        ));
                    }
                    let data = serde_json::to_string(&outcome.request).unwrap_or_default();
                    return Some((
                        Ok(Event::default()
                            .event(RequestEventKind::Status.as_str())
                            .data(data)),
                        s,
                    ));
                }
                if with_qr
                    && let Ok(frame) = engine.qr_frame_for(&key, &id)
                    && s.last_frame != Some(frame.elapsed)
                {
                    s.last_frame = Some(frame.elapsed);
                    let data = serde_json::to_string(&frame).unwrap_or_default();
                    return Some((
                        Ok(Event::default()
                            .event(RequestEventKind::Qr.as_str())
                            .data(data)),
                        s,
                    ));
                }
                tokio::select! {
                    r = s.rx.changed() => {
                        // A new state (or the request left memory, which only final ones
                        // do): the next turn sends it.
                        s.first = true;
                        if r.is_err() {
                            let last = s.rx.borrow().clone();
                            if !last.request.is_final() {
                                return None;
                            }
                        }
                    }
                    _ = s.tick.tick() => {}
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The current frame of a QR request's rotating code (changes every second).
#[utoipa::path(get, path = "/v1/requests/{id}/qr", tag = "services",
    params(("id" = String, Path, description = "Request id"), QrQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The frame: JSON (default), SVG or PNG",
            content((QrFrame = "application/json"), (String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        Errors))]
pub async fn qr(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
    StrictQuery(q): StrictQuery<QrQuery>,
) -> Result<Response, ClaveError> {
    let frame = state.engine.qr_frame_for(&key, &id)?;
    let no_store = (CACHE_CONTROL, "no-store");
    Ok(match q.format.unwrap_or_default() {
        QrFormat::Json => ([no_store], Json(frame)).into_response(),
        QrFormat::Svg => (
            [no_store, (CONTENT_TYPE, "image/svg+xml")],
            crate::domain::qr::render_svg(&frame.payload)?,
        )
            .into_response(),
        QrFormat::Png => (
            [no_store, (CONTENT_TYPE, "image/png")],
            crate::domain::qr::render_png(&frame.payload, 8)?,
        )
            .into_response(),
    })
}

/// Cancel a pending request.
#[utoipa::path(post, path = "/v1/requests/{id}/cancel", tag = "services",
    params(("id" = String, Path, description = "Request id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Cancelled", body = RequestView), Errors))]
pub async fn cancel(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
) -> Result<Json<RequestView>, ClaveError> {
    state.engine.cancel(&key, &id).await.map(Json)
}

/// The citizen asks for a PIN by SMS (no-QR requests, from 60 s after creation; the
/// same answer whether or not the citizen exists).
#[utoipa::path(post, path = "/v1/requests/{id}/sms", tag = "services",
    params(("id" = String, Path, description = "Request id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SmsSent), Errors))]
pub async fn request_sms(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
) -> Result<Json<SmsSent>, ClaveError> {
    state.engine.request_sms(&key, &id).await.map(Json)
}

/// The citizen typed the PIN.
#[utoipa::path(post, path = "/v1/requests/{id}/sms/verify", tag = "services", request_body = VerifyPin,
    params(("id" = String, Path, description = "Request id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Confirmed by SMS", body = RequestView), Errors))]
pub async fn verify_pin(
    State(state): State<AppState>,
    Service(key): Service,
    Id(id): Id,
    JsonBody(input): JsonBody<VerifyPin>,
) -> Result<Json<RequestView>, ClaveError> {
    state
        .engine
        .verify_pin(&key, &id, &input.pin)
        .await
        .map(Json)
}

// ---------------------------------------------------------------- office

fn office(key: &crate::engine::ApiKey) -> Result<(), ClaveError> {
    if key.role == crate::config::KeyRole::Office {
        Ok(())
    } else {
        Err(ClaveError::Forbidden)
    }
}

/// A single-use, 5-minute activation QR for a citizen identified at the counter.
#[utoipa::path(post, path = "/v1/office/activations", tag = "office", request_body = CreateActivationQr,
    security(("api_key" = [])),
    responses((status = 201, description = "Created", body = ActivationQr), Errors))]
pub async fn office_activation_qr(
    State(state): State<AppState>,
    Service(key): Service,
    JsonBody(input): JsonBody<CreateActivationQr>,
) -> Result<Response, ClaveError> {
    office(&key)?;
    if input.document.len() > 32 {
        return Err(ClaveError::InvalidField {
            detail: "document is at most 32 characters".into(),
        });
    }
    let document = registry::DocumentNumber::parse(&input.document)
        .map_err(|e| ClaveError::InvalidIdentity { inner: e.code() })?;
    let qr = state.engine.create_activation_qr(&document).await?;
    Ok((StatusCode::CREATED, Json(qr)).into_response())
}

/// "This wasn't me" alerts the office has to look at.
#[utoipa::path(get, path = "/v1/office/alerts", tag = "office",
    security(("api_key" = [])),
    responses((status = 200, description = "Alerts, newest first", body = AlertList), Errors))]
pub async fn office_alerts(
    State(state): State<AppState>,
    Service(key): Service,
) -> Result<Json<AlertList>, ClaveError> {
    office(&key)?;
    let alerts = state.engine.alerts().await?;
    Ok(Json(AlertList { alerts }))
}

// ---------------------------------------------------------------- devices

/// Activation, step 1: DNI/NIE + contrast datum. A 6-digit code goes by SMS to the
/// registered phone when they match (the answer is the same when they do not).
#[utoipa::path(post, path = "/v1/activations", tag = "device", request_body = StartActivation,
    responses((status = 202, description = "Started", body = ActivationStarted), Errors))]
pub async fn start_activation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<StartActivation>,
) -> Result<Response, ClaveError> {
    let started = state.engine.start_activation(ip, input).await?;
    Ok((StatusCode::ACCEPTED, Json(started)).into_response())
}

/// Activation, step 2: the SMS code and the device's P-256 public key; the call is
/// signed with that key (proof of possession). A previous device is deactivated.
#[utoipa::path(post, path = "/v1/activations/{id}/complete", tag = "device", request_body = CompleteActivation,
    params(("id" = String, Path, description = "Activation id")),
    security(("device_signature" = [])),
    responses((status = 201, description = "Device active", body = DeviceActivated), Errors))]
pub async fn complete_activation(
    State(state): State<AppState>,
    Id(id): Id,
    call: ActivationCall<CompleteActivation>,
) -> Result<Response, ClaveError> {
    let done = state
        .engine
        .complete_activation(&id, &call.call, call.body)
        .await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

/// Activation with the counter's single-use QR (signed with the new key).
#[utoipa::path(post, path = "/v1/activations/qr", tag = "device", request_body = QrActivation,
    security(("device_signature" = [])),
    responses((status = 201, description = "Device active", body = DeviceActivated), Errors))]
pub async fn activate_qr(
    State(state): State<AppState>,
    call: ActivationCall<QrActivation>,
) -> Result<Response, ClaveError> {
    let done = state.engine.activate_with_qr(&call.call, call.body).await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

/// Pending requests for this device; waits up to `wait` seconds for one (long-poll).
#[utoipa::path(get, path = "/v1/device/requests/pending", tag = "device",
    params(WaitQuery),
    security(("device_signature" = [])),
    responses((status = 200, description = "Pending requests (possibly none)", body = PendingList), Errors))]
pub async fn device_pending(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<WaitQuery>,
    call: DeviceCall<NoBody>,
) -> Result<Json<PendingList>, ClaveError> {
    let wait = wait_of(&state, q.wait)?;
    state.engine.pending(&call.device, wait).await.map(Json)
}

/// The device scanned a request QR.
#[utoipa::path(post, path = "/v1/device/scan", tag = "device", request_body = Scan,
    security(("device_signature" = [])),
    responses((status = 200, description = "The request, now bound to this device", body = DeviceRequest), Errors))]
pub async fn device_scan(
    State(state): State<AppState>,
    call: DeviceCall<Scan>,
) -> Result<Json<DeviceRequest>, ClaveError> {
    if call.body.payload.len() > 1000 {
        return Err(ClaveError::QrMalformed);
    }
    state
        .engine
        .scan(&call.device, &call.body.payload)
        .await
        .map(Json)
}

/// A request's details (body, code or the three choices, type, seconds left).
#[utoipa::path(get, path = "/v1/device/requests/{id}", tag = "device",
    params(("id" = String, Path, description = "Request id")),
    security(("device_signature" = [])),
    responses((status = 200, description = "The request", body = DeviceRequest), Errors))]
pub async fn device_request(
    State(state): State<AppState>,
    Id(id): Id,
    call: DeviceCall<NoBody>,
) -> Result<Json<DeviceRequest>, ClaveError> {
    state.engine.device_request(&call.device, &id).map(Json)
}

/// Confirm. No-QR requests need the code the citizen picked among the three; a wrong
/// pick rejects the request.
#[utoipa::path(post, path = "/v1/device/requests/{id}/confirm", tag = "device", request_body = Confirm,
    params(("id" = String, Path, description = "Request id")),
    security(("device_signature" = [])),
    responses((status = 200, description = "Confirmed", body = DeviceRequest), Errors))]
pub async fn device_confirm(
    State(state): State<AppState>,
    Id(id): Id,
    call: DeviceCall<Confirm>,
) -> Result<Json<DeviceRequest>, ClaveError> {
    state
        .engine
        .confirm(&call.device, &id, call.body.code.as_deref())
        .await
        .map(Json)
}

/// Reject.
#[utoipa::path(post, path = "/v1/device/requests/{id}/reject", tag = "device",
    params(("id" = String, Path, description = "Request id")),
    security(("device_signature" = [])),
    responses((status = 200, description = "Rejected", body = DeviceRequest), Errors))]
pub async fn device_reject(
    State(state): State<AppState>,
    Id(id): Id,
    call: DeviceCall<NoBody>,
) -> Result<Json<DeviceRequest>, ClaveError> {
    state.engine.reject(&call.device, &id).await.map(Json)
}

/// "This wasn't me": blocks this device and alerts the office.
#[utoipa::path(post, path = "/v1/device/requests/{id}/not-me", tag = "device",
    params(("id" = String, Path, description = "Request id")),
    security(("device_signature" = [])),
    responses((status = 200, description = "Recorded; the device is blocked", body = NotMeRecorded), Errors))]
pub async fn device_not_me(
    State(state): State<AppState>,
    Id(id): Id,
    call: DeviceCall<NoBody>,
) -> Result<Json<NotMeRecorded>, ClaveError> {
    state.engine.not_me(&call.device, &id).await.map(Json)
}

/// "My requests": filters, ordering, paging.
#[utoipa::path(get, path = "/v1/device/history", tag = "device",
    params(HistoryQuery),
    security(("device_signature" = [])),
    responses((status = 200, description = "A page of requests", body = HistoryPage), Errors))]
pub async fn device_history(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<HistoryQuery>,
    call: DeviceCall<NoBody>,
) -> Result<Json<HistoryPage>, ClaveError> {
    state.engine.history(&call.device, &q).await.map(Json)
}

/// Sign out: this device is deactivated.
#[utoipa::path(post, path = "/v1/device/sign-out", tag = "device",
    security(("device_signature" = [])),
    responses((status = 204, description = "Signed out"), Errors))]
pub async fn device_sign_out(
    State(state): State<AppState>,
    call: DeviceCall<NoBody>,
) -> Result<StatusCode, ClaveError> {
    state.engine.sign_out(&call.device).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- public

/// The key that signs outcomes (JWKS).
#[utoipa::path(get, path = "/.well-known/clave-movil/jwks.json", tag = "public",
    responses((status = 200, description = "Ed25519 key(s)", body = Jwks), Errors))]
pub async fn jwks(State(state): State<AppState>) -> Json<Jwks> {
    Json(state.engine.jwks())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "public",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object), Errors))]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

/// Liveness, and the TLS pin.
#[utoipa::path(get, path = "/healthz", tag = "public",
    responses((status = 200, description = "Up", body = Health), Errors))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let pin = state.engine.tls_pin();
    Json(Health {
        status: "ok".into(),
        tls_pin: (!pin.is_empty()).then(|| pin.to_owned()),
    })
}
