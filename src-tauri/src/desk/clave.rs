//! Cl@ve Móvil at the counter. The clerk starts a request for the citizen in
//! front of the counter; the counter screen shows its rotating QR or, when the
//! citizen chooses "without QR", asks for their DNI/NIE and contrast datum,
//! sends a no-QR request to their phone (the app offers three codes, the
//! citizen picks the one on the screen) and, 60 s later, offers a PIN by SMS.
//!
//! The engine's events bring every change at once
//! ([`Desk::forward_clave_events`]); the tick redraws the QR every second and,
//! should an event have been missed, asks the engine — or, once it has
//! forgotten the request, its database — how the request ended.

use chrono::{DateTime, NaiveDate, Utc};
use tracing::{info, warn};

use clave_movil::ClaveError;
use clave_movil::api::RequestView;
use clave_movil::domain::{CompletedBy, RequestStatus};
use registry::{
    AltaField, AuditAction, ContrastData, ContrastInput, DocumentKind, DocumentNumber, FieldError,
    NieSupportNumber, Secret, parse_date,
};
use store::NewAuditEntry;

use super::{Desk, DeskState, secs};
use crate::errors::DeskError;
use crate::ipc::{ClaveIdentityDto, ClaveOutcomeDto, ClaveStatusDto, ClerkEvent, CounterView};

/// The embedded Cl@ve Móvil endpoint, as the desk uses it.
#[derive(Clone)]
pub struct ClaveLink {
    pub engine: clave_movil::Engine,
    /// The requesting body shown for the clerk's own requests.
    pub body: String,
}

/// The Cl@ve Móvil request the clerk started for the citizen at the counter.
pub(super) struct ClaveRequest {
    id: String,
    code: String,
    body: String,
    expires_at: DateTime<Utc>,
    stage: Stage,
    /// What both windows were last told: the counter gets a new view (the QR
    /// gets one every second anyway) and the clerk an event when it changes.
    shown: Option<Shown>,
}

enum Stage {
    /// The QR is on the counter; `scanned` once the app took it (the citizen
    /// then confirms in the app).
    Qr { scanned: bool },
    /// The citizen chose "without QR" and types their data; the QR request
    /// waits behind the form (its timer is the form's).
    Identifying,
    /// A no-QR request, sent to the phone of whoever the data belongs to.
    NoQr(NoQrStep),
}

struct NoQrStep {
    /// What the citizen typed: masked on both screens; unmasked only for a
    /// supervisor who asks, audited.
    document: DocumentNumber,
    /// The contrast datum as the engine takes it, kept for a one-tap renewal.
    contrast: Secret,
    sms_at: DateTime<Utc>,
    pin: Option<PinStep>,
}

/// The PIN went by SMS.
struct PinStep {
    tries_left: u32,
    /// The last PIN typed was wrong.
    wrong: bool,
    resend_at: DateTime<Utc>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Shown {
    status: ClaveStatusDto,
    sms_open: bool,
    tries_left: Option<u32>,
    wrong_pin: bool,
}

fn by_sms(view: &RequestView) -> bool {
    view.completed_by == Some(CompletedBy::Sms)
}

/// Checks what the citizen typed with the registry's own rules (the same
/// messages as the alta form) and returns the document and the contrast datum
/// as the engine takes it. A DNI's contrast is its expiry date (the issue date
/// for a permanent DNI); a NIE's, its support number.
fn parse_identity(
    form: &ClaveIdentityDto,
    today: NaiveDate,
) -> Result<(DocumentNumber, Secret), DeskError> {
    let mut errors = Vec::new();
    let document = DocumentNumber::parse(&form.document)
        .map_err(|e| errors.push(FieldError::new(AltaField::Document, &e)))
        .ok();
    let kind = document
        .as_ref()
        .map_or_else(|| DocumentKind::guess(&form.document), DocumentNumber::kind);
    let mut date = |field: AltaField, raw: &str| -> Option<NaiveDate> {
        if raw.trim().is_empty() {
            return None;
        }
        parse_date(raw)
            .map_err(|e| errors.push(FieldError::new(field, &e)))
            .ok()
    };
    let mut input = ContrastInput::default();
    match kind {
        DocumentKind::Dni if form.permanent => {
            input.permanent = true;
            input.issue = date(AltaField::IssueDate, &form.issue_date);
        }
        DocumentKind::Dni => input.expiry = date(AltaField::ExpiryDate, &form.expiry_date),
        DocumentKind::Nie if form.support_number.trim().is_empty() => {}
        DocumentKind::Nie => {
            input.nie_support = NieSupportNumber::parse(&form.support_number)
                .map_err(|e| errors.push(FieldError::new(AltaField::SupportNumber, &e)))
                .ok();
        }
    }
    let contrast = registry::validate_contrast(kind, &input, today, &mut errors);
    match (document, contrast) {
        (Some(document), Some(contrast)) if errors.is_empty() => {
            let typed = match &contrast {
                ContrastData::DniExpiry(d) | ContrastData::PermanentDniIssue(d) => {
                    d.format("%Y-%m-%d").to_string()
                }
                ContrastData::NieSupport(s) => s.unmasked().to_owned(),
            };
            Ok((document, Secret::new(typed)))
        }
        _ => Err(DeskError::Invalid(errors)),
    }
}

impl Desk {
    fn clave_link(&self) -> Result<&super::ClaveLink, DeskError> {
        self.clave.as_ref().ok_or(DeskError::ClaveDisabled)
    }

    /// The clerk starts a Cl@ve Móvil request for the citizen at the counter:
    /// the counter screen shows the body, the rotating QR and the code.
    pub async fn clave_start(&self) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        Self::active_session(&mut state, now, &self.settings)?;
        if state.alta.is_some() || state.clave.is_some() || state.pin.is_some() {
            return Err(DeskError::AltaBusy);
        }
        // The lock is held across the creation so that the request's events
        // find it in the state.
        let view = link
            .engine
            .create_counter_request(self.settings.counter, &link.body)
            .await?;
        info!(
            counter = view.counter,
            "Cl@ve Móvil counter request started"
        );
        state.clave = Some(ClaveRequest::new(view, Stage::Qr { scanned: false }));
        self.refresh_clave(&mut state, now, None).await;
        Ok(())
    }

    /// The clerk withdraws the request, whatever its step.
    pub async fn clave_cancel(&self) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        Self::active_session(&mut state, now, &self.settings)?;
        let request = state.clave.as_ref().ok_or(DeskError::NoClaveRequest)?;
        match link.engine.cancel_counter_request(&request.id).await {
            Ok(view) => self.clave_ended(&mut state, view.status, false, now),
            // It ended meanwhile: say how.
            Err(ClaveError::NotPending { .. }) => self.clave_stored_end(&mut state, now).await,
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// The citizen asks for a new request (WCAG 2.2.1): a new code and the
    /// full time. With a QR (or while typing their data), a new QR request;
    /// without QR, a new no-QR request with the data already typed. Nothing
    /// changes when the new one cannot be made.
    pub async fn counter_clave_renew(&self) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let mut state = self.state.lock().await;
        let request = state.clave.as_ref().ok_or(DeskError::NoClaveRequest)?;
        let old = request.id.clone();
        let created = match &request.stage {
            Stage::Qr { .. } | Stage::Identifying => {
                link.engine
                    .create_counter_request(self.settings.counter, &link.body)
                    .await
            }
            Stage::NoQr(step) => {
                link.engine
                    .create_counter_no_qr(
                        self.settings.counter,
                        &link.body,
                        &step.document.unmasked(),
                        step.contrast.expose(),
                    )
                    .await
            }
        };
        let view = created?;
        let stage = match state.clave.take().map(|r| r.stage) {
            Some(Stage::NoQr(step)) => Stage::NoQr(NoQrStep {
                sms_at: sms_at(&view),
                pin: None,
                ..step
            }),
            Some(Stage::Identifying) => Stage::Identifying,
            _ => Stage::Qr { scanned: false },
        };
        state.clave = Some(ClaveRequest::new(view, stage));
        cancel_replaced(link, &old).await;
        info!("Cl@ve Móvil counter request renewed");
        let now = self.clock.now();
        self.refresh_clave(&mut state, now, None).await;
        Ok(())
    }

    /// The citizen chooses "without QR": the counter asks for their data.
    pub async fn counter_clave_without_qr(&self) -> Result<(), DeskError> {
        self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let request = state.clave.as_mut().ok_or(DeskError::NoClaveRequest)?;
        // Once the app has scanned the QR, the citizen confirms there.
        if !matches!(request.stage, Stage::Qr { scanned: false }) {
            return Err(DeskError::ClaveWrongStep);
        }
        request.stage = Stage::Identifying;
        self.refresh_clave(&mut state, now, None).await;
        Ok(())
    }

    /// The citizen goes back from the form to the QR.
    pub async fn counter_clave_with_qr(&self) -> Result<(), DeskError> {
        self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let request = state.clave.as_mut().ok_or(DeskError::NoClaveRequest)?;
        if !matches!(request.stage, Stage::Identifying) {
            return Err(DeskError::ClaveWrongStep);
        }
        request.stage = Stage::Qr { scanned: false };
        self.refresh_clave(&mut state, now, None).await;
        Ok(())
    }

    /// The citizen typed their DNI/NIE and contrast datum: a no-QR request goes
    /// to their phone and replaces the QR request. The answer is the same
    /// whether or not the data matches a registered citizen with an active
    /// device. Malformed data is refused field by field and changes nothing.
    pub async fn counter_clave_identify(&self, form: ClaveIdentityDto) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let request = state.clave.as_ref().ok_or(DeskError::NoClaveRequest)?;
        if !matches!(request.stage, Stage::Identifying) {
            return Err(DeskError::ClaveWrongStep);
        }
        let (document, contrast) = parse_identity(&form, now.date_naive())?;
        let view = link
            .engine
            .create_counter_no_qr(
                self.settings.counter,
                &link.body,
                &document.unmasked(),
                contrast.expose(),
            )
            .await?;
        cancel_replaced(link, &request.id).await;
        info!(
            counter = view.counter,
            "Cl@ve Móvil counter request sent without QR"
        );
        let stage = Stage::NoQr(NoQrStep {
            document,
            contrast,
            sms_at: sms_at(&view),
            pin: None,
        });
        state.clave = Some(ClaveRequest::new(view, stage));
        // The request's times start now, not when the citizen pressed "Continuar".
        let now = self.clock.now();
        self.refresh_clave(&mut state, now, None).await;
        Ok(())
    }

    /// "¿No recibe la petición?": the PIN goes by SMS to the phone registered
    /// for the data typed (60 s after the request was shown; again after the
    /// resend gap, replacing the previous PIN).
    pub async fn counter_clave_request_sms(&self) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let request = state.clave.as_ref().ok_or(DeskError::NoClaveRequest)?;
        if !matches!(request.stage, Stage::NoQr(_)) {
            return Err(DeskError::ClaveWrongStep);
        }
        let id = request.id.clone();
        match link.engine.counter_request_sms(&id).await {
            Ok(sent) => {
                if let Some(ClaveRequest {
                    stage: Stage::NoQr(step),
                    ..
                }) = state.clave.as_mut()
                {
                    step.pin = Some(PinStep {
                        tries_left: sent.tries_left,
                        wrong: false,
                        resend_at: now
                            + chrono::Duration::seconds(
                                i64::try_from(sent.resend_after).unwrap_or(60),
                            ),
                    });
                }
                info!("Cl@ve Móvil PIN by SMS asked for at the counter");
                self.refresh_clave(&mut state, now, None).await;
                Ok(())
            }
            Err(ClaveError::NotPending { .. } | ClaveError::PinTriesExhausted) => {
                self.clave_stored_end(&mut state, now).await;
                Err(DeskError::NoClaveRequest)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The citizen typed the SMS PIN. Right: the request is confirmed "by
    /// SMS". Wrong: the counter says so with the tries left; the third wrong
    /// one rejects the request. A PIN that is not 6 digits costs no try.
    pub async fn counter_clave_submit_pin(&self, pin: Secret) -> Result<(), DeskError> {
        let link = self.clave_link()?;
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let request = state.clave.as_ref().ok_or(DeskError::NoClaveRequest)?;
        let Stage::NoQr(step) = &request.stage else {
            return Err(DeskError::ClaveWrongStep);
        };
        if step.pin.is_none() {
            return Err(DeskError::ClaveNoPin);
        }
        let typed = pin.expose();
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DeskError::ClavePinFormat);
        }
        let id = request.id.clone();
        match link.engine.counter_verify_pin(&id, typed).await {
            Ok(view) => self.refresh_clave(&mut state, now, Some(&view)).await,
            Err(ClaveError::WrongPin { tries_left }) => {
                if let Some(ClaveRequest {
                    stage:
                        Stage::NoQr(NoQrStep {
                            pin: Some(step), ..
                        }),
                    ..
                }) = state.clave.as_mut()
                {
                    step.tries_left = tries_left;
                    step.wrong = true;
                }
                self.refresh_clave(&mut state, now, None).await;
            }
            // The last wrong PIN rejected it, or it ended meanwhile.
            Err(ClaveError::PinTriesExhausted | ClaveError::NotPending { .. }) => {
                self.clave_stored_end(&mut state, now).await;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// The document the citizen typed, unmasked, for a supervisor or admin
    /// (the clerk's console shows it masked). Every call is audited.
    pub async fn clave_show_document(&self) -> Result<String, DeskError> {
        self.clave_link()?;
        let now = self.clock.now();
        let (actor, request_id, document) = {
            let mut state = self.state.lock().await;
            let clerk = Self::active_session(&mut state, now, &self.settings)?;
            if !clerk.role.can(registry::Permission::ShowTypedDocument) {
                return Err(DeskError::Forbidden);
            }
            let actor = clerk.username.as_str().to_owned();
            let Some(ClaveRequest {
                id,
                stage: Stage::NoQr(step),
                ..
            }) = state.clave.as_ref()
            else {
                return Err(DeskError::NoClaveRequest);
            };
            (actor, id.clone(), step.document.clone())
        };
        let citizen_id = self
            .store
            .citizen_by_document(&document)
            .await?
            .map(|c| c.id);
        self.store
            .record(
                &self.audit_ctx(&actor, now),
                NewAuditEntry {
                    action: AuditAction::CitizenDataShown,
                    citizen_id,
                    detail: serde_json::json!({
                        "data": "clave_movil_document",
                        "request": request_id,
                    }),
                },
            )
            .await?;
        info!("document typed at the counter shown unmasked (audited)");
        Ok(document.unmasked())
    }

    /// Redraws both windows for the request in progress: the QR frame of
    /// this second, the step the citizen is at, the time left. Ends it when
    /// `update` (an engine event) or the engine says it is over.
    pub(super) async fn refresh_clave(
        &self,
        state: &mut DeskState,
        now: DateTime<Utc>,
        update: Option<&RequestView>,
    ) {
        let Some(link) = self.clave.as_ref() else {
            return;
        };
        let Some(request) = state.clave.as_ref() else {
            return;
        };
        if let Some(view) = update.filter(|v| v.status.is_final()) {
            self.clave_ended(state, view.status, by_sms(view), now);
            return;
        }
        if now >= request.expires_at {
            // The engine's housekeeping expires it within 200 ms; do it now.
            link.engine.sweep();
            self.clave_ended(state, RequestStatus::Expired, false, now);
            return;
        }
        let mut qr_svg = None;
        if let Stage::Qr { scanned } = request.stage {
            let scanned = match link.engine.qr_frame(&request.id) {
                Ok(frame) => match clave_movil::domain::qr::render_svg(&frame.payload) {
                    Ok(svg) => {
                        qr_svg = Some(svg);
                        false
                    }
                    Err(e) => {
                        warn!(code = e.code(), "cannot draw the Cl@ve Móvil QR");
                        scanned
                    }
                },
                Err(ClaveError::QrUsed) => true,
                // Over, or already forgotten by the engine: how did it end?
                Err(_) => {
                    self.clave_stored_end(state, now).await;
                    return;
                }
            };
            if let Some(ClaveRequest {
                stage: Stage::Qr { scanned: s },
                ..
            }) = state.clave.as_mut()
            {
                *s = scanned;
            }
        } else if update.is_none() && self.clave_check_end(state, now).await {
            // No frame to draw: it had ended unseen (a missed event).
            return;
        }
        let Some(request) = state.clave.as_ref() else {
            return;
        };
        let (view, shown) = self.clave_counter_view(request, now, qr_svg);
        let changed = request.shown != Some(shown);
        let is_qr = matches!(request.stage, Stage::Qr { .. });
        let event = changed.then(|| self.clave_clerk_event(request, now));
        if changed || is_qr {
            state.show_counter(view, now);
        }
        if let Some(event) = event {
            if let Some(r) = state.clave.as_mut() {
                r.shown = Some(shown);
            }
            state.tell_clerk(event);
        }
    }

    /// The request left the desk's sight (the QR can no longer be drawn, the
    /// PIN check says it is over): the engine says how it ended.
    async fn clave_stored_end(&self, state: &mut DeskState, now: DateTime<Utc>) {
        if !self.clave_check_end(state, now).await {
            warn!("Cl@ve Móvil request still pending but not drawable");
        }
    }

    /// Asks the engine — or its database, once the engine has forgotten the
    /// request — whether the request in progress is over, and if so shows how
    /// it ended. `false` while it is still pending.
    async fn clave_check_end(&self, state: &mut DeskState, now: DateTime<Utc>) -> bool {
        let (Some(link), Some(request)) = (self.clave.as_ref(), state.clave.as_ref()) else {
            return false;
        };
        match link.engine.counter_request(&request.id).await {
            Ok(view) if view.status.is_final() => {
                self.clave_ended(state, view.status, by_sms(&view), now);
            }
            Ok(view) if now >= view.expires_at => {
                link.engine.sweep();
                self.clave_ended(state, RequestStatus::Expired, false, now);
            }
            Ok(_) => return false,
            Err(e) => {
                warn!(code = e.code(), "Cl@ve Móvil request lost");
                self.clave_ended(state, RequestStatus::Cancelled, false, now);
            }
        }
        true
    }

    fn clave_counter_view(
        &self,
        request: &ClaveRequest,
        now: DateTime<Utc>,
        qr_svg: Option<String>,
    ) -> (CounterView, Shown) {
        let expires_in_secs = secs(request.expires_at - now);
        let body = request.body.clone();
        let code = request.code.clone();
        let counter = self.settings.counter;
        let mut shown = Shown {
            status: ClaveStatusDto::Pending,
            sms_open: false,
            tries_left: None,
            wrong_pin: false,
        };
        let view = match &request.stage {
            Stage::Qr { scanned } => {
                if *scanned {
                    shown.status = ClaveStatusDto::Scanned;
                }
                CounterView::ClaveQr {
                    body,
                    code,
                    counter,
                    qr_svg,
                    expires_in_secs,
                }
            }
            Stage::Identifying => {
                shown.status = ClaveStatusDto::Identifying;
                CounterView::ClaveIdentify {
                    body,
                    counter,
                    expires_in_secs,
                }
            }
            Stage::NoQr(step) => {
                let document = step.document.masked();
                match &step.pin {
                    None => {
                        let sms_in_secs = secs_up(step.sms_at - now);
                        shown.status = ClaveStatusDto::Waiting;
                        shown.sms_open = sms_in_secs == 0;
                        CounterView::ClaveNoQr {
                            body,
                            code,
                            counter,
                            document,
                            expires_in_secs,
                            sms_in_secs,
                        }
                    }
                    Some(pin) => {
                        shown.status = ClaveStatusDto::SmsSent;
                        shown.sms_open = true;
                        shown.tries_left = Some(pin.tries_left);
                        shown.wrong_pin = pin.wrong;
                        CounterView::ClaveSmsPin {
                            body,
                            code,
                            counter,
                            document,
                            expires_in_secs,
                            tries_left: pin.tries_left,
                            error_code: pin.wrong.then(|| {
                                DeskError::ClaveWrongPin {
                                    tries_left: pin.tries_left,
                                }
                                .code()
                                .to_owned()
                            }),
                            resend_in_secs: secs_up(pin.resend_at - now),
                        }
                    }
                }
            }
        };
        (view, shown)
    }

    /// The clerk's picture of the request in progress (document masked).
    pub(super) fn clave_clerk_event(
        &self,
        request: &ClaveRequest,
        now: DateTime<Utc>,
    ) -> ClerkEvent {
        let (view, shown) = self.clave_counter_view(request, now, None);
        let (document, sms_in_secs) = match (&request.stage, view) {
            (Stage::NoQr(step), CounterView::ClaveNoQr { sms_in_secs, .. }) => {
                (Some(step.document.masked()), Some(sms_in_secs))
            }
            (Stage::NoQr(step), _) => (Some(step.document.masked()), Some(0)),
            _ => (None, None),
        };
        ClerkEvent::Clave {
            status: shown.status,
            // While the citizen types, the code shown will be the new request's.
            code: if shown.status == ClaveStatusDto::Identifying {
                String::new()
            } else {
                request.code.clone()
            },
            expires_in_secs: secs(request.expires_at - now),
            no_qr: matches!(request.stage, Stage::NoQr(_)),
            document,
            sms_in_secs,
            tries_left: shown.tries_left,
            by_sms: false,
        }
    }

    /// The request is over: the outcome on both screens.
    pub(super) fn clave_ended(
        &self,
        state: &mut DeskState,
        status: RequestStatus,
        by_sms: bool,
        now: DateTime<Utc>,
    ) {
        let Some(request) = state.clave.take() else {
            return;
        };
        let (outcome, clerk_status) = match status {
            RequestStatus::Confirmed => (ClaveOutcomeDto::Confirmed, ClaveStatusDto::Confirmed),
            RequestStatus::Rejected => (ClaveOutcomeDto::Rejected, ClaveStatusDto::Rejected),
            RequestStatus::Expired => (ClaveOutcomeDto::Expired, ClaveStatusDto::Expired),
            RequestStatus::Cancelled | RequestStatus::Pending => {
                (ClaveOutcomeDto::Cancelled, ClaveStatusDto::Cancelled)
            }
        };
        info!(outcome = ?outcome, by_sms, "Cl@ve Móvil counter request ended");
        state.show_counter(CounterView::ClaveDone { outcome, by_sms }, now);
        let no_qr = matches!(request.stage, Stage::NoQr(_));
        let document = match &request.stage {
            Stage::NoQr(step) => Some(step.document.masked()),
            _ => None,
        };
        state.tell_clerk(ClerkEvent::Clave {
            status: clerk_status,
            code: request.code,
            expires_in_secs: 0,
            no_qr,
            document,
            sms_in_secs: None,
            tries_left: None,
            by_sms,
        });
    }

    /// One event of the engine: the request in progress changed.
    async fn clave_event(&self, view: RequestView) {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        if state.clave.as_ref().is_some_and(|r| r.id == view.id) {
            self.refresh_clave(&mut state, now, Some(&view)).await;
        }
    }

    /// Events were lost: look at the request in progress now rather than at
    /// the next tick.
    async fn clave_catch_up(&self) {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        self.refresh_clave(&mut state, now, None).await;
    }

    /// Forwards the engine's events into the desk, so that the outcome
    /// reaches both windows as soon as it is committed (not at the next
    /// tick). Runs until the engine stops.
    pub fn forward_clave_events(
        desk: &std::sync::Arc<Desk>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let mut events = desk.clave.as_ref()?.engine.subscribe();
        let desk = std::sync::Arc::downgrade(desk);
        Some(tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(view) => {
                        let Some(desk) = desk.upgrade() else { break };
                        desk.clave_event(view).await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        warn!(missed = n, "Cl@ve Móvil events lagged");
                        let Some(desk) = desk.upgrade() else { break };
                        desk.clave_catch_up().await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        }))
    }
}

/// Whole seconds, rounded up: a link shown at 0 is one the engine accepts.
fn secs_up(d: chrono::Duration) -> u32 {
    let ms = d.num_milliseconds().max(0);
    u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX)
}

/// The request a new one replaces is over: cancelled, unless it already ended (a new
/// no-QR request for the same citizen supersedes the previous one by itself).
async fn cancel_replaced(link: &ClaveLink, id: &str) {
    match link.engine.cancel_counter_request(id).await {
        Ok(_) | Err(ClaveError::NotPending { .. } | ClaveError::RequestNotFound) => {}
        Err(e) => warn!(
            code = e.code(),
            "replaced Cl@ve Móvil request not cancelled"
        ),
    }
}

fn sms_at(view: &RequestView) -> DateTime<Utc> {
    view.sms_available_at
        .unwrap_or(view.created_at + chrono::Duration::seconds(60))
}

impl ClaveRequest {
    fn new(view: RequestView, stage: Stage) -> ClaveRequest {
        ClaveRequest {
            id: view.id,
            code: view.code,
            body: view.body,
            expires_at: view.expires_at,
            stage,
            shown: None,
        }
    }

    /// The engine's id (logging out cancels it).
    pub(super) fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests;
