//! A Rust client for the endpoint, in two roles:
//!
//! * [`ServiceClient`] — a relying service (API key): create requests, wait for the
//!   outcome (long-poll or server-sent events), fetch QR frames, SMS fallback, and
//!   verify the signed outcome ([`verify_outcome`]).
//! * [`DeviceClient`] — the Cl@ve app: activation (SMS code or activation QR), then
//!   signed calls with its P-256 key ([`DeviceKey`]): pending requests, scan, confirm
//!   (number matching), reject, "this wasn't me", "My requests", sign-out.
//!
//! The tests, the benchmark and the `clave-app` reference client use it. Clients reach
//! the endpoint either over plain HTTP on loopback or over HTTPS pinned to the key whose
//! SHA-256 the QR codes carry ([`Endpoint::pinned`], [`Endpoint::for_payload`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Method;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use registry::{Clock, Random};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::*;
use crate::domain::QrPayload;
use crate::domain::signature::{
    ACTIVATION_SUBJECT, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, canonical,
};
use crate::keys::JwsError;
use crate::net::{HttpClient, NetError, Response, Trust};
use crate::util::{b64, random_bytes};

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(transparent)]
    Net(#[from] NetError),
    /// The endpoint answered with a problem (see `code`).
    #[error("{} ({})", .0.code, .0.title)]
    Problem(Box<Problem>),
    #[error("unexpected answer: HTTP {status}")]
    Unexpected { status: u16, body: String },
    #[error("answer not understood: {0}")]
    Decode(String),
    #[error("signed outcome refused: {0}")]
    Jws(#[from] JwsError),
    #[error("this device is not activated")]
    NotActivated,
    #[error("invalid key: {0}")]
    Key(String),
}

impl ClientError {
    /// The problem code, when the endpoint gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Problem(p) => Some(&p.code),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(p) => Some(p),
            _ => None,
        }
    }
}

/// Where the endpoint is and how to trust it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: String,
    http: HttpClient,
}

impl Endpoint {
    /// Plain HTTP (the endpoint allows it on loopback only).
    pub fn plain(base: &str) -> Result<Endpoint, ClientError> {
        Ok(Endpoint {
            base: base.trim_end_matches('/').to_owned(),
            http: HttpClient::new(Trust::WebPki, Duration::from_secs(60))?,
        })
    }

    /// HTTPS to exactly the key with this SPKI SHA-256 pin.
    pub fn pinned(base: &str, pin: &str) -> Result<Endpoint, ClientError> {
        Ok(Endpoint {
            base: base.trim_end_matches('/').to_owned(),
            http: HttpClient::new(Trust::Pinned(pin.to_owned()), Duration::from_secs(60))?,
        })
    }

    /// The endpoint a scanned QR code names, pinned to the key it names.
    pub fn for_payload(payload: &str) -> Result<Endpoint, ClientError> {
        let parsed = QrPayload::parse(payload).map_err(|e| ClientError::Decode(e.to_string()))?;
        if parsed.endpoint().starts_with("https://") {
            Endpoint::pinned(parsed.endpoint(), parsed.pin())
        } else {
            Endpoint::plain(parsed.endpoint())
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One raw call (tests of bad input use it).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{}", self.base, path);
        Ok(self.http.send(method, &url, headers, body).await?)
    }
}

fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    if response.status.is_success() {
        return serde_json::from_slice(&response.body)
            .map_err(|e| ClientError::Decode(e.to_string()));
    }
    match serde_json::from_slice::<Problem>(&response.body) {
        Ok(p) => Err(ClientError::Problem(Box::new(p))),
        Err(_) => Err(ClientError::Unexpected {
            status: response.status.as_u16(),
            body: String::from_utf8_lossy(&response.body).into_owned(),
        }),
    }
}

fn expect_empty(response: Response) -> Result<(), ClientError> {
    if response.status.is_success() {
        Ok(())
    } else {
        decode::<serde_json::Value>(response).map(|_| ())
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

/// Checks a final outcome's signature against the endpoint's JWKS and returns what it
/// says.
pub fn verify_outcome(outcome: &Outcome, jwks: &Jwks) -> Result<OutcomeClaims, ClientError> {
    let jws = outcome
        .signed
        .as_deref()
        .ok_or_else(|| ClientError::Decode("the outcome is not final".into()))?;
    let value = crate::keys::verify_jws(jws, jwks)?;
    serde_json::from_value(value).map_err(|e| ClientError::Decode(e.to_string()))
}

// ---------------------------------------------------------------- services

/// A relying service.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    ep: Endpoint,
    key: String,
}

impl ServiceClient {
    pub fn new(ep: Endpoint, api_key: &str) -> ServiceClient {
        ServiceClient {
            ep,
            key: api_key.to_owned(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = json_headers();
        h.push(("authorization".into(), format!("Bearer {}", self.key)));
        h
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        decode(self.ep.raw(method, path, &self.headers(), body).await?)
    }

    pub async fn create(&self, request: &CreateRequest) -> Result<RequestView, ClientError> {
        self.call(Method::POST, "/v1/requests", Some(request)).await
    }

    /// A QR request (the citizen scans).
    pub async fn create_qr(&self, counter: Option<u16>) -> Result<RequestView, ClientError> {
        self.create(&CreateRequest {
            kind: crate::domain::RequestKind::Qr,
            document: None,
            contrast: None,
            counter,
        })
        .await
    }

    /// A no-QR request for the citizen who typed DNI/NIE + contrast datum.
    pub async fn create_no_qr(
        &self,
        document: &str,
        contrast: &str,
    ) -> Result<RequestView, ClientError> {
        self.create(&CreateRequest {
            kind: crate::domain::RequestKind::NoQr,
            document: Some(document.to_owned()),
            contrast: Some(contrast.to_owned()),
            counter: None,
        })
        .await
    }

    pub async fn get(&self, id: &str) -> Result<RequestView, ClientError> {
        self.call(Method::GET, &format!("/v1/requests/{id}"), None::<&()>)
            .await
    }

    /// Long-poll: returns when final or after `wait_secs`.
    pub async fn wait_outcome(&self, id: &str, wait_secs: u64) -> Result<Outcome, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/requests/{id}/outcome?wait={wait_secs}"),
            None::<&()>,
        )
        .await
    }

    pub async fn qr_frame(&self, id: &str) -> Result<QrFrame, ClientError> {
        self.call(Method::GET, &format!("/v1/requests/{id}/qr"), None::<&()>)
            .await
    }

    /// The current frame as an image: `svg` or `png`. Returns (content type, bytes).
    pub async fn qr_image(&self, id: &str, format: &str) -> Result<(String, Bytes), ClientError> {
        let r = self
            .ep
            .raw(
                Method::GET,
                &format!("/v1/requests/{id}/qr?format={format}"),
                &self.headers(),
                Vec::new(),
            )
            .await?;
        if !r.status.is_success() {
            return decode::<()>(r).map(|_| (String::new(), Bytes::new()));
        }
        let ct = r
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok((ct, r.body))
    }

    pub async fn cancel(&self, id: &str) -> Result<RequestView, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/requests/{id}/cancel"),
            None::<&()>,
        )
        .await
    }

    pub async fn request_sms(&self, id: &str) -> Result<SmsSent, ClientError> {
        self.call(Method::POST, &format!("/v1/requests/{id}/sms"), None::<&()>)
            .await
    }

    pub async fn verify_pin(&self, id: &str, pin: &str) -> Result<RequestView, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/requests/{id}/sms/verify"),
            Some(&VerifyPin {
                pin: pin.to_owned(),
            }),
        )
        .await
    }

    pub async fn jwks(&self) -> Result<Jwks, ClientError> {
        self.call(
            Method::GET,
            "/.well-known/clave-movil/jwks.json",
            None::<&()>,
        )
        .await
    }

    /// Office key: a single-use activation QR for the citizen at the counter.
    pub async fn activation_qr(&self, document: &str) -> Result<ActivationQr, ClientError> {
        self.call(
            Method::POST,
            "/v1/office/activations",
            Some(&CreateActivationQr {
                document: document.to_owned(),
            }),
        )
        .await
    }

    /// Office key: "this wasn't me" alerts.
    pub async fn alerts(&self) -> Result<Vec<Alert>, ClientError> {
        let list: AlertList = self
            .call(Method::GET, "/v1/office/alerts", None::<&()>)
            .await?;
        Ok(list.alerts)
    }

    /// Server-sent events for a request (`status`, `outcome`, and `qr` frames with
    /// `qr = true`).
    pub async fn events(&self, id: &str, qr: bool) -> Result<EventStream, ClientError> {
        let url = format!("{}/v1/requests/{id}/events?qr={qr}", self.ep.base);
        let (status, body) = self
            .ep
            .http
            .stream(Method::GET, &url, &self.headers())
            .await?;
        if !status.is_success() {
            let bytes = body
                .collect()
                .await
                .map_err(|e| ClientError::Decode(e.to_string()))?
                .to_bytes();
            return Err(match serde_json::from_slice::<Problem>(&bytes) {
                Ok(p) => ClientError::Problem(Box::new(p)),
                Err(_) => ClientError::Unexpected {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                },
            });
        }
        Ok(EventStream {
            body,
            buffer: String::new(),
        })
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// A stream of server-sent events.
pub struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
}

impl EventStream {
    /// The next event (`None` when the stream ended). Comments (keep-alives) are skipped.
    pub async fn next(&mut self) -> Option<Result<SseEvent, ClientError>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: "message".into(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Some(Ok(event));
                }
                continue;
            }
            match self.body.frame().await {
                None => return None,
                Some(Err(e)) => return Some(Err(ClientError::Decode(e.to_string()))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- devices

/// A device's P-256 key pair (the app keeps it in secure hardware; the reference client
/// in a file, PKCS#8 DER). Signing uses ring (fast); keys come from the p256 crate.
pub struct DeviceKey {
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    public_b64: String,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({})", &self.public_b64[..8])
    }
}

impl DeviceKey {
    /// A fresh key from the random source.
    pub fn generate(random: &dyn Random) -> DeviceKey {
        loop {
            let bytes = random_bytes::<32>(random);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes)
                && let Ok(der) = secret.to_pkcs8_der()
                && let Ok(key) = DeviceKey::from_pkcs8_der(der.as_bytes())
            {
                return key;
            }
        }
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<DeviceKey, ClientError> {
        let secret =
            p256::SecretKey::from_pkcs8_der(der).map_err(|e| ClientError::Key(e.to_string()))?;
        let rng = ring::rand::SystemRandom::new();
        let public = secret.public_key();
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&public, false);
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| ClientError::Key(e.to_string()))?;
        Ok(DeviceKey {
            pkcs8: zeroize::Zeroizing::new(der.to_vec()),
            pair,
            rng,
            public_b64: b64(point.as_bytes()),
        })
    }

    /// The private key, PKCS#8 DER (to keep in a file readable by its owner only).
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as the endpoint wants it (SEC1 uncompressed, base64url).
    pub fn public_key_b64(&self) -> &str {
        &self.public_b64
    }

    /// ECDSA P-256/SHA-256, `r‖s`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .unwrap_or_default()
    }
}

/// The Cl@ve app.
pub struct DeviceClient {
    ep: Endpoint,
    key: DeviceKey,
    device_id: Option<String>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl std::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("base", &self.ep.base)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl DeviceClient {
    /// A device with `key`, not yet activated (or give the id with
    /// [`DeviceClient::with_device_id`]). `clock` stamps the signatures.
    pub fn new(
        ep: Endpoint,
        key: DeviceKey,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> DeviceClient {
        DeviceClient {
            ep,
            key,
            device_id: None,
            clock,
            random,
        }
    }

    pub fn with_device_id(mut self, id: &str) -> DeviceClient {
        self.device_id = Some(id.to_owned());
        self
    }

    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    pub fn key(&self) -> &DeviceKey {
        &self.key
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    /// The four signature headers for a call (public so tests can replay them).
    pub fn signature_headers(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let subject = self.device_id.as_deref().unwrap_or(ACTIVATION_SUBJECT);
        let timestamp = self.clock.now().timestamp_millis();
        let nonce = b64(&random_bytes::<16>(self.random.as_ref()));
        let message = canonical(subject, method, path_and_query, timestamp, &nonce, body);
        let signature = b64(&self.key.sign(message.as_bytes()));
        let mut h = json_headers();
        if let Some(id) = &self.device_id {
            h.push((HEADER_DEVICE.into(), id.clone()));
        }
        h.push((HEADER_TIMESTAMP.into(), timestamp.to_string()));
        h.push((HEADER_NONCE.into(), nonce));
        h.push((HEADER_SIGNATURE.into(), signature));
        h
    }

    /// A signed call, raw.
    pub async fn signed(
        &self,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<Response, ClientError> {
        let headers = self.signature_headers(method.as_str(), path_and_query, &body);
        self.ep.raw(method, path_and_query, &headers, body).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| ClientError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        decode(self.signed(method, path, body).await?)
    }

    /// A signed call that needs an active device (activation calls use [`Self::call`]).
    async fn device_call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        self.activated()?;
        self.call(method, path, body).await
    }

    fn activated(&self) -> Result<(), ClientError> {
        self.device_id
            .as_ref()
            .map(|_| ())
            .ok_or(ClientError::NotActivated)
    }

    /// Activation step 1 (unsigned): DNI/NIE + contrast datum.
    pub async fn start_activation(
        &self,
        document: &str,
        contrast: &str,
    ) -> Result<ActivationStarted, ClientError> {
        let body = serde_json::to_vec(&StartActivation {
            document: document.to_owned(),
            contrast: contrast.to_owned(),
        })
        .map_err(|e| ClientError::Decode(e.to_string()))?;
        decode(
            self.ep
                .raw(Method::POST, "/v1/activations", &json_headers(), body)
                .await?,
        )
    }

    /// Activation step 2: the SMS code. On success this client is the active device.
    pub async fn complete_activation(
        &mut self,
        activation_id: &str,
        code: &str,
    ) -> Result<DeviceActivated, ClientError> {
        self.device_id = None;
        let done: DeviceActivated = self
            .call(
                Method::POST,
                &format!("/v1/activations/{activation_id}/complete"),
                Some(&CompleteActivation {
                    code: code.to_owned(),
                    public_key: self.key.public_key_b64().to_owned(),
                }),
            )
            .await?;
        self.device_id = Some(done.device_id.clone());
        Ok(done)
    }

    /// Activation with the counter's activation QR.
    pub async fn activate_with_qr(
        &mut self,
        payload: &str,
    ) -> Result<DeviceActivated, ClientError> {
        self.device_id = None;
        let done: DeviceActivated = self
            .call(
                Method::POST,
                "/v1/activations/qr",
                Some(&QrActivation {
                    payload: payload.to_owned(),
                    public_key: self.key.public_key_b64().to_owned(),
                }),
            )
            .await?;
        self.device_id = Some(done.device_id.clone());
        Ok(done)
    }

    /// Pending requests; waits up to `wait_secs` for one.
    pub async fn pending(&self, wait_secs: u64) -> Result<PendingList, ClientError> {
        self.device_call(
            Method::GET,
            &format!("/v1/device/requests/pending?wait={wait_secs}"),
            None::<&()>,
        )
        .await
    }

    pub async fn scan(&self, payload: &str) -> Result<DeviceRequest, ClientError> {
        self.device_call(
            Method::POST,
            "/v1/device/scan",
            Some(&Scan {
                payload: payload.to_owned(),
            }),
        )
        .await
    }

    pub async fn request(&self, id: &str) -> Result<DeviceRequest, ClientError> {
        self.device_call(
            Method::GET,
            &format!("/v1/device/requests/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Confirm; `code` is the one the citizen picked (no-QR requests).
    pub async fn confirm(
        &self,
        id: &str,
        code: Option<&str>,
    ) -> Result<DeviceRequest, ClientError> {
        self.device_call(
            Method::POST,
            &format!("/v1/device/requests/{id}/confirm"),
            Some(&Confirm {
                code: code.map(str::to_owned),
            }),
        )
        .await
    }

    pub async fn reject(&self, id: &str) -> Result<DeviceRequest, ClientError> {
        self.device_call(
            Method::POST,
            &format!("/v1/device/requests/{id}/reject"),
            None::<&()>,
        )
        .await
    }

    pub async fn not_me(&self, id: &str) -> Result<NotMeRecorded, ClientError> {
        self.device_call(
            Method::POST,
            &format!("/v1/device/requests/{id}/not-me"),
            None::<&()>,
        )
        .await
    }

    /// "My requests".
    pub async fn history(&self, query: &HistoryQuery) -> Result<HistoryPage, ClientError> {
        let q =
            serde_urlencoded::to_string(query).map_err(|e| ClientError::Decode(e.to_string()))?;
        let path = if q.is_empty() {
            "/v1/device/history".to_owned()
        } else {
            format!("/v1/device/history?{q}")
        };
        self.device_call(Method::GET, &path, None::<&()>).await
    }

    pub async fn sign_out(&self) -> Result<(), ClientError> {
        self.activated()?;
        expect_empty(
            self.signed(Method::POST, "/v1/device/sign-out", Vec::new())
                .await?,
        )
    }
}
