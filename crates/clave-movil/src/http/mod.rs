//! The HTTP API (axum). Every error is `application/problem+json` with a stable code
//! ([`crate::error::ERROR_CODES`]); the OpenAPI document is generated from this code
//! (utoipa) and served at `/openapi.json`.

pub mod extract;
mod handlers;
mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::Problem;
use crate::domain::signature::HEADER_SIGNATURE;
use crate::engine::Engine;
use crate::error::ClaveError;
use extract::ConnInfo;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub long_poll_max: Duration,
    pub openapi: Arc<String>,
}

/// The problem+json body of an error.
pub fn problem_of(e: &ClaveError) -> Problem {
    Problem {
        problem_type: format!("urn:ventanilla:clave-movil:{}", e.code()),
        title: e.to_string(),
        status: e.status(),
        code: e.code().to_owned(),
        detail: match e {
            ClaveError::InvalidField { detail } | ClaveError::InvalidParameter { detail } => {
                Some(detail.clone())
            }
            _ => None,
        },
        retry_after: e.retry_after(),
        tries_left: match e {
            ClaveError::WrongPin { tries_left }
            | ClaveError::WrongActivationCode { tries_left } => Some(*tries_left),
            ClaveError::PinTriesExhausted | ClaveError::ActivationTriesExhausted => Some(0),
            _ => None,
        },
        request_status: match e {
            ClaveError::NotPending { status } => Some(*status),
            _ => None,
        },
        inner: match e {
            ClaveError::InvalidIdentity { inner } => Some((*inner).to_owned()),
            _ => None,
        },
    }
}

/// Marks a response produced from an error, so the guard can count failures.
#[derive(Debug, Clone)]
struct ErrorMark(ClaveError);

impl IntoResponse for ClaveError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem_of(&self)).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(retry) = self.retry_after()
            && let Ok(v) = HeaderValue::from_str(&retry.to_string())
        {
            headers.insert(RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            let scheme = if self == ClaveError::ApiKey {
                "Bearer realm=\"clave-movil\""
            } else {
                "ClaveMovil-Signature realm=\"clave-movil\""
            };
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static(scheme),
            );
        }
        response.extensions_mut().insert(ErrorMark(self));
        response
    }
}

fn error_for_status(status: StatusCode) -> ClaveError {
    match status.as_u16() {
        400 => ClaveError::BadJson,
        404 => ClaveError::NotFound,
        405 => ClaveError::MethodNotAllowed,
        408 => ClaveError::Timeout,
        413 => ClaveError::TooLarge,
        415 => ClaveError::UnsupportedMediaType,
        422 => ClaveError::InvalidField {
            detail: "invalid request".into(),
        },
        429 => ClaveError::RateLimited { retry_after: 1 },
        503 => ClaveError::Storage,
        _ => ClaveError::Internal,
    }
}

/// Every call passes here: address waiting periods, the time limit, failure counting,
/// and the guarantee that any error answer is problem+json.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req.extensions().get::<ConnInfo>().map(|c| c.0.ip());
    let path = req.uri().path();
    // A call that brings no credentials to an operation that needs them guesses
    // nothing: it gets its 401 from the extractor at once (no work done), even from an
    // address in a waiting period, and is not counted as a failure. Waiting periods are
    // for wrong keys, signatures, codes and PINs.
    let bare = needs_credentials(path)
        && !req.headers().contains_key(AUTHORIZATION)
        && !req.headers().contains_key(HEADER_SIGNATURE);
    if let Some(ip) = ip
        && !bare
        && let Err(e) = state.engine.check_address(ip)
    {
        return e.into_response();
    }
    let long = path.ends_with("/outcome") || path.ends_with("/pending");
    let events = path.ends_with("/events");
    let limit = if long {
        state.request_timeout + state.long_poll_max
    } else {
        state.request_timeout
    };
    let response = if events {
        next.run(req).await
    } else {
        match tokio::time::timeout(limit, next.run(req)).await {
            Ok(r) => r,
            Err(_) => ClaveError::Timeout.into_response(),
        }
    };
    if let Some(ErrorMark(e)) = response.extensions().get::<ErrorMark>() {
        if let Some(ip) = ip
            && !bare
        {
            state.engine.note_failure(ip, e);
        }
        if e.status() >= 500 {
            tracing::warn!(code = e.code(), "answered with a server error");
        }
        return response;
    }
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        return error_for_status(status).into_response();
    }
    response
}

/// Whether the operation at `path` needs an API key or a device signature: all of
/// `/v1/` except starting an activation (DNI/NIE + contrast datum, limited per address
/// and per document). A test checks this against the OpenAPI document's `security`.
fn needs_credentials(path: &str) -> bool {
    path.starts_with("/v1/") && path != "/v1/activations"
}

async fn not_found() -> ClaveError {
    ClaveError::NotFound
}

async fn method_not_allowed() -> ClaveError {
    ClaveError::MethodNotAllowed
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    openapi::document()
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    use handlers::*;
    Router::new()
        .route("/v1/requests", post(create_request))
        .route("/v1/requests/{id}", get(get_request))
        .route("/v1/requests/{id}/outcome", get(outcome))
        .route("/v1/requests/{id}/events", get(events))
        .route("/v1/requests/{id}/qr", get(qr))
        .route("/v1/requests/{id}/cancel", post(cancel))
        .route("/v1/requests/{id}/sms", post(request_sms))
        .route("/v1/requests/{id}/sms/verify", post(verify_pin))
        .route("/v1/office/activations", post(office_activation_qr))
        .route("/v1/office/alerts", get(office_alerts))
        .route("/v1/activations", post(start_activation))
        .route("/v1/activations/{id}/complete", post(complete_activation))
        .route("/v1/activations/qr", post(activate_qr))
        .route("/v1/device/requests/pending", get(device_pending))
        .route("/v1/device/scan", post(device_scan))
        .route("/v1/device/requests/{id}", get(device_request))
        .route("/v1/device/requests/{id}/confirm", post(device_confirm))
        .route("/v1/device/requests/{id}/reject", post(device_reject))
        .route("/v1/device/requests/{id}/not-me", post(device_not_me))
        .route("/v1/device/history", get(device_history))
        .route("/v1/device/sign-out", post(device_sign_out))
        .route("/.well-known/clave-movil/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi_json))
        .route("/healthz", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard's path rule agrees with what each operation declares.
    #[test]
    fn the_operations_that_need_credentials_are_the_ones_the_document_secures() {
        let doc = openapi();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                let Some(security) = op.get("security").and_then(|s| s.as_array()) else {
                    assert!(!needs_credentials(path), "{path} declares no security");
                    checked += 1;
                    continue;
                };
                let secured = security
                    .iter()
                    .any(|req| req.as_object().is_some_and(|r| !r.is_empty()));
                // `{}` in `security` would make the credentials optional.
                let optional = security
                    .iter()
                    .any(|req| req.as_object().is_some_and(|r| r.is_empty()));
                assert_eq!(needs_credentials(path), secured && !optional, "{path}");
                checked += 1;
            }
        }
        assert_eq!(checked, 24);
    }
}
