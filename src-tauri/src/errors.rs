//! Errors of the desk, with the stable codes the UI translates.

use std::collections::BTreeMap;

use registry::Level;
use registry::alta::{AltaError, FieldError};
use store::StoreError;

use crate::ipc::{CommandError, FieldErrorDto};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeskError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("account temporarily locked after failed logins")]
    LockedOut { retry_after_secs: u32 },
    #[error("no clerk is logged in")]
    NotLoggedIn,
    #[error("the clerk's role does not allow this")]
    Forbidden,
    #[error("the console is locked after inactivity")]
    SessionLocked,
    #[error("the form has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("the citizen is already registered")]
    AlreadyRegistered(Level),
    #[error("no alta is in progress")]
    NoAltaInProgress,
    #[error("an alta is already waiting for the citizen")]
    AltaBusy,
    #[error("the operation is not possible in this state ({0})")]
    Transition(&'static str),
    #[error("storage failed, nothing was saved: {0}")]
    Store(StoreError),
    #[error("no DNIe is ready in a reader")]
    NoCard,
    #[error("the document in the form is not the one the DNIe gave")]
    CardMismatch,
    #[error("no PIN was asked for")]
    NoPinRequested,
    #[error("training mode: {0}")]
    Training(&'static str),
    #[error("Cl@ve Móvil is not enabled on this desk")]
    ClaveDisabled,
    #[error("no Cl@ve Móvil request is in progress")]
    NoClaveRequest,
    #[error("the Cl@ve Móvil endpoint refused: {0}")]
    Clave(&'static str),
    #[error("this step of the Cl@ve Móvil request is not available now")]
    ClaveWrongStep,
    #[error("the PIN by SMS is not available yet")]
    ClaveSmsTooEarly { retry_after_secs: u32 },
    #[error("a PIN was sent a moment ago")]
    ClaveSmsResendTooSoon { retry_after_secs: u32 },
    #[error("the SMS limit per hour for this document is reached")]
    ClaveSmsCap { retry_after_secs: u32 },
    #[error("too many attempts for this document")]
    ClaveRateLimited { retry_after_secs: u32 },
    #[error("wrong SMS PIN")]
    ClaveWrongPin { tries_left: u32 },
    #[error("the SMS PIN is 6 digits")]
    ClavePinFormat,
    #[error("no PIN was sent by SMS")]
    ClaveNoPin,
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyRegistered(level) => DeskError::AlreadyRegistered(level),
            other => DeskError::Store(other),
        }
    }
}

impl From<clave_movil::ClaveError> for DeskError {
    fn from(e: clave_movil::ClaveError) -> Self {
        use clave_movil::ClaveError as C;
        let secs = |s: u64| u32::try_from(s).unwrap_or(u32::MAX);
        match e {
            C::SmsTooEarly { retry_after } => DeskError::ClaveSmsTooEarly {
                retry_after_secs: secs(retry_after),
            },
            C::SmsResendTooSoon { retry_after } => DeskError::ClaveSmsResendTooSoon {
                retry_after_secs: secs(retry_after),
            },
            C::SmsCap { retry_after } => DeskError::ClaveSmsCap {
                retry_after_secs: secs(retry_after),
            },
            C::RateLimited { retry_after } => DeskError::ClaveRateLimited {
                retry_after_secs: secs(retry_after),
            },
            C::WrongPin { tries_left } => DeskError::ClaveWrongPin { tries_left },
            C::NoPin => DeskError::ClaveNoPin,
            other => DeskError::Clave(other.code()),
        }
    }
}

impl DeskError {
    pub fn from_alta(e: AltaError) -> DeskError {
        match e {
            AltaError::Invalid(fields) => DeskError::Invalid(fields),
            AltaError::AlreadyRegistered { level } => DeskError::AlreadyRegistered(level),
            other => DeskError::Transition(other.code()),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            DeskError::BadCredentials => "AUTH-001",
            DeskError::LockedOut { .. } => "AUTH-002",
            DeskError::NotLoggedIn => "AUTH-003",
            DeskError::Forbidden => "AUTH-010",
            DeskError::SessionLocked => "SESSION-LOCKED",
            DeskError::Invalid(_) => "VAL-001",
            DeskError::AlreadyRegistered(_) => "ALT-003",
            DeskError::NoAltaInProgress => "ALTA-002",
            DeskError::AltaBusy => "ALTA-003",
            DeskError::Transition(code) => code,
            DeskError::Store(e) => e.code(),
            DeskError::NoCard => "CARD-NONE",
            DeskError::CardMismatch => "CARD-MISMATCH",
            DeskError::NoPinRequested => "PIN-NONE",
            DeskError::Training(code) => code,
            DeskError::ClaveDisabled => "CLAVE-001",
            DeskError::NoClaveRequest => "CLAVE-002",
            DeskError::Clave(_) => "CLAVE-003",
            DeskError::ClaveWrongStep => "CLAVE-004",
            DeskError::ClaveSmsTooEarly { .. } => "CLAVE-005",
            DeskError::ClaveSmsResendTooSoon { .. } => "CLAVE-006",
            DeskError::ClaveSmsCap { .. } => "CLAVE-007",
            DeskError::ClaveRateLimited { .. } => "CLAVE-008",
            DeskError::ClaveWrongPin { .. } => "CLAVE-009",
            DeskError::ClavePinFormat => "CLAVE-010",
            DeskError::ClaveNoPin => "CLAVE-011",
        }
    }

    /// The wire form. `message` is this error's Display, which never holds
    /// personal data (the domain's errors keep it in `params`).
    pub fn to_dto(&self) -> CommandError {
        let mut params = BTreeMap::new();
        let mut fields = Vec::new();
        match self {
            DeskError::LockedOut { retry_after_secs } => {
                params.insert("retryAfterSecs".to_owned(), retry_after_secs.to_string());
            }
            DeskError::AlreadyRegistered(level) => {
                params.insert("level".to_owned(), level.as_str().to_owned());
            }
            DeskError::Clave(code) => {
                params.insert("code".to_owned(), (*code).to_owned());
            }
            DeskError::ClaveSmsTooEarly { retry_after_secs }
            | DeskError::ClaveSmsResendTooSoon { retry_after_secs }
            | DeskError::ClaveRateLimited { retry_after_secs } => {
                params.insert("retryAfterSecs".to_owned(), retry_after_secs.to_string());
            }
            DeskError::ClaveSmsCap { retry_after_secs } => {
                params.insert(
                    "retryAfterMins".to_owned(),
                    retry_after_secs.div_ceil(60).to_string(),
                );
            }
            DeskError::ClaveWrongPin { tries_left } => {
                params.insert("triesLeft".to_owned(), tries_left.to_string());
            }
            DeskError::Invalid(errors) => {
                fields = errors
                    .iter()
                    .map(|f| FieldErrorDto {
                        field: f.field.as_str().to_owned(),
                        code: f.code.to_owned(),
                        params: f
                            .params
                            .iter()
                            .map(|(k, v)| ((*k).to_owned(), v.clone()))
                            .collect(),
                    })
                    .collect();
            }
            _ => {}
        }
        CommandError {
            code: self.code().to_owned(),
            message: self.to_string(),
            params,
            fields,
        }
    }
}

impl serde::Serialize for DeskError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_dto().serialize(serializer)
    }
}
