//! Login detectors: attempts in, findings with evidence out.
//!
//! [`LoginDetectors`] follows every source address that fails, in bounded memory (at
//! most `max_sources` addresses, the least recently seen dropped first; an address's
//! state expires after the longest detector window), and runs per address:
//!
//! - **the fail2ban rule** ([`FindingKind::BruteForce`]): `maxretry` failures within
//!   `findtime` (5 in 10 min). Once found, the address is quiet for `findtime` (as if
//!   banned). Misses: slower attacks, attacks spread over addresses.
//! - **leaky buckets** ([`bucket`]), CrowdSec's `ssh-bf` (capacity 5, leak 10 s) and
//!   `ssh-slow-bf` (capacity 10, leak 60 s).
//! - **user enumeration** ([`spread`]): `enumeration_users` distinct users from one
//!   address within the window (5 in 10 min). Misses: one user per address.
//! - **a success after failures** ([`FindingKind::SuccessAfterFailures`]): a successful
//!   login from an address with `success_failures` failures within the window (5 in 10
//!   min): the one that matters most, a guessed password. Misses: a success from
//!   another address than the failures (see the series for that).
//! - **a new source network for a user** ([`FindingKind::NewSourceNetwork`],
//!   [`networks`]): a learned per-user profile of the networks successful logins come
//!   from; a success from a network new to a user who keeps to a few.
//!
//! Each finding carries its evidence: address, users tried, counts, first and last
//! failure time and a few lines. Cost per attempt: one bounded-map touch and O(window
//! cap) for the windows; memory per address: about 1 KiB with its examples.

pub mod bucket;
pub mod config;
pub mod finding;
pub mod networks;
pub mod spread;
pub mod window;

use std::collections::VecDeque;

pub use config::{ConfigError, DetectConfig};
pub use finding::{Finding, FindingKind};

use crate::parser::{Login, LoginResult};
use bucket::LeakyBucket;
use lookout_sketch::BoundedMap;
use networks::UserNetworks;
use spread::UserSpread;
use window::FailureWindow;

/// Longest example line kept (bytes).
pub const MAX_EXAMPLE_BYTES: usize = 512;

#[derive(Debug, Clone, Default)]
struct SourceState {
    first_ms: i64,
    last_ms: i64,
    failures: u64,
    window: FailureWindow,
    fast: LeakyBucket,
    slow: LeakyBucket,
    spread: UserSpread,
    examples: VecDeque<String>,
    banned_until_ms: i64,
    enumeration_quiet_until_ms: i64,
}

/// Every login detector over every source address.
#[derive(Debug)]
pub struct LoginDetectors {
    config: DetectConfig,
    sources: BoundedMap<String, SourceState>,
    networks: UserNetworks,
    found: u64,
}

fn cut(line: &str) -> String {
    let mut end = line.len().min(MAX_EXAMPLE_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_string()
}

fn human(ms: i64) -> String {
    if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms as f64 / 1000.0)
    }
}

impl LoginDetectors {
    /// Detectors with `config`, checked.
    pub fn new(config: DetectConfig) -> Result<LoginDetectors, ConfigError> {
        config.validate()?;
        Ok(LoginDetectors {
            sources: BoundedMap::new(config.max_sources, config.source_ttl_ms()),
            networks: UserNetworks::new(config.max_users, config.new_network_logins),
            config,
            found: 0,
        })
    }

    pub fn config(&self) -> &DetectConfig {
        &self.config
    }

    /// Addresses followed now.
    pub fn sources(&self) -> usize {
        self.sources.len()
    }

    /// Addresses dropped for room so far (a sign of a spoofed flood).
    pub fn sources_evicted(&self) -> u64 {
        self.sources.evicted()
    }

    /// Findings so far.
    pub fn found(&self) -> u64 {
        self.found
    }

    /// Drops the state of addresses silent for longer than every window.
    pub fn expire(&mut self, now_ms: i64) {
        self.sources.expire(now_ms);
    }

    /// Adds one attempt read from `line`; `now_ms` stands in for a line without a time.
    pub fn observe(&mut self, login: &Login, line: &str, now_ms: i64) -> Vec<Finding> {
        let t = login.time_ms.unwrap_or(now_ms);
        let found = match login.result {
            LoginResult::Failure => self.failure(login, line, t),
            LoginResult::Success => self.success(login, line, t),
        };
        self.found += found.len() as u64;
        found
    }

    fn failure(&mut self, login: &Login, line: &str, t: i64) -> Vec<Finding> {
        let c = self.config;
        let window_cap = c.maxretry.max(c.success_failures) as usize;
        let spread_cap = (c.enumeration_users as usize * 2).max(16);
        let state = self.sources.touch(&login.ip, t, SourceState::default);
        if state.failures == 0 {
            state.first_ms = t;
        }
        state.first_ms = state.first_ms.min(t);
        state.last_ms = state.last_ms.max(t);
        state.failures += 1;
        state.window.push(t, window_cap);
        if let Some(user) = login.user.as_deref().filter(|u| !u.is_empty()) {
            state.spread.push(user, t, spread_cap);
        }
        state.examples.push_back(cut(line));
        while state.examples.len() > c.max_examples {
            state.examples.pop_front();
        }
        let mut kinds = Vec::new();
        let in_findtime = state.window.count_within(t, c.findtime_ms);
        if t >= state.banned_until_ms && in_findtime >= c.maxretry as usize {
            state.banned_until_ms = t + c.findtime_ms;
            kinds.push((
                FindingKind::BruteForce,
                in_findtime,
                format!("{} failures within {}", c.maxretry, human(c.findtime_ms)),
            ));
        }
        for (kind, bucket, config) in [
            (FindingKind::FastBruteForce, &mut state.fast, &c.fast),
            (FindingKind::SlowBruteForce, &mut state.slow, &c.slow),
        ] {
            if bucket.pour(config, t) {
                kinds.push((
                    kind,
                    config.capacity as usize + 1,
                    format!(
                        "leaky bucket of capacity {} leaking one per {} overflowed",
                        config.capacity,
                        human(config.leak_ms)
                    ),
                ));
            }
        }
        let distinct = state.spread.distinct_within(t, c.enumeration_window_ms);
        if t >= state.enumeration_quiet_until_ms && distinct >= c.enumeration_users as usize {
            state.enumeration_quiet_until_ms = t + c.enumeration_window_ms;
            kinds.push((
                FindingKind::UserEnumeration,
                state.window.count_within(t, c.enumeration_window_ms),
                format!(
                    "{} distinct users within {}",
                    c.enumeration_users,
                    human(c.enumeration_window_ms)
                ),
            ));
        }
        let state = &*state;
        kinds
            .into_iter()
            .map(|(kind, window_failures, rule)| {
                Self::finding(kind, login, t, state, window_failures, rule, None)
            })
            .collect()
    }

    fn success(&mut self, login: &Login, line: &str, t: i64) -> Vec<Finding> {
        let mut found: Vec<Finding> = self.after_failures(login, line, t).into_iter().collect();
        let novelty = login
            .user
            .as_deref()
            .filter(|user| !user.is_empty())
            .and_then(|user| self.networks.success(user, &login.ip, t));
        if let Some(novelty) = novelty {
            found.push(Finding {
                kind: FindingKind::NewSourceNetwork,
                ip: login.ip.clone(),
                time_ms: t,
                first_ms: t,
                last_ms: t,
                failures: 0,
                window_failures: 0,
                users: Vec::new(),
                logged_in_user: login.user.clone(),
                examples: vec![cut(line)],
                rule: format!(
                    "a network not among the user's after {} logins, new-network score {:.2} >= {}",
                    novelty.logins,
                    novelty.score,
                    networks::MIN_SCORE
                ),
                novelty: Some(novelty),
            });
        }
        found
    }

    fn after_failures(&mut self, login: &Login, line: &str, t: i64) -> Option<Finding> {
        let c = self.config;
        if !self.sources.contains_fresh(&login.ip, t) {
            return None;
        }
        let state = self.sources.touch(&login.ip, t, SourceState::default);
        let before = state.window.count_within(t, c.success_window_ms);
        if before < c.success_failures as usize {
            return None;
        }
        let first = state.window.first_within(t, c.success_window_ms);
        let mut snapshot = state.clone();
        snapshot.first_ms = first.unwrap_or(snapshot.first_ms);
        snapshot.examples.push_back(cut(line));
        if snapshot.examples.len() > c.max_examples {
            snapshot.examples.pop_front();
        }
        // One success is one finding: its failures are accounted for.
        state.window.clear();
        let rule = format!(
            "success after {} failures within {}",
            c.success_failures,
            human(c.success_window_ms)
        );
        Some(Self::finding(
            FindingKind::SuccessAfterFailures,
            login,
            t,
            &snapshot,
            before,
            rule,
            login.user.clone(),
        ))
    }

    fn finding(
        kind: FindingKind,
        login: &Login,
        t: i64,
        state: &SourceState,
        window_failures: usize,
        rule: String,
        logged_in_user: Option<String>,
    ) -> Finding {
        Finding {
            kind,
            ip: login.ip.clone(),
            time_ms: t,
            first_ms: state.first_ms,
            last_ms: state.last_ms.max(t),
            failures: state.failures,
            window_failures: window_failures as u64,
            users: state.spread.users().map(str::to_string).collect(),
            logged_in_user,
            examples: state.examples.iter().cloned().collect(),
            rule,
            novelty: None,
        }
    }
}

#[cfg(test)]
mod tests;
