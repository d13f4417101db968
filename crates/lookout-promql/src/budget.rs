//! [`SharedSamples`]: a sample budget shared by every query in flight.
//!
//! Each query's evaluator counts what it reads and produces against its own
//! [`crate::QueryOptions::max_samples`]; with [`crate::QueryOptions::shared`] set, it
//! also reserves the same amount from a process-wide pool (in steps of
//! [`RESERVE_STEP`] samples, to keep the shared counter cold) and gives all of it back
//! when the evaluation ends, however it ends. A query that cannot reserve fails with
//! [`crate::EvalError::Overloaded`] at once: the pool is full of other queries' samples,
//! and retrying later may succeed.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Samples reserved from the shared pool at a time.
pub const RESERVE_STEP: usize = 65_536;

/// The samples that every query in flight together may hold.
#[derive(Debug)]
pub struct SharedSamples {
    limit: usize,
    used: AtomicUsize,
}

impl SharedSamples {
    pub fn new(limit: usize) -> SharedSamples {
        SharedSamples {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Samples reserved now by queries in flight.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `amount` if it fits under the limit (false, nothing taken, otherwise). The
    /// evaluator calls it; a caller that takes samples itself gives them back with
    /// [`SharedSamples::give_back`].
    pub fn take(&self, amount: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(amount)
                    .filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Returns `amount` taken earlier.
    pub fn give_back(&self, amount: usize) {
        self.used.fetch_sub(amount, Ordering::AcqRel);
    }
}

/// Samples kept reserved in the shared pool after an evaluation ended, for as long as
/// its answer is alive: a range answer of millions of points is still in memory while
/// it is written to a slow client, and giving its samples back when the evaluation
/// ended let other queries load as much again beside it. Given back on drop.
#[derive(Debug)]
pub struct HeldSamples {
    pool: Option<std::sync::Arc<SharedSamples>>,
    amount: usize,
}

impl HeldSamples {
    /// Holds nothing (a query without a shared pool).
    pub fn none() -> HeldSamples {
        HeldSamples {
            pool: None,
            amount: 0,
        }
    }

    /// Samples held.
    pub fn amount(&self) -> usize {
        self.amount
    }

    /// Takes over `amount` samples already taken from `pool`.
    pub(crate) fn taken(pool: std::sync::Arc<SharedSamples>, amount: usize) -> HeldSamples {
        HeldSamples {
            pool: Some(pool),
            amount,
        }
    }
}

impl Drop for HeldSamples {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give_back(self.amount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn held_samples_are_given_back_when_dropped_and_not_before() {
        let pool = Arc::new(SharedSamples::new(100));
        assert!(pool.take(60));
        let held = HeldSamples::taken(Arc::clone(&pool), 60);
        assert_eq!(held.amount(), 60);
        assert!(!pool.take(41), "the held samples still count");
        drop(held);
        assert_eq!(pool.used(), 0);
        assert!(pool.take(100));
    }
}
