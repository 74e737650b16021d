//! Per-client request budgets for the endpoints anyone can call: the ad edge (`/serve/*`), the
//! login form and the advertiser sign-up. A token bucket per client address: `per_second` tokens a second, up to
//! `burst`; a request without a token gets 429 with `Retry-After`.
//!
//! Buckets live in memory, per process (a limit is per api process; behind a load balancer
//! spreading evenly, the cluster allows `processes x limit`). Memory stays bounded: a shard
//! that grows past [`SHARD_CAPACITY`] forgets the buckets that have refilled (idle clients),
//! and if that is not enough (a flood of distinct addresses) it starts over, failing open.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;

const SHARDS: usize = 16;
/// Clients remembered per shard before idle buckets are forgotten.
pub(crate) const SHARD_CAPACITY: usize = 8_192;

/// A token bucket per client; a rate of 0 turns it off.
#[derive(Debug)]
pub struct RateLimiter {
    tokens_per_milli: f64,
    burst: u32,
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
    spread: RandomState,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_millis: i64,
}

impl RateLimiter {
    /// `per_second` requests a second per client, bursts up to `burst` (at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self::with_rate(f64::from(per_second) / 1000.0, burst)
    }

    /// `per_minute` requests a minute per client, all of them at once if they come at once.
    pub fn per_minute(per_minute: u32) -> Self {
        Self::with_rate(f64::from(per_minute) / 60_000.0, per_minute)
    }

    /// `per_hour` requests an hour per client, all of them at once if they come at once.
    pub fn per_hour(per_hour: u32) -> Self {
        Self::with_rate(f64::from(per_hour) / 3_600_000.0, per_hour)
    }

    fn with_rate(tokens_per_milli: f64, burst: u32) -> Self {
        RateLimiter {
            tokens_per_milli,
            burst: burst.max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            spread: RandomState::new(),
        }
    }

    /// A limiter that allows everything.
    pub fn off() -> Self {
        RateLimiter::new(0, 1)
    }

    /// Whether the limiter limits anything.
    pub fn is_on(&self) -> bool {
        self.tokens_per_milli > 0.0
    }

    /// Takes one token for `client` at `now_millis`; `Err(retry_after_secs)` when none is left.
    pub fn take(&self, client: &str, now_millis: i64) -> Result<(), u64> {
        if !self.is_on() {
            return Ok(());
        }
        let rate_per_milli = self.tokens_per_milli;
        let burst = f64::from(self.burst);
        let shard = &self.shards[(self.spread.hash_one(client) % SHARDS as u64) as usize];
        let mut buckets = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= SHARD_CAPACITY && !buckets.contains_key(client) {
            let refill_millis = (burst / rate_per_milli).ceil() as i64;
            buckets.retain(|_, b| now_millis - b.at_millis < refill_millis);
            if buckets.len() >= SHARD_CAPACITY {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket {
            tokens: burst,
            at_millis: now_millis,
        });
        let elapsed = (now_millis - bucket.at_millis).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * rate_per_milli).min(burst);
        bucket.at_millis = bucket.at_millis.max(now_millis);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait_millis = (1.0 - bucket.tokens) / rate_per_milli;
            Err((wait_millis / 1000.0).ceil().max(1.0) as u64)
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_rate() {
        let limiter = RateLimiter::new(2, 4);
        for _ in 0..4 {
            assert_eq!(limiter.take("10.0.0.1", 0), Ok(()));
        }
        assert_eq!(limiter.take("10.0.0.1", 0), Err(1));
        // Another client has its own bucket.
        assert_eq!(limiter.take("10.0.0.2", 0), Ok(()));
        // Half a second later one token (2 a second) has come back, and only one.
        assert_eq!(limiter.take("10.0.0.1", 500), Ok(()));
        assert_eq!(limiter.take("10.0.0.1", 500), Err(1));
        // Long idle refills to the burst, never beyond.
        for _ in 0..4 {
            assert_eq!(limiter.take("10.0.0.1", 60_000), Ok(()));
        }
        assert!(limiter.take("10.0.0.1", 60_000).is_err());
    }

    #[test]
    fn the_retry_after_says_when_a_token_comes_back() {
        let limiter = RateLimiter::new(1, 1);
        assert_eq!(limiter.take("a", 0), Ok(()));
        assert_eq!(limiter.take("a", 0), Err(1));
        let slow = RateLimiter::new(1, 1);
        assert_eq!(slow.take("a", 0), Ok(()));
        assert_eq!(slow.take("a", 100), Err(1), "0.9 s rounds up to 1 s");
    }

    #[test]
    fn a_per_minute_limit_refills_over_the_minute() {
        let limiter = RateLimiter::per_minute(6);
        for _ in 0..6 {
            assert_eq!(limiter.take("a", 0), Ok(()));
        }
        assert_eq!(limiter.take("a", 0), Err(10), "one attempt back every 10 s");
        assert_eq!(limiter.take("a", 10_000), Ok(()));
        assert!(RateLimiter::per_minute(0).take("a", 0).is_ok());
    }

    #[test]
    fn off_allows_everything() {
        let limiter = RateLimiter::off();
        assert!(!limiter.is_on());
        for _ in 0..10_000 {
            assert_eq!(limiter.take("a", 0), Ok(()));
        }
        assert_eq!(limiter.remembered(), 0);
    }

    #[test]
    fn many_distinct_clients_do_not_grow_memory_without_bound() {
        let limiter = RateLimiter::new(10, 10);
        for i in 0..(SHARDS * SHARD_CAPACITY * 3) {
            let _ = limiter.take(&format!("client-{i}"), 0);
        }
        assert!(limiter.remembered() <= SHARDS * SHARD_CAPACITY);
        // Idle clients are forgotten first once their bucket has refilled.
        let _ = limiter.take("late", 10_000);
        assert!(limiter.remembered() <= SHARDS * SHARD_CAPACITY);
    }
}
