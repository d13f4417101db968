//! Connection state: how the lines of one sshd connection add up to failures.
//!
//! sshd writes one attempt over several lines, and not every line names the address or
//! is a failure by itself. The tracker keeps, per connection key, the address and users
//! seen so far and whether a failure is waiting for its address, and decides per line
//! the way fail2ban does:
//!
//! - a helper (`Connection from`, a valid user's rejected key, a PAM failure a second
//!   method may still undo) is not a failure, unless a failure is pending or the
//!   connection has tried more than one user;
//! - a failure without an address takes the connection's; without one it waits
//!   (pending) for the next line that names it;
//! - a success ends the connection, and is itself counted as a failure when the
//!   connection had a pending failure or tried several users (`counts_as_failure`);
//! - lines that end the connection (`Connection closed`, `Received disconnect`, an
//!   accepted login) drop its state.
//!
//! Memory is bounded: at most `capacity` connections are held (the least recently
//! seen is dropped first), each with at most [`MAX_USERS`] users, and a connection
//! unseen for `ttl_ms` of log time is dropped. Cost: one hash lookup per line.

use std::collections::BTreeSet;

use crate::host::Host;
use crate::rules::{Form, Outcome};
use lookout_sketch::BoundedMap;

/// Users remembered per connection.
pub const MAX_USERS: usize = 16;

#[derive(Debug, Default, Clone)]
struct Connection {
    v4: Option<String>,
    v6: Option<String>,
    dns: Option<String>,
    user: Option<String>,
    users: BTreeSet<String>,
    pending: bool,
    helper: bool,
    gained: bool,
}

impl Connection {
    fn set_host(&mut self, host: &Host) {
        match host {
            Host::V4(s) => self.v4 = Some(s.clone()),
            Host::V6(s) => self.v6 = Some(s.clone()),
            Host::Dns(s) => self.dns = Some(s.clone()),
        }
    }

    /// The address, IPv4 first, then IPv6, then a name.
    fn host(&self) -> Option<Host> {
        self.v4
            .clone()
            .map(Host::V4)
            .or_else(|| self.v6.clone().map(Host::V6))
            .or_else(|| self.dns.clone().map(Host::Dns))
    }

    fn add_user(&mut self, user: &Option<String>) {
        if let Some(user) = user.as_deref().filter(|u| !u.is_empty()) {
            if self.users.len() < MAX_USERS || self.users.contains(user) {
                self.users.insert(user.to_string());
            } else {
                // Past the cap the set only needs to say "more than one".
                self.users.insert(String::new());
            }
        }
    }
}

/// What a line decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A failed attempt from `host`.
    Failure { host: Host, user: Option<String> },
    /// A successful login; `counts_as_failure` when the connection had failed first
    /// (fail2ban counts such a login as one more failure).
    Success {
        host: Host,
        user: Option<String>,
        counts_as_failure: bool,
    },
    /// Nothing to count (yet).
    Nothing,
}

/// The state of every open connection.
#[derive(Debug)]
pub struct Tracker {
    connections: BoundedMap<String, Connection>,
    newest_ms: i64,
}

impl Tracker {
    /// `capacity` connections at most, each forgotten after `ttl_ms` of log time.
    pub fn new(capacity: usize, ttl_ms: i64) -> Tracker {
        Tracker {
            connections: BoundedMap::new(capacity, ttl_ms),
            newest_ms: 0,
        }
    }

    /// Connections held now.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Decides one recognised line of connection `key` at `time_ms` (lines without a
    /// time count as the newest time seen).
    pub fn observe(&mut self, key: &str, time_ms: Option<i64>, form: &Form) -> Decision {
        if let Some(t) = time_ms {
            self.newest_ms = self.newest_ms.max(t);
        }
        let now = time_ms.unwrap_or(self.newest_ms);
        let gained = form.outcome == Outcome::Success;
        let helper = form.outcome == Outcome::Helper || gained;
        let key = key.to_string();
        let known = self.connections.contains_fresh(&key, now);
        let keep = !form.ends;
        let mut transient = Connection::default();
        let state: &mut Connection = if known {
            let state = self.connections.touch(&key, now, Connection::default);
            state.add_user(&form.user);
            if gained {
                state.pending = false;
            }
            state
        } else {
            if keep {
                transient.add_user(&form.user);
            }
            &mut transient
        };
        if let Some(host) = &form.host {
            state.set_host(host);
        }
        if form.user.is_some() {
            state.user = form.user.clone();
        }
        state.helper = helper;
        state.gained = gained;
        let several_users = state.users.len() > 1;
        let was_pending = std::mem::take(&mut state.pending);
        let mut is_helper = helper;
        if was_pending || several_users {
            state.helper = false;
            state.gained = false;
            is_helper = false;
        }
        let host = state.host();
        let user = state.user.clone();
        if host.is_none() && !is_helper {
            state.pending = true;
        }
        if !known && keep {
            *self.connections.touch(&key, now, Connection::default) = transient;
        } else if known && !keep {
            self.connections.remove(&key);
        }
        match (host, gained, is_helper) {
            (Some(host), true, _) => Decision::Success {
                host,
                user: form.user.clone().or(user),
                counts_as_failure: !is_helper,
            },
            (Some(host), false, false) => Decision::Failure { host, user },
            _ => Decision::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(outcome: Outcome, host: Option<&str>, user: Option<&str>, ends: bool) -> Form {
        Form {
            name: "t",
            outcome,
            ends,
            host: host.map(|h| Host::V4(h.into())),
            user: user.map(Into::into),
        }
    }

    #[test]
    fn a_failure_without_address_takes_the_connections() {
        let mut t = Tracker::new(10, 300_000);
        let d = t.observe(
            "k",
            Some(0),
            &form(Outcome::Helper, Some("10.0.0.1"), None, false),
        );
        assert_eq!(d, Decision::Nothing);
        let d = t.observe(
            "k",
            Some(1),
            &form(Outcome::Failure, None, Some("root"), false),
        );
        assert!(matches!(d, Decision::Failure { host: Host::V4(ref h), .. } if h == "10.0.0.1"));
    }

    #[test]
    fn a_pending_failure_waits_for_the_address() {
        let mut t = Tracker::new(10, 300_000);
        assert_eq!(
            t.observe("k", Some(0), &form(Outcome::Failure, None, None, false)),
            Decision::Nothing
        );
        let d = t.observe(
            "k",
            Some(1),
            &form(Outcome::Helper, Some("10.0.0.2"), None, true),
        );
        assert!(matches!(d, Decision::Failure { .. }));
        assert!(t.is_empty());
    }

    #[test]
    fn several_users_turn_helpers_and_successes_into_failures() {
        let mut t = Tracker::new(10, 300_000);
        let h = |u| form(Outcome::Helper, Some("10.0.0.3"), Some(u), false);
        assert_eq!(t.observe("k", Some(0), &h("root")), Decision::Nothing);
        assert!(matches!(
            t.observe("k", Some(1), &h("admin")),
            Decision::Failure { .. }
        ));
        let ok = form(Outcome::Success, Some("10.0.0.3"), Some("known"), true);
        assert!(matches!(
            t.observe("k", Some(2), &ok),
            Decision::Success {
                counts_as_failure: true,
                ..
            }
        ));
    }

    #[test]
    fn capacity_and_ttl_bound_the_state() {
        let mut t = Tracker::new(3, 1000);
        for i in 0..10 {
            t.observe(
                &format!("k{i}"),
                Some(i),
                &form(Outcome::Helper, Some("10.0.0.4"), None, false),
            );
            assert!(t.len() <= 3);
        }
        // A connection silent for longer than the age limit starts over.
        t.observe("k9", Some(9), &form(Outcome::Failure, None, None, false));
        let late = form(Outcome::Helper, Some("10.0.0.5"), None, false);
        assert_eq!(t.observe("k9", Some(10_000), &late), Decision::Nothing);
    }
}
