//! Rates from two snapshots of cumulative counters.
//!
//! Kernel counters only grow, except when they wrap (32-bit counters of some drivers
//! and 32-bit kernels wrap at 2^32) or reset (a device re-attached, a counter cleared,
//! a CPU taken offline and back). A decrease is read as a 32-bit wrap when that
//! explanation is plausible (the previous value fits in 32 bits and the wrapped delta
//! is under 2^31); otherwise it is a reset and the interval yields no rate, rather than
//! a huge or negative spike that a detector would flag as an anomaly.

use std::time::Duration;

const WRAP_32: u64 = 1 << 32;

/// The increase of a counter between two readings; `None` after a reset.
pub fn counter_delta(previous: u64, current: u64) -> Option<u64> {
    if current >= previous {
        return Some(current - previous);
    }
    if previous < WRAP_32 {
        let wrapped = WRAP_32 - previous + current;
        if wrapped < WRAP_32 / 2 {
            return Some(wrapped);
        }
    }
    None
}

/// Increase per second; `None` after a reset or when no time passed.
pub fn per_second(previous: u64, current: u64, elapsed: Duration) -> Option<f64> {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    counter_delta(previous, current).map(|delta| delta as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn growing_counters_give_their_increase() {
        assert_eq!(counter_delta(100, 250), Some(150));
        assert_eq!(counter_delta(7, 7), Some(0));
        assert_eq!(
            per_second(1_000, 3_000, Duration::from_millis(500)),
            Some(4_000.0)
        );
    }

    #[test]
    fn a_32_bit_wrap_is_unwrapped() {
        let previous = u64::from(u32::MAX) - 99;
        assert_eq!(counter_delta(previous, 50), Some(150));
    }

    #[test]
    fn a_reset_gives_no_rate() {
        // 64-bit counter that went backwards: a reset.
        assert_eq!(counter_delta(10_000_000_000, 5), None);
        // Small counter that went back to near zero: the wrapped delta would be ~4e9, a reset.
        assert_eq!(counter_delta(1_000, 10), None);
        assert_eq!(per_second(1_000, 10, Duration::from_secs(1)), None);
    }

    #[test]
    fn no_elapsed_time_gives_no_rate() {
        assert_eq!(per_second(1, 2, Duration::ZERO), None);
    }

    proptest! {
        #[test]
        fn rates_are_never_negative(previous in any::<u64>(), current in any::<u64>(), millis in 1u64..100_000) {
            if let Some(rate) = per_second(previous, current, Duration::from_millis(millis)) {
                prop_assert!(rate >= 0.0 && rate.is_finite());
            }
        }

        #[test]
        fn any_increase_is_exact(previous in 0u64..u64::MAX / 2, increase in 0u64..u64::MAX / 2) {
            prop_assert_eq!(counter_delta(previous, previous + increase), Some(increase));
        }

        #[test]
        fn wraps_of_32_bit_counters_recover_the_increase(previous in 0u64..WRAP_32, increase in 0u64..WRAP_32 / 2) {
            let current = (previous + increase) % WRAP_32;
            prop_assert_eq!(counter_delta(previous, current), Some(increase));
        }
    }
}
