//! The authentication request and its lifecycle, as plain data and rules
//! (time is a parameter; no I/O).
//!
//! ```text
//!            ┌──────────► confirmed   (device confirmed, or right SMS PIN)
//!  pending ──┼──────────► rejected    (citizen rejected, wrong code chosen,
//!            │                         PIN tries exhausted, "this wasn't me")
//!            ├──────────► expired     (5 minutes passed)
//!            └──────────► cancelled   (service/counter cancelled, or a newer
//!                                      request for the same citizen)
//! ```
//! Every final state is final: nothing leaves it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use registry::{DocumentNumber, Random};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ClaveError;

/// How the request reaches the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// The citizen scans the QR (counter screen or the service's screen).
    Qr,
    /// The citizen typed DNI/NIE + contrast data: it goes to their one active device
    /// (and, after 60 s, may be completed with a PIN by SMS).
    NoQr,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Qr => "qr",
            RequestKind::NoQr => "no_qr",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        match s {
            "qr" => Some(RequestKind::Qr),
            "no_qr" => Some(RequestKind::NoQr),
            _ => None,
        }
    }
}

/// The type a citizen sees in "My requests": with QR, without QR, or by SMS (a no-QR
/// request completed with an SMS PIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    Qr,
    NoQr,
    Sms,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Qr => "qr",
            RequestType::NoQr => "no_qr",
            RequestType::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Confirmed,
    Rejected,
    Expired,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Confirmed => "confirmed",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Expired => "expired",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RequestStatus> {
        Some(match s {
            "pending" => RequestStatus::Pending,
            "confirmed" => RequestStatus::Confirmed,
            "rejected" => RequestStatus::Rejected,
            "expired" => RequestStatus::Expired,
            "cancelled" => RequestStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        self != RequestStatus::Pending
    }
}

/// How a confirmed request was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompletedBy {
    Device,
    Sms,
}

impl CompletedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            CompletedBy::Device => "device",
            CompletedBy::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<CompletedBy> {
        match s {
            "device" => Some(CompletedBy::Device),
            "sms" => Some(CompletedBy::Sms),
            _ => None,
        }
    }
}

/// Why a request ended the way it did (beyond its status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The citizen confirmed on the device.
    ConfirmedOnDevice,
    /// The citizen typed the right SMS PIN.
    ConfirmedBySms,
    /// The citizen rejected it on the device.
    RejectedByCitizen,
    /// The device picked a verification code that was not the request's.
    CodeMismatch,
    /// Three wrong SMS PINs.
    SmsTriesExhausted,
    /// The citizen said "this wasn't me".
    NotMe,
    /// Five minutes passed.
    TimedOut,
    /// The relying service (or the clerk) cancelled it.
    CancelledByService,
    /// A newer request for the same citizen replaced it.
    Superseded,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ConfirmedOnDevice => "confirmed_on_device",
            Reason::ConfirmedBySms => "confirmed_by_sms",
            Reason::RejectedByCitizen => "rejected_by_citizen",
            Reason::CodeMismatch => "code_mismatch",
            Reason::SmsTriesExhausted => "sms_tries_exhausted",
            Reason::NotMe => "not_me",
            Reason::TimedOut => "timed_out",
            Reason::CancelledByService => "cancelled_by_service",
            Reason::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Some(match s {
            "confirmed_on_device" => Reason::ConfirmedOnDevice,
            "confirmed_by_sms" => Reason::ConfirmedBySms,
            "rejected_by_citizen" => Reason::RejectedByCitizen,
            "code_mismatch" => Reason::CodeMismatch,
            "sms_tries_exhausted" => Reason::SmsTriesExhausted,
            "not_me" => Reason::NotMe,
            "timed_out" => Reason::TimedOut,
            "cancelled_by_service" => Reason::CancelledByService,
            "superseded" => Reason::Superseded,
            _ => return None,
        })
    }
}

/// The rules' numbers. Defaults are Cl@ve's (5-minute requests, SMS after 60 s, 6-digit
/// PIN, 3 tries) plus ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Validity of a request, seconds (Cl@ve: 300).
    pub request_validity_secs: u64,
    /// When the SMS option opens for a no-QR request, seconds after creation (Cl@ve: 60).
    pub sms_after_secs: u64,
    /// Minimum time between two SMS for the same request, seconds.
    pub sms_resend_secs: u64,
    /// Wrong PINs allowed per request.
    pub sms_max_tries: u32,
    /// SMS per citizen (document) per hour, activation codes and PINs together.
    pub sms_per_hour: u32,
    /// How old a rotating QR frame may be when the device presents it, seconds.
    pub qr_tolerance_secs: u64,
    /// Validity of an activation (SMS code or activation QR), seconds.
    pub activation_validity_secs: u64,
    /// Wrong activation codes allowed per activation.
    pub activation_max_tries: u32,
    /// Allowed difference between a device's signature timestamp and our clock, seconds.
    pub signature_skew_secs: u64,
    /// Longest long-poll wait, seconds.
    pub long_poll_max_secs: u64,
    /// Pending requests one service key may have at once.
    pub max_pending_per_service: usize,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            request_validity_secs: 300,
            sms_after_secs: 60,
            sms_resend_secs: 30,
            sms_max_tries: 3,
            sms_per_hour: 5,
            qr_tolerance_secs: 2,
            activation_validity_secs: 300,
            activation_max_tries: 3,
            signature_skew_secs: 30,
            long_poll_max_secs: 30,
            max_pending_per_service: 500,
        }
    }
}

pub(crate) fn secs(n: u64) -> TimeDelta {
    TimeDelta::from_std(Duration::from_secs(n)).unwrap_or(TimeDelta::MAX)
}

/// A 3-digit verification code, 100–999 (no leading zero, so it reads the same everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerificationCode(u16);

impl VerificationCode {
    pub const MIN: u16 = 100;
    pub const MAX: u16 = 999;

    pub fn new(n: u16) -> Option<VerificationCode> {
        (Self::MIN..=Self::MAX)
            .contains(&n)
            .then_some(VerificationCode(n))
    }

    pub fn parse(s: &str) -> Option<VerificationCode> {
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().and_then(VerificationCode::new)
    }

    pub fn value(self) -> u16 {
        self.0
    }

    /// A random code not in `taken`; `None` when every code is taken.
    pub fn allocate(
        random: &dyn Random,
        taken: &dyn Fn(VerificationCode) -> bool,
        taken_count: usize,
    ) -> Option<VerificationCode> {
        let span = u32::from(Self::MAX - Self::MIN + 1);
        if taken_count >= span as usize {
            return None;
        }
        // Random probing first (cheap while few are taken), then a scan from a random
        // start so that a nearly full table still finds the free ones.
        for _ in 0..32 {
            let c = VerificationCode(Self::MIN + random.random_u32_below(span) as u16);
            if !taken(c) {
                return Some(c);
            }
        }
        let start = random.random_u32_below(span);
        (0..span)
            .map(|i| VerificationCode(Self::MIN + ((start + i) % span) as u16))
            .find(|c| !taken(*c))
    }

    /// Two different codes, both different from `self`, for number matching.
    pub fn decoys(self, random: &dyn Random) -> [VerificationCode; 2] {
        let span = u32::from(Self::MAX - Self::MIN + 1);
        let mut out = [self; 2];
        let mut i = 0;
        while i < 2 {
            let c = VerificationCode(Self::MIN + random.random_u32_below(span) as u16);
            if c != self && !out[..i].contains(&c) {
                out[i] = c;
                i += 1;
            }
        }
        out
    }
}

impl std::fmt::Display for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// The rotating-QR state of a `qr` request. The secret never leaves the server.
#[derive(Clone, PartialEq, Eq)]
pub struct QrState {
    /// SHA-256 of the single-use request token (the token itself is only in QR frames).
    pub token_hash: [u8; 32],
    /// The token itself, to draw frames (memory only: after a restart an unscanned QR
    /// can still be scanned from a frame already shown, but no new frames are drawn).
    pub token: Option<[u8; 16]>,
    pub secret: [u8; 32],
    pub claimed: bool,
}

impl std::fmt::Debug for QrState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrState")
            .field("claimed", &self.claimed)
            .finish_non_exhaustive()
    }
}

/// The SMS fallback state of a `no_qr` request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SmsState {
    pub requested_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub sends: u32,
    pub tries: u32,
    /// Keyed hash of the one valid PIN (a new SMS replaces it).
    pub pin_hash: Option<[u8; 32]>,
}

impl std::fmt::Debug for SmsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsState")
            .field("sends", &self.sends)
            .field("tries", &self.tries)
            .finish_non_exhaustive()
    }
}

/// One authentication request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub id: String,
    /// The API key id of the relying service (or `counter`).
    pub service_id: String,
    /// The requesting body ("organismo solicitante") shown to the citizen.
    pub body: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub code: VerificationCode,
    /// The two wrong codes the device is offered besides the right one (no-QR).
    pub decoys: [VerificationCode; 2],
    /// The counter whose screen shows it.
    pub counter: u16,
    /// The citizen, once known (no-QR: from the start when the data matched; QR: when
    /// scanned). `None` for a no-QR request whose data matched nobody.
    pub citizen_id: Option<String>,
    /// The citizen's document (for the signed outcome). Memory only.
    pub document: Option<DocumentNumber>,
    /// The device that scanned (QR) or answered.
    pub device_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<CompletedBy>,
    pub reason: Option<Reason>,
    pub qr: Option<QrState>,
    pub sms: SmsState,
}

impl AuthRequest {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The type shown in "My requests".
    pub fn request_type(&self) -> RequestType {
        match (self.kind, self.completed_by) {
            (_, Some(CompletedBy::Sms)) => RequestType::Sms,
            (RequestKind::Qr, _) => RequestType::Qr,
            (RequestKind::NoQr, _) => RequestType::NoQr,
        }
    }

    /// Whole seconds left (0 when expired or final).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> u64 {
        if self.is_final() {
            return 0;
        }
        u64::try_from((self.expires_at - now).num_seconds()).unwrap_or(0)
    }

    /// The three codes the device shows for number matching, in ascending order (the
    /// position gives nothing away).
    pub fn choices(&self) -> [VerificationCode; 3] {
        let mut c = [self.code, self.decoys[0], self.decoys[1]];
        c.sort();
        c
    }

    /// When the SMS option opens.
    pub fn sms_available_at(&self, policy: &Policy) -> DateTime<Utc> {
        self.created_at + secs(policy.sms_after_secs)
    }

    /// Moves a pending request past its deadline to `expired`. True when it changed.
    pub fn expire_if_due(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == RequestStatus::Pending && now >= self.expires_at {
            self.status = RequestStatus::Expired;
            self.reason = Some(Reason::TimedOut);
            self.completed_at = Some(self.expires_at);
            true
        } else {
            false
        }
    }

    /// Checks the request is still pending at `now` (expiring it first if due).
    pub fn ensure_pending(&mut self, now: DateTime<Utc>) -> Result<(), ClaveError> {
        self.expire_if_due(now);
        if self.is_final() {
            Err(ClaveError::NotPending {
                status: self.status,
            })
        } else {
            Ok(())
        }
    }

    fn finish(
        &mut self,
        status: RequestStatus,
        reason: Reason,
        by: Option<CompletedBy>,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        self.ensure_pending(now)?;
        self.status = status;
        self.reason = Some(reason);
        self.completed_by = by;
        self.completed_at = Some(now);
        Ok(())
    }

    /// The device confirmed. For a no-QR request `chosen` must be the request's code;
    /// a wrong choice rejects the request (number matching: no second guess).
    pub fn confirm_on_device(
        &mut self,
        chosen: Option<VerificationCode>,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        self.ensure_pending(now)?;
        if self.kind == RequestKind::NoQr || chosen.is_some() {
            match chosen {
                None => return Err(ClaveError::CodeRequired),
                Some(c) if c != self.code => {
                    self.finish(
                        RequestStatus::Rejected,
                        Reason::CodeMismatch,
                        Some(CompletedBy::Device),
                        now,
                    )?;
                    return Err(ClaveError::CodeMismatch);
                }
                Some(_) => {}
            }
        }
        self.finish(
            RequestStatus::Confirmed,
            Reason::ConfirmedOnDevice,
            Some(CompletedBy::Device),
            now,
        )
    }

    pub fn reject_on_device(
        &mut self,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        self.finish(
            RequestStatus::Rejected,
            reason,
            Some(CompletedBy::Device),
            now,
        )
    }

    pub fn cancel(&mut self, reason: Reason, now: DateTime<Utc>) -> Result<(), ClaveError> {
        self.finish(RequestStatus::Cancelled, reason, None, now)
    }

    /// May an SMS be sent now? Checks kind, state, the 60-second rule and the resend gap.
    pub fn check_sms_allowed(
        &mut self,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        if self.kind != RequestKind::NoQr {
            return Err(ClaveError::WrongKind);
        }
        self.ensure_pending(now)?;
        let opens = self.sms_available_at(policy);
        if now < opens {
            return Err(ClaveError::SmsTooEarly {
                retry_after: ceil_secs(opens - now),
            });
        }
        if self.sms.tries >= policy.sms_max_tries {
            return Err(ClaveError::PinTriesExhausted);
        }
        if let Some(last) = self.sms.last_sent_at {
            let next = last + secs(policy.sms_resend_secs);
            if now < next {
                return Err(ClaveError::SmsResendTooSoon {
                    retry_after: ceil_secs(next - now),
                });
            }
        }
        Ok(())
    }

    /// Records a sent PIN (its keyed hash replaces any earlier one: one valid PIN).
    pub fn record_sms(&mut self, pin_hash: [u8; 32], now: DateTime<Utc>) {
        self.sms.requested_at.get_or_insert(now);
        self.sms.last_sent_at = Some(now);
        self.sms.sends += 1;
        self.sms.pin_hash = Some(pin_hash);
    }

    /// Checks a typed PIN (given as its keyed hash). Right: confirmed by SMS. Wrong:
    /// one try fewer; the last wrong one rejects the request.
    pub fn verify_pin(
        &mut self,
        typed_hash: &[u8; 32],
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> Result<(), ClaveError> {
        if self.kind != RequestKind::NoQr {
            return Err(ClaveError::WrongKind);
        }
        self.ensure_pending(now)?;
        let Some(stored) = self.sms.pin_hash else {
            return Err(ClaveError::NoPin);
        };
        if self.sms.tries >= policy.sms_max_tries {
            return Err(ClaveError::PinTriesExhausted);
        }
        if crate::util::constant_time_eq(&stored, typed_hash) {
            return self.finish(
                RequestStatus::Confirmed,
                Reason::ConfirmedBySms,
                Some(CompletedBy::Sms),
                now,
            );
        }
        self.sms.tries += 1;
        let left = policy.sms_max_tries.saturating_sub(self.sms.tries);
        if left == 0 {
            self.finish(
                RequestStatus::Rejected,
                Reason::SmsTriesExhausted,
                Some(CompletedBy::Sms),
                now,
            )?;
            self.sms.pin_hash = None;
            return Err(ClaveError::PinTriesExhausted);
        }
        Err(ClaveError::WrongPin { tries_left: left })
    }
}

/// Whole seconds, rounded up, at least 1.
pub(crate) fn ceil_secs(d: TimeDelta) -> u64 {
    let ms = d.num_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::{Clock, ManualClock, SeededRandom};

    fn request(kind: RequestKind, clock: &ManualClock) -> AuthRequest {
        let now = clock.now();
        let r = SeededRandom::new(3);
        let code = VerificationCode::new(123).unwrap();
        AuthRequest {
            id: "r1".into(),
            service_id: "svc".into(),
            body: "Agencia".into(),
            kind,
            status: RequestStatus::Pending,
            code,
            decoys: code.decoys(&r),
            counter: 1,
            citizen_id: Some("c1".into()),
            document: None,
            device_id: None,
            created_at: now,
            expires_at: now + secs(300),
            completed_at: None,
            completed_by: None,
            reason: None,
            qr: None,
            sms: SmsState::default(),
        }
    }

    #[test]
    fn codes_are_three_digits_and_unique() {
        let r = SeededRandom::new(9);
        let mut taken = std::collections::HashSet::new();
        for _ in 0..900 {
            let c = VerificationCode::allocate(&r, &|c| taken.contains(&c), taken.len()).unwrap();
            assert!((100..=999).contains(&c.value()));
            assert_eq!(c.to_string().len(), 3);
            assert!(taken.insert(c));
        }
        assert!(VerificationCode::allocate(&r, &|c| taken.contains(&c), taken.len()).is_none());
        assert_eq!(VerificationCode::parse("042"), None);
        assert_eq!(VerificationCode::parse("1234"), None);
        assert_eq!(VerificationCode::parse("4a2"), None);
        assert_eq!(VerificationCode::parse("742").unwrap().value(), 742);
    }

    #[test]
    fn decoys_differ() {
        let r = SeededRandom::new(1);
        for n in 100..400 {
            let c = VerificationCode::new(n).unwrap();
            let [a, b] = c.decoys(&r);
            assert!(a != c && b != c && a != b);
        }
    }

    #[test]
    fn expiry_is_a_function_of_time() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut req = request(RequestKind::Qr, &clock);
        clock.advance(Duration::from_secs(299));
        assert_eq!(req.seconds_left(clock.now()), 1);
        assert!(!req.expire_if_due(clock.now()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            req.confirm_on_device(None, clock.now()),
            Err(ClaveError::NotPending {
                status: RequestStatus::Expired
            })
        );
        assert_eq!(req.reason, Some(Reason::TimedOut));
        assert_eq!(req.seconds_left(clock.now()), 0);
    }

    #[test]
    fn final_states_are_final() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut req = request(RequestKind::Qr, &clock);
        req.confirm_on_device(None, clock.now()).unwrap();
        assert_eq!(req.status, RequestStatus::Confirmed);
        assert!(req.cancel(Reason::CancelledByService, clock.now()).is_err());
        assert!(
            req.reject_on_device(Reason::RejectedByCitizen, clock.now())
                .is_err()
        );
        clock.advance(Duration::from_secs(600));
        assert!(!req.expire_if_due(clock.now()));
        assert_eq!(req.status, RequestStatus::Confirmed);
    }

    #[test]
    fn number_matching() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut req = request(RequestKind::NoQr, &clock);
        let choices = req.choices();
        assert!(choices.contains(&req.code));
        assert!(choices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            req.confirm_on_device(None, clock.now()),
            Err(ClaveError::CodeRequired)
        );
        let wrong = *choices.iter().find(|c| **c != req.code).unwrap();
        assert_eq!(
            req.confirm_on_device(Some(wrong), clock.now()),
            Err(ClaveError::CodeMismatch)
        );
        assert_eq!(req.status, RequestStatus::Rejected);
        assert_eq!(req.reason, Some(Reason::CodeMismatch));

        let mut ok = request(RequestKind::NoQr, &clock);
        ok.confirm_on_device(Some(ok.code), clock.now()).unwrap();
        assert_eq!(ok.request_type(), RequestType::NoQr);
    }

    #[test]
    fn sms_fallback_rules() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let policy = Policy::default();
        let mut req = request(RequestKind::NoQr, &clock);
        clock.advance(Duration::from_secs(59));
        assert_eq!(
            req.check_sms_allowed(&policy, clock.now()),
            Err(ClaveError::SmsTooEarly { retry_after: 1 })
        );
        assert_eq!(
            req.verify_pin(&[0; 32], &policy, clock.now()),
            Err(ClaveError::NoPin)
        );
        clock.advance(Duration::from_secs(1));
        req.check_sms_allowed(&policy, clock.now()).unwrap();
        req.record_sms([1; 32], clock.now());
        assert_eq!(
            req.check_sms_allowed(&policy, clock.now()),
            Err(ClaveError::SmsResendTooSoon { retry_after: 30 })
        );
        assert_eq!(
            req.verify_pin(&[2; 32], &policy, clock.now()),
            Err(ClaveError::WrongPin { tries_left: 2 })
        );
        clock.advance(Duration::from_secs(30));
        req.check_sms_allowed(&policy, clock.now()).unwrap();
        req.record_sms([3; 32], clock.now());
        // The first PIN is no longer valid; tries are counted per request.
        assert_eq!(
            req.verify_pin(&[1; 32], &policy, clock.now()),
            Err(ClaveError::WrongPin { tries_left: 1 })
        );
        req.verify_pin(&[3; 32], &policy, clock.now()).unwrap();
        assert_eq!(req.status, RequestStatus::Confirmed);
        assert_eq!(req.request_type(), RequestType::Sms);

        let mut bad = request(RequestKind::NoQr, &clock);
        clock.advance(Duration::from_secs(60));
        bad.record_sms([1; 32], clock.now());
        for left in [2, 1] {
            assert_eq!(
                bad.verify_pin(&[9; 32], &policy, clock.now()),
                Err(ClaveError::WrongPin { tries_left: left })
            );
        }
        assert_eq!(
            bad.verify_pin(&[9; 32], &policy, clock.now()),
            Err(ClaveError::PinTriesExhausted)
        );
        assert_eq!(bad.status, RequestStatus::Rejected);
        assert_eq!(bad.reason, Some(Reason::SmsTriesExhausted));
        assert_eq!(
            bad.verify_pin(&[1; 32], &policy, clock.now()),
            Err(ClaveError::NotPending {
                status: RequestStatus::Rejected
            })
        );
        let mut qr = request(RequestKind::Qr, &clock);
        assert_eq!(
            qr.check_sms_allowed(&policy, clock.now()),
            Err(ClaveError::WrongKind)
        );
    }
}
