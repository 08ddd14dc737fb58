//! The engine: the live state of requests, devices and activations, the rules of
//! [`crate::domain`] applied to it, and the persistence and notifications that follow.
//!
//! Decisions are taken in memory under one short lock (no `.await` inside), so the
//! 3-digit codes stay unique, a new request cancels the previous one atomically, and a
//! QR token is claimed once. The change is then committed by the group-commit writer
//! ([`crate::persist`]); callers get their answer — and watchers their notification —
//! only once it is on disk.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use registry::{AuditAction, Clock, DocumentNumber, Random, Secret};
use serde_json::json;
use store::{ClaveMovilCitizen, Store, TypedContrast};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::api::{
    ActivationQr, ActivationStarted, Alert, CompleteActivation, CreateRequest, DeviceActivated,
    DeviceRequest, HistoryPage, HistoryQuery, NotMeRecorded, Outcome, OutcomeClaims, PendingList,
    QrActivation, QrFrame, RequestView, SmsSent, StartActivation,
};
use crate::config::{ApiKeyConfig, Config, KeyRole};
use crate::domain::request::secs;
use crate::domain::{
    AuthRequest, CompletedBy, DevicePublicKey, LimitKey, Limiter, NonceCache, Policy, QrPayload,
    QrState, Reason, RequestKind, RequestStatus, SignedHeaders, SmsState, VerificationCode,
};
use crate::error::ClaveError;
use crate::keys::ServerKeys;
use crate::persist::{self, ActivationRow, After, AlertRow, DeviceRow, Job, Write};
use crate::sms::{SmsGateway, SmsMessage, SmsPurpose};
use crate::util::{new_id, new_ordered_id, random_bytes, sha256};

/// The service id of requests the counter (clerk) starts through the library.
pub const COUNTER_SERVICE: &str = "@counter";

/// How long a final request stays in memory for late readers before they are served
/// from the database.
const FINAL_RETENTION_SECS: u64 = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A relying service (or office tool), as authenticated by its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub body: String,
    pub role: KeyRole,
}

/// A request as last committed, shared with everyone watching it. The signed outcome
/// is computed once, on first demand.
#[derive(Debug)]
pub struct Published {
    pub request: AuthRequest,
    jws: OnceLock<String>,
}

impl Published {
    fn new(request: AuthRequest) -> Published {
        Published {
            request,
            jws: OnceLock::new(),
        }
    }
}

/// An authenticated device call.
#[derive(Debug, Clone)]
pub struct DeviceCtx {
    pub device_id: String,
    pub citizen_id: String,
}

/// The parts of an HTTP call a device signature covers.
#[derive(Debug, Clone)]
pub struct SignedCall {
    pub headers: SignedHeaders,
    pub method: String,
    pub path_and_query: String,
    pub body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceStatus {
    Active,
    SignedOut,
    Replaced,
    Blocked,
    Deactivated,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::SignedOut => "signed_out",
            DeviceStatus::Replaced => "replaced",
            DeviceStatus::Blocked => "blocked",
            DeviceStatus::Deactivated => "deactivated",
        }
    }
}

#[derive(Debug, Clone)]
struct DeviceEntry {
    citizen_id: String,
    document: DocumentNumber,
    key: DevicePublicKey,
    status: DeviceStatus,
    method: &'static str,
    activated_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl DeviceEntry {
    fn row(&self, id: &str) -> DeviceRow {
        DeviceRow {
            id: id.to_owned(),
            citizen_id: self.citizen_id.clone(),
            public_key: self.key.to_b64(),
            status: self.status.as_str(),
            method: self.method,
            activated_at: self.activated_at,
            ended_at: self.ended_at,
        }
    }
}

struct Live {
    req: AuthRequest,
    tx: Arc<watch::Sender<Arc<Published>>>,
    /// Keyed hash of the document typed for a no-QR request (SMS cap, limits).
    subject: Option<[u8; 16]>,
    released: bool,
}

struct Activation {
    row: ActivationRow,
    subject: Option<[u8; 16]>,
    document: Option<DocumentNumber>,
    token_hash: Option<[u8; 32]>,
}

#[derive(Default)]
struct State {
    requests: HashMap<String, Live>,
    /// Pending requests by verification code (the code's uniqueness).
    codes: HashMap<VerificationCode, String>,
    qr_tokens: HashMap<[u8; 32], String>,
    citizen_pending: HashMap<String, String>,
    service_pending: HashMap<String, usize>,
    devices: HashMap<String, DeviceEntry>,
    active_by_citizen: HashMap<String, String>,
    citizen_watch: HashMap<String, Arc<watch::Sender<u64>>>,
    activations: HashMap<String, Activation>,
    activation_tokens: HashMap<[u8; 32], String>,
    finals: VecDeque<(DateTime<Utc>, String)>,
}

#[derive(Default)]
struct Batch {
    writes: Vec<Write>,
    after: Vec<After>,
}

impl State {
    /// Records that request `id` changed: its row goes to the writer and, once
    /// committed, watchers and event subscribers hear of it.
    fn touch(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        batch: &mut Batch,
        events: &broadcast::Sender<RequestView>,
        policy: &Policy,
    ) {
        let Some(live) = self.requests.get_mut(id) else {
            return;
        };
        let req = live.req.clone();
        let release = req.is_final() && !live.released;
        live.released |= release;
        let tx = live.tx.clone();
        // Views for the counter screen only when someone listens.
        let view = (events.receiver_count() > 0).then(|| request_view(&req, now, policy));
        let published = Arc::new(Published::new(req.clone()));
        let citizen_tx = req
            .citizen_id
            .as_ref()
            .and_then(|c| self.citizen_watch.get(c).cloned());
        if release {
            self.release(&req, now);
            // Every authentication of a known citizen, whatever its end, is in the
            // hash-chained audit log, not only in the requests table.
            if let Some(citizen) = &req.citizen_id {
                batch.writes.push(persist::audit(
                    AuditAction::ClaveMovilRequestFinished,
                    citizen,
                    serde_json::json!({
                        "request": req.id,
                        "service": req.service_id,
                        "body": req.body,
                        "kind": req.kind.as_str(),
                        "status": req.status.as_str(),
                        "completed_by": req.completed_by.map(CompletedBy::as_str),
                        "reason": req.reason.map(Reason::as_str),
                        "counter": req.counter,
                    }),
                    now,
                ));
            }
        }
        batch.writes.push(Write::Request(Box::new(req)));
        let events = events.clone();
        batch.after.push(Box::new(move || {
            tx.send_replace(published);
            if let Some(view) = view {
                let _ = events.send(view);
            }
            if let Some(c) = citizen_tx {
                c.send_modify(|v| *v = v.wrapping_add(1));
            }
        }));
    }

    fn release(&mut self, req: &AuthRequest, now: DateTime<Utc>) {
        if self.codes.get(&req.code) == Some(&req.id) {
            self.codes.remove(&req.code);
        }
        if let Some(q) = &req.qr
            && self.qr_tokens.get(&q.token_hash) == Some(&req.id)
        {
            self.qr_tokens.remove(&q.token_hash);
        }
        if let Some(c) = &req.citizen_id
            && self.citizen_pending.get(c) == Some(&req.id)
        {
            self.citizen_pending.remove(c);
        }
        if let Some(n) = self.service_pending.get_mut(&req.service_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.service_pending.remove(&req.service_id);
            }
        }
        self.finals.push_back((now, req.id.clone()));
    }

    fn insert(&mut self, req: AuthRequest, subject: Option<[u8; 16]>) {
        let (tx, _) = watch::channel(Arc::new(Published::new(req.clone())));
        let id = req.id.clone();
        let final_now = req.is_final();
        if !final_now {
            self.codes.insert(req.code, id.clone());
            if let Some(q) = &req.qr
                && !q.claimed
            {
                self.qr_tokens.insert(q.token_hash, id.clone());
            }
            if let Some(c) = &req.citizen_id {
                self.citizen_pending.insert(c.clone(), id.clone());
            }
            *self
                .service_pending
                .entry(req.service_id.clone())
                .or_default() += 1;
        }
        self.requests.insert(
            id,
            Live {
                req,
                tx: Arc::new(tx),
                subject,
                released: final_now,
            },
        );
    }

    /// Cancels the citizen's pending request, if any (a new one replaces it).
    fn supersede(
        &mut self,
        citizen_id: &str,
        except: &str,
        now: DateTime<Utc>,
        batch: &mut Batch,
        events: &broadcast::Sender<RequestView>,
        policy: &Policy,
    ) {
        let Some(prev) = self.citizen_pending.get(citizen_id).cloned() else {
            return;
        };
        if prev == except {
            return;
        }
        if let Some(live) = self.requests.get_mut(&prev)
            && live.req.cancel(Reason::Superseded, now).is_ok()
        {
            self.touch(&prev, now, batch, events, policy);
        } else if let Some(live) = self.requests.get(&prev)
            && live.req.is_final()
        {
            // Expired a moment ago: write that down too.
            self.touch(&prev, now, batch, events, policy);
        }
    }

    /// Is request `id` visible to this device? (its citizen's, and for a QR request,
    /// scanned by this very device)
    fn visible_to(&self, id: &str, dev: &DeviceCtx) -> bool {
        self.requests.get(id).is_some_and(|l| {
            l.req.citizen_id.as_deref() == Some(dev.citizen_id.as_str())
                && (l.req.kind == RequestKind::NoQr
                    || l.req.device_id.as_deref() == Some(dev.device_id.as_str()))
        })
    }
}

/// The view a service (and the counter) gets.
pub fn request_view(req: &AuthRequest, now: DateTime<Utc>, policy: &Policy) -> RequestView {
    RequestView {
        id: req.id.clone(),
        kind: req.kind,
        request_type: req.request_type(),
        status: req.status,
        code: req.code.to_string(),
        counter: req.counter,
        body: req.body.clone(),
        created_at: req.created_at,
        expires_at: req.expires_at,
        seconds_left: req.seconds_left(now),
        sms_available_at: (req.kind == RequestKind::NoQr).then(|| req.sms_available_at(policy)),
        completed_at: req.completed_at,
        completed_by: req.completed_by,
        reason: req.reason,
    }
}

fn device_view(req: &AuthRequest, now: DateTime<Utc>) -> DeviceRequest {
    let (code, choices) = match req.kind {
        RequestKind::Qr => (Some(req.code.to_string()), None),
        RequestKind::NoQr => (
            None,
            Some(req.choices().iter().map(|c| c.to_string()).collect()),
        ),
    };
    DeviceRequest {
        id: req.id.clone(),
        body: req.body.clone(),
        request_type: req.request_type(),
        status: req.status,
        code,
        choices,
        counter: req.counter,
        created_at: req.created_at,
        expires_at: req.expires_at,
        seconds_left: req.seconds_left(now),
    }
}

fn parse_identity(
    document: &str,
    contrast: &str,
) -> Result<(DocumentNumber, TypedContrast), ClaveError> {
    if document.len() > 32 || contrast.len() > 32 {
        return Err(ClaveError::InvalidField {
            detail: "document and contrast are at most 32 characters".into(),
        });
    }
    let doc = DocumentNumber::parse(document)
        .map_err(|e| ClaveError::InvalidIdentity { inner: e.code() })?;
    let typed = TypedContrast::parse(&doc, contrast).ok_or(ClaveError::InvalidIdentity {
        inner: match doc {
            DocumentNumber::Dni(_) => "CTR-002",
            DocumentNumber::Nie(_) => "CTR-010",
        },
    })?;
    Ok((doc, typed))
}

fn six_digits(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) store: Store,
    pub(crate) keys: ServerKeys,
    /// The address phones use (in QR payloads).
    pub(crate) endpoint: String,
    /// The TLS pin (empty on plain HTTP).
    pub(crate) pin: String,
    pub(crate) started: DateTime<Utc>,
    sms: Arc<dyn SmsGateway>,
    api_keys: HashMap<[u8; 32], ApiKey>,
    state: Mutex<State>,
    limiter: Mutex<Limiter>,
    nonces: Mutex<NonceCache>,
    sms_cap: Mutex<HashMap<[u8; 16], VecDeque<DateTime<Utc>>>>,
    writer: mpsc::UnboundedSender<Job>,
    events: broadcast::Sender<RequestView>,
}

/// The endpoint's engine. Cheap to clone; the HTTP handlers and the desktop app share
/// one.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

/// What [`Engine::new`] needs.
pub(crate) struct EngineParts {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub store: Store,
    pub keys: ServerKeys,
    pub endpoint: String,
    pub pin: String,
    pub sms: Arc<dyn SmsGateway>,
    pub writer: mpsc::UnboundedSender<Job>,
}

impl Engine {
    /// Builds the engine and loads what is live from the database (active devices,
    /// pending requests and activations, the last hour of SMS).
    pub(crate) async fn new(parts: EngineParts) -> Result<Engine, ClaveError> {
        let now = parts.clock.now();
        let api_keys = parts
            .config
            .api_keys
            .iter()
            .filter_map(|k: &ApiKeyConfig| {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(&k.sha256, &mut hash).ok()?;
                Some((
                    hash,
                    ApiKey {
                        id: k.id.clone(),
                        body: k.body.clone(),
                        role: k.role,
                    },
                ))
            })
            .collect();
        let pool = parts.store.pool().clone();
        let mut state = State::default();
        for d in persist::active_devices(&pool).await? {
            let (Ok(document), Ok(key)) = (
                DocumentNumber::parse(&d.document),
                DevicePublicKey::from_b64(&d.public_key),
            ) else {
                tracing::warn!(device = %d.id, "stored device unreadable; skipped");
                continue;
            };
            state
                .active_by_citizen
                .insert(d.citizen_id.clone(), d.id.clone());
            state.devices.insert(
                d.id,
                DeviceEntry {
                    citizen_id: d.citizen_id,
                    document,
                    key,
                    status: DeviceStatus::Active,
                    method: "sms",
                    activated_at: now,
                    ended_at: None,
                },
            );
        }
        for req in persist::pending_requests(&pool).await? {
            let subject = req.document.as_ref().map(|d| parts.keys.subject(d));
            state.insert(req, subject);
        }
        for row in persist::pending_activations(&pool, now).await? {
            let document = match &row.citizen_id {
                Some(c) => parts
                    .store
                    .clave_movil_citizen(c)
                    .await?
                    .map(|c| c.document),
                None => None,
            };
            let token_hash = (row.method == "qr").then_some(row.secret_hash);
            if let Some(t) = token_hash {
                state.activation_tokens.insert(t, row.id.clone());
            }
            state.activations.insert(
                row.id.clone(),
                Activation {
                    subject: document.as_ref().map(|d| parts.keys.subject(d)),
                    document,
                    token_hash,
                    row,
                },
            );
        }
        let mut sms_cap: HashMap<[u8; 16], VecDeque<DateTime<Utc>>> = HashMap::new();
        for (subject, at) in persist::sms_since(&pool, now - secs(3600)).await? {
            sms_cap.entry(subject).or_default().push_back(at);
        }
        for v in sms_cap.values_mut() {
            v.make_contiguous().sort();
        }
        let window = i64::try_from(parts.config.policy.signature_skew_secs)
            .unwrap_or(30)
            .saturating_mul(2000);
        let (events, _) = broadcast::channel(1024);
        Ok(Engine {
            inner: Arc::new(Inner {
                limiter: Mutex::new(Limiter::new(parts.config.limits.clone())),
                nonces: Mutex::new(NonceCache::new(window)),
                sms_cap: Mutex::new(sms_cap),
                state: Mutex::new(state),
                api_keys,
                started: now,
                config: parts.config,
                clock: parts.clock,
                random: parts.random,
                store: parts.store,
                keys: parts.keys,
                endpoint: parts.endpoint,
                pin: parts.pin,
                sms: parts.sms,
                writer: parts.writer,
                events,
            }),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn policy(&self) -> &Policy {
        &self.inner.config.policy
    }

    fn submit(
        &self,
        batch: Batch,
        wait: bool,
    ) -> Option<oneshot::Receiver<Result<(), ClaveError>>> {
        if batch.writes.is_empty() && batch.after.is_empty() {
            return None;
        }
        let (done, rx) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let job = Job {
            writes: batch.writes,
            after: batch.after,
            done,
        };
        if self.inner.writer.send(job).is_err() {
            tracing::error!("writer is gone");
        }
        rx
    }

    async fn committed(
        rx: Option<oneshot::Receiver<Result<(), ClaveError>>>,
    ) -> Result<(), ClaveError> {
        match rx {
            None => Ok(()),
            Some(rx) => rx.await.map_err(|_| ClaveError::Storage)?,
        }
    }

    /// Request state changes for the counter screen and the clerk console. The views
    /// hold no personal data (body, code, counter, times, status).
    pub fn subscribe(&self) -> broadcast::Receiver<RequestView> {
        self.inner.events.subscribe()
    }

    /// The SPKI pin carried in QR codes (empty on plain HTTP).
    pub fn tls_pin(&self) -> &str {
        &self.inner.pin
    }

    pub fn jwks(&self) -> crate::api::Jwks {
        self.inner.keys.jwks()
    }

    // ------------------------------------------------------------ abuse limits

    /// Refuses an address in its waiting period.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), ClaveError> {
        lock(&self.inner.limiter)
            .check(LimitKey::Ip(ip), self.now())
            .map_err(|retry_after| ClaveError::RateLimited { retry_after })
    }

    /// Counts an error against the address when it is the kind an attacker produces
    /// (bad credentials, wrong codes, forged or stale QR codes).
    pub fn note_failure(&self, ip: IpAddr, error: &ClaveError) {
        use ClaveError::*;
        let counts = matches!(
            error,
            ApiKey
                | SignatureInvalid
                | SignatureReplay
                | WrongPin { .. }
                | PinTriesExhausted
                | WrongActivationCode { .. }
                | ActivationTriesExhausted
                | ActivationUsed
                | QrInvalid
                | QrStale
                | QrUsed
                | CodeMismatch
        );
        if counts
            && let Some(delay) = lock(&self.inner.limiter).failure(LimitKey::Ip(ip), self.now())
        {
            tracing::info!(code = error.code(), delay, "client address slowed down");
        }
    }

    fn attempt(&self, key: LimitKey, burst: u32, per_hour: u32) -> Result<(), ClaveError> {
        lock(&self.inner.limiter)
            .attempt(key, self.now(), burst, per_hour)
            .map_err(|retry_after| ClaveError::RateLimited { retry_after })
    }

    fn document_failure(&self, subject: Option<[u8; 16]>) {
        if let Some(s) = subject {
            lock(&self.inner.limiter).failure(LimitKey::Document(s), self.now());
        }
    }

    /// Reserves one SMS for `subject` within the hourly cap.
    fn reserve_sms(&self, subject: Option<[u8; 16]>, now: DateTime<Utc>) -> Result<(), ClaveError> {
        let Some(subject) = subject else {
            return Ok(());
        };
        let cap = self.policy().sms_per_hour as usize;
        let mut all = lock(&self.inner.sms_cap);
        let sent = all.entry(subject).or_default();
        let hour = secs(3600);
        while sent.front().is_some_and(|t| now - *t >= hour) {
            sent.pop_front();
        }
        if sent.len() >= cap {
            let retry = sent
                .front()
                .map(|t| crate::domain::request::ceil_secs(*t + hour - now))
                .unwrap_or(3600);
            return Err(ClaveError::SmsCap { retry_after: retry });
        }
        sent.push_back(now);
        Ok(())
    }

    fn send_sms_later(
        &self,
        citizen_id: Option<String>,
        purpose: SmsPurpose,
        text: impl FnOnce(&str) -> Secret + Send + 'static,
    ) {
        let Some(citizen_id) = citizen_id else { return };
        let store = self.inner.store.clone();
        let sms = self.inner.sms.clone();
        tokio::spawn(async move {
            let phone = match store.clave_movil_citizen(&citizen_id).await {
                Ok(Some(c)) => c.phone(),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let phone = match phone {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(code = e.code(), "SMS not sent: citizen unreadable");
                    return;
                }
            };
            let message = SmsMessage {
                to: phone,
                purpose,
                text: text(&citizen_id),
            };
            match sms.send(&message).await {
                Ok(()) => tracing::info!(purpose = purpose.as_str(), "SMS sent"),
                Err(e) => tracing::error!(purpose = purpose.as_str(), error = %e, "SMS not sent"),
            }
        });
    }

    /// The citizen whose document and contrast datum a caller typed (no-QR request,
    /// SMS activation), counted against the document's lookup limit, with the document's
    /// keyed subject. `None` for a wrong or unknown combination alike.
    async fn lookup_typed(
        &self,
        doc: &DocumentNumber,
        typed: &TypedContrast,
    ) -> Result<([u8; 16], Option<ClaveMovilCitizen>), ClaveError> {
        let subject = self.inner.keys.subject(doc);
        let limits = &self.inner.config.limits;
        self.attempt(
            LimitKey::Document(subject),
            limits.document_burst,
            limits.document_per_hour,
        )?;
        let citizen = self
            .inner
            .store
            .clave_movil_citizen_checked(doc, typed)
            .await?;
        Ok((subject, citizen))
    }

    // ------------------------------------------------------------ services

    /// The caller of a service endpoint, from `Authorization: Bearer <key>`.
    pub fn service_key(&self, bearer: Option<&str>) -> Result<ApiKey, ClaveError> {
        let key = bearer.ok_or(ClaveError::ApiKey)?;
        if key.is_empty() || key.len() > 256 {
            return Err(ClaveError::ApiKey);
        }
        self.inner
            .api_keys
            .get(&sha256(key.as_bytes()))
            .cloned()
            .ok_or(ClaveError::ApiKey)
    }

    /// Creates a request for a relying service.
    pub async fn create_request(
        &self,
        key: &ApiKey,
        input: CreateRequest,
    ) -> Result<RequestView, ClaveError> {
        if key.role != KeyRole::Service {
            return Err(ClaveError::Forbidden);
        }
        let counter = input.counter.unwrap_or(self.inner.config.counter_number);
        if !(1..=999).contains(&counter) {
            return Err(ClaveError::InvalidField {
                detail: "counter must be 1 to 999".into(),
            });
        }
        let found = match input.kind {
            RequestKind::Qr => {
                if input.document.is_some() || input.contrast.is_some() {
                    return Err(ClaveError::InvalidField {
                        detail: "document and contrast are for no_qr requests".into(),
                    });
                }
                None
            }
            RequestKind::NoQr => {
                let (Some(document), Some(contrast)) = (&input.document, &input.contrast) else {
                    return Err(ClaveError::InvalidField {
                        detail: "no_qr requests need document and contrast".into(),
                    });
                };
                let (doc, typed) = parse_identity(document, contrast)?;
                Some(self.lookup_typed(&doc, &typed).await?)
            }
        };
        self.create(key.id.clone(), key.body.clone(), input.kind, counter, found)
            .await
    }

    /// A QR request started by the clerk for the citizen at `counter` (counter screen).
    pub async fn create_counter_request(
        &self,
        counter: u16,
        body: &str,
    ) -> Result<RequestView, ClaveError> {
        self.create(
            COUNTER_SERVICE.to_owned(),
            body.to_owned(),
            RequestKind::Qr,
            counter,
            None,
        )
        .await
    }

    async fn create(
        &self,
        service_id: String,
        body: String,
        kind: RequestKind,
        counter: u16,
        found: Option<([u8; 16], Option<ClaveMovilCitizen>)>,
    ) -> Result<RequestView, ClaveError> {
        let random = self.inner.random.clone();
        let policy = self.policy().clone();
        let (view, rx) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            if st.service_pending.get(&service_id).copied().unwrap_or(0)
                >= policy.max_pending_per_service
            {
                return Err(ClaveError::NoFreeCode);
            }
            let taken = st.codes.len();
            let code = {
                let codes = &st.codes;
                VerificationCode::allocate(random.as_ref(), &|c| codes.contains_key(&c), taken)
            }
            .ok_or(ClaveError::NoFreeCode)?;
            let qr = (kind == RequestKind::Qr).then(|| {
                let token: [u8; 16] = random_bytes(random.as_ref());
                QrState {
                    token_hash: sha256(&token),
                    token: Some(token),
                    secret: random_bytes(random.as_ref()),
                    claimed: false,
                }
            });
            let (subject, citizen) = match found {
                Some((s, c)) => (Some(s), c),
                None => (None, None),
            };
            let req = AuthRequest {
                id: new_ordered_id(now, random.as_ref()),
                service_id,
                body,
                kind,
                status: RequestStatus::Pending,
                code,
                decoys: code.decoys(random.as_ref()),
                counter,
                citizen_id: citizen.as_ref().map(|c| c.id.clone()),
                document: citizen.map(|c| c.document),
                device_id: None,
                created_at: now,
                expires_at: now + secs(policy.request_validity_secs),
                completed_at: None,
                completed_by: None,
                reason: None,
                qr,
                sms: SmsState::default(),
            };
            let mut batch = Batch::default();
            if let Some(c) = req.citizen_id.clone() {
                st.supersede(&c, &req.id, now, &mut batch, &self.inner.events, &policy);
            }
            let id = req.id.clone();
            let view = request_view(&req, now, &policy);
            st.insert(req, subject);
            st.touch(&id, now, &mut batch, &self.inner.events, &policy);
            (view, self.submit(batch, true))
        };
        Self::committed(rx).await?;
        Ok(view)
    }

    fn owned<'a>(st: &'a mut State, key: &ApiKey, id: &str) -> Result<&'a mut Live, ClaveError> {
        match st.requests.get_mut(id) {
            Some(l) if l.req.service_id == key.id => Ok(l),
            _ => Err(ClaveError::RequestNotFound),
        }
    }

    /// The committed state of a service's request (memory, or the database for old ones).
    async fn published(
        &self,
        service_id: &str,
        id: &str,
    ) -> Result<watch::Receiver<Arc<Published>>, ClaveError> {
        {
            let st = lock(&self.inner.state);
            if let Some(l) = st.requests.get(id) {
                if l.req.service_id != service_id {
                    return Err(ClaveError::RequestNotFound);
                }
                return Ok(l.tx.subscribe());
            }
        }
        if id.len() != 36 {
            return Err(ClaveError::RequestNotFound);
        }
        match persist::request(self.inner.store.pool(), id).await? {
            Some(req) if req.service_id == service_id => {
                let (_tx, rx) = watch::channel(Arc::new(Published::new(req)));
                Ok(rx)
            }
            _ => Err(ClaveError::RequestNotFound),
        }
    }

    pub async fn request_view(&self, key: &ApiKey, id: &str) -> Result<RequestView, ClaveError> {
        let rx = self.published(&key.id, id).await?;
        let p = rx.borrow().clone();
        Ok(request_view(&p.request, self.now(), self.policy()))
    }

    fn outcome_of(&self, p: &Published) -> Outcome {
        let req = &p.request;
        let is_final = req.is_final();
        let signed = is_final.then(|| {
            p.jws
                .get_or_init(|| {
                    let claims = OutcomeClaims {
                        iss: format!("ventanilla:{}", self.inner.config.office_code),
                        aud: req.service_id.clone(),
                        request_id: req.id.clone(),
                        body: req.body.clone(),
                        status: req.status,
                        request_type: req.request_type(),
                        completed_by: req.completed_by,
                        completed_at: req.completed_at,
                        document: (req.status == RequestStatus::Confirmed)
                            .then(|| req.document.as_ref().map(|d| d.unmasked()))
                            .flatten(),
                        iat: req.completed_at.unwrap_or(req.created_at).timestamp(),
                    };
                    self.inner.keys.sign_jws("clave-movil-outcome+jwt", &claims)
                })
                .clone()
        });
        Outcome {
            request: request_view(req, self.now(), self.policy()),
            is_final,
            signed,
        }
    }

    /// Long-poll: answers when the request is final, or after `wait`.
    pub async fn outcome(
        &self,
        key: &ApiKey,
        id: &str,
        wait: Duration,
    ) -> Result<Outcome, ClaveError> {
        self.outcome_for(&key.id, id, wait).await
    }

    /// Long-poll for a counter request (the desktop app).
    pub async fn counter_outcome(&self, id: &str, wait: Duration) -> Result<Outcome, ClaveError> {
        self.outcome_for(COUNTER_SERVICE, id, wait).await
    }

    async fn outcome_for(
        &self,
        service_id: &str,
        id: &str,
        wait: Duration,
    ) -> Result<Outcome, ClaveError> {
        let mut rx = self.published(service_id, id).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let current = rx.borrow_and_update().clone();
            if current.request.is_final() {
                return Ok(self.outcome_of(&current));
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                // Timed out, or the request left memory: answer with what we have.
                Ok(Err(_)) | Err(_) => {
                    let latest = rx.borrow().clone();
                    return Ok(self.outcome_of(&latest));
                }
            }
        }
    }

    /// A stream of committed states (server-sent events).
    pub async fn watch(
        &self,
        key: &ApiKey,
        id: &str,
    ) -> Result<watch::Receiver<Arc<Published>>, ClaveError> {
        self.published(&key.id, id).await
    }

    pub(crate) fn outcome_json(&self, p: &Published) -> Outcome {
        self.outcome_of(p)
    }

    /// The current frame of a QR request's rotating code (service check included).
    pub fn qr_frame_for(&self, key: &ApiKey, id: &str) -> Result<QrFrame, ClaveError> {
        self.frame(Some(&key.id), id)
    }

    /// The current frame of a counter (or any) QR request: the desktop app draws it.
    pub fn qr_frame(&self, id: &str) -> Result<QrFrame, ClaveError> {
        self.frame(None, id)
    }

    fn frame(&self, service_id: Option<&str>, id: &str) -> Result<QrFrame, ClaveError> {
        let now = self.now();
        let st = lock(&self.inner.state);
        let live = st.requests.get(id).ok_or(ClaveError::RequestNotFound)?;
        if service_id.is_some_and(|s| s != live.req.service_id) {
            return Err(ClaveError::RequestNotFound);
        }
        let req = &live.req;
        let Some(qr) = &req.qr else {
            return Err(ClaveError::WrongKind);
        };
        if req.is_final() || now >= req.expires_at {
            return Err(ClaveError::NotPending {
                status: if req.is_final() {
                    req.status
                } else {
                    RequestStatus::Expired
                },
            });
        }
        if qr.claimed {
            return Err(ClaveError::QrUsed);
        }
        let token = qr.token.ok_or(ClaveError::WrongKind)?;
        let elapsed = u64::try_from((now - req.created_at).num_seconds()).unwrap_or(0);
        let payload = QrPayload::request_frame(
            &self.inner.endpoint,
            &token,
            &qr.secret,
            elapsed,
            &self.inner.pin,
        );
        Ok(QrFrame {
            payload: payload.encode(),
            elapsed,
        })
    }

    pub async fn cancel(&self, key: &ApiKey, id: &str) -> Result<RequestView, ClaveError> {
        self.cancel_for(&key.id, id).await
    }

    /// Cancels a counter request (the clerk closed it).
    pub async fn cancel_counter_request(&self, id: &str) -> Result<RequestView, ClaveError> {
        self.cancel_for(COUNTER_SERVICE, id).await
    }

    async fn cancel_for(&self, service_id: &str, id: &str) -> Result<RequestView, ClaveError> {
        let policy = self.policy().clone();
        let key = ApiKey {
            id: service_id.to_owned(),
            body: String::new(),
            role: KeyRole::Service,
        };
        let (result, rx) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let live = Self::owned(&mut st, &key, id)?;
            let result = live.req.cancel(Reason::CancelledByService, now);
            let view = request_view(&live.req, now, &policy);
            let mut batch = Batch::default();
            if live.req.is_final() && !live.released {
                st.touch(id, now, &mut batch, &self.inner.events, &policy);
            }
            (result.map(|()| view), self.submit(batch, true))
        };
        Self::committed(rx).await?;
        result
    }

    /// The citizen asked for a PIN by SMS (no-QR requests, 60 s after creation).
    pub async fn request_sms(&self, key: &ApiKey, id: &str) -> Result<SmsSent, ClaveError> {
        let policy = self.policy().clone();
        let pin = self.inner.random.random_digits(6);
        let (answer, rx, citizen, body) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let live = Self::owned(&mut st, key, id)?;
            let subject = live.subject;
            let mut batch = Batch::default();
            let allowed = live
                .req
                .check_sms_allowed(&policy, now)
                .and_then(|()| self.reserve_sms(subject, now));
            match allowed {
                Err(e) => {
                    // Possibly expired just now: write that down.
                    if live.req.is_final() && !live.released {
                        st.touch(id, now, &mut batch, &self.inner.events, &policy);
                    }
                    (Err(e), self.submit(batch, true), None, String::new())
                }
                Ok(()) => {
                    let hash =
                        self.inner
                            .keys
                            .keyed(&[b"pin", id.as_bytes(), pin.expose().as_bytes()]);
                    live.req.record_sms(hash, now);
                    let citizen = live.req.citizen_id.clone();
                    let body = live.req.body.clone();
                    let tries_left = policy.sms_max_tries.saturating_sub(live.req.sms.tries);
                    if let Some(subject) = subject {
                        batch.writes.push(Write::SmsLog {
                            id: new_id(self.inner.random.as_ref()),
                            subject,
                            purpose: "request",
                            delivered: citizen.is_some(),
                            at: now,
                        });
                    }
                    st.touch(id, now, &mut batch, &self.inner.events, &policy);
                    let answer = SmsSent {
                        sent: true,
                        resend_after: policy.sms_resend_secs,
                        tries_left,
                    };
                    (Ok(answer), self.submit(batch, true), citizen, body)
                }
            }
        };
        Self::committed(rx).await?;
        let answer = answer?;
        self.send_sms_later(citizen, SmsPurpose::Request, move |_| {
            crate::sms::pin_text(&pin, &body)
        });
        Ok(answer)
    }

    /// The citizen typed the PIN.
    pub async fn verify_pin(
        &self,
        key: &ApiKey,
        id: &str,
        pin: &str,
    ) -> Result<RequestView, ClaveError> {
        if !six_digits(pin) {
            return Err(ClaveError::InvalidField {
                detail: "pin must be 6 digits".into(),
            });
        }
        let policy = self.policy().clone();
        let typed = self
            .inner
            .keys
            .keyed(&[b"pin", id.as_bytes(), pin.as_bytes()]);
        let (result, rx, subject) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let live = Self::owned(&mut st, key, id)?;
            let before = (live.req.status, live.req.sms.tries);
            let result = live.req.verify_pin(&typed, &policy, now);
            let view = request_view(&live.req, now, &policy);
            let subject = live.subject;
            let changed = before != (live.req.status, live.req.sms.tries);
            let mut batch = Batch::default();
            if changed {
                st.touch(id, now, &mut batch, &self.inner.events, &policy);
            }
            (result.map(|()| view), self.submit(batch, true), subject)
        };
        Self::committed(rx).await?;
        if matches!(
            result,
            Err(ClaveError::WrongPin { .. } | ClaveError::PinTriesExhausted)
        ) {
            self.document_failure(subject);
        }
        result
    }

    // ------------------------------------------------------------ activation

    /// Step 1 of an SMS activation. The same answer whether or not the data matched
    /// (the code only goes out when it did).
    pub async fn start_activation(
        &self,
        ip: Option<IpAddr>,
        input: StartActivation,
    ) -> Result<ActivationStarted, ClaveError> {
        let (doc, typed) = parse_identity(&input.document, &input.contrast)?;
        let limits = &self.inner.config.limits;
        if let Some(ip) = ip {
            self.attempt(
                LimitKey::Ip(ip),
                limits.address_burst,
                limits.address_per_hour,
            )?;
        }
        let (subject, citizen) = self.lookup_typed(&doc, &typed).await?;
        let now = self.now();
        self.reserve_sms(Some(subject), now)?;
        let code = self.inner.random.random_digits(6);
        let id = new_id(self.inner.random.as_ref());
        let row = ActivationRow {
            id: id.clone(),
            method: "sms",
            citizen_id: citizen.as_ref().map(|c| c.id.clone()),
            secret_hash: self
                .inner
                .keys
                .keyed(&[b"act", id.as_bytes(), code.expose().as_bytes()]),
            tries: 0,
            status: "pending",
            device_id: None,
            created_at: now,
            expires_at: now + secs(self.policy().activation_validity_secs),
        };
        let answer = ActivationStarted {
            activation_id: id.clone(),
            expires_at: row.expires_at,
        };
        let citizen_id = row.citizen_id.clone();
        let rx = {
            let mut st = lock(&self.inner.state);
            let mut batch = Batch::default();
            batch.writes.push(Write::Activation(row.clone()));
            batch.writes.push(Write::SmsLog {
                id: new_id(self.inner.random.as_ref()),
                subject,
                purpose: "activation",
                delivered: citizen_id.is_some(),
                at: now,
            });
            st.activations.insert(
                id,
                Activation {
                    row,
                    subject: Some(subject),
                    document: citizen.map(|c| c.document),
                    token_hash: None,
                },
            );
            self.submit(batch, true)
        };
        Self::committed(rx).await?;
        self.send_sms_later(citizen_id, SmsPurpose::Activation, move |_| {
            crate::sms::activation_text(&code)
        });
        Ok(answer)
    }

    /// Checks a signature made with the key being activated (proof of possession).
    fn check_activation_signature(
        &self,
        call: &SignedCall,
        public_key: &str,
    ) -> Result<DevicePublicKey, ClaveError> {
        let key = DevicePublicKey::from_b64(public_key)?;
        let now = self.now();
        self.check_call_time(call, now)?;
        self.check_call_signature(
            call,
            crate::domain::signature::ACTIVATION_SUBJECT,
            &key,
            &format!("key:{}", key.to_b64()),
            now,
        )?;
        Ok(key)
    }

    /// The call's timestamp lies within the allowed skew of the server's clock.
    fn check_call_time(&self, call: &SignedCall, now: DateTime<Utc>) -> Result<(), ClaveError> {
        call.headers.check_time(
            now,
            self.inner.started,
            i64::try_from(self.policy().signature_skew_secs).unwrap_or(30) * 1000,
        )
    }

    /// `key` signed the call as `subject` (a device id, or the activation subject), and
    /// its nonce is new within `nonce_scope`.
    fn check_call_signature(
        &self,
        call: &SignedCall,
        subject: &str,
        key: &DevicePublicKey,
        nonce_scope: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        let message = crate::domain::signature::canonical(
            subject,
            &call.method,
            &call.path_and_query,
            call.headers.timestamp_ms,
            &call.headers.nonce,
            &call.body,
        );
        if !key.verify(message.as_bytes(), &call.headers.signature) {
            return Err(ClaveError::SignatureInvalid);
        }
        if !lock(&self.inner.nonces).check_and_insert(
            nonce_scope,
            &call.headers.nonce,
            now.timestamp_millis(),
        ) {
            return Err(ClaveError::SignatureReplay);
        }
        Ok(())
    }

    /// Binds a new device to a citizen; the previous active device is replaced.
    #[allow(clippy::too_many_arguments)]
    fn bind_device(
        &self,
        st: &mut State,
        citizen_id: &str,
        document: DocumentNumber,
        key: DevicePublicKey,
        method: &'static str,
        now: DateTime<Utc>,
        batch: &mut Batch,
    ) -> DeviceActivated {
        let device_id = new_id(self.inner.random.as_ref());
        if let Some(old) = st.active_by_citizen.remove(citizen_id)
            && let Some(entry) = st.devices.get_mut(&old)
        {
            entry.status = DeviceStatus::Replaced;
            entry.ended_at = Some(now);
            batch.writes.push(Write::Device(entry.row(&old)));
            batch.writes.push(persist::audit(
                AuditAction::DeviceDeactivated,
                citizen_id,
                json!({ "device": old, "reason": "replaced", "by": device_id }),
                now,
            ));
        }
        let masked = document.masked();
        let entry = DeviceEntry {
            citizen_id: citizen_id.to_owned(),
            document,
            key,
            status: DeviceStatus::Active,
            method,
            activated_at: now,
            ended_at: None,
        };
        batch.writes.push(Write::Device(entry.row(&device_id)));
        batch.writes.push(persist::audit(
            AuditAction::DeviceActivated,
            citizen_id,
            json!({ "device": device_id, "method": method, "channel": "clave_movil" }),
            now,
        ));
        st.devices.insert(device_id.clone(), entry);
        st.active_by_citizen
            .insert(citizen_id.to_owned(), device_id.clone());
        if let Some(w) = st.citizen_watch.get(citizen_id).cloned() {
            batch.after.push(Box::new(move || {
                w.send_modify(|v| *v = v.wrapping_add(1));
            }));
        }
        DeviceActivated {
            device_id,
            activated_at: now,
            document_masked: masked,
        }
    }

    /// Step 2 of an SMS activation: the code, and the new device's key (the call is
    /// signed with it).
    pub async fn complete_activation(
        &self,
        activation_id: &str,
        call: &SignedCall,
        input: CompleteActivation,
    ) -> Result<DeviceActivated, ClaveError> {
        let key = self.check_activation_signature(call, &input.public_key)?;
        if !six_digits(&input.code) {
            return Err(ClaveError::InvalidField {
                detail: "code must be 6 digits".into(),
            });
        }
        let typed =
            self.inner
                .keys
                .keyed(&[b"act", activation_id.as_bytes(), input.code.as_bytes()]);
        let max_tries = self.policy().activation_max_tries;
        let (result, rx, subject) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let Some(act) = st.activations.get_mut(activation_id) else {
                return Err(ClaveError::ActivationNotFound);
            };
            if act.row.method != "sms" || act.row.status != "pending" || now >= act.row.expires_at {
                return Err(match act.row.status {
                    "failed" => ClaveError::ActivationTriesExhausted,
                    _ => ClaveError::ActivationNotFound,
                });
            }
            let subject = act.subject;
            let right = crate::util::constant_time_eq(&act.row.secret_hash, &typed);
            let mut batch = Batch::default();
            let result = match (right, act.row.citizen_id.clone(), act.document.clone()) {
                (true, Some(citizen_id), Some(document)) => {
                    act.row.status = "used";
                    let done = self.bind_device(
                        &mut st,
                        &citizen_id,
                        document,
                        key,
                        "sms",
                        now,
                        &mut batch,
                    );
                    if let Some(act) = st.activations.get_mut(activation_id) {
                        act.row.device_id = Some(done.device_id.clone());
                        batch.writes.push(Write::Activation(act.row.clone()));
                    }
                    Ok(done)
                }
                _ => {
                    act.row.tries += 1;
                    let left = max_tries.saturating_sub(act.row.tries);
                    if left == 0 {
                        act.row.status = "failed";
                    }
                    batch.writes.push(Write::Activation(act.row.clone()));
                    Err(if left == 0 {
                        ClaveError::ActivationTriesExhausted
                    } else {
                        ClaveError::WrongActivationCode { tries_left: left }
                    })
                }
            };
            (result, self.submit(batch, true), subject)
        };
        Self::committed(rx).await?;
        if result.is_err() {
            self.document_failure(subject);
        }
        result
    }

    /// The clerk shows a single-use, 5-minute activation QR for the citizen at the
    /// counter (identified in person).
    pub async fn create_activation_qr(
        &self,
        document: &DocumentNumber,
    ) -> Result<ActivationQr, ClaveError> {
        let citizen = self
            .inner
            .store
            .clave_movil_citizen_at_counter(document)
            .await?
            .ok_or(ClaveError::ActivationNotFound)?;
        let now = self.now();
        let token: [u8; 16] = random_bytes(self.inner.random.as_ref());
        let token_hash = self.inner.keys.keyed(&[b"actqr", &token]);
        let id = new_id(self.inner.random.as_ref());
        let row = ActivationRow {
            id: id.clone(),
            method: "qr",
            citizen_id: Some(citizen.id.clone()),
            secret_hash: token_hash,
            tries: 0,
            status: "pending",
            device_id: None,
            created_at: now,
            expires_at: now + secs(self.policy().activation_validity_secs),
        };
        let payload = QrPayload::Activation {
            endpoint: self.inner.endpoint.clone(),
            token: token.to_vec(),
            pin: self.inner.pin.clone(),
        }
        .encode();
        let answer = ActivationQr {
            id: id.clone(),
            payload,
            expires_at: row.expires_at,
        };
        let rx = {
            let mut st = lock(&self.inner.state);
            let mut batch = Batch::default();
            batch.writes.push(Write::Activation(row.clone()));
            batch.writes.push(persist::audit(
                AuditAction::DeviceActivationQrIssued,
                &citizen.id,
                json!({ "activation": id }),
                now,
            ));
            st.activation_tokens.insert(token_hash, id.clone());
            st.activations.insert(
                id,
                Activation {
                    row,
                    subject: Some(self.inner.keys.subject(&citizen.document)),
                    document: Some(citizen.document),
                    token_hash: Some(token_hash),
                },
            );
            self.submit(batch, true)
        };
        Self::committed(rx).await?;
        Ok(answer)
    }

    /// The device scanned the counter's activation QR.
    pub async fn activate_with_qr(
        &self,
        call: &SignedCall,
        input: QrActivation,
    ) -> Result<DeviceActivated, ClaveError> {
        let key = self.check_activation_signature(call, &input.public_key)?;
        let payload = QrPayload::parse(&input.payload)?;
        let QrPayload::Activation { token, .. } = payload else {
            return Err(ClaveError::QrMalformed);
        };
        let token_hash = self.inner.keys.keyed(&[b"actqr", &token]);
        let (result, rx) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let Some(id) = st.activation_tokens.remove(&token_hash) else {
                return Err(ClaveError::ActivationUsed);
            };
            let Some(act) = st.activations.get_mut(&id) else {
                return Err(ClaveError::ActivationUsed);
            };
            if act.row.status != "pending" || now >= act.row.expires_at {
                return Err(ClaveError::ActivationUsed);
            }
            act.row.status = "used";
            let (Some(citizen_id), Some(document)) =
                (act.row.citizen_id.clone(), act.document.clone())
            else {
                return Err(ClaveError::ActivationUsed);
            };
            let mut batch = Batch::default();
            let done = self.bind_device(&mut st, &citizen_id, document, key, "qr", now, &mut batch);
            if let Some(act) = st.activations.get_mut(&id) {
                act.row.device_id = Some(done.device_id.clone());
                batch.writes.push(Write::Activation(act.row.clone()));
            }
            (done, self.submit(batch, true))
        };
        Self::committed(rx).await?;
        Ok(result)
    }

    // ------------------------------------------------------------ devices

    /// Authenticates a device call: timestamp window, signature, nonce, active device.
    pub fn authenticate(&self, call: &SignedCall) -> Result<DeviceCtx, ClaveError> {
        let device_id = call
            .headers
            .device_id
            .clone()
            .ok_or(ClaveError::SignatureMissing)?;
        let now = self.now();
        self.check_call_time(call, now)?;
        let (key, status, citizen_id) = {
            let st = lock(&self.inner.state);
            let entry = st
                .devices
                .get(&device_id)
                .ok_or(ClaveError::SignatureInvalid)?;
            (entry.key.clone(), entry.status, entry.citizen_id.clone())
        };
        self.check_call_signature(call, &device_id, &key, &device_id, now)?;
        if status != DeviceStatus::Active {
            return Err(ClaveError::DeviceInactive);
        }
        Ok(DeviceCtx {
            device_id,
            citizen_id,
        })
    }

    fn ensure_active(st: &State, dev: &DeviceCtx) -> Result<(), ClaveError> {
        match st.devices.get(&dev.device_id) {
            Some(d) if d.status == DeviceStatus::Active => Ok(()),
            _ => Err(ClaveError::DeviceInactive),
        }
    }

    /// Pending requests for the device; waits up to `wait` for one to arrive.
    pub async fn pending(
        &self,
        dev: &DeviceCtx,
        wait: Duration,
    ) -> Result<PendingList, ClaveError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut rx = {
                let now = self.now();
                let mut st = lock(&self.inner.state);
                Self::ensure_active(&st, dev)?;
                let mut list = Vec::new();
                if let Some(id) = st.citizen_pending.get(&dev.citizen_id).cloned()
                    && st.visible_to(&id, dev)
                    && let Some(live) = st.requests.get(&id)
                    && live.req.status == RequestStatus::Pending
                    && now < live.req.expires_at
                {
                    list.push(device_view(&live.req, now));
                }
                if !list.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(PendingList { requests: list });
                }
                let tx = st
                    .citizen_watch
                    .entry(dev.citizen_id.clone())
                    .or_insert_with(|| Arc::new(watch::channel(0u64).0))
                    .clone();
                tx.subscribe()
            };
            rx.mark_unchanged();
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                // One last look happens at the top of the loop (deadline passed).
            }
        }
    }

    /// The device scanned a request QR: the frame must be fresh and genuine, and the
    /// token unused. The request is then bound to this device.
    pub async fn scan(&self, dev: &DeviceCtx, payload: &str) -> Result<DeviceRequest, ClaveError> {
        let payload = QrPayload::parse(payload)?;
        let QrPayload::Request {
            token,
            elapsed,
            hmac,
            ..
        } = payload
        else {
            return Err(ClaveError::QrMalformed);
        };
        let policy = self.policy().clone();
        let token_hash = sha256(&token);
        let (result, rx) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            Self::ensure_active(&st, dev)?;
            let document = st.devices.get(&dev.device_id).map(|d| d.document.clone());
            let id = match st.qr_tokens.get(&token_hash) {
                Some(id) => id.clone(),
                None => {
                    // A token we knew and that is used or over, or one we never issued.
                    return Err(ClaveError::QrInvalid);
                }
            };
            let live = st.requests.get_mut(&id).ok_or(ClaveError::QrInvalid)?;
            let Some(qr) = live.req.qr.clone() else {
                return Err(ClaveError::QrInvalid);
            };
            if !crate::util::constant_time_eq(
                &crate::domain::qr::frame_hmac(&qr.secret, elapsed),
                &hmac,
            ) {
                return Err(ClaveError::QrInvalid);
            }
            let mut batch = Batch::default();
            if let Err(e) = live.req.ensure_pending(now) {
                st.touch(&id, now, &mut batch, &self.inner.events, &policy);
                (Err(e), self.submit(batch, true))
            } else {
                if qr.claimed {
                    return Err(ClaveError::QrUsed);
                }
                let current = u64::try_from((now - live.req.created_at).num_seconds()).unwrap_or(0);
                if elapsed > current || current - elapsed > policy.qr_tolerance_secs {
                    return Err(ClaveError::QrStale);
                }
                if let Some(q) = live.req.qr.as_mut() {
                    q.claimed = true;
                }
                live.req.citizen_id = Some(dev.citizen_id.clone());
                live.req.device_id = Some(dev.device_id.clone());
                live.req.document = document;
                let view = device_view(&live.req, now);
                st.qr_tokens.remove(&token_hash);
                st.supersede(
                    &dev.citizen_id,
                    &id,
                    now,
                    &mut batch,
                    &self.inner.events,
                    &policy,
                );
                st.citizen_pending
                    .insert(dev.citizen_id.clone(), id.clone());
                st.touch(&id, now, &mut batch, &self.inner.events, &policy);
                (Ok(view), self.submit(batch, true))
            }
        };
        Self::committed(rx).await?;
        result
    }

    /// One request's details for the device.
    pub fn device_request(&self, dev: &DeviceCtx, id: &str) -> Result<DeviceRequest, ClaveError> {
        let now = self.now();
        let st = lock(&self.inner.state);
        Self::ensure_active(&st, dev)?;
        if !st.visible_to(id, dev) {
            return Err(ClaveError::RequestNotFound);
        }
        let live = st.requests.get(id).ok_or(ClaveError::RequestNotFound)?;
        let mut req = live.req.clone();
        req.expire_if_due(now);
        Ok(device_view(&req, now))
    }

    async fn answer(
        &self,
        dev: &DeviceCtx,
        id: &str,
        apply: impl FnOnce(&mut AuthRequest, DateTime<Utc>) -> Result<(), ClaveError>,
    ) -> Result<DeviceRequest, ClaveError> {
        let policy = self.policy().clone();
        let (result, rx) = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            Self::ensure_active(&st, dev)?;
            if !st.visible_to(id, dev) {
                return Err(ClaveError::RequestNotFound);
            }
            let live = st.requests.get_mut(id).ok_or(ClaveError::RequestNotFound)?;
            let before = live.req.status;
            let result = apply(&mut live.req, now);
            if live.req.status != before && live.req.device_id.is_none() {
                live.req.device_id = Some(dev.device_id.clone());
            }
            let view = device_view(&live.req, now);
            let mut batch = Batch::default();
            if live.req.status != before {
                st.touch(id, now, &mut batch, &self.inner.events, &policy);
            }
            (result.map(|()| view), self.submit(batch, true))
        };
        Self::committed(rx).await?;
        result
    }

    /// Confirm (signed). No-QR: `code` must be the screen's code among the three.
    pub async fn confirm(
        &self,
        dev: &DeviceCtx,
        id: &str,
        code: Option<&str>,
    ) -> Result<DeviceRequest, ClaveError> {
        let chosen = match code {
            None => None,
            Some(c) => {
                Some(
                    VerificationCode::parse(c).ok_or_else(|| ClaveError::InvalidField {
                        detail: "code must be 3 digits".into(),
                    })?,
                )
            }
        };
        self.answer(dev, id, |req, now| req.confirm_on_device(chosen, now))
            .await
    }

    pub async fn reject(&self, dev: &DeviceCtx, id: &str) -> Result<DeviceRequest, ClaveError> {
        self.answer(dev, id, |req, now| {
            req.reject_on_device(Reason::RejectedByCitizen, now)
        })
        .await
    }

    /// "This wasn't me": the device is blocked, a pending request rejected, and the
    /// office gets an alert.
    pub async fn not_me(&self, dev: &DeviceCtx, id: &str) -> Result<NotMeRecorded, ClaveError> {
        if id.len() != 36 {
            return Err(ClaveError::RequestNotFound);
        }
        // The request may have left memory: check it belongs to the citizen.
        let in_memory = lock(&self.inner.state).requests.contains_key(id);
        if !in_memory {
            match persist::request_citizen(self.inner.store.pool(), id).await? {
                Some((Some(c), _)) if c == dev.citizen_id => {}
                _ => return Err(ClaveError::RequestNotFound),
            }
        }
        let policy = self.policy().clone();
        let alert_id = new_id(self.inner.random.as_ref());
        let rx = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            Self::ensure_active(&st, dev)?;
            let mut batch = Batch::default();
            if let Some(live) = st.requests.get_mut(id) {
                if live.req.citizen_id.as_deref() != Some(dev.citizen_id.as_str()) {
                    return Err(ClaveError::RequestNotFound);
                }
                if live.req.reject_on_device(Reason::NotMe, now).is_ok() {
                    if live.req.device_id.is_none() {
                        live.req.device_id = Some(dev.device_id.clone());
                    }
                    st.touch(id, now, &mut batch, &self.inner.events, &policy);
                }
            }
            if let Some(entry) = st.devices.get_mut(&dev.device_id) {
                entry.status = DeviceStatus::Blocked;
                entry.ended_at = Some(now);
                batch.writes.push(Write::Device(entry.row(&dev.device_id)));
            }
            st.active_by_citizen.remove(&dev.citizen_id);
            batch.writes.push(Write::Alert(AlertRow {
                id: alert_id.clone(),
                citizen_id: dev.citizen_id.clone(),
                device_id: dev.device_id.clone(),
                request_id: id.to_owned(),
                created_at: now,
            }));
            batch.writes.push(persist::audit(
                AuditAction::DeviceBlocked,
                &dev.citizen_id,
                json!({ "device": dev.device_id, "request": id, "alert": alert_id, "reason": "not_me" }),
                now,
            ));
            self.submit(batch, true)
        };
        Self::committed(rx).await?;
        tracing::warn!(alert = %alert_id, "citizen reported a request as not theirs; device blocked");
        Ok(NotMeRecorded {
            blocked: true,
            alert_id,
        })
    }

    /// Sign-out: the device is deactivated.
    pub async fn sign_out(&self, dev: &DeviceCtx) -> Result<(), ClaveError> {
        let rx = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            Self::ensure_active(&st, dev)?;
            let mut batch = Batch::default();
            if let Some(entry) = st.devices.get_mut(&dev.device_id) {
                entry.status = DeviceStatus::SignedOut;
                entry.ended_at = Some(now);
                batch.writes.push(Write::Device(entry.row(&dev.device_id)));
            }
            st.active_by_citizen.remove(&dev.citizen_id);
            batch.writes.push(persist::audit(
                AuditAction::DeviceDeactivated,
                &dev.citizen_id,
                json!({ "device": dev.device_id, "reason": "sign_out" }),
                now,
            ));
            self.submit(batch, true)
        };
        Self::committed(rx).await
    }

    /// The clerk deactivates the citizen's active device (device management, phone
    /// change). Returns whether there was one.
    pub async fn deactivate_device(&self, document: &DocumentNumber) -> Result<bool, ClaveError> {
        let Some(citizen) = self
            .inner
            .store
            .clave_movil_citizen_at_counter(document)
            .await?
        else {
            return Ok(false);
        };
        let rx = {
            let now = self.now();
            let mut st = lock(&self.inner.state);
            let Some(device_id) = st.active_by_citizen.remove(&citizen.id) else {
                return Ok(false);
            };
            let mut batch = Batch::default();
            if let Some(entry) = st.devices.get_mut(&device_id) {
                entry.status = DeviceStatus::Deactivated;
                entry.ended_at = Some(now);
                batch.writes.push(Write::Device(entry.row(&device_id)));
            }
            batch.writes.push(persist::audit(
                AuditAction::DeviceDeactivated,
                &citizen.id,
                json!({ "device": device_id, "reason": "counter" }),
                now,
            ));
            self.submit(batch, true)
        };
        Self::committed(rx).await?;
        Ok(true)
    }

    /// "My requests".
    pub async fn history(
        &self,
        dev: &DeviceCtx,
        query: &HistoryQuery,
    ) -> Result<HistoryPage, ClaveError> {
        Self::ensure_active(&lock(&self.inner.state), dev)?;
        persist::history(self.inner.store.pool(), &dev.citizen_id, query, self.now()).await
    }

    /// Unacknowledged "this wasn't me" alerts (newest first).
    pub async fn alerts(&self) -> Result<Vec<Alert>, ClaveError> {
        persist::alerts(self.inner.store.pool()).await
    }

    // ------------------------------------------------------------ housekeeping

    /// Expires requests whose time is up, forgets old final ones and expired
    /// activations. Runs every 200 ms (and on demand in tests).
    pub fn sweep(&self) {
        let policy = self.policy().clone();
        let now = self.now();
        let mut st = lock(&self.inner.state);
        let mut batch = Batch::default();
        let due: Vec<String> = st
            .codes
            .values()
            .filter(|id| {
                st.requests
                    .get(*id)
                    .is_some_and(|l| l.req.expires_at <= now)
            })
            .cloned()
            .collect();
        for id in due {
            if let Some(live) = st.requests.get_mut(&id)
                && live.req.expire_if_due(now)
            {
                st.touch(&id, now, &mut batch, &self.inner.events, &policy);
            }
        }
        let retention = secs(FINAL_RETENTION_SECS);
        while let Some((at, id)) = st.finals.front().cloned() {
            if now - at < retention {
                break;
            }
            st.finals.pop_front();
            if st.requests.get(&id).is_some_and(|l| l.req.is_final()) {
                st.requests.remove(&id);
            }
        }
        let mut gone = Vec::new();
        st.activations.retain(|_, a| {
            let keep = a.row.status == "pending" && now < a.row.expires_at;
            if !keep {
                gone.extend(a.token_hash);
            }
            keep
        });
        for t in gone {
            st.activation_tokens.remove(&t);
        }
        st.citizen_watch.retain(|_, w| w.receiver_count() > 0);
        drop(st);
        self.submit(batch, false);
    }

    /// Forgets limiter entries, nonces and SMS-cap entries that no longer matter.
    pub fn purge(&self) {
        let now = self.now();
        lock(&self.inner.limiter).purge(now);
        lock(&self.inner.nonces).purge(now.timestamp_millis());
        let hour = secs(3600);
        lock(&self.inner.sms_cap).retain(|_, v| {
            while v.front().is_some_and(|t| now - *t >= hour) {
                v.pop_front();
            }
            !v.is_empty()
        });
    }

    /// Counts for monitoring (no personal data).
    pub fn stats(&self) -> EngineStats {
        let st = lock(&self.inner.state);
        EngineStats {
            pending_requests: st.codes.len(),
            requests_in_memory: st.requests.len(),
            active_devices: st.active_by_citizen.len(),
            nonces: lock(&self.inner.nonces).len(),
        }
    }
}

/// Counts for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    pub pending_requests: usize,
    pub requests_in_memory: usize,
    pub active_devices: usize,
    pub nonces: usize,
}
