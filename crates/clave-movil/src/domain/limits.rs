//! Abuse limits: escalating delays per client address and per DNI/NIE.
//!
//! Two mechanisms, both *temporary* by construction, so an attacker can slow an honest
//! citizen down but never lock them out:
//!
//! * **Failures** (bad API key, bad signature, wrong code/PIN, stale or replayed QR)
//!   count against a key. The first `free_failures` cost nothing; each one after that
//!   doubles a waiting period (`base_delay_secs`, 2×, 4×, …) capped at `max_delay_secs`.
//!   The count is forgotten after `forget_after_secs` without failures.
//! * **Attempts** on the paths that send SMS or look a document up (activation start,
//!   no-QR requests) take a token from a bucket (`burst`, refilled at `per_hour`).
//!
//! The counter (clerk) path calls the library directly and is never limited.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::request::{ceil_secs, secs};

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// A client address.
    Ip(IpAddr),
    /// A DNI/NIE, as a keyed hash (the number itself is not kept).
    Document([u8; 16]),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitPolicy {
    pub free_failures: u32,
    pub base_delay_secs: u64,
    pub max_delay_secs: u64,
    pub forget_after_secs: u64,
    /// Unauthenticated calls (device activation) per address: burst and per hour.
    pub address_burst: u32,
    pub address_per_hour: u32,
    /// Lookups of one DNI/NIE (activation starts, no-QR requests): burst and per hour.
    pub document_burst: u32,
    pub document_per_hour: u32,
    /// Entries kept at most (oldest idle ones are dropped first).
    pub max_entries: usize,
}

impl Default for LimitPolicy {
    fn default() -> LimitPolicy {
        LimitPolicy {
            free_failures: 5,
            base_delay_secs: 2,
            max_delay_secs: 300,
            forget_after_secs: 900,
            address_burst: 30,
            address_per_hour: 300,
            document_burst: 10,
            document_per_hour: 30,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    last_failure: DateTime<Utc>,
    blocked_until: DateTime<Utc>,
    tokens: f64,
    tokens_at: DateTime<Utc>,
    touched: DateTime<Utc>,
}

/// The limiter's state (in memory; a restart forgets it, which only ever helps the
/// citizen).
#[derive(Debug)]
pub struct Limiter {
    policy: LimitPolicy,
    entries: HashMap<LimitKey, Entry>,
}

impl Limiter {
    pub fn new(policy: LimitPolicy) -> Limiter {
        Limiter {
            policy,
            entries: HashMap::new(),
        }
    }

    pub fn policy(&self) -> &LimitPolicy {
        &self.policy
    }

    fn entry(&mut self, key: LimitKey, now: DateTime<Utc>, burst: u32) -> &mut Entry {
        if self.entries.len() >= self.policy.max_entries && !self.entries.contains_key(&key) {
            self.purge(now);
        }
        let forget = secs(self.policy.forget_after_secs);
        let e = self.entries.entry(key).or_insert_with(|| Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
            tokens: f64::from(burst),
            tokens_at: now,
            touched: now,
        });
        if e.failures > 0 && now - e.last_failure >= forget {
            e.failures = 0;
        }
        e.touched = now;
        e
    }

    /// Refuses while a key is in its waiting period; `Err(seconds to wait)`.
    pub fn check(&mut self, key: LimitKey, now: DateTime<Utc>) -> Result<(), u64> {
        match self.entries.get(&key) {
            Some(e) if e.blocked_until > now => Err(ceil_secs(e.blocked_until - now)),
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns the waiting period it started, if any.
    pub fn failure(&mut self, key: LimitKey, now: DateTime<Utc>) -> Option<u64> {
        let policy = self.policy.clone();
        // A key first seen through a failure starts with a full bucket
        // (`attempt` caps it at its burst): one failure must not cost an
        // honest citizen their burst of attempts.
        let e = self.entry(key, now, u32::MAX);
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        let over = e.failures.checked_sub(policy.free_failures)?;
        if over == 0 {
            return None;
        }
        let factor = 1u64 << (over - 1).min(20);
        let delay = policy
            .base_delay_secs
            .saturating_mul(factor)
            .min(policy.max_delay_secs);
        e.blocked_until = now + secs(delay);
        Some(delay)
    }

    /// Takes one token from the key's bucket; `Err(seconds until one is back)`.
    pub fn attempt(
        &mut self,
        key: LimitKey,
        now: DateTime<Utc>,
        burst: u32,
        per_hour: u32,
    ) -> Result<(), u64> {
        self.check(key, now)?;
        let e = self.entry(key, now, burst);
        let rate = f64::from(per_hour.max(1)) / 3600.0;
        let elapsed = (now - e.tokens_at).num_milliseconds().max(0) as f64 / 1000.0;
        e.tokens = (e.tokens + elapsed * rate).min(f64::from(burst));
        e.tokens_at = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - e.tokens) / rate).ceil() as u64;
            Err(wait.max(1))
        }
    }

    /// Drops entries that are neither blocking nor remembering anything.
    pub fn purge(&mut self, now: DateTime<Utc>) {
        let forget = secs(self.policy.forget_after_secs);
        self.entries
            .retain(|_, e| e.blocked_until > now || now - e.touched < forget);
        if self.entries.len() >= self.policy.max_entries {
            // Still full (a flood of distinct keys): keep only those blocking now.
            self.entries.retain(|_, e| e.blocked_until > now);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::{Clock, ManualClock};
    use std::time::Duration;

    #[test]
    fn a_first_failure_does_not_empty_the_bucket() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut l = Limiter::new(LimitPolicy::default());
        let k = LimitKey::Ip("10.0.0.2".parse().unwrap());
        assert_eq!(l.failure(k, clock.now()), None);
        for i in 0..5 {
            assert_eq!(l.attempt(k, clock.now(), 5, 60), Ok(()), "attempt {i}");
        }
        assert!(l.attempt(k, clock.now(), 5, 60).is_err());
    }

    #[test]
    fn failures_escalate_and_are_forgotten() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut l = Limiter::new(LimitPolicy::default());
        let k = LimitKey::Ip("10.0.0.1".parse().unwrap());
        for _ in 0..5 {
            assert_eq!(l.failure(k, clock.now()), None);
            assert!(l.check(k, clock.now()).is_ok());
        }
        assert_eq!(l.failure(k, clock.now()), Some(2));
        assert_eq!(l.check(k, clock.now()), Err(2));
        assert_eq!(l.failure(k, clock.now()), Some(4));
        assert_eq!(l.failure(k, clock.now()), Some(8));
        for _ in 0..30 {
            l.failure(k, clock.now());
        }
        // Capped: never a permanent lockout.
        assert_eq!(l.check(k, clock.now()), Err(300));
        clock.advance(Duration::from_secs(300));
        assert!(l.check(k, clock.now()).is_ok());
        // Quiet for the forget period: back to free failures.
        clock.advance(Duration::from_secs(900));
        assert_eq!(l.failure(k, clock.now()), None);
        // Another key is unaffected.
        assert!(l.check(LimitKey::Document([0; 16]), clock.now()).is_ok());
    }

    #[test]
    fn attempts_use_a_bucket() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut l = Limiter::new(LimitPolicy::default());
        let k = LimitKey::Document([1; 16]);
        for _ in 0..3 {
            assert!(l.attempt(k, clock.now(), 3, 3600).is_ok());
        }
        assert_eq!(l.attempt(k, clock.now(), 3, 3600), Err(1));
        clock.advance(Duration::from_secs(1));
        assert!(l.attempt(k, clock.now(), 3, 3600).is_ok());
    }

    #[test]
    fn memory_is_bounded() {
        let clock = ManualClock::at_date(2026, 11, 23);
        let mut l = Limiter::new(LimitPolicy {
            max_entries: 10,
            ..LimitPolicy::default()
        });
        for i in 0..100u8 {
            let _ = l.attempt(LimitKey::Document([i; 16]), clock.now(), 3, 3);
        }
        assert!(l.len() <= 10);
    }
}
