//! The login detectors' settings and their defaults.

use super::bucket::BucketConfig;

/// Settings of every login detector; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectConfig {
    /// fail2ban's rule: `maxretry` failures within `findtime` (default 5 in 10 min).
    pub maxretry: u32,
    pub findtime_ms: i64,
    /// CrowdSec's fast brute force bucket (default capacity 5, leak 10 s).
    pub fast: BucketConfig,
    /// CrowdSec's slow brute force bucket (default capacity 10, leak 60 s).
    pub slow: BucketConfig,
    /// Distinct users from one address within the window that make an enumeration
    /// (default 5 in 10 min).
    pub enumeration_users: u32,
    pub enumeration_window_ms: i64,
    /// Failures from an address within the window before a success from it that make
    /// the success suspect (default 5 in 10 min).
    pub success_failures: u32,
    pub success_window_ms: i64,
    /// Addresses followed at once (the least recently seen dropped first).
    pub max_sources: usize,
    /// Successful logins a user's profile learns from before a new source network is
    /// news (default 5; see [`super::networks`]).
    pub new_network_logins: u32,
    /// Users profiled at once (the least recently seen dropped first).
    pub max_users: usize,
    /// Example lines kept per address and per finding.
    pub max_examples: usize,
}

pub const MINUTE_MS: i64 = 60_000;

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            maxretry: 5,
            findtime_ms: 10 * MINUTE_MS,
            fast: BucketConfig {
                capacity: 5,
                leak_ms: 10_000,
            },
            slow: BucketConfig {
                capacity: 10,
                leak_ms: 60_000,
            },
            enumeration_users: 5,
            enumeration_window_ms: 10 * MINUTE_MS,
            success_failures: 5,
            success_window_ms: 10 * MINUTE_MS,
            max_sources: 10_000,
            new_network_logins: 5,
            max_users: 10_000,
            max_examples: 5,
        }
    }
}

/// A setting out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl DetectConfig {
    /// How long an address's state matters: the longest window of any detector.
    pub fn source_ttl_ms(&self) -> i64 {
        let drain = |b: &BucketConfig| i64::from(b.capacity) * b.leak_ms;
        [
            self.findtime_ms,
            drain(&self.fast),
            drain(&self.slow),
            self.enumeration_window_ms,
            self.success_window_ms,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Checks every setting; the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &'static str, v: i64| {
            if v <= 0 {
                Err(ConfigError {
                    key,
                    problem: format!("must be positive, is {v}"),
                })
            } else {
                Ok(())
            }
        };
        positive("maxretry", self.maxretry.into())?;
        positive("findtime", self.findtime_ms)?;
        positive("fast_capacity", self.fast.capacity.into())?;
        positive("fast_leak", self.fast.leak_ms)?;
        positive("slow_capacity", self.slow.capacity.into())?;
        positive("slow_leak", self.slow.leak_ms)?;
        positive("enumeration_users", self.enumeration_users.into())?;
        positive("enumeration_window", self.enumeration_window_ms)?;
        positive("success_failures", self.success_failures.into())?;
        positive("success_window", self.success_window_ms)?;
        positive("max_sources", self.max_sources as i64)?;
        positive("new_network_logins", self.new_network_logins.into())?;
        positive("max_users", self.max_users as i64)?;
        for (key, value) in [
            ("maxretry", self.maxretry),
            ("enumeration_users", self.enumeration_users),
            ("success_failures", self.success_failures),
        ] {
            if value > MAX_COUNT {
                return Err(ConfigError {
                    key,
                    problem: format!("{value} is more than {MAX_COUNT}"),
                });
            }
        }
        Ok(())
    }
}

/// The largest count threshold accepted (the per-address windows hold this many times).
pub const MAX_COUNT: u32 = 1000;
