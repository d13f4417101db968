//! [`Budget`]: a process-wide amount (bytes of request bodies buffered, samples of
//! queries in flight) that requests reserve from and give back.
//!
//! A [`Reservation`] is an RAII guard: what it holds returns to the budget when it is
//! dropped, so a request that is cancelled mid-way (client gone, timeout) releases its
//! share as its future is dropped. Reserving never waits: it succeeds or fails at once,
//! and the caller answers 503 with `Retry-After` naming the budget.
//!
//! A budget may also cap each client's share ([`Budget::with_client_share`]): the
//! reservations made for one client address together hold at most that much, so one
//! client holding slow bodies open cannot take the whole budget from everyone else
//! (many addresses together still can; that is what the total is for). The shares are a
//! map with one entry per address holding a reservation now, so its size is bounded by
//! the connections open; an entry goes when its address holds nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A shared amount with a limit.
#[derive(Debug)]
pub struct Budget {
    name: &'static str,
    limit: usize,
    used: AtomicUsize,
    client_share: Option<ClientShare>,
}

/// The most one client address may hold of a [`Budget`], and what each holds now.
#[derive(Debug)]
struct ClientShare {
    name: &'static str,
    limit: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a [`Reservation`] could not grow: the configuration key of the limit it would
/// have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The whole budget is held.
    Total,
    /// This client's share is held.
    ClientShare,
}

impl Budget {
    /// A budget of `limit` units, named (`max_inflight_body_bytes`) in error messages.
    pub fn new(name: &'static str, limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            name,
            limit,
            used: AtomicUsize::new(0),
            client_share: None,
        })
    }

    /// A budget of `limit` units of which one client address may hold at most
    /// `per_client` (named `share_name` in error messages); no share when `per_client` is
    /// the whole budget or more.
    pub fn with_client_share(
        name: &'static str,
        limit: usize,
        share_name: &'static str,
        per_client: usize,
    ) -> Arc<Budget> {
        Arc::new(Budget {
            name,
            limit,
            used: AtomicUsize::new(0),
            client_share: (per_client < limit).then(|| ClientShare {
                name: share_name,
                limit: per_client,
                held: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration key of the per-client share and its limit, if there is one.
    pub fn client_share(&self) -> Option<(&'static str, usize)> {
        self.client_share
            .as_ref()
            .map(|share| (share.name, share.limit))
    }

    /// Units the reservations of `client` hold now.
    pub fn held_by(&self, client: IpAddr) -> usize {
        self.client_share
            .as_ref()
            .map_or(0, |share| share.lock().get(&client).copied().unwrap_or(0))
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
        self.reservation_for(None)
    }

    /// An empty reservation counted against `client`'s share (none when the address is
    /// unknown or the budget has no shares).
    pub fn reservation_for(self: &Arc<Self>, client: Option<IpAddr>) -> Reservation {
        Reservation {
            budget: Arc::clone(self),
            client: client.filter(|_| self.client_share.is_some()),
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

impl ClientShare {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `amount` for `client` if its share has room.
    fn take(&self, client: IpAddr, amount: usize) -> bool {
        let mut held = self.lock();
        let entry = held.entry(client).or_insert(0);
        match entry
            .checked_add(amount)
            .filter(|total| *total <= self.limit)
        {
            Some(total) => {
                *entry = total;
                true
            }
            None => {
                if *entry == 0 {
                    held.remove(&client);
                }
                false
            }
        }
    }

    fn give_back(&self, client: IpAddr, amount: usize) {
        let mut held = self.lock();
        if let Some(entry) = held.get_mut(&client) {
            *entry = entry.saturating_sub(amount);
            if *entry == 0 {
                held.remove(&client);
            }
        }
    }
}

/// Units held from a [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    client: Option<IpAddr>,
    held: usize,
}

impl Reservation {
    /// Adds `amount` units; false (nothing taken) when the budget, or this client's
    /// share of it, has not that much left.
    pub fn grow(&mut self, amount: usize) -> bool {
        self.try_grow(amount).is_ok()
    }

    /// [`Reservation::grow`], saying which limit refused.
    pub fn try_grow(&mut self, amount: usize) -> Result<(), Refused> {
        let share = self.budget.client_share.as_ref();
        if let (Some(share), Some(client)) = (share, self.client) {
            if !share.take(client, amount) {
                return Err(Refused::ClientShare);
            }
        }
        if !self.budget.take(amount) {
            if let (Some(share), Some(client)) = (share, self.client) {
                share.give_back(client, amount);
            }
            return Err(Refused::Total);
        }
        self.held += amount;
        Ok(())
    }

    /// Units held.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
        if let (Some(share), Some(client)) = (self.budget.client_share.as_ref(), self.client) {
            share.give_back(client, self.held);
        }
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

    #[test]
    fn one_client_holds_at_most_its_share_and_others_still_fit() {
        let budget = Budget::with_client_share("total", 10, "per_client", 4);
        let abuser: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let mut first = budget.reservation_for(Some(abuser));
        assert_eq!(first.try_grow(3), Ok(()));
        let mut second = budget.reservation_for(Some(abuser));
        assert_eq!(
            second.try_grow(2),
            Err(Refused::ClientShare),
            "3 + 2 is over 4"
        );
        assert_eq!(budget.used(), 3, "a refusal takes nothing");
        let mut third = budget.reservation_for(Some(other));
        assert_eq!(third.try_grow(4), Ok(()));
        let late: IpAddr = "192.0.2.3".parse().unwrap();
        let mut fourth = budget.reservation_for(Some(late));
        assert_eq!(
            fourth.try_grow(4),
            Err(Refused::Total),
            "3 + 4 + 4 is over 10"
        );
        assert_eq!(
            budget.held_by(late),
            0,
            "a refusal by the total gives the share back"
        );
        drop(first);
        assert_eq!(budget.held_by(abuser), 0);
        assert_eq!(second.try_grow(4), Ok(()));
        drop((second, third, fourth));
        assert_eq!(budget.used(), 0);
        assert!(
            budget.client_share.as_ref().unwrap().lock().is_empty(),
            "no entry left"
        );
    }
}
