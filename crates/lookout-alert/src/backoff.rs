//! Exponential back-off with jitter for failed deliveries.
//!
//! Attempt `n` (1-based) waits `min(max, base·2^(n-1))`, scaled by a random factor in
//! `[0.5, 1]` ("equal jitter"), so that many rows failing together do not retry in
//! lockstep, while the wait still grows. The random source is seeded (per notifier) so a
//! run is reproducible.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The un-jittered wait after `attempt` failures.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exponent).min(self.max)
    }

    /// The wait after `attempt` failures, jittered with `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut StdRng) -> Duration {
        self.ceiling(attempt).mul_f64(rng.gen_range(0.5..=1.0))
    }
}

/// A seeded random source for one notifier's jitter.
pub fn jitter_rng(seed_text: &str) -> StdRng {
    let seed = seed_text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    StdRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        assert_eq!(backoff.ceiling(1), Duration::from_secs(1));
        assert_eq!(backoff.ceiling(4), Duration::from_secs(8));
        assert_eq!(backoff.ceiling(40), Duration::from_secs(300));
    }

    proptest! {
        #[test]
        fn jittered_delays_stay_within_half_and_full_ceiling(attempt in 1u32..64, seed in any::<u64>()) {
            let backoff = Backoff::default();
            let mut rng = StdRng::seed_from_u64(seed);
            let delay = backoff.delay(attempt, &mut rng);
            let ceiling = backoff.ceiling(attempt);
            prop_assert!(delay <= ceiling && delay >= ceiling / 2);
        }
    }
}
