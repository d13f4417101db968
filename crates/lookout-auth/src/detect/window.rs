//! Failure times of one address within a sliding window.
//!
//! Serves the fail2ban rule (`maxretry` failures within `findtime`: the address is
//! banned) and the success-after-failures check (how many failures preceded a login).
//! Holds at most `cap` times, the newest; counts beyond are reported as the cap. Misses:
//! attacks spread over addresses (see the distinct-source series). Cost: amortised O(1)
//! per failure, 8 bytes per held time.

use std::collections::VecDeque;

/// The newest failure times of one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureWindow {
    times: VecDeque<i64>,
}

impl FailureWindow {
    /// Adds a failure at `now_ms`, keeping at most `cap` times.
    pub fn push(&mut self, now_ms: i64, cap: usize) {
        self.times.push_back(now_ms);
        while self.times.len() > cap.max(1) {
            self.times.pop_front();
        }
    }

    /// Failures within `window_ms` before `now_ms` (inclusive).
    pub fn count_within(&self, now_ms: i64, window_ms: i64) -> usize {
        self.times
            .iter()
            .filter(|&&t| t <= now_ms && now_ms - t <= window_ms)
            .count()
    }

    /// The oldest failure within the window.
    pub fn first_within(&self, now_ms: i64, window_ms: i64) -> Option<i64> {
        self.times
            .iter()
            .copied()
            .filter(|&t| t <= now_ms && now_ms - t <= window_ms)
            .min()
    }

    pub fn clear(&mut self) {
        self.times.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_window_and_keeps_the_cap() {
        let mut w = FailureWindow::default();
        for t in [0, 100, 200, 700] {
            w.push(t, 3);
        }
        assert_eq!(w.count_within(700, 600), 3);
        assert_eq!(w.count_within(700, 500), 2);
        assert_eq!(w.first_within(700, 550), Some(200));
    }
}
