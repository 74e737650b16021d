//! The leaky bucket the fake servers limit calls with: `size` calls fit, `rate` drain a second.

use std::time::Instant;

/// A leaky bucket of calls.
#[derive(Debug, Clone)]
pub(crate) struct CallBucket {
    size: f64,
    rate: f64,
    level: f64,
    last: Instant,
}

impl CallBucket {
    /// An empty bucket.
    pub(crate) fn new(size: f64, rate: f64) -> CallBucket {
        CallBucket {
            size,
            rate,
            level: 0.0,
            last: Instant::now(),
        }
    }

    /// Takes one call: `Ok(level)` after it, or `Err(level)` when the bucket is full.
    pub(crate) fn take(&mut self) -> Result<u32, u32> {
        let now = Instant::now();
        let drained = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.level = (self.level - drained).max(0.0);
        self.last = now;
        if self.level + 1.0 > self.size {
            return Err(self.level.ceil() as u32);
        }
        self.level += 1.0;
        Ok(self.level.ceil() as u32)
    }
}
