//! The counter desk: one clerk session, the operation in progress, and what
//! each window is shown. It knows nothing of Tauri: windows are [`Sink`]s (the
//! shell plugs in the `Channel` each window opened), time comes from the
//! injected [`Clock`], and [`Desk::tick`] drives the idle timeouts, so every
//! rule here is tested without a window and without sleeping.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;
use tracing::{info, warn};

use registry::alta::{Alta, AltaData, AltaForm};
use registry::{
    AuditAction, Clock, ContrastKind, DocumentKind, Level, LockoutPolicy, PasswordHash, Random,
    Role, Secret, Username,
};
use store::{AuditContext, ClerkRecord, IdentityMethod, NewAuditEntry, Store};

mod clave;

pub use clave::ClaveLink;
use clave::ClaveRequest;

use crate::errors::DeskError;
use crate::ipc::{
    AltaFormDto, AuditProblemDto, AuditReportDto, CardIdentityDto, ClerkEvent, ClerkSessionDto,
    ContrastKindDto, CounterView, DocumentKindDto, LevelDto, MaskedCitizenDto, MaskedIdentityDto,
    ReadersDto, RoleDto,
};

/// Somewhere to push a window's updates: the channel the window opened.
/// Returns false once the window is gone.
pub trait Sink<T>: Send + Sync {
    fn send(&self, message: T) -> bool;
}

/// Who the DNIe in the selected reader says the citizen is.
#[derive(Clone)]
pub struct CardIdentity {
    pub reader: String,
    pub document: registry::DocumentNumber,
    /// For the clerk (unmasked).
    pub dto: CardIdentityDto,
    /// For the counter screen.
    pub masked: MaskedIdentityDto,
}

/// Why the PIN step failed: a stable code, and tries left after a wrong PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFailure {
    pub code: &'static str,
    pub tries_left: Option<u8>,
}

/// The card operations the desk needs. Blocking: the desk runs them off the
/// async threads.
pub trait CardOps: Send + Sync {
    /// Opens the secure channel, verifies the PIN (once: never retried) and
    /// has the card sign a fresh challenge, verified against its
    /// authentication certificate. Returns who the card proved to be (a DNIe
    /// 2.0 only tells it here, behind its PIN).
    fn prove_possession(&self, reader: &str, pin: &Secret) -> Result<CardIdentity, CardFailure>;
}

/// The PIN step waiting for, or running with, the citizen.
struct PinRequest {
    reader: String,
    /// Who the card said it was; `None` for a DNIe 2.0, which tells only
    /// after its PIN.
    card: Option<CardIdentity>,
    running: bool,
}

/// The desk's fixed settings, from the configuration.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    pub office_code: String,
    pub counter: u16,
    pub clerk_idle_lock: Duration,
    /// How long the citizen has to answer on the counter screen.
    pub counter_timeout: Duration,
    /// How long the "thank you" screen stays before the welcome screen.
    pub done_screen: Duration,
    pub lockout: LockoutPolicy,
}

struct Session {
    clerk: ClerkRecord,
    last_activity: DateTime<Utc>,
    locked: bool,
}

/// The alta the clerk started, with the form exactly as typed.
struct PendingAlta {
    machine: Alta,
    form: AltaFormDto,
    shown_at: DateTime<Utc>,
    identity: IdentityMethod,
}

struct DeskState {
    session: Option<Session>,
    alta: Option<PendingAlta>,
    counter_view: CounterView,
    counter_view_since: DateTime<Utc>,
    counter_sink: Option<Arc<dyn Sink<CounterView>>>,
    clerk_sink: Option<Arc<dyn Sink<ClerkEvent>>>,
    readers: ReadersDto,
    /// The DNIe in the selected reader, when one is ready.
    card: Option<CardIdentity>,
    /// The selected reader holds a DNIe 2.0, whose identity needs the PIN.
    pin_only_reader: Option<String>,
    /// The last document a DNIe gave in this session (kept after removal, so
    /// a form filled from the card stays "from the card").
    last_card_document: Option<registry::DocumentNumber>,
    /// The document whose holder proved it with the DNIe and its PIN.
    proven: Option<registry::DocumentNumber>,
    pin: Option<PinRequest>,
    clave: Option<ClaveRequest>,
}

pub struct Desk {
    store: Store,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    settings: DeskSettings,
    card_ops: Option<Arc<dyn CardOps>>,
    clave: Option<ClaveLink>,
    state: Mutex<DeskState>,
}

impl DeskState {
    fn show_counter(&mut self, view: CounterView, now: DateTime<Utc>) {
        self.counter_view = view.clone();
        self.counter_view_since = now;
        if let Some(sink) = &self.counter_sink
            && !sink.send(view)
        {
            self.counter_sink = None;
        }
    }

    fn tell_clerk(&mut self, event: ClerkEvent) {
        if let Some(sink) = &self.clerk_sink
            && !sink.send(event)
        {
            self.clerk_sink = None;
        }
    }
}

fn level_dto(level: Level) -> LevelDto {
    match level {
        Level::Basico => LevelDto::Basico,
        Level::Avanzado => LevelDto::Avanzado,
    }
}

pub fn role_dto(role: Role) -> RoleDto {
    match role {
        Role::Clerk => RoleDto::Clerk,
        Role::Supervisor => RoleDto::Supervisor,
        Role::Admin => RoleDto::Admin,
    }
}

fn session_dto(clerk: &ClerkRecord, locked: bool) -> ClerkSessionDto {
    ClerkSessionDto {
        username: clerk.username.as_str().to_owned(),
        display_name: clerk.display_name.clone(),
        role: role_dto(clerk.role),
        may_verify_audit: clerk.role.can(registry::Permission::VerifyAudit),
        may_show_typed_document: clerk.role.can(registry::Permission::ShowTypedDocument),
        demo: clerk.is_demo,
        locked,
    }
}

/// The counter-screen view of validated data, masked by the domain.
pub fn masked_citizen(data: &AltaData) -> MaskedCitizenDto {
    let view = data.masked_view();
    let name = [
        Some(view.given_name.as_str()),
        Some(view.first_surname.as_str()),
        view.second_surname.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    MaskedCitizenDto {
        document_kind: match view.document_kind {
            DocumentKind::Dni => DocumentKindDto::Dni,
            DocumentKind::Nie => DocumentKindDto::Nie,
        },
        document: view.document,
        name,
        contrast_kind: match view.contrast.kind {
            ContrastKind::DniExpiry => ContrastKindDto::DniExpiry,
            ContrastKind::PermanentDniIssue => ContrastKindDto::PermanentDniIssue,
            ContrastKind::NieSupport => ContrastKindDto::NieSupport,
        },
        contrast: view.contrast.value,
        phone: view.phone,
        email: view.email,
        level: level_dto(view.level),
    }
}

fn form_from_dto(dto: &AltaFormDto) -> AltaForm {
    AltaForm {
        document: dto.document.clone(),
        expiry_date: dto.expiry_date.clone(),
        permanent: dto.permanent,
        issue_date: dto.issue_date.clone(),
        support_number: dto.support_number.clone(),
        given_name: dto.given_name.clone(),
        first_surname: dto.first_surname.clone(),
        second_surname: dto.second_surname.clone(),
        phone: dto.phone.clone(),
        email: dto.email.clone(),
    }
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.num_seconds().max(0)).unwrap_or(u32::MAX)
}

impl Desk {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        settings: DeskSettings,
    ) -> Desk {
        let now = clock.now();
        Desk {
            store,
            clock,
            random,
            settings,
            card_ops: None,
            clave: None,
            state: Mutex::new(DeskState {
                session: None,
                alta: None,
                counter_view: CounterView::Welcome,
                counter_view_since: now,
                counter_sink: None,
                clerk_sink: None,
                readers: ReadersDto {
                    service: false,
                    pin_only: false,
                    readers: Vec::new(),
                },
                card: None,
                pin_only_reader: None,
                last_card_document: None,
                proven: None,
                pin: None,
                clave: None,
            }),
        }
    }

    /// The embedded Cl@ve Móvil endpoint (see [`Desk::forward_clave_events`]).
    pub fn with_clave(mut self, link: ClaveLink) -> Desk {
        self.clave = Some(link);
        self
    }

    /// Where the PIN step runs (the PC/SC card reader in the app).
    pub fn with_card_ops(mut self, ops: Arc<dyn CardOps>) -> Desk {
        self.card_ops = Some(ops);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn audit_ctx(&self, actor: &str, at: DateTime<Utc>) -> AuditContext {
        AuditContext {
            office_code: self.settings.office_code.clone(),
            counter_number: self.settings.counter,
            actor: actor.to_owned(),
            at,
        }
    }

    // ---- windows -------------------------------------------------------

    /// The counter window opened its channel: it gets the current view at once.
    pub async fn subscribe_counter(&self, sink: Arc<dyn Sink<CounterView>>) {
        let mut state = self.state.lock().await;
        let view = state.counter_view.clone();
        if sink.send(view) {
            state.counter_sink = Some(sink);
        }
    }

    /// The clerk window opened its channel: it gets the readers at once.
    pub async fn subscribe_clerk(&self, sink: Arc<dyn Sink<ClerkEvent>>) {
        let mut state = self.state.lock().await;
        let readers = state.readers.clone();
        if sink.send(ClerkEvent::Readers { readers }) {
            // A reloaded console sees the Cl@ve Móvil request in progress.
            let now = self.clock.now();
            if let Some(request) = state.clave.as_ref()
                && !sink.send(self.clave_clerk_event(request, now))
            {
                return;
            }
            state.clerk_sink = Some(sink);
        }
    }

    // ---- card readers ----------------------------------------------------

    /// The readers changed. When nothing else is going on, the counter shows
    /// the citizen who the card says they are (masked), or its welcome again.
    pub async fn readers_changed(
        &self,
        readers: ReadersDto,
        card: Option<CardIdentity>,
        pin_only_reader: Option<String>,
    ) {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        state.readers = readers.clone();
        // A DNIe 2.0 whose PIN already told who it is keeps that identity.
        let known_2_0 = match (&state.card, &pin_only_reader) {
            (Some(known), Some(reader)) if &known.reader == reader => Some(known.clone()),
            _ => None,
        };
        let card = card.or(known_2_0);
        let same_pin_reader = state.pin_only_reader == pin_only_reader;
        state.pin_only_reader = pin_only_reader;
        if let Some(card) = &card {
            state.last_card_document = Some(card.document.clone());
        }
        let same_card = match (&state.card, &card) {
            (Some(a), Some(b)) => a.document == b.document && a.reader == b.reader,
            (None, None) => true,
            _ => false,
        };
        state.card = card.clone();
        state.tell_clerk(ClerkEvent::Readers { readers });
        if !same_card || !same_pin_reader {
            // A PIN asked of another card (or of no card) is over.
            if state.pin.take().is_some() {
                state.tell_clerk(ClerkEvent::PinFailed {
                    code: "PCSC-004".to_owned(),
                    tries_left: None,
                });
            }
        }
        if state.alta.is_none() {
            let idle_view = matches!(
                state.counter_view,
                CounterView::Welcome
                    | CounterView::Identified { .. }
                    | CounterView::EnterPin { .. }
                    | CounterView::PinVerified
                    | CounterView::PinBlocked
            );
            if idle_view && !same_card {
                let view = match card {
                    Some(card) => CounterView::Identified {
                        citizen: card.masked,
                    },
                    None => CounterView::Welcome,
                };
                state.show_counter(view, now);
            }
        }
    }

    pub async fn readers(&self) -> ReadersDto {
        self.state.lock().await.readers.clone()
    }

    /// The clerk asks the citizen for their DNIe PIN on the counter screen.
    pub async fn request_pin(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        Self::active_session(&mut state, now, &self.settings)?;
        if state.alta.is_some()
            || state.clave.is_some()
            || state.pin.as_ref().is_some_and(|p| p.running)
        {
            return Err(DeskError::AltaBusy);
        }
        let (reader, card) = match (&state.card, &state.pin_only_reader) {
            (Some(card), _) => (card.reader.clone(), Some(card.clone())),
            (None, Some(reader)) => (reader.clone(), None),
            (None, None) => return Err(DeskError::NoCard),
        };
        state.show_counter(
            CounterView::EnterPin {
                citizen: card.as_ref().map(|c| c.masked.clone()),
                tries_left: None,
                error_code: None,
            },
            now,
        );
        state.pin = Some(PinRequest {
            reader,
            card,
            running: false,
        });
        state.tell_clerk(ClerkEvent::PinRequested);
        Ok(())
    }

    /// The clerk or the citizen gives up the PIN step.
    async fn end_pin(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        match state.pin.as_ref() {
            None => return Err(DeskError::NoPinRequested),
            Some(p) if p.running => return Err(DeskError::AltaBusy),
            Some(_) => {}
        }
        state.pin = None;
        let view = match &state.card {
            Some(card) => CounterView::Identified {
                citizen: card.masked.clone(),
            },
            None => CounterView::Welcome,
        };
        state.show_counter(view, now);
        state.tell_clerk(ClerkEvent::PinFailed {
            code: "PIN-CANCELLED".to_owned(),
            tries_left: None,
        });
        Ok(())
    }

    pub async fn cancel_pin(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        {
            let mut state = self.state.lock().await;
            Self::active_session(&mut state, now, &self.settings)?;
        }
        self.end_pin().await
    }

    pub async fn counter_cancel_pin(&self) -> Result<(), DeskError> {
        self.end_pin().await
    }

    /// The citizen typed their PIN on the counter screen. It goes to the card
    /// once — a wrong PIN is never retried — and only lives in `pin`.
    pub async fn counter_submit_pin(&self, pin: Secret) -> Result<(), DeskError> {
        let now = self.clock.now();
        let ops = self.card_ops.clone().ok_or(DeskError::NoCard)?;
        let (reader, expected) = {
            let mut state = self.state.lock().await;
            let request = state.pin.as_mut().ok_or(DeskError::NoPinRequested)?;
            if request.running {
                return Err(DeskError::AltaBusy);
            }
            request.running = true;
            let asked = (request.reader.clone(), request.card.clone());
            state.show_counter(CounterView::PinChecking, now);
            asked
        };
        let asked_reader = reader.clone();
        let outcome =
            tokio::task::spawn_blocking(move || ops.prove_possession(&asked_reader, &pin))
                .await
                .unwrap_or(Err(CardFailure {
                    code: "PCSC-009",
                    tries_left: None,
                }));
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        if state.pin.is_none() {
            // The card went away meanwhile; the clerk was told.
            return Ok(());
        }
        let outcome = outcome.and_then(|proven| match &expected {
            Some(card) if card.document != proven.document => Err(CardFailure {
                code: "CARD-MISMATCH",
                tries_left: None,
            }),
            _ => Ok(proven),
        });
        let masked = expected.as_ref().map(|c| c.masked.clone());
        match outcome {
            Ok(proven) => {
                info!("identity proven with DNIe and PIN");
                state.pin = None;
                state.proven = Some(proven.document.clone());
                state.last_card_document = Some(proven.document.clone());
                // A DNIe 2.0 tells who it is only now: the clerk can fill the
                // form (again, after a reload of the clerk window too).
                let behind_pin = state.pin_only_reader.as_deref() == Some(reader.as_str());
                if expected.is_none() {
                    state.card = Some(proven.clone());
                }
                if expected.is_none() || behind_pin {
                    state.tell_clerk(ClerkEvent::CardIdentified {
                        identity: proven.dto.clone(),
                    });
                }
                state.show_counter(CounterView::PinVerified, now);
                state.tell_clerk(ClerkEvent::PinVerified {
                    document: proven.document.unmasked(),
                });
            }
            Err(failure) if failure.code == "PIN-001" || failure.code == "PIN-003" => {
                // Wrong (or malformed) PIN: the citizen may try again, by hand.
                if let Some(request) = state.pin.as_mut() {
                    request.running = false;
                }
                state.show_counter(
                    CounterView::EnterPin {
                        citizen: masked.clone(),
                        tries_left: failure.tries_left,
                        error_code: Some(failure.code.to_owned()),
                    },
                    now,
                );
                state.tell_clerk(ClerkEvent::PinFailed {
                    code: failure.code.to_owned(),
                    tries_left: failure.tries_left,
                });
            }
            Err(failure) => {
                state.pin = None;
                let view = if failure.code == "PIN-002" {
                    CounterView::PinBlocked
                } else {
                    Self::idle_view(&state)
                };
                state.show_counter(view, now);
                state.tell_clerk(ClerkEvent::PinFailed {
                    code: failure.code.to_owned(),
                    tries_left: failure.tries_left,
                });
            }
        }
        Ok(())
    }

    // ---- clerk session -------------------------------------------------

    /// Logs a clerk in. Unknown users and wrong passwords get the same answer
    /// and cost the same time; failures lock the account for escalating delays.
    pub async fn login(
        &self,
        username: &str,
        password: Secret,
    ) -> Result<ClerkSessionDto, DeskError> {
        let now = self.clock.now();
        let clerk = match Username::parse(username) {
            Ok(u) => self.store.clerk_by_username(&u).await?,
            Err(_) => None,
        };
        let Some(clerk) = clerk.filter(|c| !c.disabled) else {
            // Spend the same effort as a real check, so timing does not tell
            // which usernames exist.
            PasswordHash::dummy_verify(&password);
            return Err(DeskError::BadCredentials);
        };
        let clerk = self.check_password(clerk, &password, now).await?;
        let mut state = self.state.lock().await;
        let dto = session_dto(&clerk, false);
        info!(role = clerk.role.as_str(), "clerk logged in");
        state.session = Some(Session {
            clerk,
            last_activity: now,
            locked: false,
        });
        Ok(dto)
    }

    /// Verifies a password with lockout accounting; audited either way.
    async fn check_password(
        &self,
        clerk: ClerkRecord,
        password: &Secret,
        now: DateTime<Utc>,
    ) -> Result<ClerkRecord, DeskError> {
        if let Some(until) = clerk.locked_until.filter(|until| *until > now) {
            return Err(DeskError::LockedOut {
                retry_after_secs: secs(until - now).max(1),
            });
        }
        let ctx = self.audit_ctx(clerk.username.as_str(), now);
        if clerk.password_hash.verify(password) {
            self.store.record_login_success(&clerk.id, &ctx).await?;
            return Ok(ClerkRecord {
                failed_attempts: 0,
                locked_until: None,
                ..clerk
            });
        }
        let failed = clerk.failed_attempts.saturating_add(1);
        let delay = self.settings.lockout.delay_after(failed);
        let locked_until = (!delay.is_zero())
            .then(|| now + Duration::from_std(delay).unwrap_or(Duration::minutes(15)));
        warn!(failed_attempts = failed, "failed clerk login");
        self.store
            .record_login_failure(&clerk.id, failed, locked_until, &ctx)
            .await?;
        match locked_until {
            Some(until) => Err(DeskError::LockedOut {
                retry_after_secs: secs(until - now).max(1),
            }),
            None => Err(DeskError::BadCredentials),
        }
    }

    /// Who is logged in, and whether the console is locked (a reloaded page
    /// shows the lock screen, not the login).
    pub async fn session(&self) -> Option<ClerkSessionDto> {
        let state = self.state.lock().await;
        state
            .session
            .as_ref()
            .map(|s| session_dto(&s.clerk, s.locked))
    }

    /// Unlocks the idle-locked console with the same clerk's password.
    pub async fn unlock(&self, password: Secret) -> Result<ClerkSessionDto, DeskError> {
        let now = self.clock.now();
        let username = {
            let state = self.state.lock().await;
            let session = state.session.as_ref().ok_or(DeskError::NotLoggedIn)?;
            session.clerk.username.clone()
        };
        // Re-read: lockout state may have changed since login.
        let clerk = self
            .store
            .clerk_by_username(&username)
            .await?
            .ok_or(DeskError::NotLoggedIn)?;
        let clerk = self.check_password(clerk, &password, now).await?;
        let mut state = self.state.lock().await;
        let dto = session_dto(&clerk, false);
        state.session = Some(Session {
            clerk,
            last_activity: now,
            locked: false,
        });
        Ok(dto)
    }

    pub async fn logout(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let Some(session) = state.session.take() else {
            return Ok(());
        };
        if state.alta.take().is_some() {
            let view = Self::idle_view(&state);
            state.show_counter(view, now);
        }
        let clave = state.clave.take();
        if clave.is_some() {
            let view = Self::idle_view(&state);
            state.show_counter(view, now);
        }
        drop(state);
        if let (Some(request), Some(link)) = (clave, &self.clave) {
            // Already final is fine: nothing is waiting any more.
            let _ = link.engine.cancel_counter_request(request.id()).await;
        }
        let ctx = self.audit_ctx(session.clerk.username.as_str(), now);
        self.store
            .record(
                &ctx,
                NewAuditEntry {
                    action: AuditAction::ClerkLogout,
                    citizen_id: None,
                    detail: serde_json::json!({}),
                },
            )
            .await?;
        Ok(())
    }

    /// The clerk is active (keyboard or mouse): postpones the idle lock.
    pub async fn activity(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        Self::active_session(&mut state, now, &self.settings).map(|_| ())
    }

    /// The logged-in, unlocked session, refreshed; locks it if it sat idle.
    fn active_session<'a>(
        state: &'a mut DeskState,
        now: DateTime<Utc>,
        settings: &DeskSettings,
    ) -> Result<&'a ClerkRecord, DeskError> {
        let idle_expired = match state.session.as_mut() {
            None => return Err(DeskError::NotLoggedIn),
            Some(s) if s.locked => return Err(DeskError::SessionLocked),
            Some(s) => now - s.last_activity >= settings.clerk_idle_lock,
        };
        if idle_expired {
            if let Some(s) = state.session.as_mut() {
                s.locked = true;
            }
            state.tell_clerk(ClerkEvent::Locked);
            return Err(DeskError::SessionLocked);
        }
        match state.session.as_mut() {
            Some(s) => {
                s.last_activity = now;
                Ok(&s.clerk)
            }
            None => Err(DeskError::NotLoggedIn),
        }
    }

    // ---- the alta ------------------------------------------------------

    /// Validates the clerk's form and, when it is right, shows the citizen
    /// their masked data on the counter screen for confirmation.
    pub async fn submit_alta(&self, dto: AltaFormDto) -> Result<MaskedCitizenDto, DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        Self::active_session(&mut state, now, &self.settings)?;
        if state.alta.is_some() || state.clave.is_some() {
            return Err(DeskError::AltaBusy);
        }
        let mut machine = Alta::with_form(form_from_dto(&dto), now);
        machine.submit(now).map_err(DeskError::from_alta)?;
        let data = machine
            .data()
            .cloned()
            .ok_or(DeskError::Transition("ALT-001"))?;
        // Ask the store before bothering the citizen; the transaction checks
        // again at commit.
        if let Some(existing) = self.store.citizen_by_document(&data.document).await?
            && existing.status == registry::AccountStatus::Active
        {
            // Recorded on the machine too; the form stays with the clerk.
            let _ = machine.refuse_already_registered(now);
            return Err(DeskError::AlreadyRegistered(existing.level));
        }
        // "From the card" must be true: the document is the one a DNIe gave.
        let identity = if dto.from_card {
            if state.last_card_document.as_ref() != Some(&data.document) {
                return Err(DeskError::CardMismatch);
            }
            if state.proven.as_ref() == Some(&data.document) {
                IdentityMethod::DniePin
            } else {
                IdentityMethod::Dnie
            }
        } else {
            IdentityMethod::ManualDocument
        };
        let citizen = masked_citizen(&data);
        let expires_in_secs = secs(self.settings.counter_timeout);
        state.pin = None;
        state.alta = Some(PendingAlta {
            machine,
            form: dto,
            shown_at: now,
            identity,
        });
        state.show_counter(
            CounterView::ConfirmAlta {
                citizen: citizen.clone(),
                expires_in_secs,
            },
            now,
        );
        state.tell_clerk(ClerkEvent::AltaAwaitingCitizen {
            citizen: citizen.clone(),
            expires_in_secs,
        });
        Ok(citizen)
    }

    /// The clerk withdraws the request; the counter clears.
    pub async fn cancel_alta(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let actor = Self::active_session(&mut state, now, &self.settings)?
            .username
            .as_str()
            .to_owned();
        let Some(mut pending) = state.alta.take() else {
            // The citizen said "wrong" and the clerk gives up the correction:
            // the counter stops saying the clerk is correcting.
            if matches!(state.counter_view, CounterView::BackToClerk) {
                let view = Self::idle_view(&state);
                state.show_counter(view, now);
                return Ok(());
            }
            return Err(DeskError::NoAltaInProgress);
        };
        pending.machine.cancel(now).map_err(DeskError::from_alta)?;
        let view = Self::idle_view(&state);
        state.show_counter(view, now);
        drop(state);
        self.audit_simple(&actor, AuditAction::AltaCancelled, now)
            .await
    }

    /// The citizen confirmed on the counter screen: store it, with its audit
    /// entry, in one transaction.
    pub async fn counter_confirm(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let Some(mut pending) = state.alta.take() else {
            return Err(DeskError::NoAltaInProgress);
        };
        let Some(session) = state.session.as_ref() else {
            return Err(DeskError::NotLoggedIn);
        };
        let clerk_id = session.clerk.id.clone();
        let actor = session.clerk.username.as_str().to_owned();
        let identity = pending.identity;
        let confirmed = pending
            .machine
            .citizen_confirm(now)
            .and_then(|_| pending.machine.confirmed_data().cloned());
        let data: AltaData = match confirmed {
            Ok(data) => data,
            Err(e) => {
                state.alta = Some(pending);
                return Err(DeskError::from_alta(e));
            }
        };
        let ctx = self.audit_ctx(&actor, now);
        match self
            .store
            .register_alta(&data, identity, &clerk_id, &ctx, self.random.as_ref())
            .await
        {
            Ok(registration) => {
                info!(
                    audit_seq = registration.audit_seq,
                    identity = identity.as_str(),
                    "alta completed"
                );
                // The proof served this alta; the next operation needs its own.
                state.proven = None;
                state.show_counter(
                    CounterView::AltaDone {
                        level: level_dto(registration.level),
                        return_in_secs: secs(self.settings.done_screen),
                    },
                    now,
                );
                state.tell_clerk(ClerkEvent::AltaCompleted {
                    registration_id: registration.id,
                    level: level_dto(registration.level),
                    audit_seq: registration.audit_seq,
                });
                Ok(())
            }
            Err(error) => {
                warn!(code = error.code(), "alta not stored");
                let error = DeskError::from(error);
                state.show_counter(CounterView::BackToClerk, now);
                state.tell_clerk(ClerkEvent::AltaFailed {
                    error: error.to_dto(),
                    form: pending.form,
                });
                Err(error)
            }
        }
    }

    /// The citizen asks for more time (WCAG 2.2.1): the full timeout again,
    /// on both screens.
    pub async fn counter_extend(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let Some(pending) = state.alta.as_mut() else {
            return Err(DeskError::NoAltaInProgress);
        };
        pending.machine.touch(now).map_err(DeskError::from_alta)?;
        pending.shown_at = now;
        let Some(data) = pending.machine.data() else {
            return Err(DeskError::NoAltaInProgress);
        };
        let citizen = masked_citizen(data);
        let expires_in_secs = secs(self.settings.counter_timeout);
        state.show_counter(
            CounterView::ConfirmAlta {
                citizen: citizen.clone(),
                expires_in_secs,
            },
            now,
        );
        state.tell_clerk(ClerkEvent::AltaAwaitingCitizen {
            citizen,
            expires_in_secs,
        });
        Ok(())
    }

    /// The citizen says the data is wrong: the form goes back to the clerk
    /// exactly as typed.
    pub async fn counter_reject(&self) -> Result<(), DeskError> {
        let now = self.clock.now();
        let mut state = self.state.lock().await;
        let Some(mut pending) = state.alta.take() else {
            return Err(DeskError::NoAltaInProgress);
        };
        if let Err(e) = pending.machine.citizen_reject(now) {
            state.alta = Some(pending);
            return Err(DeskError::from_alta(e));
        }
        let actor = state
            .session
            .as_ref()
            .map(|s| s.clerk.username.as_str().to_owned())
            .unwrap_or_default();
        state.show_counter(CounterView::BackToClerk, now);
        state.tell_clerk(ClerkEvent::AltaBackToClerk { form: pending.form });
        drop(state);
        self.audit_simple(&actor, AuditAction::AltaRejectedByCitizen, now)
            .await
    }

    async fn audit_simple(
        &self,
        actor: &str,
        action: AuditAction,
        now: DateTime<Utc>,
    ) -> Result<(), DeskError> {
        self.store
            .record(
                &self.audit_ctx(actor, now),
                NewAuditEntry {
                    action,
                    citizen_id: None,
                    detail: serde_json::json!({}),
                },
            )
            .await?;
        Ok(())
    }

    // ---- supervision ---------------------------------------------------

    pub async fn verify_audit(&self) -> Result<AuditReportDto, DeskError> {
        let now = self.clock.now();
        let actor = {
            let mut state = self.state.lock().await;
            let clerk = Self::active_session(&mut state, now, &self.settings)?;
            if !clerk.role.can(registry::Permission::VerifyAudit) {
                return Err(DeskError::Forbidden);
            }
            clerk.username.as_str().to_owned()
        };
        let report = self.store.verify_audit().await?;
        let dto = AuditReportDto {
            entries: report.entries,
            intact: report.intact(),
            problems: report
                .problems
                .iter()
                .map(|p| AuditProblemDto {
                    seq: p.seq,
                    kind: p.kind.as_str().to_owned(),
                })
                .collect(),
        };
        self.store
            .record(
                &self.audit_ctx(&actor, now),
                NewAuditEntry {
                    action: AuditAction::AuditVerified,
                    citizen_id: None,
                    detail: serde_json::json!({ "entries": dto.entries, "intact": dto.intact }),
                },
            )
            .await?;
        Ok(dto)
    }

    /// What the counter shows when nothing is going on: who the card in the
    /// reader says the citizen is, or the welcome screen.
    fn idle_view(state: &DeskState) -> CounterView {
        match &state.card {
            Some(card) => CounterView::Identified {
                citizen: card.masked.clone(),
            },
            None => CounterView::Welcome,
        }
    }

    // ---- time ----------------------------------------------------------

    /// Called about once a second: locks an idle console, gives up on a
    /// citizen who does not answer, and returns the counter to its welcome
    /// screen, clearing what it showed.
    pub async fn tick(&self) {
        let now = self.clock.now();
        let mut state = self.state.lock().await;

        let idle = state
            .session
            .as_ref()
            .is_some_and(|s| !s.locked && now - s.last_activity >= self.settings.clerk_idle_lock);
        if idle {
            if let Some(s) = state.session.as_mut() {
                s.locked = true;
            }
            info!("clerk console locked after idle timeout");
            state.tell_clerk(ClerkEvent::Locked);
        }

        let timed_out = state
            .alta
            .as_ref()
            .is_some_and(|p| now - p.shown_at >= self.settings.counter_timeout);
        if timed_out
            && let Some(mut pending) = state.alta.take()
            && pending.machine.time_out(now).is_ok()
        {
            let view = Self::idle_view(&state);
            state.show_counter(view, now);
            state.tell_clerk(ClerkEvent::AltaTimedOut { form: pending.form });
        }

        // A PIN pad nobody answers gives up like any other question.
        let pin_abandoned = matches!(state.counter_view, CounterView::EnterPin { .. })
            && state.pin.as_ref().is_some_and(|p| !p.running)
            && now - state.counter_view_since >= self.settings.counter_timeout;
        if pin_abandoned {
            state.pin = None;
            state.tell_clerk(ClerkEvent::PinFailed {
                code: "PIN-TIMEOUT".to_owned(),
                tries_left: None,
            });
        }

        // The Cl@ve Móvil request: a new QR frame every second, or its end.
        if state.clave.is_some() {
            self.refresh_clave(&mut state, now, None).await;
        }

        let since = now - state.counter_view_since;
        let back_to_idle = match state.counter_view {
            CounterView::AltaDone { .. }
            | CounterView::PinVerified
            | CounterView::PinBlocked
            | CounterView::ClaveDone { .. } => since >= self.settings.done_screen,
            CounterView::BackToClerk => {
                state.alta.is_none() && since >= self.settings.counter_timeout
            }
            _ => pin_abandoned,
        };
        if back_to_idle {
            let view = Self::idle_view(&state);
            state.show_counter(view, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use chrono::TimeZone;
    use registry::{ManualClock, SeededRandom};

    use super::*;
    use crate::ipc::AltaFormDto;

    /// A window that records what it was sent.
    pub(crate) struct Recorder<T>(StdMutex<Vec<T>>);

    impl<T> Default for Recorder<T> {
        fn default() -> Self {
            Recorder(StdMutex::new(Vec::new()))
        }
    }

    impl<T: Send> Sink<T> for Recorder<T> {
        fn send(&self, message: T) -> bool {
            self.0.lock().unwrap().push(message);
            true
        }
    }

    impl<T: Clone> Recorder<T> {
        pub(crate) fn last(&self) -> Option<T> {
            self.0.lock().unwrap().last().cloned()
        }
        pub(crate) fn all(&self) -> Vec<T> {
            self.0.lock().unwrap().clone()
        }
    }

    pub(crate) struct Fixture {
        pub(crate) desk: Arc<Desk>,
        pub(crate) clock: Arc<ManualClock>,
        pub(crate) counter: Arc<Recorder<CounterView>>,
        pub(crate) clerk: Arc<Recorder<ClerkEvent>>,
    }

    pub(crate) const PASSWORD: &str = "clave-de-prueba-larga";

    fn settings() -> DeskSettings {
        DeskSettings {
            office_code: "O00012345".into(),
            counter: 1,
            clerk_idle_lock: Duration::seconds(300),
            counter_timeout: Duration::seconds(120),
            done_screen: Duration::seconds(10),
            lockout: LockoutPolicy::default(),
        }
    }

    async fn fixture() -> Fixture {
        fixture_with(None).await
    }

    pub(crate) fn test_clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
        ))
    }

    async fn fixture_with(ops: Option<Arc<dyn CardOps>>) -> Fixture {
        let store = Store::open_in_memory().await.unwrap();
        fixture_on(store, test_clock(), ops, None).await
    }

    pub(crate) async fn fixture_on(
        store: Store,
        clock: Arc<ManualClock>,
        ops: Option<Arc<dyn CardOps>>,
        clave: Option<ClaveLink>,
    ) -> Fixture {
        let random: Arc<dyn Random> = Arc::new(SeededRandom::new(1));
        let ctx = AuditContext {
            office_code: "O00012345".into(),
            counter_number: 1,
            actor: "admin-cli".into(),
            at: clock.now(),
        };
        for (name, role) in [("ana", Role::Clerk), ("sara", Role::Supervisor)] {
            store
                .create_clerk(
                    store::NewClerk {
                        username: Username::parse(name).unwrap(),
                        display_name: name.to_uppercase(),
                        role,
                        password_hash: PasswordHash::hash(&Secret::new(PASSWORD), random.as_ref())
                            .unwrap(),
                        is_demo: false,
                    },
                    &ctx,
                    random.as_ref(),
                )
                .await
                .unwrap();
        }
        let mut desk = Desk::new(store, clock.clone(), random, settings());
        if let Some(ops) = ops {
            desk = desk.with_card_ops(ops);
        }
        if let Some(link) = clave {
            desk = desk.with_clave(link);
        }
        let desk = Arc::new(desk);
        let counter = Arc::new(Recorder::default());
        let clerk = Arc::new(Recorder::default());
        desk.subscribe_counter(counter.clone()).await;
        desk.subscribe_clerk(clerk.clone()).await;
        Fixture {
            desk,
            clock,
            counter,
            clerk,
        }
    }

    pub(crate) fn form() -> AltaFormDto {
        AltaFormDto {
            document: "12345678Z".into(),
            expiry_date: "2031-06-30".into(),
            given_name: "Ficticia".into(),
            first_surname: "Especimen".into(),
            second_surname: "Prueba".into(),
            phone: "612 345 678".into(),
            email: "prueba@example.org".into(),
            ..AltaFormDto::default()
        }
    }

    pub(crate) async fn logged_in(name: &str) -> Fixture {
        let f = fixture().await;
        f.desk.login(name, Secret::new(PASSWORD)).await.unwrap();
        f
    }

    pub(crate) fn secs_(n: u64) -> std::time::Duration {
        std::time::Duration::from_secs(n)
    }

    #[tokio::test]
    async fn the_counter_gets_the_current_view_when_it_subscribes() {
        let f = fixture().await;
        assert!(matches!(f.counter.all().as_slice(), [CounterView::Welcome]));
    }

    #[tokio::test]
    async fn a_confirmed_alta_is_stored_with_its_audit_entry() {
        let f = logged_in("ana").await;
        let shown = f.desk.submit_alta(form()).await.unwrap();
        assert_eq!(shown.document, "****5678Z");
        assert!(!shown.phone.contains("612345"));
        match f.counter.last().unwrap() {
            CounterView::ConfirmAlta {
                citizen,
                expires_in_secs,
            } => {
                assert_eq!(citizen.document, "****5678Z");
                assert_eq!(expires_in_secs, 120);
            }
            other => panic!("counter shows {other:?}"),
        }
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::AltaAwaitingCitizen { .. })
        ));

        f.desk.counter_confirm().await.unwrap();
        assert!(matches!(
            f.counter.last(),
            Some(CounterView::AltaDone {
                level: LevelDto::Avanzado,
                ..
            })
        ));
        let Some(ClerkEvent::AltaCompleted {
            audit_seq, level, ..
        }) = f.clerk.last()
        else {
            panic!("clerk not told: {:?}", f.clerk.all());
        };
        assert_eq!(level, LevelDto::Avanzado);
        let entries = f.desk.store().audit_entries().await.unwrap();
        let entry = entries.iter().find(|e| e.seq == audit_seq).unwrap();
        assert_eq!(entry.action, "alta_completed");
        assert!(entry.detail.contains("manual_document"));
        assert!(
            !entry.detail.contains("12345678"),
            "no personal data in the audit detail"
        );

        // The thank-you screen returns to welcome by itself.
        f.clock.advance(secs_(10));
        f.desk.tick().await;
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
    }

    #[tokio::test]
    async fn invalid_fields_are_all_reported_and_nothing_reaches_the_counter() {
        let f = logged_in("ana").await;
        let bad = AltaFormDto {
            document: "12345678A".into(),
            phone: "912345678".into(),
            email: "nope".into(),
            ..form()
        };
        let err = f.desk.submit_alta(bad).await.unwrap_err();
        let DeskError::Invalid(fields) = &err else {
            panic!("{err:?}");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        for expected in ["document", "phone", "email"] {
            assert!(names.contains(&expected), "{names:?}");
        }
        let dto = err.to_dto();
        assert_eq!(dto.code, "VAL-001");
        assert!(dto.fields.len() >= 3);
        assert!(matches!(f.counter.all().as_slice(), [CounterView::Welcome]));
    }

    #[tokio::test]
    async fn a_second_alta_for_the_same_document_is_refused_with_its_level() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        f.desk.counter_confirm().await.unwrap();
        let err = f
            .desk
            .submit_alta(AltaFormDto {
                document: "12.345.678-z".into(),
                ..form()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, DeskError::AlreadyRegistered(Level::Avanzado)),
            "{err:?}"
        );
        assert_eq!(
            err.to_dto().params.get("level").map(String::as_str),
            Some("avanzado")
        );
    }

    #[tokio::test]
    async fn a_citizen_who_says_wrong_sends_the_form_back_unchanged() {
        let f = logged_in("ana").await;
        let typed = AltaFormDto {
            document: " 1234567 8z ".into(),
            ..form()
        };
        f.desk.submit_alta(typed.clone()).await.unwrap();
        f.desk.counter_reject().await.unwrap();
        let Some(ClerkEvent::AltaBackToClerk { form: back }) = f.clerk.last() else {
            panic!("{:?}", f.clerk.all());
        };
        assert_eq!(back.document, typed.document);
        assert_eq!(back.phone, typed.phone);
        assert_eq!(back.email, typed.email);
        assert!(matches!(f.counter.last(), Some(CounterView::BackToClerk)));
        assert!(
            f.desk
                .store()
                .citizen_by_document(&registry::DocumentNumber::parse("12345678Z").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        // Nothing is waiting any more: a late confirm does nothing.
        assert!(matches!(
            f.desk.counter_confirm().await,
            Err(DeskError::NoAltaInProgress)
        ));
    }

    #[tokio::test]
    async fn an_unanswered_counter_times_out_and_clears() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        f.clock.advance(secs_(119));
        f.desk.tick().await;
        assert!(matches!(
            f.counter.last(),
            Some(CounterView::ConfirmAlta { .. })
        ));
        f.clock.advance(secs_(1));
        f.desk.tick().await;
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::AltaTimedOut { .. })
        ));
        assert!(matches!(
            f.desk.counter_confirm().await,
            Err(DeskError::NoAltaInProgress)
        ));
    }

    #[tokio::test]
    async fn the_citizen_can_ask_for_more_time() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        for _ in 0..12 {
            f.clock.advance(secs_(110));
            f.desk.counter_extend().await.unwrap();
            f.desk.tick().await;
            assert!(matches!(
                f.counter.last(),
                Some(CounterView::ConfirmAlta {
                    expires_in_secs: 120,
                    ..
                })
            ));
        }
        f.clock.advance(secs_(120));
        f.desk.tick().await;
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
        assert!(matches!(
            f.desk.counter_extend().await,
            Err(DeskError::NoAltaInProgress)
        ));
    }

    #[tokio::test]
    async fn cancelling_after_the_citizen_said_wrong_clears_the_counter() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        f.desk.counter_reject().await.unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::BackToClerk)));
        f.desk.cancel_alta().await.unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
    }

    #[tokio::test]
    async fn only_one_alta_waits_at_a_time_and_the_clerk_can_cancel_it() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        assert!(matches!(
            f.desk.submit_alta(form()).await,
            Err(DeskError::AltaBusy)
        ));
        f.desk.cancel_alta().await.unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
        assert!(matches!(
            f.desk.cancel_alta().await,
            Err(DeskError::NoAltaInProgress)
        ));
    }

    #[tokio::test]
    async fn the_console_locks_when_idle_and_unlocks_with_the_password() {
        let f = logged_in("ana").await;
        f.clock.advance(secs_(299));
        f.desk.activity().await.unwrap();
        f.clock.advance(secs_(299));
        f.desk.tick().await;
        assert!(!f.desk.session().await.unwrap().locked);
        f.clock.advance(secs_(1));
        f.desk.tick().await;
        assert!(matches!(f.clerk.last(), Some(ClerkEvent::Locked)));
        assert!(f.desk.session().await.unwrap().locked);
        assert!(matches!(
            f.desk.submit_alta(form()).await,
            Err(DeskError::SessionLocked)
        ));
        assert!(matches!(
            f.desk.unlock(Secret::new("not-the-password")).await,
            Err(DeskError::BadCredentials)
        ));
        let back = f.desk.unlock(Secret::new(PASSWORD)).await.unwrap();
        assert_eq!(back.username, "ana");
        f.desk.submit_alta(form()).await.unwrap();
    }

    #[tokio::test]
    async fn failed_logins_lock_the_account_with_growing_delays() {
        let f = fixture().await;
        let policy = LockoutPolicy::default();
        let mut locked_at = None;
        for attempt in 1..=6u32 {
            let result = f.desk.login("ana", Secret::new("wrong-password-x")).await;
            if policy.delay_after(attempt).is_zero() {
                assert!(
                    matches!(result, Err(DeskError::BadCredentials)),
                    "{attempt}: {result:?}"
                );
            } else {
                let Err(DeskError::LockedOut { retry_after_secs }) = result else {
                    panic!("{attempt}: {result:?}");
                };
                assert_eq!(
                    u64::from(retry_after_secs),
                    policy.delay_after(attempt).as_secs()
                );
                locked_at.get_or_insert(attempt);
                // While locked even the right password is refused…
                assert!(matches!(
                    f.desk.login("ana", Secret::new(PASSWORD)).await,
                    Err(DeskError::LockedOut { .. })
                ));
                // …until the delay has passed.
                f.clock.advance(policy.delay_after(attempt));
            }
        }
        assert!(locked_at.is_some(), "the policy never locked");
        f.desk.login("ana", Secret::new(PASSWORD)).await.unwrap();
        // Unknown users get the same answer as a wrong password.
        assert!(matches!(
            f.desk.login("nadie", Secret::new(PASSWORD)).await,
            Err(DeskError::BadCredentials)
        ));
        let actions: Vec<String> = f
            .desk
            .store()
            .audit_entries()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.iter().any(|a| a == "clerk_locked"));
        assert!(actions.iter().any(|a| a == "clerk_login_failed"));
    }

    #[tokio::test]
    async fn only_supervisors_and_admins_verify_the_audit_trail() {
        // The session tells the console what the role allows, so it shows only the
        // buttons that work.
        let f = fixture().await;
        let ana = f.desk.login("ana", Secret::new(PASSWORD)).await.unwrap();
        assert!(!ana.may_verify_audit && !ana.may_show_typed_document);
        let f = fixture().await;
        let sara = f.desk.login("sara", Secret::new(PASSWORD)).await.unwrap();
        assert!(sara.may_verify_audit && sara.may_show_typed_document);

        let f = logged_in("ana").await;
        assert!(matches!(
            f.desk.verify_audit().await,
            Err(DeskError::Forbidden)
        ));
        let f = logged_in("sara").await;
        let report = f.desk.verify_audit().await.unwrap();
        assert!(report.intact);
        assert!(report.entries >= 3);
    }

    #[tokio::test]
    async fn nothing_works_without_a_login() {
        let f = fixture().await;
        assert!(matches!(
            f.desk.submit_alta(form()).await,
            Err(DeskError::NotLoggedIn)
        ));
        assert!(matches!(
            f.desk.verify_audit().await,
            Err(DeskError::NotLoggedIn)
        ));
        assert!(matches!(
            f.desk.counter_confirm().await,
            Err(DeskError::NoAltaInProgress)
        ));
    }

    #[tokio::test]
    async fn logging_out_clears_the_counter() {
        let f = logged_in("ana").await;
        f.desk.submit_alta(form()).await.unwrap();
        f.desk.logout().await.unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
        assert!(f.desk.session().await.is_none());
    }

    // ---- the DNIe and its PIN, with the virtual DNIe's engine in process ----

    mod card {
        use std::sync::Mutex as StdMutex;

        use card_sim::{CardOptions, IdentityFile, TerminalTrust, TestPki, VirtualCard};
        use dnie::{Dnie, DnieConfig, Pin, Transport, TransportError};

        use super::super::{CardFailure, CardIdentity, CardOps};

        struct Engine<'a>(&'a mut VirtualCard);

        impl Transport for Engine<'_> {
            fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
                Ok(self.0.process(apdu))
            }
        }

        /// The real card logic of card-sim, driven by the real dnie host,
        /// without PC/SC (the end-to-end test covers that).
        pub struct EngineOps {
            pub card: StdMutex<VirtualCard>,
            pub config: DnieConfig,
        }

        /// The card of a built-in identity (DNIe 2.0 or 3.0, as the identity says; a 2.0
        /// gives its identity only after the PIN).
        pub fn virtual_dnie(name: &str) -> EngineOps {
            let identities = IdentityFile::builtin().unwrap();
            let identity = identities.get(name).unwrap();
            let options = CardOptions {
                trust: TerminalTrust::Production,
                ..CardOptions::default()
            };
            EngineOps {
                card: StdMutex::new(
                    VirtualCard::dnie_with(identity, TestPki::builtin().unwrap(), options).unwrap(),
                ),
                config: crate::dnie_config(&crate::config::Config::training_defaults()),
            }
        }

        /// A DNIe 3.0 and the identity the watcher would have read from it.
        pub fn card(name: &str) -> (EngineOps, CardIdentity) {
            let ops = virtual_dnie(name);
            let read = {
                let mut card = ops.card.lock().unwrap();
                let atr = card.atr();
                Dnie::open(Engine(&mut card), &atr, &ops.config)
                    .unwrap()
                    .read_identity()
                    .unwrap()
            };
            let identity = crate::reader::card_identity("Virtual PCD 00 00", &read).unwrap();
            (ops, identity)
        }

        /// The test PIN of a built-in identity.
        pub fn test_pin(name: &str) -> String {
            IdentityFile::builtin()
                .unwrap()
                .get(name)
                .unwrap()
                .pin
                .clone()
        }

        impl CardOps for EngineOps {
            fn prove_possession(
                &self,
                _reader: &str,
                pin: &registry::Secret,
            ) -> Result<CardIdentity, CardFailure> {
                let fail = |e: dnie::DnieError| CardFailure {
                    code: e.code(),
                    tries_left: match e {
                        dnie::DnieError::WrongPin { tries_left } => Some(tries_left),
                        _ => None,
                    },
                };
                let pin = Pin::new(pin.expose()).map_err(fail)?;
                let mut card = self.card.lock().unwrap();
                let atr = card.atr();
                let mut dnie = Dnie::open(Engine(&mut card), &atr, &self.config).map_err(fail)?;
                let proof = dnie
                    .prove_possession(&pin, &mut rand::rngs::OsRng)
                    .map_err(fail)?;
                Ok(crate::reader::card_identity("Virtual PCD 00 00", &proof.identity).unwrap())
            }
        }
    }

    async fn with_card(name: &str) -> (Fixture, CardIdentity, String) {
        let (ops, identity) = card::card(name);
        let pin = card::test_pin(name);
        let f = fixture_with(Some(Arc::new(ops))).await;
        f.desk.login("ana", Secret::new(PASSWORD)).await.unwrap();
        let readers = ReadersDto {
            service: true,
            pin_only: false,
            readers: Vec::new(),
        };
        f.desk
            .readers_changed(readers, Some(identity.clone()), None)
            .await;
        (f, identity, pin)
    }

    fn card_form(identity: &CardIdentity) -> AltaFormDto {
        form_from_card(&identity.dto)
    }

    /// The alta form as the clerk console fills it from a card.
    fn form_from_card(identity: &CardIdentityDto) -> AltaFormDto {
        AltaFormDto {
            document: identity.document.clone(),
            given_name: identity.given_name.clone(),
            first_surname: identity.first_surname.clone(),
            second_surname: identity.second_surname.clone(),
            support_number: identity.idesp.clone(),
            from_card: true,
            ..form()
        }
    }

    /// The detail of the alta's audit entry.
    async fn alta_audit_detail(f: &Fixture) -> String {
        let entries = f.desk.store().audit_entries().await.unwrap();
        entries
            .into_iter()
            .find(|e| e.action == "alta_completed")
            .unwrap()
            .detail
    }

    #[tokio::test]
    async fn a_read_card_shows_the_citizen_masked_on_the_counter() {
        let (f, identity, _) = with_card("especimen").await;
        let Some(CounterView::Identified { citizen }) = f.counter.last() else {
            panic!("{:?}", f.counter.all());
        };
        assert_eq!(citizen.document, identity.document.masked());
        assert!(!citizen.document.contains(&identity.dto.document[..5]));
        // The card goes: back to welcome.
        let readers = ReadersDto {
            service: true,
            pin_only: false,
            readers: Vec::new(),
        };
        f.desk.readers_changed(readers, None, None).await;
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
    }

    #[tokio::test]
    async fn the_pin_proves_the_identity_and_the_alta_records_it() {
        let (f, identity, pin) = with_card("especimen").await;
        f.desk.request_pin().await.unwrap();
        assert!(matches!(
            f.counter.last(),
            Some(CounterView::EnterPin {
                tries_left: None,
                ..
            })
        ));
        assert!(matches!(f.clerk.last(), Some(ClerkEvent::PinRequested)));

        // A wrong PIN: tries left on the counter, told to the clerk, not retried.
        f.desk
            .counter_submit_pin(Secret::new("NOTMYPIN1"))
            .await
            .unwrap();
        let Some(CounterView::EnterPin {
            tries_left: Some(tries),
            error_code: Some(code),
            ..
        }) = f.counter.last()
        else {
            panic!("{:?}", f.counter.all());
        };
        assert_eq!((tries, code.as_str()), (2, "PIN-001"));
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::PinFailed {
                tries_left: Some(2),
                ..
            })
        ));

        // The right PIN.
        f.desk.counter_submit_pin(Secret::new(pin)).await.unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::PinVerified)));
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::PinVerified { .. })
        ));

        // The alta from the card records "proven with DNIe and PIN".
        f.desk.submit_alta(card_form(&identity)).await.unwrap();
        f.desk.counter_confirm().await.unwrap();
        let detail = alta_audit_detail(&f).await;
        assert!(detail.contains("dnie_pin"), "{detail}");
    }

    #[tokio::test]
    async fn an_alta_from_the_card_without_pin_records_the_dnie() {
        let (f, identity, _) = with_card("ficticia").await;
        f.desk.submit_alta(card_form(&identity)).await.unwrap();
        f.desk.counter_confirm().await.unwrap();
        let detail = alta_audit_detail(&f).await;
        assert!(detail.contains("\"dnie\""), "{detail}");
    }

    #[tokio::test]
    async fn a_form_claiming_another_card_is_refused() {
        let (f, identity, _) = with_card("especimen").await;
        let other = AltaFormDto {
            document: "12345678Z".into(),
            ..card_form(&identity)
        };
        assert!(matches!(
            f.desk.submit_alta(other).await,
            Err(DeskError::CardMismatch)
        ));
    }

    #[tokio::test]
    async fn a_blocked_pin_is_explained_and_never_retried() {
        let (f, _, _) = with_card("ficticia-bloqueada").await;
        f.desk.request_pin().await.unwrap();
        f.desk
            .counter_submit_pin(Secret::new("ANYPIN123"))
            .await
            .unwrap();
        assert!(matches!(f.counter.last(), Some(CounterView::PinBlocked)));
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::PinFailed { ref code, .. }) if code == "PIN-002"
        ));
        // The request is over: another PIN is not taken.
        assert!(matches!(
            f.desk.counter_submit_pin(Secret::new("ANYPIN123")).await,
            Err(DeskError::NoPinRequested)
        ));
    }

    #[tokio::test]
    async fn removing_the_card_ends_the_pin_step() {
        let (f, _, _) = with_card("especimen").await;
        f.desk.request_pin().await.unwrap();
        let readers = ReadersDto {
            service: true,
            pin_only: false,
            readers: Vec::new(),
        };
        f.desk.readers_changed(readers, None, None).await;
        assert!(matches!(f.counter.last(), Some(CounterView::Welcome)));
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::PinFailed { ref code, .. }) if code == "PCSC-004"
        ));
        assert!(matches!(f.desk.request_pin().await, Err(DeskError::NoCard)));
    }

    #[tokio::test]
    async fn a_dnie_2_0_tells_who_it_is_after_its_pin() {
        let ops = card::virtual_dnie("antiguo");
        let pin = card::test_pin("antiguo");
        let f = fixture_with(Some(Arc::new(ops))).await;
        f.desk.login("ana", Secret::new(PASSWORD)).await.unwrap();
        let readers = ReadersDto {
            service: true,
            pin_only: true,
            readers: Vec::new(),
        };
        f.desk
            .readers_changed(readers, None, Some("Virtual PCD 00 00".into()))
            .await;
        f.desk.request_pin().await.unwrap();
        assert!(matches!(
            f.counter.last(),
            Some(CounterView::EnterPin { citizen: None, .. })
        ));
        f.desk.counter_submit_pin(Secret::new(pin)).await.unwrap();
        let events = f.clerk.all();
        let identity = events
            .iter()
            .find_map(|e| match e {
                ClerkEvent::CardIdentified { identity } => Some(identity.clone()),
                _ => None,
            })
            .expect("the clerk learns who the 2.0 card is");
        assert!(matches!(
            f.clerk.last(),
            Some(ClerkEvent::PinVerified { .. })
        ));
        assert!(matches!(f.counter.last(), Some(CounterView::PinVerified)));

        f.desk.submit_alta(form_from_card(&identity)).await.unwrap();
        f.desk.counter_confirm().await.unwrap();
        let detail = alta_audit_detail(&f).await;
        assert!(detail.contains("dnie_pin"), "{detail}");
    }
}
