//! Clerk accounts, domain part: roles and permissions, usernames, the password policy,
//! argon2id password hashes and the login throttling policy.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash as Phc, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::Random;
use crate::level::string_enum;
use crate::secret::Secret;

/// What a clerk account may do at the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clerk,
    Supervisor,
    Admin,
}

string_enum!(Role, "role", { Clerk => "clerk", Supervisor => "supervisor", Admin => "admin" });

/// Actions gated by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Permission {
    /// Counter operations (alta, phone change, upgrade, renuncia…).
    ServeCitizens,
    /// The audited "show" toggle of "My data in Cl@ve".
    ShowCitizenData,
    /// See unmasked the DNI/NIE a citizen typed on the counter screen for Cl@ve Móvil
    /// without QR (each view audited). The citizen typed it for the endpoint, not for
    /// the clerk, who sees it masked as the citizen does.
    ShowTypedDocument,
    /// Verify the audit chain.
    VerifyAudit,
    /// Export the audit trail.
    ExportAudit,
    /// Create, disable and change the role of clerk accounts.
    ManageClerks,
    /// Office/counter identity, readers, SMS gateway, TLS.
    ConfigureOffice,
}

impl Role {
    pub fn can(self, permission: Permission) -> bool {
        match permission {
            Permission::ServeCitizens | Permission::ShowCitizenData => true,
            Permission::VerifyAudit | Permission::ExportAudit | Permission::ShowTypedDocument => {
                matches!(self, Role::Supervisor | Role::Admin)
            }
            Permission::ManageClerks | Permission::ConfigureOffice => self == Role::Admin,
        }
    }
}

/// Why a username was refused. Codes `USR-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsernameError {
    #[error("username too short (at least {min} characters)")]
    TooShort { min: usize },
    #[error("username too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("username may contain only a-z, 0-9, '.', '_' and '-'")]
    InvalidCharacters { character: char },
}

impl UsernameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "USR-001",
            Self::TooLong { .. } => "USR-002",
            Self::InvalidCharacters { .. } => "USR-003",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } => vec![("min", min.to_string())],
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::InvalidCharacters { character } => vec![("character", character.to_string())],
        }
    }
}

crate::error::impl_coded!(UsernameError);

/// A clerk's login name: 3..=32 of `a-z 0-9 . _ -` (ASCII uppercase is lowercased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(input: &str) -> Result<Username, UsernameError> {
        let s = input.trim().to_ascii_lowercase();
        if let Some(c) = s.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(UsernameError::InvalidCharacters { character: c });
        }
        if s.len() < Self::MIN {
            return Err(UsernameError::TooShort { min: Self::MIN });
        }
        if s.len() > Self::MAX {
            return Err(UsernameError::TooLong { max: Self::MAX });
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

/// Why a new password was refused. Codes `PWD-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PasswordError {
    #[error("password too short (at least {min} characters)")]
    TooShort { min: usize },
    #[error("password is one character repeated")]
    AllSameCharacter,
    #[error("password equals the username")]
    EqualsUsername,
    #[error("password too long (at most {max} characters)")]
    TooLong { max: usize },
}

impl PasswordError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "PWD-001",
            Self::AllSameCharacter => "PWD-002",
            Self::EqualsUsername => "PWD-003",
            Self::TooLong { .. } => "PWD-004",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::TooShort { min } => vec![("min", min.to_string())],
            Self::TooLong { max } => vec![("max", max.to_string())],
            Self::AllSameCharacter | Self::EqualsUsername => Vec::new(),
        }
    }
}

crate::error::impl_coded!(PasswordError);

/// Password rules for clerk accounts (length over complexity, as NIST SP 800-63B advises).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (12).
    pub min_chars: usize,
    /// Maximum length in characters (128; bounds the hashing work per attempt).
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 12,
            max_chars: 128,
        }
    }
}

impl PasswordPolicy {
    pub fn check(&self, password: &Secret, username: &Username) -> Result<(), PasswordError> {
        let p = password.expose();
        let n = p.chars().count();
        if n < self.min_chars {
            return Err(PasswordError::TooShort {
                min: self.min_chars,
            });
        }
        if n > self.max_chars {
            return Err(PasswordError::TooLong {
                max: self.max_chars,
            });
        }
        let mut chars = p.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(PasswordError::AllSameCharacter);
        }
        if p.trim().eq_ignore_ascii_case(username.as_str()) {
            return Err(PasswordError::EqualsUsername);
        }
        Ok(())
    }
}

/// Why a password hash could not be made or loaded. Codes `PWH-0xx`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PasswordHashError {
    #[error("password hashing failed")]
    Hashing,
    #[error("stored password hash is not a valid PHC string")]
    InvalidPhc,
    #[error("stored password hash is not argon2id")]
    UnsupportedAlgorithm,
}

impl PasswordHashError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Hashing => "PWH-001",
            Self::InvalidPhc => "PWH-002",
            Self::UnsupportedAlgorithm => "PWH-003",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

crate::error::impl_coded!(PasswordHashError);

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Argon2Params {
    /// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
    pub const OWASP: Argon2Params = Argon2Params {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };

    /// The cheapest argon2 allows. **Tests only** (unoptimised builds hash slowly).
    pub const INSECURE_FOR_TESTS: Argon2Params = Argon2Params {
        m_kib: 8,
        t: 1,
        p: 1,
    };

    fn hasher(self) -> Result<Argon2<'static>, PasswordHashError> {
        let params = Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|_| PasswordHashError::Hashing)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    phc: String,
}

impl PasswordHash {
    /// Hashes with the product parameters ([`Argon2Params::OWASP`]) and a 16-byte salt.
    pub fn hash(password: &Secret, random: &dyn Random) -> Result<PasswordHash, PasswordHashError> {
        Self::hash_with(password, random, Argon2Params::OWASP)
    }

    pub fn hash_with(
        password: &Secret,
        random: &dyn Random,
        params: Argon2Params,
    ) -> Result<PasswordHash, PasswordHashError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        Self::hash_with_salt(password, &salt, params)
    }

    fn hash_with_salt(
        password: &Secret,
        salt: &[u8],
        params: Argon2Params,
    ) -> Result<PasswordHash, PasswordHashError> {
        let salt = SaltString::encode_b64(salt).map_err(|_| PasswordHashError::Hashing)?;
        let phc = params
            .hasher()?
            .hash_password(password.expose().as_bytes(), &salt)
            .map_err(|_| PasswordHashError::Hashing)?
            .to_string();
        Ok(PasswordHash { phc })
    }

    /// Loads a stored PHC string; only argon2id is accepted.
    pub fn from_phc(phc: String) -> Result<PasswordHash, PasswordHashError> {
        let parsed = Phc::new(&phc).map_err(|_| PasswordHashError::InvalidPhc)?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return Err(PasswordHashError::UnsupportedAlgorithm);
        }
        if parsed.hash.is_none() || parsed.salt.is_none() || Params::try_from(&parsed).is_err() {
            return Err(PasswordHashError::InvalidPhc);
        }
        Ok(PasswordHash { phc })
    }

    /// The PHC string to store.
    pub fn as_phc(&self) -> &str {
        &self.phc
    }

    /// Checks a password (parameters are read from the PHC string).
    pub fn verify(&self, password: &Secret) -> bool {
        match Phc::new(&self.phc) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// True when the stored parameters are cheaper than `target` (rehash after login).
    pub fn needs_rehash(&self, target: Argon2Params) -> bool {
        let Ok(parsed) = Phc::new(&self.phc) else {
            return true;
        };
        match Params::try_from(&parsed) {
            Ok(p) => p.m_cost() < target.m_kib || p.t_cost() < target.t,
            Err(_) => true,
        }
    }

    /// Spends the same work as a real check and returns false: call it when the username
    /// does not exist, so timing does not reveal which usernames do.
    pub fn dummy_verify(password: &Secret) -> bool {
        static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            Self::hash_with_salt(
                &Secret::new("ventanilla-no-such-clerk"),
                b"ventanilla-dummy-salt",
                Argon2Params::OWASP,
            )
            .ok()
        });
        if let Some(hash) = dummy {
            let _ = hash.verify(password);
        }
        false
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The algorithm and parameters are not secret; salt and hash are left out anyway.
        let head: Vec<&str> = self.phc.split('$').take(4).collect();
        write!(f, "PasswordHash({})", head.join("$"))
    }
}

/// Login throttling: escalating delays after failed logins, never a permanent lockout
/// (a locked-out clerk stops a counter; a delay stops guessing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures allowed without delay (3).
    pub free_failures: u32,
    /// Delay after each further failure; the last one is the cap
    /// (30 s, 1 min, 2 min, 5 min, 15 min).
    pub delays: Vec<Duration>,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            free_failures: 3,
            delays: [30, 60, 120, 300, 900]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        }
    }
}

impl LockoutPolicy {
    /// How long the clerk must wait after `failed_attempts` consecutive failures:
    /// 0 for 1..=3, then 30 s (4th), 1 min, 2 min, 5 min, and 15 min from the 8th on.
    pub fn delay_after(&self, failed_attempts: u32) -> Duration {
        let Some(extra) = failed_attempts.checked_sub(self.free_failures + 1) else {
            return Duration::ZERO;
        };
        let index = usize::try_from(extra).unwrap_or(usize::MAX);
        self.delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or(Duration::ZERO)
    }

    /// When the next attempt is allowed, given the time of the last failure.
    pub fn next_attempt_at(
        &self,
        last_failure_at: DateTime<Utc>,
        failed_attempts: u32,
    ) -> DateTime<Utc> {
        let delay =
            TimeDelta::from_std(self.delay_after(failed_attempts)).unwrap_or(TimeDelta::MAX);
        last_failure_at
            .checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The remaining wait at `now`, or `None` when the clerk may try now.
    pub fn retry_after(
        &self,
        now: DateTime<Utc>,
        last_failure_at: DateTime<Utc>,
        failed_attempts: u32,
    ) -> Option<Duration> {
        let next = self.next_attempt_at(last_failure_at, failed_attempts);
        (next > now).then(|| (next - now).to_std().unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    fn user(s: &str) -> Username {
        Username::parse(s).unwrap()
    }

    #[test]
    fn roles_and_permissions() {
        use Permission::*;
        assert!(Role::Clerk.can(ServeCitizens));
        assert!(Role::Clerk.can(ShowCitizenData));
        assert!(!Role::Clerk.can(VerifyAudit));
        assert!(!Role::Clerk.can(ShowTypedDocument));
        assert!(Role::Supervisor.can(ShowTypedDocument));
        assert!(!Role::Clerk.can(ManageClerks));
        assert!(Role::Supervisor.can(VerifyAudit));
        assert!(Role::Supervisor.can(ExportAudit));
        assert!(!Role::Supervisor.can(ManageClerks));
        assert!(!Role::Supervisor.can(ConfigureOffice));
        for p in [
            ServeCitizens,
            ShowCitizenData,
            ShowTypedDocument,
            VerifyAudit,
            ExportAudit,
            ManageClerks,
            ConfigureOffice,
        ] {
            assert!(Role::Admin.can(p));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), *r);
        }
        assert_eq!(Role::parse("root").unwrap_err().code(), "VAL-001");
    }

    #[test]
    fn usernames() {
        assert_eq!(user(" M.Garcia_2 ").as_str(), "m.garcia_2");
        assert_eq!(user("abc").as_str(), "abc");
        assert_eq!(Username::parse(&"a".repeat(32)).unwrap().as_str().len(), 32);
        let cases = [
            ("ab", "USR-001"),
            ("", "USR-001"),
            (&*"a".repeat(33), "USR-002"),
            ("josé", "USR-003"),
            ("a b c", "USR-003"),
            ("ana@x", "USR-003"),
        ];
        for (input, code) in cases {
            assert_eq!(
                Username::parse(input).unwrap_err().code(),
                code,
                "{input:?}"
            );
        }
        assert_eq!(serde_json::to_string(&user("ana")).unwrap(), r#""ana""#);
        assert!(serde_json::from_str::<Username>(r#""A B""#).is_err());
    }

    #[test]
    fn password_policy() {
        let policy = PasswordPolicy::default();
        let u = user("administrador");
        let check = |p: &str| policy.check(&Secret::new(p), &u);
        assert!(check("correct horse battery").is_ok());
        assert_eq!(check("short").unwrap_err().code(), "PWD-001");
        assert_eq!(check("ñññññññññññ").unwrap_err().code(), "PWD-001"); // 11 chars
        assert_eq!(check("aaaaaaaaaaaaaaaa").unwrap_err().code(), "PWD-002");
        assert_eq!(check("Administrador").unwrap_err().code(), "PWD-003");
        assert_eq!(check(&"ab".repeat(65)).unwrap_err().code(), "PWD-004");
        assert_eq!(
            check("short").unwrap_err().params(),
            vec![("min", "12".to_string())]
        );
    }

    #[test]
    fn hash_and_verify() {
        let random = SeededRandom::new(3);
        let pw = Secret::new("correct horse battery");
        let h = PasswordHash::hash_with(&pw, &random, Argon2Params::INSECURE_FOR_TESTS).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert!(h.verify(&pw));
        assert!(!h.verify(&Secret::new("correct horse batterY")));
        let loaded = PasswordHash::from_phc(h.as_phc().to_string()).unwrap();
        assert!(loaded.verify(&pw));
        assert!(h.needs_rehash(Argon2Params::OWASP));
        assert!(!h.needs_rehash(Argon2Params::INSECURE_FOR_TESTS));
        // Same password, different salt → different hash.
        let h2 = PasswordHash::hash_with(&pw, &random, Argon2Params::INSECURE_FOR_TESTS).unwrap();
        assert_ne!(h.as_phc(), h2.as_phc());
        let dbg = format!("{h:?}");
        assert_eq!(dbg, "PasswordHash($argon2id$v=19$m=8,t=1,p=1)");
    }

    #[test]
    fn product_default_is_owasp() {
        let pw = Secret::new("correct horse battery");
        let h = PasswordHash::hash(&pw, &SeededRandom::new(9)).unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(&pw));
        assert!(!h.needs_rehash(Argon2Params::OWASP));
        assert!(!PasswordHash::dummy_verify(&pw));
    }

    #[test]
    fn from_phc_rejections() {
        assert_eq!(
            PasswordHash::from_phc("not a hash".into())
                .unwrap_err()
                .code(),
            "PWH-002"
        );
        let argon2i = "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$ZFd0ZWNSb2RqSmFrc3Rvbg";
        assert_eq!(
            PasswordHash::from_phc(argon2i.into()).unwrap_err().code(),
            "PWH-003"
        );
        let no_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ";
        assert_eq!(
            PasswordHash::from_phc(no_hash.into()).unwrap_err().code(),
            "PWH-002"
        );
    }

    #[test]
    fn lockout_delays() {
        let p = LockoutPolicy::default();
        let secs = |n| p.delay_after(n).as_secs();
        assert_eq!([secs(0), secs(1), secs(2), secs(3)], [0, 0, 0, 0]);
        assert_eq!(secs(4), 30);
        assert_eq!(secs(5), 60);
        assert_eq!(secs(6), 120);
        assert_eq!(secs(7), 300);
        assert_eq!(secs(8), 900);
        assert_eq!(secs(9), 900);
        assert_eq!(secs(u32::MAX), 900);
        let none = LockoutPolicy {
            free_failures: 0,
            delays: vec![],
        };
        assert_eq!(none.delay_after(100), Duration::ZERO);
    }

    #[test]
    fn lockout_times() {
        let p = LockoutPolicy::default();
        let t0 = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        assert_eq!(p.retry_after(t0, t0, 3), None);
        assert_eq!(p.retry_after(t0, t0, 4), Some(Duration::from_secs(30)));
        let later = t0 + TimeDelta::seconds(20);
        assert_eq!(p.retry_after(later, t0, 4), Some(Duration::from_secs(10)));
        assert_eq!(p.retry_after(t0 + TimeDelta::seconds(30), t0, 4), None);
        assert_eq!(p.next_attempt_at(t0, 8), t0 + TimeDelta::minutes(15));
    }
}
