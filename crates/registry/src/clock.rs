//! Time and randomness as parameters (the Kanidm habit): product code takes a `&dyn Clock`
//! and a `&dyn Random`; tests pass a [`ManualClock`] and a [`SeededRandom`]. This module
//! holds the only calls to `Utc::now` and the OS random source.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};

use crate::secret::Secret;

/// The current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date **in UTC**. Madrid is UTC+1/+2, so between 22:00/23:00 and midnight
    /// local time this is still "yesterday"; for expiry checks that errs on accepting a
    /// document one evening longer, which is harmless (a Europe/Madrid date would need
    /// chrono-tz).
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place allowed to read the wall clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and advance by hand. Clones share the same time, so a test can keep
/// one handle and give another (`Arc<dyn Clock>` or a clone) to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A clock at `y-m-d 10:00:00 UTC` (a plausible office hour); falls back to the Unix
    /// epoch for an impossible date.
    pub fn at_date(y: i32, m: u32, d: u32) -> ManualClock {
        let start = NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(10, 0, 0))
            .map(|dt| dt.and_utc())
            .unwrap_or(DateTime::UNIX_EPOCH);
        ManualClock::new(start)
    }

    fn lock(&self) -> MutexGuard<'_, DateTime<Utc>> {
        // A panic elsewhere must not make the clock unusable.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: std::time::Duration) {
        let delta = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut now = self.lock();
        *now = now.checked_add_signed(delta).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
    fn today(&self) -> NaiveDate {
        (**self).today()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
    fn today(&self) -> NaiveDate {
        (**self).today()
    }
}

/// A source of random bytes (salts, codes, PINs, keys).
pub trait Random: Send + Sync {
    fn fill(&self, buf: &mut [u8]);

    /// Uniform in `0..n` (rejection sampling, no modulo bias); 0 when `n == 0`.
    fn random_u32_below(&self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        // Largest multiple of n that fits in u32's range; values at or above it are redrawn.
        let zone = u32::MAX - (u32::MAX % n);
        loop {
            let mut b = [0u8; 4];
            self.fill(&mut b);
            let v = u32::from_le_bytes(b);
            if v < zone {
                return v % n;
            }
        }
    }

    /// `n` uniform decimal digits (SMS codes, verification codes), as a [`Secret`].
    fn random_digits(&self, n: usize) -> Secret {
        let mut s = String::with_capacity(n);
        for _ in 0..n {
            let d = self.random_u32_below(10);
            s.push(char::from_digit(d, 10).unwrap_or('0'));
        }
        Secret::new(s)
    }
}

/// The operating system's CSPRNG (getrandom). Used in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails on a broken OS; rand then aborts the operation with a panic,
        // which is the right outcome for a missing entropy source.
        OsRng.fill_bytes(buf);
    }
}

/// A deterministic generator from a seed (ChaCha12 via `StdRng`) for tests and the
/// training mode. Never for production secrets.
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<StdRng>,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(buf);
    }
}

impl<R: Random + ?Sized> Random for Arc<R> {
    fn fill(&self, buf: &mut [u8]) {
        (**self).fill(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn manual_clock_is_shared_and_advances() {
        let clock = ManualClock::at_date(2026, 5, 14);
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let t0 = shared.now();
        clock.advance(Duration::from_secs(90));
        assert_eq!((shared.now() - t0).num_seconds(), 90);
        assert_eq!(
            shared.today(),
            NaiveDate::from_ymd_opt(2026, 5, 14).unwrap()
        );
        clock.advance(Duration::from_secs(14 * 3600));
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 5, 15).unwrap());
        clock.set(t0);
        assert_eq!(shared.now(), t0);
        assert_eq!(
            ManualClock::at_date(2026, 2, 30).now(),
            DateTime::UNIX_EPOCH
        );
    }

    #[test]
    fn system_clock_moves_forward() {
        let a = SystemClock.now();
        let b = SystemClock.now();
        assert!(b >= a);
        assert!(a.timestamp() > 1_700_000_000);
    }

    #[test]
    fn seeded_random_is_deterministic() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 16]);
        assert_eq!(a.random_digits(6).expose(), b.random_digits(6).expose());
    }

    #[test]
    fn helpers_stay_in_range() {
        let r = SeededRandom::new(1);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = r.random_u32_below(10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.random_u32_below(0), 0);
        assert_eq!(r.random_u32_below(1), 0);
        let code = r.random_digits(6);
        assert_eq!(code.expose().len(), 6);
        assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(r.random_digits(0).expose(), "");
    }

    #[test]
    fn os_random_fills() {
        let mut buf = [0u8; 32];
        OsRandom.fill(&mut buf);
        assert_ne!(buf, [0u8; 32]);
        let dynamic: &dyn Random = &OsRandom;
        assert!(dynamic.random_u32_below(3) < 3);
    }
}
