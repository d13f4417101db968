//! Findings and the events they become.

use std::collections::BTreeMap;

use lookout_model::{Domain, Event, Evidence, Labels, Severity};

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// fail2ban's rule: `maxretry` failures within `findtime`.
    BruteForce,
    /// The fast leaky bucket overflowed.
    FastBruteForce,
    /// The slow leaky bucket overflowed.
    SlowBruteForce,
    /// Many distinct users from one address.
    UserEnumeration,
    /// A successful login from an address that just failed repeatedly.
    SuccessAfterFailures,
    /// A successful login from a network new to a user who keeps to a few.
    NewSourceNetwork,
}

impl FindingKind {
    pub const ALL: &'static [FindingKind] = &[
        FindingKind::BruteForce,
        FindingKind::FastBruteForce,
        FindingKind::SlowBruteForce,
        FindingKind::UserEnumeration,
        FindingKind::SuccessAfterFailures,
        FindingKind::NewSourceNetwork,
    ];

    /// The event kind alert rules match.
    pub fn event_kind(self) -> &'static str {
        match self {
            FindingKind::BruteForce => "ssh_bruteforce",
            FindingKind::FastBruteForce => "ssh_bruteforce_fast",
            FindingKind::SlowBruteForce => "ssh_bruteforce_slow",
            FindingKind::UserEnumeration => "ssh_user_enumeration",
            FindingKind::SuccessAfterFailures => "ssh_success_after_failures",
            FindingKind::NewSourceNetwork => "ssh_new_source_network",
        }
    }

    fn severity(self) -> Severity {
        match self {
            FindingKind::SuccessAfterFailures => Severity::Critical,
            _ => Severity::Warning,
        }
    }
}

/// One finding about one source address, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub ip: String,
    /// The time of the line that triggered it.
    pub time_ms: i64,
    /// First and last failure of the address held in its state.
    pub first_ms: i64,
    pub last_ms: i64,
    /// Failures from the address in its state (since it was first seen or last expired).
    pub failures: u64,
    /// Failures within the rule's own window.
    pub window_failures: u64,
    /// Users the address tried, oldest first (bounded).
    pub users: Vec<String>,
    /// For a success: who logged in.
    pub logged_in_user: Option<String>,
    /// A few of the lines, as written.
    pub examples: Vec<String>,
    /// What the rule was, for people (`5 failures within 10m`).
    pub rule: String,
    /// For a new source network: the network and what the user's profile knew.
    pub novelty: Option<super::networks::NewNetwork>,
}

impl Finding {
    /// The event: domain `login`, entity `source_ip` plus `labels` (the host, say).
    pub fn to_event(&self, labels: &Labels) -> Event {
        let mut entity = labels.clone();
        entity.insert("source_ip".into(), self.ip.clone());
        let mut fields = BTreeMap::new();
        fields.insert("source_ip".to_string(), self.ip.clone());
        fields.insert("users_tried".to_string(), self.users.join(","));
        fields.insert("rule".to_string(), self.rule.clone());
        if let Some(user) = &self.logged_in_user {
            fields.insert("logged_in_user".to_string(), user.clone());
            entity.insert("user".into(), user.clone());
        }
        let mut counts = BTreeMap::new();
        if let Some(novelty) = &self.novelty {
            fields.insert("network".to_string(), novelty.network.clone());
            fields.insert("known_networks".to_string(), novelty.known.join(","));
            counts.insert("user_logins".to_string(), novelty.logins);
            counts.insert("known_networks".to_string(), novelty.known.len() as u64);
        }
        counts.insert("failures".to_string(), self.failures);
        counts.insert("window_failures".to_string(), self.window_failures);
        counts.insert("distinct_users".to_string(), self.users.len() as u64);
        let summary = match self.kind {
            FindingKind::SuccessAfterFailures => format!(
                "successful SSH login as {} from {} after {} failures ({})",
                self.logged_in_user.as_deref().unwrap_or("?"),
                self.ip,
                self.window_failures,
                self.rule
            ),
            FindingKind::NewSourceNetwork => {
                let novelty = self.novelty.as_ref();
                format!(
                    "SSH login as {} from {}, a network new to this user after {} logins from {} (score {:.2})",
                    self.logged_in_user.as_deref().unwrap_or("?"),
                    self.ip,
                    novelty.map_or(0, |n| n.logins),
                    novelty.map_or_else(String::new, |n| n.known.join(", ")),
                    novelty.map_or(0.0, |n| n.score),
                )
            }
            FindingKind::UserEnumeration => format!(
                "SSH user enumeration from {}: {} users tried ({})",
                self.ip,
                self.users.len(),
                self.rule
            ),
            _ => format!(
                "SSH brute force from {}: {} failures ({})",
                self.ip, self.window_failures, self.rule
            ),
        };
        Event {
            timestamp_ms: self.time_ms,
            kind: self.kind.event_kind().to_string(),
            domain: Domain::Login,
            entity,
            severity: self.kind.severity(),
            score: self.novelty.as_ref().map(|novelty| novelty.score),
            summary,
            evidence: Evidence {
                fields,
                counts,
                examples: self.examples.clone(),
                first_ms: Some(self.first_ms),
                last_ms: Some(self.last_ms),
            },
        }
    }
}
