//! The injectable source of "now".
//!
//! Code that depends on time (budgets resetting at KST midnight, attribution windows, job
//! back-off, session expiry, cron) asks a [`Clock`] instead of the system, so tests can move time.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::BusinessDate;

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, as UTC milliseconds since the epoch.
    fn now_millis(&self) -> i64;

    /// Now, as a chrono UTC instant.
    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(self.now_millis()).unwrap_or_default()
    }

    /// Today's KST business date.
    fn today(&self) -> BusinessDate {
        BusinessDate::from_utc_millis(self.now_millis())
    }
}

/// The clock shared through application state.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to: for tests and for replaying a day.
#[derive(Debug, Default)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `millis` (UTC milliseconds).
    pub fn at_millis(millis: i64) -> Self {
        ManualClock {
            millis: AtomicI64::new(millis),
        }
    }

    /// A clock stopped at an RFC 3339 instant, e.g. `2026-11-21T00:00:00+09:00`.
    ///
    /// # Panics
    /// When `rfc3339` is not a valid instant (it is meant for literals in tests).
    pub fn at(rfc3339: &str) -> Self {
        let instant = DateTime::parse_from_rfc3339(rfc3339).expect("valid RFC 3339 instant");
        Self::at_millis(instant.timestamp_millis())
    }

    /// Sets the time.
    pub fn set_millis(&self, millis: i64) {
        self.millis.store(millis, Ordering::SeqCst);
    }

    /// Moves time forward by `millis`.
    pub fn advance_millis(&self, millis: i64) {
        self.millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at("2026-11-21T23:59:00+09:00");
        assert_eq!(clock.today().to_string(), "2026-11-21");
        clock.advance_millis(60_000);
        assert_eq!(clock.today().to_string(), "2026-11-22");
        assert!(SystemClock.now_millis() > 1_700_000_000_000);
    }
}
