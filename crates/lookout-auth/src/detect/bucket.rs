//! A CrowdSec-style leaky bucket per source address.
//!
//! Each failure pours one token in; the bucket leaks one token every `leak_ms`. When a
//! failure finds the bucket already holding `capacity` tokens it overflows: that is a
//! finding, and the bucket empties and stays deaf for one full drain (`capacity ×
//! leak_ms`) so one attack is one finding. With capacity 5 and leak 10 s it catches a
//! fast brute force (more than 5 failures at 1 per 10 s or faster); with capacity 10 and
//! leak 60 s a slow one (more than 10 at 1 a minute or faster) that stays under
//! fail2ban's window. Misses: attacks slower than the leak, spread over addresses.
//! Cost: O(1) per failure, 24 bytes.

/// Capacity and leak of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketConfig {
    pub capacity: u32,
    pub leak_ms: i64,
}

/// The state of one address's bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeakyBucket {
    level: f64,
    last_ms: i64,
    deaf_until_ms: i64,
}

impl LeakyBucket {
    /// Tokens now (after leaking to `now_ms`).
    pub fn level(&self, config: &BucketConfig, now_ms: i64) -> f64 {
        let elapsed = (now_ms - self.last_ms).max(0) as f64;
        (self.level - elapsed / config.leak_ms.max(1) as f64).max(0.0)
    }

    /// Pours one failure in at `now_ms`; true when the bucket overflows.
    pub fn pour(&mut self, config: &BucketConfig, now_ms: i64) -> bool {
        let level = self.level(config, now_ms);
        self.last_ms = self.last_ms.max(now_ms);
        if now_ms < self.deaf_until_ms {
            self.level = 0.0;
            return false;
        }
        if level + 1.0 > f64::from(config.capacity) {
            self.level = 0.0;
            self.deaf_until_ms = now_ms + i64::from(config.capacity) * config.leak_ms;
            return true;
        }
        self.level = level + 1.0;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflows_on_the_failure_past_capacity() {
        let c = BucketConfig {
            capacity: 5,
            leak_ms: 10_000,
        };
        let mut b = LeakyBucket::default();
        let fired: Vec<bool> = (0..6).map(|i| b.pour(&c, i * 1000)).collect();
        assert_eq!(fired, [false, false, false, false, false, true]);
        // Deaf for a drain, then live again.
        assert!(!(0..10).any(|i| b.pour(&c, 6_000 + i * 100)));
    }

    #[test]
    fn slow_failures_leak_away() {
        let c = BucketConfig {
            capacity: 10,
            leak_ms: 60_000,
        };
        let mut b = LeakyBucket::default();
        assert!(!(0..100).any(|i| b.pour(&c, i * 61_000)));
        let mut b = LeakyBucket::default();
        // At one failure per 5 s the bucket gains ~0.92 per failure and overflows soon
        // after its capacity.
        let first = (0..20).position(|i| b.pour(&c, i * 5_000));
        assert_eq!(first, Some(10));
    }
}
