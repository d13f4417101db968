//! The `auth_log` source: SSH logins from an auth log file or the systemd journal,
//! scored as they arrive.
//!
//! Every `interval` the [`AuthLogCollector`] (run by [`PollingSource`] on the blocking
//! pool) reads what is new, from a file followed across rotation (the `file` source's
//! [`Follower`]) or from `journalctl -f -o json` ([`crate::journal`]), and runs each line
//! through `lookout-auth`: the [`AuthParser`] (fail2ban's sshd forms in the configured
//! mode), the [`LoginDetectors`] (fail2ban rule, leaky buckets, enumeration, success
//! after failures), whose findings become events (`ssh_bruteforce`,
//! `ssh_bruteforce_fast`, `ssh_bruteforce_slow`, `ssh_user_enumeration`,
//! `ssh_success_after_failures`, `ssh_new_source_network`), and the [`LoginSeries`] (failures per second,
//! distinct failing sources, top failing sources), flushed as samples each tick.
//!
//! Times: lines read live are scored at their arrival (syslog times have no year and
//! often no zone); with `read_from = "beginning"` the backlog is scored at the lines'
//! own times. Bounds: at most [`MAX_LINES_PER_TICK`] lines and [`MAX_EVENTS_PER_TICK`]
//! events a tick (a backlog drains over several ticks; events past the cap are counted
//! in the batch's errors); the parser's and detectors' state is capped per address and
//! connection. Cost per line: the parser's (a few prefix comparisons, one hash lookup)
//! plus, for attempts, one detector update.
//!
//! What it misses: read offsets are not saved (the `access_log` and `file` sources save
//! theirs, through the same [`Follower`]): live lines are stamped at their arrival, so
//! lines read again after a crash would count a second time at another time, and the
//! detectors' windows (minutes of attempts) would restart empty anyway. A restart
//! follows `read_from`; the journal is followed from its end.

use std::collections::BTreeMap;

use lookout_auth::detect::LoginDetectors;
use lookout_auth::parser::MAX_LINE_BYTES;
use lookout_auth::series::LoginSeries;
use lookout_auth::{AuthParser, Login, ParserConfig};
use lookout_config::{AuthLogInput, AuthLogSourceConfig, ReadFrom};
use lookout_model::clock::now_ms;

use crate::file::follow::Follower;
use crate::journal::Journal;
use crate::{Collected, Collector, PollingSource};

/// Lines read per tick.
pub const MAX_LINES_PER_TICK: usize = 100_000;
/// Events sent per tick; more are counted, not sent.
pub const MAX_EVENTS_PER_TICK: usize = 1000;
/// Counters of the top-sources summary (more than reported, for accuracy).
const TOP_CAPACITY: usize = 256;

enum Input {
    File(Follower),
    Journal(Journal),
}

/// Reads and scores one `[[source]] type = "auth_log"`. See the module documentation.
pub struct AuthLogCollector {
    input: Input,
    parser: AuthParser,
    detectors: LoginDetectors,
    series: LoginSeries,
    labels: BTreeMap<String, String>,
    line_times: bool,
    interval_ms: i64,
    last_flush_ms: Option<i64>,
    newest_line_ms: i64,
    events_dropped: u64,
}

impl std::fmt::Debug for AuthLogCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLogCollector")
            .field("stats", self.parser.stats())
            .field("sources", &self.detectors.sources())
            .finish()
    }
}

/// The auth log source as a polling source.
pub fn auth_log_source(
    name: impl Into<String>,
    config: &AuthLogSourceConfig,
) -> Result<PollingSource<AuthLogCollector>, String> {
    Ok(PollingSource::new(
        name,
        config.interval,
        AuthLogCollector::new(config)?,
    ))
}

impl crate::registry::BuildSource for AuthLogSourceConfig {
    /// Read from the end, the lines are live; from the beginning, they are history.
    fn build_source(
        &self,
        index: usize,
    ) -> Result<(Box<dyn crate::Source>, crate::Delivery), String> {
        let delivery = crate::Delivery::from(self.read_from);
        Ok((
            Box::new(auth_log_source(format!("auth_log#{index}"), self)?),
            delivery,
        ))
    }
}

impl AuthLogCollector {
    pub fn new(config: &AuthLogSourceConfig) -> Result<AuthLogCollector, String> {
        let input = match &config.input {
            AuthLogInput::File(path) => Input::File(Follower::new(
                vec![path.clone()],
                config.read_from,
                MAX_LINE_BYTES * 4,
            )),
            AuthLogInput::Journal { program } => Input::Journal(Journal::new(
                program.clone(),
                vec![
                    "--identifier=sshd".to_string(),
                    "--identifier=sshd-session".to_string(),
                ],
                config.read_from,
                MAX_LINE_BYTES * 4,
            )),
        };
        let year = chrono::Datelike::year(&chrono::Utc::now());
        let detectors = LoginDetectors::new(config.detect).map_err(|e| e.to_string())?;
        Ok(AuthLogCollector {
            input,
            parser: AuthParser::new(ParserConfig::new(config.mode, year)),
            detectors,
            series: LoginSeries::new(config.labels.clone(), config.top_sources, TOP_CAPACITY),
            labels: config.labels.clone(),
            line_times: config.read_from == ReadFrom::Beginning,
            interval_ms: i64::try_from(config.interval.as_millis()).unwrap_or(i64::MAX),
            last_flush_ms: None,
            newest_line_ms: i64::MIN,
            events_dropped: 0,
        })
    }

    /// What the parser read so far.
    pub fn parse_stats(&self) -> &lookout_auth::ParseStats {
        self.parser.stats()
    }

    /// Scores one line read at `now`; findings go to `events`.
    fn line(&mut self, bytes: &[u8], now: i64, events: &mut Vec<lookout_model::Event>) {
        let text = String::from_utf8_lossy(bytes);
        let Some(login) = self.parser.parse_line(&text) else {
            return;
        };
        self.series.observe(&login);
        let login = if self.line_times {
            if let Some(t) = login.time_ms {
                self.newest_line_ms = self.newest_line_ms.max(t);
            }
            login
        } else {
            Login {
                time_ms: None,
                ..login
            }
        };
        for finding in self.detectors.observe(&login, &text, now) {
            if events.len() < MAX_EVENTS_PER_TICK {
                events.push(finding.to_event(&self.labels));
            } else {
                self.events_dropped += 1;
            }
        }
    }
}

impl Collector for AuthLogCollector {
    fn collect(&mut self) -> Collected {
        let now = now_ms();
        let mut errors = Vec::new();
        let mut events = Vec::new();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        // Read first, then score: the input and the scorer are separate borrows.
        match &mut self.input {
            Input::File(follower) => {
                follower.read(MAX_LINES_PER_TICK, &mut errors, |_, _, bytes| {
                    lines.push(bytes.to_vec())
                });
            }
            Input::Journal(journal) => {
                journal.read(MAX_LINES_PER_TICK, &mut errors, |_, bytes| {
                    lines.push(bytes.to_vec())
                });
            }
        }
        let dropped_before = self.events_dropped;
        for line in &lines {
            self.line(line, now, &mut events);
        }
        if self.events_dropped > dropped_before {
            errors.push(format!(
                "{} findings over the limit of {MAX_EVENTS_PER_TICK} events a tick were not sent ({} since the start)",
                self.events_dropped - dropped_before,
                self.events_dropped
            ));
        }
        let expire_at = if self.line_times {
            self.newest_line_ms
        } else {
            now
        };
        if expire_at != i64::MIN {
            self.detectors.expire(expire_at);
        }
        let elapsed = self
            .last_flush_ms
            .map_or(self.interval_ms, |last| (now - last).max(1));
        self.last_flush_ms = Some(now);
        Collected {
            samples: self.series.flush(now, elapsed),
            events,
            errors,
            read_offsets: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
