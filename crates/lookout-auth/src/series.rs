//! [`LoginSeries`]: the numbers of an interval of attempts, as samples.
//!
//! Per interval (the source's, one second by default) it counts failures and
//! successes, estimates the distinct failing source addresses with a
//! [`HyperLogLog`] (4 KiB, about 1.6 % error) and keeps the heaviest failing addresses
//! with [`SpaceSaving`] (a fixed number of counters: every address with more than
//! `failures / capacity` failures is held). [`LoginSeries::flush`] turns them into
//! samples and starts the next interval:
//!
//! | series | labels | unit |
//! |---|---|---|
//! | `auth_login_failures_per_second` | the source's | failures/s |
//! | `auth_login_successes_per_second` | the source's | logins/s |
//! | `auth_login_failure_sources` | the source's | distinct addresses in the interval |
//! | `auth_login_failures_by_source` | + `source_ip` | failures in the interval, top addresses only |
//!
//! The detectors of the engine then learn these like any series (a jump in the failure
//! rate or in distinct sources is an anomaly). Cost: one hash and one heap update per
//! failure; memory fixed at construction.

use lookout_model::{Labels, Sample, SeriesKey};
use lookout_sketch::{HyperLogLog, SpaceSaving};

use crate::parser::{Login, LoginResult};

pub const FAILURES: &str = "auth_login_failures_per_second";
pub const SUCCESSES: &str = "auth_login_successes_per_second";
pub const SOURCES: &str = "auth_login_failure_sources";
pub const BY_SOURCE: &str = "auth_login_failures_by_source";

/// Counters of the current interval.
#[derive(Debug, Clone)]
pub struct LoginSeries {
    labels: Labels,
    failures: u64,
    successes: u64,
    sources: HyperLogLog,
    top: SpaceSaving<String>,
    top_n: usize,
}

impl LoginSeries {
    /// Series labelled with `labels`, reporting the `top_n` heaviest addresses out of
    /// `capacity` counters (`capacity ≥ top_n`).
    pub fn new(labels: Labels, top_n: usize, capacity: usize) -> LoginSeries {
        LoginSeries {
            labels,
            failures: 0,
            successes: 0,
            sources: HyperLogLog::default(),
            top: SpaceSaving::new(capacity.max(top_n).max(1)),
            top_n,
        }
    }

    /// Counts one attempt.
    pub fn observe(&mut self, login: &Login) {
        match login.result {
            LoginResult::Failure => {
                self.failures += 1;
                self.sources.insert(login.ip.as_str());
                self.top.insert(&login.ip);
            }
            LoginResult::Success => self.successes += 1,
        }
    }

    /// Failures so far in this interval.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// The interval of `interval_ms` ending at `now_ms` as samples; starts the next.
    pub fn flush(&mut self, now_ms: i64, interval_ms: i64) -> Vec<Sample> {
        let seconds = (interval_ms.max(1)) as f64 / 1000.0;
        let key = |name: &str| SeriesKey {
            name: name.to_string(),
            labels: self.labels.clone(),
        };
        let mut samples = vec![
            Sample {
                key: key(FAILURES),
                timestamp_ms: now_ms,
                value: self.failures as f64 / seconds,
            },
            Sample {
                key: key(SUCCESSES),
                timestamp_ms: now_ms,
                value: self.successes as f64 / seconds,
            },
            Sample {
                key: key(SOURCES),
                timestamp_ms: now_ms,
                value: self.sources.estimate().round(),
            },
        ];
        for counter in self.top.top(self.top_n) {
            let mut labels = self.labels.clone();
            labels.insert("source_ip".into(), counter.key.clone());
            samples.push(Sample {
                key: SeriesKey {
                    name: BY_SOURCE.to_string(),
                    labels,
                },
                timestamp_ms: now_ms,
                value: counter.count as f64,
            });
        }
        self.failures = 0;
        self.successes = 0;
        self.sources.clear();
        self.top.clear();
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn failure(ip: &str) -> Login {
        Login {
            time_ms: None,
            result: LoginResult::Failure,
            ip: ip.into(),
            user: None,
            form: "t",
            counts_as_failure: false,
        }
    }

    #[test]
    fn rates_distinct_sources_and_top_sources() {
        let mut s = LoginSeries::new(Labels::new(), 2, 8);
        for _ in 0..10 {
            s.observe(&failure("192.0.2.1"));
        }
        for i in 0..5 {
            s.observe(&failure(&format!("198.51.100.{i}")));
        }
        let samples = s.flush(5000, 5000);
        let value = |name: &str| samples.iter().find(|x| x.key.name == name).unwrap().value;
        assert_eq!(value(FAILURES), 3.0);
        assert_eq!(value(SOURCES), 6.0);
        let top: Vec<_> = samples.iter().filter(|x| x.key.name == BY_SOURCE).collect();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].key.labels["source_ip"], "192.0.2.1");
        assert_eq!(top[0].value, 10.0);
        // The next interval starts empty.
        let next = s.flush(6000, 1000);
        assert_eq!(next.len(), 3);
        assert!(next.iter().all(|x| x.value == 0.0));
    }

    proptest! {
        #[test]
        fn the_heaviest_address_is_always_reported(noise in proptest::collection::vec(0u32..10_000, 0..300)) {
            let mut s = LoginSeries::new(Labels::new(), 1, 16);
            for (i, n) in noise.iter().enumerate() {
                s.observe(&failure(&format!("10.0.{}.{}", n >> 8, n & 255)));
                if i % 2 == 0 { s.observe(&failure("192.0.2.200")); }
                s.observe(&failure("192.0.2.200"));
            }
            s.observe(&failure("192.0.2.200"));
            let samples = s.flush(1, 1000);
            let top = samples.iter().find(|x| x.key.name == BY_SOURCE).unwrap();
            prop_assert_eq!(top.key.labels["source_ip"].as_str(), "192.0.2.200");
        }
    }
}
