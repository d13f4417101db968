//! [`Budget`]: a process-wide amount (bytes of request bodies buffered, samples of
//! queries in flight) that requests reserve from and give back.
//!
//! A [`Reservation`] is an RAII guard: what it holds returns to the budget when it is
//! dropped, so a request that is cancelled mid-way (client gone, timeout) releases its
//! share as its future is dropped. Reserving never waits: it succeeds or fails at once,
//! and the caller answers 503 with `Retry-After` naming the budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A shared amount with a limit.
#[derive(Debug)]
pub struct Budget {
    name: &'static str,
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` units, named (`max_inflight_body_bytes`) in error messages.
    pub fn new(name: &'static str, limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            name,
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// The configuration key that sets this budget.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Units reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An empty reservation, grown with [`Reservation::grow`].
    pub fn reservation(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: Arc::clone(self),
            held: 0,
        }
    }

    /// Takes `amount` units if they fit under the limit.
    fn take(&self, amount: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(amount)
                    .filter(|total| *total <= self.limit)
            })
            .is_ok()
    }
}

/// Units held from a [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    held: usize,
}

impl Reservation {
    /// Adds `amount` units; false (nothing taken) when the budget has not that much left.
    pub fn grow(&mut self, amount: usize) -> bool {
        if self.budget.take(amount) {
            self.held += amount;
            true
        } else {
            false
        }
    }

    /// Units held.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stay_under_the_limit_and_give_back_on_drop() {
        let budget = Budget::new("test_budget", 10);
        let mut a = budget.reservation();
        assert!(a.grow(6));
        let mut b = budget.reservation();
        assert!(!b.grow(5), "6 + 5 is over 10");
        assert!(b.grow(4));
        assert_eq!(budget.used(), 10);
        drop(a);
        assert_eq!(budget.used(), 4);
        assert!(b.grow(6));
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
