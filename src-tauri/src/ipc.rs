//! The types that cross the IPC boundary between Rust and the two windows.
//!
//! They are the contract with `ui/`: `ui/src/bindings.ts` is generated from them
//! (`bindings::render`), and a test fails when the committed file drifts.
//! Personal data only ever appears here already masked, except in the clerk's own
//! form (`AltaFormDto`), which only the clerk window receives, through a command
//! result or the clerk's own channel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A language of the user interface. Spanish first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Es,
    Ca,
    Gl,
    Eu,
    En,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::Es, Lang::Ca, Lang::Gl, Lang::Eu, Lang::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::Ca => "ca",
            Lang::Gl => "gl",
            Lang::Eu => "eu",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The error every command returns. The UI translates `code` (with `params`);
/// `message` is a short English developer text without personal data.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub params: BTreeMap<String, String>,
    /// Per-field problems of a form, all of them at once.
    pub fields: Vec<FieldErrorDto>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldErrorDto {
    /// camelCase name of the form field (`document`, `phone`, …).
    pub field: String,
    pub code: String,
    pub params: BTreeMap<String, String>,
}

/// What the clerk console needs before anyone logs in.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub office_name: String,
    /// DIR3 code of the office (`O` + 8 digits).
    pub office_code: String,
    pub counter: u16,
    pub training: bool,
    pub languages: Vec<Lang>,
    pub default_language: Lang,
    pub clerk_idle_lock_secs: u32,
    /// Training mode only: the seeded demo account, shown as such on screen.
    pub demo_clerk: Option<DemoClerk>,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DemoClerk {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RoleDto {
    Clerk,
    Supervisor,
    Admin,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClerkSessionDto {
    pub username: String,
    pub display_name: String,
    pub role: RoleDto,
    /// What the role allows beyond serving citizens (`registry::Role::can`: the
    /// one place these rules live).
    pub may_verify_audit: bool,
    pub may_show_typed_document: bool,
    /// The seeded training account.
    pub demo: bool,
    /// The console is idle-locked: the clerk must type the password again.
    pub locked: bool,
}

/// The alta form exactly as the clerk typed it. Raw personal data: clerk window only.
#[derive(Clone, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AltaFormDto {
    pub document: String,
    /// `YYYY-MM-DD` (or `DD/MM/YYYY`); DNI only.
    pub expiry_date: String,
    /// Permanent DNI (holders over 70): the contrast datum is the issue date.
    pub permanent: bool,
    pub issue_date: String,
    /// IDESP for a DNI (optional), support number for a NIE (required).
    pub support_number: String,
    pub given_name: String,
    pub first_surname: String,
    pub second_surname: String,
    pub phone: String,
    pub email: String,
    /// The clerk took document, name and support number from the DNIe in the
    /// reader (the backend checks they still match the card).
    pub from_card: bool,
}

impl std::fmt::Debug for AltaFormDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AltaFormDto([redacted])")
    }
}

/// Account level in Cl@ve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LevelDto {
    Basico,
    Avanzado,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKindDto {
    Dni,
    Nie,
}

/// Which contrast datum the citizen gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ContrastKindDto {
    DniExpiry,
    PermanentDniIssue,
    NieSupport,
}

/// The citizen's data as the counter screen shows it: masked.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MaskedCitizenDto {
    pub document_kind: DocumentKindDto,
    /// e.g. `****5678Z`.
    pub document: String,
    /// Name as the citizen should recognise it.
    pub name: String,
    pub contrast_kind: ContrastKindDto,
    /// Dates show only their year; support numbers their last characters.
    pub contrast: String,
    /// Last 3 digits only.
    pub phone: String,
    /// First letter and domain only.
    pub email: String,
    pub level: LevelDto,
}

/// What the counter screen shows. Pushed through the channel the counter opened.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "screen", rename_all = "camelCase")]
pub enum CounterView {
    /// Nothing in progress: welcome and language choice.
    Welcome,
    /// The citizen checks their data and confirms the registration, or says it is wrong.
    #[serde(rename_all = "camelCase")]
    ConfirmAlta {
        citizen: MaskedCitizenDto,
        /// Seconds until the request times out and the screen clears.
        expires_in_secs: u32,
    },
    /// Registration done; back to welcome after `return_in_secs`.
    #[serde(rename_all = "camelCase")]
    AltaDone {
        level: LevelDto,
        return_in_secs: u32,
    },
    /// The citizen said the data was wrong; the clerk is correcting it.
    BackToClerk,
    /// A DNIe was read: the citizen sees who the card says they are, masked.
    #[serde(rename_all = "camelCase")]
    Identified { citizen: MaskedIdentityDto },
    /// The citizen types their DNIe PIN here (never in the clerk window).
    /// After a wrong PIN, `tries_left` and the error code say so.
    /// `citizen` is unknown for a DNIe 2.0, which tells who it is only after
    /// its PIN.
    #[serde(rename_all = "camelCase")]
    EnterPin {
        citizen: Option<MaskedIdentityDto>,
        tries_left: Option<u8>,
        error_code: Option<String>,
    },
    /// The card is checking the PIN and signing the challenge.
    PinChecking,
    /// The chip proved it is a genuine DNIe and the PIN was right.
    PinVerified,
    /// The PIN is blocked: only a police station's PAD kiosk can unblock it.
    PinBlocked,
    /// A Cl@ve Móvil request for the citizen at this counter: scan the QR
    /// (redrawn every second) with the Cl@ve app and check body and code.
    /// `qr_svg` is `None` once the app has scanned it (confirm in the app).
    #[serde(rename_all = "camelCase")]
    ClaveQr {
        /// The requesting body, as the app shows it too.
        body: String,
        /// The 3-digit verification code.
        code: String,
        counter: u16,
        qr_svg: Option<String>,
        expires_in_secs: u32,
    },
    /// The citizen chose "without QR": they type their DNI/NIE and its
    /// contrast datum here ([`ClaveIdentityDto`]), or go back to the QR. The
    /// time left is the QR request's, which waits behind the form.
    #[serde(rename_all = "camelCase")]
    ClaveIdentify {
        body: String,
        counter: u16,
        expires_in_secs: u32,
    },
    /// A request without QR: it went to the citizen's phone, where the app
    /// offers three codes and the citizen picks `code`. After `sms_in_secs`
    /// (0: now) the counter offers the PIN by SMS.
    #[serde(rename_all = "camelCase")]
    ClaveNoQr {
        body: String,
        code: String,
        counter: u16,
        /// The document the citizen typed, masked (`****5678Z`).
        document: String,
        expires_in_secs: u32,
        sms_in_secs: u32,
    },
    /// The PIN went by SMS: the citizen types its 6 digits here. After a wrong
    /// PIN, `error_code` says so and `tries_left` how many remain. Another SMS
    /// may be asked for after `resend_in_secs`; the app may still confirm.
    #[serde(rename_all = "camelCase")]
    ClaveSmsPin {
        body: String,
        code: String,
        counter: u16,
        document: String,
        expires_in_secs: u32,
        tries_left: u32,
        error_code: Option<String>,
        resend_in_secs: u32,
    },
    /// The Cl@ve Móvil request ended; back to idle after the done screen.
    /// `by_sms`: it ended with the SMS PIN (right, or the last wrong try).
    #[serde(rename_all = "camelCase")]
    ClaveDone {
        outcome: ClaveOutcomeDto,
        by_sms: bool,
    },
}

/// What the citizen types on the counter screen for a Cl@ve Móvil request
/// without QR. Raw personal data: it goes from the counter window to the desk
/// and is never sent back.
#[derive(Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaveIdentityDto {
    pub document: String,
    /// DNI: its expiry date (`YYYY-MM-DD` or `DD/MM/YYYY`).
    pub expiry_date: String,
    /// Permanent DNI (holders over 70): the contrast datum is the issue date.
    pub permanent: bool,
    pub issue_date: String,
    /// NIE: the card's support number (a letter and 8 digits).
    pub support_number: String,
}

impl std::fmt::Debug for ClaveIdentityDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaveIdentityDto([redacted])")
    }
}

/// How a Cl@ve Móvil request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ClaveOutcomeDto {
    Confirmed,
    Rejected,
    Expired,
    Cancelled,
}

/// A Cl@ve Móvil request as the clerk console follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ClaveStatusDto {
    /// Waiting for the citizen to scan the QR.
    Pending,
    /// The app scanned it; waiting for the citizen to confirm in the app.
    Scanned,
    /// The citizen chose "without QR" and is typing their data on the counter.
    Identifying,
    /// Without QR: sent to the citizen's phone, waiting for them to pick the code.
    Waiting,
    /// The PIN went by SMS; waiting for the citizen to type it on the counter.
    SmsSent,
    Confirmed,
    Rejected,
    Expired,
    Cancelled,
}

/// Who the DNIe says the citizen is, as the counter screen shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MaskedIdentityDto {
    /// e.g. `****5678Z`.
    pub document: String,
    pub name: String,
}

/// Who the DNIe says the citizen is: the clerk window only.
#[derive(Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CardIdentityDto {
    pub document: String,
    pub given_name: String,
    pub surnames: String,
    /// The split of `surnames` the alta form uses (first, second).
    pub first_surname: String,
    pub second_surname: String,
    /// Support number (IDESP) read from the chip.
    pub idesp: String,
    /// Last day of the authentication certificate, `YYYY-MM-DD`.
    pub cert_valid_until: String,
    /// `2.0` or `3.0` (3.0 and 4.0 behave alike over contact).
    pub version: String,
}

impl std::fmt::Debug for CardIdentityDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardIdentityDto([redacted])")
    }
}

/// What one card reader shows.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ReaderStateDto {
    Empty,
    Reading,
    #[serde(rename_all = "camelCase")]
    Ready {
        identity: CardIdentityDto,
    },
    NotADnie,
    Finalised,
    #[serde(rename_all = "camelCase")]
    Error {
        code: String,
    },
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReaderDto {
    pub name: String,
    pub state: ReaderStateDto,
    /// The reader whose card the desk uses.
    pub selected: bool,
}

/// The whole picture of the card readers.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReadersDto {
    /// pcscd (the PC/SC service) is running.
    pub service: bool,
    /// The selected reader holds a DNIe 2.0: its identity comes with the PIN.
    pub pin_only: bool,
    pub readers: Vec<ReaderDto>,
}

/// A virtual DNIe the training panel can insert.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrainingCardDto {
    pub id: String,
    /// What kind of card it is, for the trainee (no real person's data).
    pub label: String,
}

/// Static facts for the counter screen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CounterInfo {
    pub office_name: String,
    pub counter: u16,
    pub training: bool,
    pub languages: Vec<Lang>,
    pub default_language: Lang,
}

/// The alta as the clerk console follows it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ClerkEvent {
    /// The counter screen is showing the data; waiting for the citizen.
    #[serde(rename_all = "camelCase")]
    AltaAwaitingCitizen {
        citizen: MaskedCitizenDto,
        expires_in_secs: u32,
    },
    /// Stored at the given level with its audit entry.
    #[serde(rename_all = "camelCase")]
    AltaCompleted {
        registration_id: String,
        level: LevelDto,
        #[ts(type = "number")]
        audit_seq: i64,
    },
    /// The citizen said the data is wrong: the form comes back unchanged.
    #[serde(rename_all = "camelCase")]
    AltaBackToClerk { form: AltaFormDto },
    /// Nobody answered at the counter in time: the form comes back unchanged.
    #[serde(rename_all = "camelCase")]
    AltaTimedOut { form: AltaFormDto },
    /// Storing failed: nothing was saved, the form comes back unchanged.
    #[serde(rename_all = "camelCase")]
    AltaFailed {
        error: CommandError,
        form: AltaFormDto,
    },
    /// The console locked itself after the idle timeout.
    Locked,
    /// The card readers changed.
    #[serde(rename_all = "camelCase")]
    Readers { readers: ReadersDto },
    /// The counter screen is asking the citizen for their DNIe PIN.
    PinRequested,
    /// A DNIe 2.0 told who it is after its PIN (3.0/4.0 cards are read
    /// without it and arrive in `readers`).
    #[serde(rename_all = "camelCase")]
    CardIdentified { identity: CardIdentityDto },
    /// Identity proven with the DNIe and its PIN (signed challenge verified).
    #[serde(rename_all = "camelCase")]
    PinVerified { document: String },
    /// The PIN step failed: wrong PIN (with tries left), blocked, card removed…
    #[serde(rename_all = "camelCase")]
    PinFailed {
        code: String,
        tries_left: Option<u8>,
    },
    /// The Cl@ve Móvil request the clerk started: its state, its 3-digit code
    /// and the seconds left (0 once it ended). Without QR, the document the
    /// citizen typed, always masked here (a supervisor may ask for it unmasked,
    /// audited: `clave_show_document`), when the SMS option opens and, once
    /// the PIN was sent, the tries left.
    #[serde(rename_all = "camelCase")]
    Clave {
        status: ClaveStatusDto,
        code: String,
        expires_in_secs: u32,
        no_qr: bool,
        document: Option<String>,
        sms_in_secs: Option<u32>,
        tries_left: Option<u32>,
        /// Ended with the SMS PIN.
        by_sms: bool,
    },
}

/// Result of the audit-chain verification.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditReportDto {
    #[ts(type = "number")]
    pub entries: i64,
    pub intact: bool,
    pub problems: Vec<AuditProblemDto>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditProblemDto {
    #[ts(type = "number")]
    pub seq: i64,
    /// `changed`, `missing`, `inserted`, `reordered`, `truncated`.
    pub kind: String,
}
