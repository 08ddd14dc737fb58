//! Alta: in-person registration in Cl@ve at level *avanzado*, as a state machine.
//!
//! ```text
//!            edit / withdraw
//!           ┌──────────────┐
//!           ▼              │
//!       Editing ──submit──► AwaitingCitizen ──citizen_confirm──► Confirmed
//!        │   ▲                 │      │
//!        │   └─citizen_reject──┘      │          (BackToClerk: same form, unchanged)
//!        ├────────cancel / time_out───┴──► Cancelled | TimedOut
//! ```
//!
//! The clerk fills an [`AltaForm`] (or the shell pre-fills it from the DNIe);
//! `submit` validates every field at once; the counter screen shows a
//! [`MaskedAltaView`] and the citizen confirms or says something is wrong. The store
//! decides whether the citizen already has an account and answers with
//! [`AltaError::AlreadyRegistered`]; [`Alta::refuse_already_registered`] closes the alta.
//! Later steps (SMS proof of the phone, consent, receipt) are outside this machine.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::audit::AuditAction;
use crate::contrast::{
    ContrastData, ContrastField, ContrastInput, ContrastKind, Idesp, NieSupportNumber, parse_date,
};
use crate::document_number::{DocumentKind, DocumentNumber};
use crate::email::Email;
use crate::error::Coded;
use crate::level::Level;
use crate::person_name::{NamePart, PersonName};
use crate::phone_number::PhoneNumber;

/// Default counter-screen idle time before an alta times out. The counter screen warns
/// before it and the citizen can ask for more time ([`Alta::touch`]), as WCAG 2.2.1 asks.
pub const COUNTER_IDLE_TIMEOUT: Duration = Duration::from_secs(180);

/// The clerk's raw input. Debug is redacting: it holds personal data.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AltaForm {
    /// DNI or NIE number, any spacing/case.
    pub document: String,
    /// DNI (or NIE card) expiry date; `01/01/9999` means permanent DNI.
    pub expiry_date: String,
    /// The "permanent DNI" checkbox.
    pub permanent: bool,
    /// Issue date: required for a permanent DNI.
    pub issue_date: String,
    /// IDESP for a DNI (optional) or the support number for a NIE (required).
    pub support_number: String,
    pub given_name: String,
    pub first_surname: String,
    /// Optional.
    pub second_surname: String,
    pub phone: String,
    pub email: String,
}

impl fmt::Debug for AltaForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |s: &String| if s.is_empty() { "" } else { "[redacted]" };
        f.debug_struct("AltaForm")
            .field("document", &r(&self.document))
            .field("expiry_date", &r(&self.expiry_date))
            .field("permanent", &self.permanent)
            .field("issue_date", &r(&self.issue_date))
            .field("support_number", &r(&self.support_number))
            .field("given_name", &r(&self.given_name))
            .field("first_surname", &r(&self.first_surname))
            .field("second_surname", &r(&self.second_surname))
            .field("phone", &r(&self.phone))
            .field("email", &r(&self.email))
            .finish()
    }
}

/// A field of the alta form (names match the UI's camelCase form fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AltaField {
    Document,
    ExpiryDate,
    IssueDate,
    SupportNumber,
    GivenName,
    FirstSurname,
    SecondSurname,
    Phone,
    Email,
}

impl AltaField {
    pub const ALL: &'static [AltaField] = &[
        Self::Document,
        Self::ExpiryDate,
        Self::IssueDate,
        Self::SupportNumber,
        Self::GivenName,
        Self::FirstSurname,
        Self::SecondSurname,
        Self::Phone,
        Self::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::ExpiryDate => "expiryDate",
            Self::IssueDate => "issueDate",
            Self::SupportNumber => "supportNumber",
            Self::GivenName => "givenName",
            Self::FirstSurname => "firstSurname",
            Self::SecondSurname => "secondSurname",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }
}

impl From<ContrastField> for AltaField {
    fn from(f: ContrastField) -> AltaField {
        match f {
            ContrastField::ExpiryDate => AltaField::ExpiryDate,
            ContrastField::IssueDate => AltaField::IssueDate,
            ContrastField::SupportNumber => AltaField::SupportNumber,
        }
    }
}

/// One inline error of the form: which field, the code, the message parameters.
/// `params` may hold personal data (for the clerk's screen only), so `Debug` omits them.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    pub field: AltaField,
    pub code: &'static str,
    /// Serialised as an object: `{"digits": "12345678", "expected": "Z", "given": "A"}`.
    #[serde(serialize_with = "params_as_map")]
    pub params: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: AltaField, error: &dyn Coded) -> FieldError {
        FieldError {
            field,
            code: error.code(),
            params: error.params(),
        }
    }
}

impl fmt::Debug for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldError({}: {})", self.field.as_str(), self.code)
    }
}

fn params_as_map<S: Serializer>(
    params: &[(&'static str, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(params.iter().map(|(k, v)| (*k, v)))
}

/// A validated alta: everything Cl@ve needs to register the citizen at *avanzado*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltaData {
    pub document: DocumentNumber,
    pub contrast: ContrastData,
    /// The DNI's IDESP when typed or read from the chip.
    pub idesp: Option<Idesp>,
    pub name: PersonName,
    pub phone: PhoneNumber,
    pub email: Email,
}

impl AltaData {
    /// An in-person alta always registers at *avanzado*.
    pub fn level(&self) -> Level {
        Level::Avanzado
    }

    pub fn masked_view(&self) -> MaskedAltaView {
        MaskedAltaView::from(self)
    }
}

impl AltaForm {
    /// Validates every field and reports all invalid ones at once (sorted in form order).
    /// `today` decides expired documents and future issue dates.
    pub fn validate(&self, today: NaiveDate) -> Result<AltaData, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();

        let document = take(
            &mut errors,
            AltaField::Document,
            DocumentNumber::parse(&self.document),
        );
        // Validate the contrast data even when the number is wrong, guessing the kind.
        let kind = document
            .as_ref()
            .map_or_else(|| DocumentKind::guess(&self.document), DocumentNumber::kind);

        let expiry = optional(
            &mut errors,
            AltaField::ExpiryDate,
            &self.expiry_date,
            parse_date,
        );
        let issue = optional(
            &mut errors,
            AltaField::IssueDate,
            &self.issue_date,
            parse_date,
        );
        let (idesp, nie_support) = match kind {
            DocumentKind::Dni => (
                optional(
                    &mut errors,
                    AltaField::SupportNumber,
                    &self.support_number,
                    Idesp::parse,
                )
                .flatten(),
                None,
            ),
            DocumentKind::Nie => (
                None,
                optional(
                    &mut errors,
                    AltaField::SupportNumber,
                    &self.support_number,
                    NieSupportNumber::parse,
                )
                .flatten(),
            ),
        };
        let input = ContrastInput {
            expiry: expiry.flatten(),
            permanent: self.permanent,
            issue: issue.flatten(),
            nie_support,
        };
        let contrast = validate_contrast(kind, &input, today, &mut errors);

        let given = take(
            &mut errors,
            AltaField::GivenName,
            NamePart::parse(&self.given_name),
        );
        let first = take(
            &mut errors,
            AltaField::FirstSurname,
            NamePart::parse(&self.first_surname),
        );
        let second = optional(
            &mut errors,
            AltaField::SecondSurname,
            &self.second_surname,
            NamePart::parse,
        );
        let phone = take(
            &mut errors,
            AltaField::Phone,
            PhoneNumber::parse(&self.phone),
        );
        let email = take(&mut errors, AltaField::Email, Email::parse(&self.email));

        match (
            document, contrast, idesp, given, first, second, phone, email,
        ) {
            (
                Some(document),
                Some(contrast),
                idesp,
                Some(given),
                Some(first),
                Some(second),
                Some(phone),
                Some(email),
            ) if errors.is_empty() => Ok(AltaData {
                document,
                contrast,
                idesp,
                name: PersonName::new(given, first, second),
                phone,
                email,
            }),
            _ => {
                errors.sort_by_key(|e| e.field);
                Err(errors)
            }
        }
    }
}

/// Validates the contrast datum, adding its errors to the form's `errors` under their
/// fields: one error per field, so a date that did not parse is not also "required".
/// The alta form and the counter's Cl@ve form without QR share it.
pub fn validate_contrast(
    kind: DocumentKind,
    input: &ContrastInput,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<ContrastData> {
    match ContrastData::validate(kind, input, today) {
        Ok(c) => Some(c),
        Err(list) => {
            for e in list {
                let field = e.field().map_or(AltaField::ExpiryDate, AltaField::from);
                if !errors.iter().any(|x| x.field == field) {
                    errors.push(FieldError::new(field, &e));
                }
            }
            None
        }
    }
}

/// Records the error of a required field.
fn take<T, E: Coded>(errors: &mut Vec<FieldError>, field: AltaField, r: Result<T, E>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(FieldError::new(field, &e));
            None
        }
    }
}

/// An optional field: `Some(None)` when blank, `Some(Some(v))` when valid, `None` on error.
fn optional<T, E: Coded>(
    errors: &mut Vec<FieldError>,
    field: AltaField,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    if raw.trim().is_empty() {
        return Some(None);
    }
    take(errors, field, parse(raw)).map(Some)
}

/// The contrast datum as the counter screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskedContrast {
    pub kind: ContrastKind,
    /// `**/**/2031` for dates, `******678` for a support number.
    pub value: String,
}

/// What the citizen sees on the counter screen to confirm the alta. The name is shown in
/// full (the citizen checks its spelling); the document, phone, email, IDESP and
/// contrast datum are masked, so a full DNI never appears next to a full name.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskedAltaView {
    pub document_kind: DocumentKind,
    /// `****5678Z` / `X****567L`.
    pub document: String,
    pub given_name: String,
    pub first_surname: String,
    pub second_surname: Option<String>,
    pub contrast: MaskedContrast,
    /// IDESP, masked (DNI only).
    pub idesp: Option<String>,
    /// `*******678`.
    pub phone: String,
    /// `j***@example.com`.
    pub email: String,
    pub level: Level,
}

impl From<&AltaData> for MaskedAltaView {
    fn from(d: &AltaData) -> MaskedAltaView {
        MaskedAltaView {
            document_kind: d.document.kind(),
            document: d.document.masked(),
            given_name: d.name.given_name().unmasked().to_string(),
            first_surname: d.name.first_surname().unmasked().to_string(),
            second_surname: d.name.second_surname().map(|p| p.unmasked().to_string()),
            contrast: MaskedContrast {
                kind: d.contrast.contrast_kind(),
                value: d.contrast.masked(),
            },
            idesp: d.idesp.as_ref().map(Idesp::masked),
            phone: d.phone.masked(),
            email: d.email.masked(),
            level: d.level(),
        }
    }
}

impl fmt::Debug for MaskedAltaView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The view carries the full name; logs get only the masked parts.
        f.debug_struct("MaskedAltaView")
            .field("document", &self.document)
            .field("contrast", &self.contrast)
            .field("phone", &self.phone)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// States of an alta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AltaState {
    /// The clerk fills or corrects the form.
    Editing,
    /// The counter screen shows the masked data; the citizen confirms or rejects.
    AwaitingCitizen,
    /// The citizen confirmed: the store may register (terminal).
    Confirmed,
    /// Cancelled by the clerk, or refused because the citizen is already registered
    /// (terminal).
    Cancelled,
    /// Nobody acted within the idle timeout (terminal).
    TimedOut,
}

impl AltaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Editing => "editing",
            Self::AwaitingCitizen => "awaitingCitizen",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::TimedOut => "timedOut",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Confirmed | Self::Cancelled | Self::TimedOut)
    }
}

/// What happened to an alta (one per transition method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AltaEvent {
    /// The clerk replaced the form.
    FormEdited,
    /// The form was valid and went to the counter screen.
    Submitted,
    /// The clerk took the form back from the counter screen before the citizen answered.
    Withdrawn,
    CitizenConfirmed,
    /// The citizen said something is wrong: back to the clerk with the same form.
    BackToClerk,
    Cancelled,
    TimedOut,
    /// The store found an existing account.
    AlreadyRegistered,
    /// Someone asked for more time; the idle timer restarts.
    Extended,
}

impl AltaEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FormEdited => "formEdited",
            Self::Submitted => "submitted",
            Self::Withdrawn => "withdrawn",
            Self::CitizenConfirmed => "citizenConfirmed",
            Self::BackToClerk => "backToClerk",
            Self::Cancelled => "cancelled",
            Self::TimedOut => "timedOut",
            Self::AlreadyRegistered => "alreadyRegistered",
            Self::Extended => "extended",
        }
    }

    /// The audit entry this event calls for, if any. `AltaCompleted` is written by the
    /// store when it commits the registration, not on `CitizenConfirmed`.
    pub fn audit_action(self) -> Option<AuditAction> {
        match self {
            Self::BackToClerk => Some(AuditAction::AltaRejectedByCitizen),
            Self::Cancelled | Self::AlreadyRegistered => Some(AuditAction::AltaCancelled),
            Self::TimedOut => Some(AuditAction::AltaTimedOut),
            Self::FormEdited
            | Self::Submitted
            | Self::Withdrawn
            | Self::CitizenConfirmed
            | Self::Extended => None,
        }
    }
}

/// A transition that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub from: AltaState,
    pub to: AltaState,
    pub event: AltaEvent,
    pub at: DateTime<Utc>,
}

/// Why an alta operation was refused. Codes `ALT-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AltaError {
    #[error("{event} is not allowed while the alta is {state}", event = .event.as_str(), state = .state.as_str())]
    InvalidTransition { state: AltaState, event: AltaEvent },
    #[error("the form has {count} invalid field(s)", count = .0.len())]
    Invalid(Vec<FieldError>),
    #[error("the citizen is already registered in Cl@ve at level {level}")]
    AlreadyRegistered { level: Level },
}

impl AltaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidTransition { .. } => "ALT-001",
            Self::Invalid(_) => "ALT-002",
            Self::AlreadyRegistered { .. } => "ALT-003",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::InvalidTransition { state, event } => vec![
                ("state", state.as_str().to_string()),
                ("event", event.as_str().to_string()),
            ],
            Self::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                vec![
                    ("count", errors.len().to_string()),
                    ("fields", fields.join(",")),
                ]
            }
            Self::AlreadyRegistered { level } => vec![("level", level.as_str().to_string())],
        }
    }

    /// For an existing *básico* account the clerk offers the level upgrade instead.
    pub fn offers_upgrade(&self) -> bool {
        matches!(
            self,
            Self::AlreadyRegistered {
                level: Level::Basico
            }
        )
    }

    /// The inline field errors of an invalid form.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid(errors) => errors,
            _ => &[],
        }
    }
}

crate::error::impl_coded!(AltaError);

/// One in-person registration at a counter.
#[derive(Debug, Clone)]
pub struct Alta {
    state: AltaState,
    form: AltaForm,
    data: Option<AltaData>,
    started_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    citizen_rejections: u32,
}

impl Alta {
    /// A new alta with an empty form.
    pub fn new(now: DateTime<Utc>) -> Alta {
        Alta::with_form(AltaForm::default(), now)
    }

    /// A new alta with a pre-filled form (e.g. identity read from the DNIe).
    pub fn with_form(form: AltaForm, now: DateTime<Utc>) -> Alta {
        Alta {
            state: AltaState::Editing,
            form,
            data: None,
            started_at: now,
            last_activity_at: now,
            citizen_rejections: 0,
        }
    }

    pub fn state(&self) -> AltaState {
        self.state
    }

    /// The form as the clerk last left it (unchanged after the citizen rejects).
    pub fn form(&self) -> &AltaForm {
        &self.form
    }

    /// The validated data, while the citizen looks at it and once confirmed.
    pub fn data(&self) -> Option<&AltaData> {
        self.data.as_ref()
    }

    /// The data to register; only once the citizen has confirmed.
    pub fn confirmed_data(&self) -> Result<&AltaData, AltaError> {
        match (&self.data, self.state) {
            (Some(data), AltaState::Confirmed) => Ok(data),
            _ => Err(self.invalid(AltaEvent::CitizenConfirmed)),
        }
    }

    /// What the counter screen shows (while awaiting the citizen and once confirmed).
    pub fn counter_view(&self) -> Option<MaskedAltaView> {
        match self.state {
            AltaState::AwaitingCitizen | AltaState::Confirmed => {
                self.data.as_ref().map(MaskedAltaView::from)
            }
            _ => None,
        }
    }

    /// How many times the citizen sent the data back to the clerk.
    pub fn citizen_rejections(&self) -> u32 {
        self.citizen_rejections
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn last_activity_at(&self) -> DateTime<Utc> {
        self.last_activity_at
    }

    /// When the alta times out if nobody acts.
    pub fn idle_deadline(&self, idle: Duration) -> DateTime<Utc> {
        let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::MAX);
        self.last_activity_at
            .checked_add_signed(idle)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The clerk replaces the form (Editing only).
    pub fn edit(&mut self, form: AltaForm, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(&[AltaState::Editing], AltaEvent::FormEdited)?;
        self.form = form;
        Ok(self.go(AltaState::Editing, AltaEvent::FormEdited, now))
    }

    /// Validates the form (today = `now`'s UTC date, as [`crate::Clock::today`]) and shows
    /// it to the citizen. On invalid fields the alta stays in Editing and the error lists
    /// them all.
    pub fn submit(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(&[AltaState::Editing], AltaEvent::Submitted)?;
        self.last_activity_at = now;
        let data = self
            .form
            .validate(now.date_naive())
            .map_err(AltaError::Invalid)?;
        self.data = Some(data);
        Ok(self.go(AltaState::AwaitingCitizen, AltaEvent::Submitted, now))
    }

    /// The clerk takes the form back before the citizen answers.
    pub fn withdraw(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(&[AltaState::AwaitingCitizen], AltaEvent::Withdrawn)?;
        self.data = None;
        Ok(self.go(AltaState::Editing, AltaEvent::Withdrawn, now))
    }

    /// The citizen confirms the data on the counter screen.
    pub fn citizen_confirm(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(&[AltaState::AwaitingCitizen], AltaEvent::CitizenConfirmed)?;
        Ok(self.go(AltaState::Confirmed, AltaEvent::CitizenConfirmed, now))
    }

    /// The citizen says something is wrong: back to the clerk with the same form.
    pub fn citizen_reject(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(&[AltaState::AwaitingCitizen], AltaEvent::BackToClerk)?;
        self.data = None;
        self.citizen_rejections = self.citizen_rejections.saturating_add(1);
        Ok(self.go(AltaState::Editing, AltaEvent::BackToClerk, now))
    }

    /// The clerk cancels.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(
            &[AltaState::Editing, AltaState::AwaitingCitizen],
            AltaEvent::Cancelled,
        )?;
        Ok(self.go(AltaState::Cancelled, AltaEvent::Cancelled, now))
    }

    /// Closes the alta because the store found an account for this document; the caller
    /// shows `AltaError::AlreadyRegistered { level }` (upgrade offer for *básico*).
    pub fn refuse_already_registered(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Transition, AltaError> {
        self.require(
            &[
                AltaState::Editing,
                AltaState::AwaitingCitizen,
                AltaState::Confirmed,
            ],
            AltaEvent::AlreadyRegistered,
        )?;
        Ok(self.go(AltaState::Cancelled, AltaEvent::AlreadyRegistered, now))
    }

    /// Times the alta out now (the caller's timer fired).
    pub fn time_out(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(
            &[AltaState::Editing, AltaState::AwaitingCitizen],
            AltaEvent::TimedOut,
        )?;
        Ok(self.go(AltaState::TimedOut, AltaEvent::TimedOut, now))
    }

    /// Times the alta out if it has been idle for `idle` or more; `None` otherwise or
    /// when it is already finished.
    pub fn time_out_if_idle(&mut self, now: DateTime<Utc>, idle: Duration) -> Option<Transition> {
        if self.state.is_terminal() || now < self.idle_deadline(idle) {
            return None;
        }
        self.time_out(now).ok()
    }

    /// Someone acted or asked for more time: restart the idle timer.
    pub fn touch(&mut self, now: DateTime<Utc>) -> Result<Transition, AltaError> {
        self.require(
            &[AltaState::Editing, AltaState::AwaitingCitizen],
            AltaEvent::Extended,
        )?;
        Ok(self.go(self.state, AltaEvent::Extended, now))
    }

    fn invalid(&self, event: AltaEvent) -> AltaError {
        AltaError::InvalidTransition {
            state: self.state,
            event,
        }
    }

    fn require(&self, allowed: &[AltaState], event: AltaEvent) -> Result<(), AltaError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(self.invalid(event))
        }
    }

    fn go(&mut self, to: AltaState, event: AltaEvent, now: DateTime<Utc>) -> Transition {
        let from = self.state;
        self.state = to;
        self.last_activity_at = now;
        Transition {
            from,
            to,
            event,
            at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 5, 14)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn today() -> NaiveDate {
        now().date_naive()
    }

    fn valid_form() -> AltaForm {
        AltaForm {
            document: "12345678z".into(),
            expiry_date: "07/03/2031".into(),
            permanent: false,
            issue_date: String::new(),
            support_number: "BAA000589".into(),
            given_name: "Juan".into(),
            first_surname: "García".into(),
            second_surname: "López".into(),
            phone: "612 345 678".into(),
            email: "juan@example.com".into(),
        }
    }

    fn nie_form() -> AltaForm {
        AltaForm {
            document: "X1234567L".into(),
            expiry_date: String::new(),
            support_number: "E12345678".into(),
            second_surname: String::new(),
            ..valid_form()
        }
    }

    fn codes(errors: &[FieldError]) -> Vec<(&'static str, &'static str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn valid_dni_form() {
        let data = valid_form().validate(today()).unwrap();
        assert_eq!(data.document.unmasked(), "12345678Z");
        assert_eq!(
            data.contrast,
            ContrastData::DniExpiry(NaiveDate::from_ymd_opt(2031, 3, 7).unwrap())
        );
        assert_eq!(data.idesp.as_ref().unwrap().unmasked(), "BAA000589");
        assert_eq!(data.name.full_unmasked(), "JUAN GARCÍA LÓPEZ");
        assert_eq!(data.phone.e164(), "+34612345678");
        assert_eq!(data.email.unmasked(), "juan@example.com");
        assert_eq!(data.level(), Level::Avanzado);
        // IDESP is optional for a DNI.
        let no_idesp = AltaForm {
            support_number: String::new(),
            ..valid_form()
        };
        assert_eq!(no_idesp.validate(today()).unwrap().idesp, None);
    }

    #[test]
    fn valid_nie_and_permanent_forms() {
        let data = nie_form().validate(today()).unwrap();
        assert_eq!(data.contrast.contrast_kind(), ContrastKind::NieSupport);
        assert_eq!(data.idesp, None);
        assert_eq!(data.name.second_surname(), None);
        for form in [
            AltaForm {
                expiry_date: "01/01/9999".into(),
                issue_date: "2015-06-01".into(),
                ..valid_form()
            },
            AltaForm {
                expiry_date: String::new(),
                permanent: true,
                issue_date: "01-06-2015".into(),
                ..valid_form()
            },
        ] {
            let data = form.validate(today()).unwrap();
            assert_eq!(
                data.contrast,
                ContrastData::PermanentDniIssue(NaiveDate::from_ymd_opt(2015, 6, 1).unwrap())
            );
        }
    }

    #[test]
    fn reports_every_invalid_field_at_once() {
        let form = AltaForm {
            document: "12345678A".into(),
            expiry_date: "31/02/2031".into(),
            permanent: false,
            issue_date: "2027-01-01".into(),
            support_number: "E12345678".into(),
            given_name: "Juan2".into(),
            first_surname: "  ".into(),
            second_surname: "L@pez".into(),
            phone: "912345678".into(),
            email: "juan.example.com".into(),
        };
        let errors = form.validate(today()).unwrap_err();
        assert_eq!(
            codes(&errors),
            vec![
                ("document", "DOC-004"),
                ("expiryDate", "CTR-003"),
                ("issueDate", "CTR-005"),
                ("supportNumber", "CTR-009"),
                ("givenName", "NAM-003"),
                ("firstSurname", "NAM-001"),
                ("secondSurname", "NAM-003"),
                ("phone", "PHN-004"),
                ("email", "EML-003"),
            ]
        );
        assert_eq!(
            errors[0].params,
            vec![
                ("digits", "12345678".to_string()),
                ("expected", "Z".to_string()),
                ("given", "A".to_string())
            ]
        );
        // Debug shows field and code only.
        assert_eq!(format!("{:?}", errors[0]), "FieldError(document: DOC-004)");
        let json = serde_json::to_value(&errors[0]).unwrap();
        assert_eq!(json["field"], "document");
        assert_eq!(json["code"], "DOC-004");
        assert_eq!(json["params"]["expected"], "Z");
    }

    #[test]
    fn contrast_rules_in_the_form() {
        let case = |form: AltaForm| codes(&form.validate(today()).unwrap_err());
        assert_eq!(
            case(AltaForm {
                expiry_date: "13/05/2026".into(),
                ..valid_form()
            }),
            vec![("expiryDate", "CTR-004")]
        );
        assert_eq!(
            case(AltaForm {
                expiry_date: String::new(),
                ..valid_form()
            }),
            vec![("expiryDate", "CTR-007")]
        );
        assert_eq!(
            case(AltaForm {
                expiry_date: "01/01/9999".into(),
                ..valid_form()
            }),
            vec![("issueDate", "CTR-006")]
        );
        assert_eq!(
            case(AltaForm {
                support_number: String::new(),
                ..nie_form()
            }),
            vec![("supportNumber", "CTR-008")]
        );
        assert_eq!(
            case(AltaForm {
                support_number: "BAA000589".into(),
                ..nie_form()
            }),
            vec![("supportNumber", "CTR-010")]
        );
        assert_eq!(
            case(AltaForm {
                expiry_date: "2031".into(),
                ..valid_form()
            }),
            vec![("expiryDate", "CTR-002")]
        );
        // A wrong NIE still has its support number checked as a NIE's.
        assert_eq!(
            case(AltaForm {
                document: "X1234567A".into(),
                support_number: "E1".into(),
                ..nie_form()
            }),
            vec![("document", "DOC-004"), ("supportNumber", "CTR-010")]
        );
        assert_eq!(
            case(AltaForm {
                document: String::new(),
                phone: String::new(),
                email: String::new(),
                given_name: String::new(),
                ..valid_form()
            }),
            vec![
                ("document", "DOC-001"),
                ("givenName", "NAM-001"),
                ("phone", "PHN-001"),
                ("email", "EML-001")
            ]
        );
    }

    #[test]
    fn form_debug_is_redacted_and_serde_is_camel_case() {
        let form = valid_form();
        let dbg = format!("{form:?}");
        for secret in ["12345678", "Juan", "García", "612", "juan@", "2031", "BAA"] {
            assert!(!dbg.contains(secret), "{secret} leaked");
        }
        let json = serde_json::to_value(&form).unwrap();
        assert_eq!(json["expiryDate"], "07/03/2031");
        assert_eq!(json["firstSurname"], "García");
        let partial: AltaForm = serde_json::from_str(r#"{"document":"1"}"#).unwrap();
        assert_eq!(partial.document, "1");
        assert!(!partial.permanent);
    }

    #[test]
    fn field_names() {
        let names: Vec<&str> = AltaField::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "document",
                "expiryDate",
                "issueDate",
                "supportNumber",
                "givenName",
                "firstSurname",
                "secondSurname",
                "phone",
                "email"
            ]
        );
        for f in AltaField::ALL {
            assert_eq!(
                serde_json::to_string(f).unwrap(),
                format!("\"{}\"", f.as_str())
            );
        }
    }

    #[test]
    fn masked_view() {
        let data = valid_form().validate(today()).unwrap();
        let view = data.masked_view();
        assert_eq!(view.document, "****5678Z");
        assert_eq!(view.given_name, "JUAN");
        assert_eq!(view.second_surname.as_deref(), Some("LÓPEZ"));
        assert_eq!(view.contrast.value, "**/**/2031");
        assert_eq!(view.contrast.kind, ContrastKind::DniExpiry);
        assert_eq!(view.idesp.as_deref(), Some("******589"));
        assert_eq!(view.phone, "*******678");
        assert_eq!(view.email, "j***@example.com");
        assert_eq!(view.level, Level::Avanzado);
        let json = serde_json::to_string(&view).unwrap();
        for secret in ["12345678", "612345678", "juan@", "BAA000589", "07"] {
            assert!(!json.contains(secret), "{secret} leaked");
        }
        let dbg = format!("{view:?}");
        assert!(!dbg.contains("JUAN") && !dbg.contains("12345678"));
        let nie_view = nie_form().validate(today()).unwrap().masked_view();
        assert_eq!(nie_view.document, "X****567L");
        assert_eq!(nie_view.contrast.value, "******678");
        assert_eq!(nie_view.idesp, None);
        let data_dbg = format!("{data:?}");
        for secret in ["12345678", "JUAN", "612345678", "juan@", "BAA000589"] {
            assert!(!data_dbg.contains(secret), "{secret} leaked in {data_dbg}");
        }
    }

    fn later(secs: i64) -> DateTime<Utc> {
        now() + TimeDelta::seconds(secs)
    }

    #[test]
    fn happy_path() {
        let mut alta = Alta::new(now());
        assert_eq!(alta.state(), AltaState::Editing);
        assert!(alta.counter_view().is_none());
        let t = alta.edit(valid_form(), later(1)).unwrap();
        assert_eq!(
            (t.from, t.to, t.event),
            (
                AltaState::Editing,
                AltaState::Editing,
                AltaEvent::FormEdited
            )
        );
        let t = alta.submit(later(2)).unwrap();
        assert_eq!(
            (t.from, t.to),
            (AltaState::Editing, AltaState::AwaitingCitizen)
        );
        assert_eq!(t.event, AltaEvent::Submitted);
        assert_eq!(t.at, later(2));
        assert_eq!(alta.counter_view().unwrap().document, "****5678Z");
        assert!(alta.confirmed_data().is_err());
        let t = alta.citizen_confirm(later(3)).unwrap();
        assert_eq!(
            (t.from, t.to),
            (AltaState::AwaitingCitizen, AltaState::Confirmed)
        );
        assert_eq!(t.event.audit_action(), None);
        assert_eq!(
            alta.confirmed_data().unwrap().document.unmasked(),
            "12345678Z"
        );
        assert!(alta.counter_view().is_some());
        assert!(alta.state().is_terminal());
        assert_eq!(alta.started_at(), now());
        assert_eq!(alta.last_activity_at(), later(3));
    }

    #[test]
    fn citizen_rejects_and_form_is_unchanged() {
        let mut alta = Alta::with_form(valid_form(), now());
        alta.submit(later(1)).unwrap();
        let t = alta.citizen_reject(later(2)).unwrap();
        assert_eq!(
            (t.from, t.to, t.event),
            (
                AltaState::AwaitingCitizen,
                AltaState::Editing,
                AltaEvent::BackToClerk
            )
        );
        assert_eq!(
            t.event.audit_action(),
            Some(AuditAction::AltaRejectedByCitizen)
        );
        assert_eq!(alta.form(), &valid_form());
        assert!(alta.data().is_none());
        assert_eq!(alta.citizen_rejections(), 1);
        // Correct and resubmit.
        let mut corrected = valid_form();
        corrected.email = "juan.garcia@example.com".into();
        alta.edit(corrected, later(3)).unwrap();
        alta.submit(later(4)).unwrap();
        alta.citizen_confirm(later(5)).unwrap();
        assert_eq!(
            alta.confirmed_data().unwrap().email.unmasked(),
            "juan.garcia@example.com"
        );
    }

    #[test]
    fn invalid_submit_stays_editing() {
        let mut alta = Alta::with_form(AltaForm::default(), now());
        let err = alta.submit(later(1)).unwrap_err();
        assert_eq!(err.code(), "ALT-002");
        assert_eq!(alta.state(), AltaState::Editing);
        assert!(err.field_errors().len() >= 5);
        assert_eq!(err.params()[0].0, "count");
        assert!(err.to_string().starts_with("the form has "));
        assert_eq!(alta.last_activity_at(), later(1));
    }

    #[test]
    fn withdraw_cancel_and_timeouts() {
        let mut alta = Alta::with_form(valid_form(), now());
        alta.submit(later(1)).unwrap();
        let t = alta.withdraw(later(2)).unwrap();
        assert_eq!(t.to, AltaState::Editing);
        assert!(alta.data().is_none());
        assert_eq!(alta.citizen_rejections(), 0);

        let t = alta.cancel(later(3)).unwrap();
        assert_eq!((t.from, t.to), (AltaState::Editing, AltaState::Cancelled));
        assert_eq!(t.event.audit_action(), Some(AuditAction::AltaCancelled));

        let mut waiting = Alta::with_form(valid_form(), now());
        waiting.submit(now()).unwrap();
        assert_eq!(
            waiting.cancel(later(1)).unwrap().from,
            AltaState::AwaitingCitizen
        );

        let mut idle = Alta::with_form(valid_form(), now());
        idle.submit(now()).unwrap();
        assert_eq!(idle.idle_deadline(COUNTER_IDLE_TIMEOUT), later(180));
        assert!(
            idle.time_out_if_idle(later(179), COUNTER_IDLE_TIMEOUT)
                .is_none()
        );
        idle.touch(later(100)).unwrap();
        assert!(
            idle.time_out_if_idle(later(250), COUNTER_IDLE_TIMEOUT)
                .is_none()
        );
        let t = idle
            .time_out_if_idle(later(280), COUNTER_IDLE_TIMEOUT)
            .unwrap();
        assert_eq!(
            (t.from, t.to, t.event),
            (
                AltaState::AwaitingCitizen,
                AltaState::TimedOut,
                AltaEvent::TimedOut
            )
        );
        assert_eq!(t.event.audit_action(), Some(AuditAction::AltaTimedOut));
        assert!(
            idle.time_out_if_idle(later(10_000), COUNTER_IDLE_TIMEOUT)
                .is_none()
        );

        let mut editing = Alta::new(now());
        assert_eq!(editing.time_out(later(1)).unwrap().from, AltaState::Editing);
    }

    #[test]
    fn already_registered() {
        let mut alta = Alta::with_form(valid_form(), now());
        alta.submit(later(1)).unwrap();
        alta.citizen_confirm(later(2)).unwrap();
        let t = alta.refuse_already_registered(later(3)).unwrap();
        assert_eq!(
            (t.from, t.to, t.event),
            (
                AltaState::Confirmed,
                AltaState::Cancelled,
                AltaEvent::AlreadyRegistered
            )
        );
        let basico = AltaError::AlreadyRegistered {
            level: Level::Basico,
        };
        assert_eq!(basico.code(), "ALT-003");
        assert!(basico.offers_upgrade());
        assert_eq!(basico.params(), vec![("level", "basico".to_string())]);
        let avanzado = AltaError::AlreadyRegistered {
            level: Level::Avanzado,
        };
        assert!(!avanzado.offers_upgrade());
        assert!(avanzado.field_errors().is_empty());
    }

    /// Every (state, event) pair that is not a documented transition is an ALT-001 error
    /// and leaves the alta untouched.
    #[test]
    fn every_invalid_transition_is_an_error() {
        type Op = fn(&mut Alta, DateTime<Utc>) -> Result<Transition, AltaError>;
        let ops: [(AltaEvent, Op); 9] = [
            (AltaEvent::FormEdited, |a, t| a.edit(valid_form(), t)),
            (AltaEvent::Submitted, Alta::submit),
            (AltaEvent::Withdrawn, Alta::withdraw),
            (AltaEvent::CitizenConfirmed, Alta::citizen_confirm),
            (AltaEvent::BackToClerk, Alta::citizen_reject),
            (AltaEvent::Cancelled, Alta::cancel),
            (AltaEvent::TimedOut, Alta::time_out),
            (
                AltaEvent::AlreadyRegistered,
                Alta::refuse_already_registered,
            ),
            (AltaEvent::Extended, Alta::touch),
        ];
        let allowed = |state: AltaState, event: AltaEvent| -> bool {
            use AltaEvent as E;
            use AltaState as S;
            matches!(
                (state, event),
                (
                    S::Editing,
                    E::FormEdited
                        | E::Submitted
                        | E::Cancelled
                        | E::TimedOut
                        | E::AlreadyRegistered
                        | E::Extended
                ) | (
                    S::AwaitingCitizen,
                    E::Withdrawn
                        | E::CitizenConfirmed
                        | E::BackToClerk
                        | E::Cancelled
                        | E::TimedOut
                        | E::AlreadyRegistered
                        | E::Extended
                ) | (S::Confirmed, E::AlreadyRegistered)
            )
        };
        let in_state = |state: AltaState| -> Alta {
            let mut a = Alta::with_form(valid_form(), now());
            match state {
                AltaState::Editing => {}
                AltaState::AwaitingCitizen => {
                    a.submit(now()).unwrap();
                }
                AltaState::Confirmed => {
                    a.submit(now()).unwrap();
                    a.citizen_confirm(now()).unwrap();
                }
                AltaState::Cancelled => {
                    a.cancel(now()).unwrap();
                }
                AltaState::TimedOut => {
                    a.time_out(now()).unwrap();
                }
            }
            assert_eq!(a.state(), state);
            a
        };
        let states = [
            AltaState::Editing,
            AltaState::AwaitingCitizen,
            AltaState::Confirmed,
            AltaState::Cancelled,
            AltaState::TimedOut,
        ];
        let mut checked = 0;
        for state in states {
            for (event, op) in ops {
                let mut alta = in_state(state);
                let result = op(&mut alta, later(5));
                if allowed(state, event) {
                    let t = result.unwrap();
                    assert_eq!((t.from, t.event), (state, event));
                } else {
                    let err = result.unwrap_err();
                    assert_eq!(err, AltaError::InvalidTransition { state, event });
                    assert_eq!(err.code(), "ALT-001");
                    assert_eq!(alta.state(), state, "state changed on refused {event:?}");
                    assert_eq!(alta.last_activity_at(), now());
                    assert!(!err.to_string().is_empty());
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 9 - (6 + 7 + 1));
    }
}
