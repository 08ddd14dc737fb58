//! Strict extractors: every rejection is a [`ClaveError`] (so a problem+json answer with
//! a stable code), JSON bodies refuse unknown fields, queries refuse unknown
//! parameters, and device calls are authenticated from the exact bytes received.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::domain::SignedHeaders;
use crate::domain::signature::{HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use crate::engine::{ApiKey, DeviceCtx, SignedCall};
use crate::error::ClaveError;

/// The peer address of the connection (inserted by the server loop).
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo(pub SocketAddr);

/// The client address, when known.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ClaveError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts.extensions.get::<ConnInfo>().map(|c| c.0.ip()),
        ))
    }
}

/// A relying service (or office tool) authenticated by `Authorization: Bearer <key>`.
#[derive(Debug, Clone)]
pub struct Service(pub ApiKey);

impl FromRequestParts<AppState> for Service {
    type Rejection = ClaveError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        state.engine.service_key(bearer).map(Service)
    }
}

/// A path segment that names a request, an activation, … Anything that is not an id
/// simply names nothing (404).
#[derive(Debug, Clone)]
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ClaveError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ClaveError::RequestNotFound)?;
        if id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            Ok(Id(id))
        } else {
            Err(ClaveError::RequestNotFound)
        }
    }
}

/// Query parameters, refusing unknown ones and bad values with 400.
#[derive(Debug, Clone)]
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ClaveError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(StrictQuery)
            .map_err(|e| ClaveError::InvalidParameter {
                detail: e.to_string(),
            })
    }
}

/// Reads the body within the configured limit.
async fn body_bytes(req: Request, state: &AppState) -> Result<(Parts, Bytes), ClaveError> {
    let (parts, body) = req.into_parts();
    let limit = state.body_limit;
    if parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(ClaveError::TooLarge);
    }
    let limited = http_body_util::Limited::new(body, limit);
    let bytes = http_body_util::BodyExt::collect(limited)
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ClaveError::TooLarge
            } else {
                ClaveError::BadJson
            }
        })?
        .to_bytes();
    Ok((parts, bytes))
}

/// Parses a JSON body strictly. An empty body is read as `{}`.
pub fn parse_json<T: DeserializeOwned>(parts: &Parts, bytes: &[u8]) -> Result<T, ClaveError> {
    if bytes.is_empty() {
        return serde_json::from_slice(b"{}").map_err(|e| ClaveError::InvalidField {
            detail: e.to_string(),
        });
    }
    let json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false);
    if !json {
        return Err(ClaveError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ClaveError::InvalidField {
            detail: e.to_string(),
        },
        _ => ClaveError::BadJson,
    })
}

/// A strict JSON body.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ClaveError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, bytes) = body_bytes(req, state).await?;
        parse_json(&parts, &bytes).map(JsonBody)
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn signed_call(parts: &Parts, bytes: Bytes) -> Result<SignedCall, ClaveError> {
    let headers = SignedHeaders::parse(
        header(parts, HEADER_DEVICE),
        header(parts, HEADER_TIMESTAMP),
        header(parts, HEADER_NONCE),
        header(parts, HEADER_SIGNATURE),
    )?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    Ok(SignedCall {
        headers,
        method: parts.method.as_str().to_owned(),
        path_and_query,
        body: bytes,
    })
}

/// A call signed by an activated device: authenticated before the body is parsed.
#[derive(Debug, Clone)]
pub struct DeviceCall<T> {
    pub device: DeviceCtx,
    pub body: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for DeviceCall<T> {
    type Rejection = ClaveError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, bytes) = body_bytes(req, state).await?;
        let call = signed_call(&parts, bytes)?;
        let device = state.engine.authenticate(&call)?;
        let body = parse_json(&parts, &call.body)?;
        Ok(DeviceCall { device, body })
    }
}

/// A call signed by a key being activated (checked by the engine with the key from
/// the body).
#[derive(Debug, Clone)]
pub struct ActivationCall<T> {
    pub call: SignedCall,
    pub body: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ActivationCall<T> {
    type Rejection = ClaveError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, bytes) = body_bytes(req, state).await?;
        let body = parse_json(&parts, &bytes)?;
        let call = signed_call(&parts, bytes)?;
        Ok(ActivationCall { call, body })
    }
}

/// The empty body of a GET (or of a POST without one): `{}` or nothing.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}
