//! The `log` source: any application log mined into log patterns, whose rates become
//! series and whose news become events.
//!
//! Inputs, any together: files (globs, the `file` source's [`Follower`]: rotation,
//! partial and long lines, read offsets saved in the store's `read_offsets` table so a
//! restart resumes where the last batch left), the journal (`journalctl -f -o json`
//! through the shared [`crate::journal::Journal`] reader, with the configured unit and
//! identifier filters), and syslog over UDP and TCP ([`syslog::SyslogInput`], RFC 3164
//! and 5424). Every `interval` the [`LogCollector`] (run by [`PollingSource`] on the
//! blocking pool) reads what is new, strips the header of syslog and journald frames
//! (`lookout_auth::header`: the program becomes the pattern's `program` label) and
//! hands each message to the [`patterns::PatternTracker`]; the interval then closes
//! into the series and events documented there (`new_log_pattern`,
//! `log_pattern_spike`), scored by the engine like every metric.
//!
//! Bad input never stops the source: invalid UTF-8, binary (a NUL byte, or more than a
//! tenth of control bytes), too long (over `max_line_bytes`, or a syslog frame over
//! `syslog_max_message_bytes`) and no match (`format = "syslog"` without a header, a
//! journald line that is not an entry) are counted by reason in
//! `log_bad_lines_per_second{reason}`, in `/metrics` as
//! `lookout_log_source_lines_total{source, outcome}` (`mined` or the reason, through
//! `lookout_protocol::exposition::counters`), and reported in the batch's errors (the
//! source's status) with the totals since the start.
//!
//! Times: lines are counted in the interval they are read in (their own times are not
//! used, so a backlog read with `read_from = "beginning"` lands in the first intervals).
//! What it misses: what `patterns` misses; a restart restarts the warm-up and the
//! baselines (patterns learned are not saved); UDP datagrams dropped when the channel is
//! full are counted in the errors only. Cost per line: a UTF-8 and binary check (one
//! pass), a header split, the tracker's cost; at most [`MAX_LINES_PER_TICK`] lines a
//! tick, the rest waits for the next. Measured (`bench/logsource.sh`, README): about
//! 270,000 lines/s and 9.4 MiB peak with 200 message shapes; 30,000 lines/s and 20 MiB
//! with 5,000 (the miner compares a line with every pattern of its parse-tree leaf).

pub mod patterns;
pub mod syslog;

use std::collections::BTreeMap;

use lookout_config::{LogFormat, LogSourceConfig};
use lookout_logpattern::Miner;
use lookout_model::ReadOffset;
use lookout_protocol::exposition::counters;

use crate::file::follow::Follower;
use crate::journal::Journal;
use crate::{Collected, Collector, PollingSource};
use patterns::{BadLine, PatternTracker, TrackerConfig};
use syslog::{Received, SyslogInput};

/// `/metrics` counter of lines read, `{source, outcome}`: `mined` or the refusal's reason.
pub const LINES_METRIC: &str = "lookout_log_source_lines_total";

/// Lines read per tick, over all inputs.
pub const MAX_LINES_PER_TICK: usize = 200_000;

/// The log source as a polling source.
pub fn log_source(
    name: impl Into<String>,
    config: &LogSourceConfig,
) -> Result<PollingSource<LogCollector>, String> {
    let name = name.into();
    let collector = LogCollector::new(&name, config)?;
    Ok(PollingSource::new(name, config.interval, collector))
}

impl crate::registry::BuildSource for LogSourceConfig {
    /// Read from the end, the lines are live; from the beginning, they are history.
    fn build_source(
        &self,
        index: usize,
    ) -> Result<(Box<dyn crate::Source>, crate::Delivery), String> {
        let delivery = crate::Delivery::from(self.read_from);
        Ok((
            Box::new(log_source(format!("log#{index}"), self)?),
            delivery,
        ))
    }
}

/// Reads and mines one `[[source]] type = "log"`. See the module documentation.
pub struct LogCollector {
    name: String,
    files: Option<Follower>,
    journal: Option<Journal>,
    syslog: Option<SyslogInput>,
    framer: Framer,
    clock: fn() -> i64,
    last_ms: Option<i64>,
    interval_ms: i64,
    saved: BTreeMap<String, ReadOffset>,
    reported_bad: [u64; 4],
    reported_drops: (u64, u64),
}

impl std::fmt::Debug for LogCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCollector")
            .field("name", &self.name)
            .field("lines", &self.framer.tracker.lines())
            .finish()
    }
}

/// Binary: a NUL byte, or more than a tenth of control bytes other than tab and CR.
pub fn is_binary(bytes: &[u8]) -> bool {
    let control = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f)
        .count();
    bytes.contains(&0) || control * 10 > bytes.len()
}

/// Checks each line, splits its header and hands the message to the tracker.
struct Framer {
    tracker: PatternTracker,
    format: LogFormat,
    year: i32,
}

impl Framer {
    /// One line of a file or a syslog message: checked, its header split, mined.
    fn text_line(&mut self, now: i64, bytes: &[u8]) {
        if is_binary(bytes) {
            return self.tracker.bad(BadLine::Binary);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.tracker.bad(BadLine::InvalidUtf8);
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if self.format == LogFormat::Plain {
            return self.tracker.line(now, None, text);
        }
        match lookout_auth::header::syslog(text, self.year) {
            Some(header) => {
                let message = String::from_utf8_lossy(&header.message).into_owned();
                let program = header.program.map(|p| p.into_owned());
                self.tracker.line(now, program.as_deref(), &message);
            }
            None if self.format == LogFormat::Syslog => self.tracker.bad(BadLine::NoMatch),
            None => self.tracker.line(now, None, text),
        }
    }

    fn journal_line(&mut self, now: i64, bytes: &[u8]) {
        let Ok(header) = lookout_auth::header::journal(bytes) else {
            return self.tracker.bad(BadLine::NoMatch);
        };
        if is_binary(&header.message) {
            return self.tracker.bad(BadLine::Binary);
        }
        match std::str::from_utf8(&header.message) {
            Ok(message) => self.tracker.line(now, header.program.as_deref(), message),
            Err(_) => self.tracker.bad(BadLine::InvalidUtf8),
        }
    }
}

impl LogCollector {
    pub fn new(name: &str, config: &LogSourceConfig) -> Result<LogCollector, String> {
        let max_line = usize::try_from(config.max_line_bytes).unwrap_or(usize::MAX);
        let miner = Miner::new(lookout_logpattern::Config {
            depth: config.depth,
            similarity: config.similarity,
            max_clusters: config.max_patterns,
            max_line_bytes: max_line,
            ..lookout_logpattern::Config::default()
        })
        .map_err(|error| error.to_string())?;
        let mut labels = config.labels.clone();
        labels
            .entry("log".to_string())
            .or_insert_with(|| name.to_string());
        let tracker = PatternTracker::new(
            miner,
            TrackerConfig {
                warmup: config.warmup,
                series_patterns: config.series_patterns,
                spike_ratio: config.spike_ratio,
                spike_min_lines: config.spike_min_lines,
                examples: config.examples,
                max_patterns: config.max_patterns,
            },
            labels,
        );
        let syslog = if config.syslog_udp.is_some() || config.syslog_tcp.is_some() {
            Some(
                SyslogInput::bind(
                    config.syslog_udp,
                    config.syslog_tcp,
                    usize::try_from(config.syslog_max_message_bytes).unwrap_or(usize::MAX),
                    config.syslog_max_connections,
                )
                .map_err(|error| format!("cannot listen for syslog: {error}"))?,
            )
        } else {
            None
        };
        let journal = config.journal.as_ref().map(|journal| {
            let filters = journal
                .units
                .iter()
                .map(|unit| format!("--unit={unit}"))
                .chain(
                    journal
                        .identifiers
                        .iter()
                        .map(|id| format!("--identifier={id}")),
                )
                .collect();
            // The journal's JSON wraps the message: room for the wrapping.
            Journal::new(
                journal.program.clone(),
                filters,
                config.read_from,
                max_line * 2 + 4096,
            )
        });
        Ok(LogCollector {
            name: name.to_string(),
            files: (!config.paths.is_empty())
                .then(|| Follower::new(config.paths.clone(), config.read_from, max_line)),
            journal,
            syslog,
            framer: Framer {
                tracker,
                format: config.format,
                year: chrono::Datelike::year(&chrono::Utc::now()),
            },
            clock: lookout_model::clock::now_ms,
            last_ms: None,
            interval_ms: i64::try_from(config.interval.as_millis()).unwrap_or(i64::MAX),
            saved: BTreeMap::new(),
            reported_bad: [0; 4],
            reported_drops: (0, 0),
        })
    }

    /// Replaces the wall clock (tests drive time by hand).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    /// The addresses the syslog listeners are bound to (UDP, TCP).
    pub fn syslog_addresses(&self) -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
        self.syslog
            .as_ref()
            .map_or((None, None), |s| (s.udp, s.tcp))
    }

    /// Refused lines since the start, by reason (indexed like [`BadLine::ALL`]).
    pub fn bad_lines(&self) -> [u64; 4] {
        self.framer.tracker.bad_lines()
    }

    /// Lines mined since the start.
    pub fn lines(&self) -> u64 {
        self.framer.tracker.lines()
    }

    /// Patterns the miner holds.
    pub fn patterns(&self) -> usize {
        self.framer.tracker.patterns()
    }

    /// Publishes the totals for `/metrics` (see [`LINES_METRIC`]).
    fn publish_counters(&self) {
        let totals = self.framer.tracker.bad_lines();
        let help = "Lines a log source read since it started: mined, or refused by reason.";
        let refused = BadLine::ALL.map(|r| (r.as_str(), totals[r as usize]));
        let outcomes = std::iter::once(("mined", self.lines())).chain(refused);
        counters::set_outcomes(LINES_METRIC, help, &self.name, outcomes);
    }

    /// Reads every input once and closes the interval ending at the clock's now.
    pub fn poll(
        &mut self,
        errors: &mut Vec<String>,
    ) -> (Vec<lookout_model::Sample>, Vec<lookout_model::Event>) {
        let now = (self.clock)();
        let framer = &mut self.framer;
        let mut read = 0usize;
        let mut too_long = 0;
        if let Some(files) = &mut self.files {
            let before = files.stats().too_long;
            files.read(MAX_LINES_PER_TICK, errors, |_, _, bytes| {
                read += 1;
                framer.text_line(now, bytes);
            });
            too_long += files.stats().too_long - before;
        }
        if let Some(journal) = &mut self.journal {
            let budget = MAX_LINES_PER_TICK.saturating_sub(read);
            journal.read(budget, errors, |_, bytes| {
                read += 1;
                framer.journal_line(now, bytes);
            });
        }
        if let Some(syslog) = &mut self.syslog {
            let budget = MAX_LINES_PER_TICK.saturating_sub(read);
            syslog.read(budget, |received| match received {
                Received::Message(bytes) => framer.text_line(now, &bytes),
                Received::TooLong => too_long += 1,
            });
            let (dropped, refused) = syslog.dropped_and_refused();
            if (dropped, refused) != self.reported_drops {
                errors.push(format!(
                    "syslog: {dropped} UDP messages dropped (the source fell behind), {refused} TCP connections refused (too many open) since the start"
                ));
                self.reported_drops = (dropped, refused);
            }
        }
        for _ in 0..too_long {
            framer.tracker.bad(BadLine::TooLong);
        }
        let elapsed = self
            .last_ms
            .map_or(self.interval_ms, |last| (now - last).max(1));
        self.last_ms = Some(now);
        let closed = self.framer.tracker.close(now, elapsed);
        let totals = self.framer.tracker.bad_lines();
        self.publish_counters();
        if totals != self.reported_bad {
            let new: Vec<String> = BadLine::ALL
                .iter()
                .filter(|reason| totals[**reason as usize] > self.reported_bad[**reason as usize])
                .map(|reason| {
                    let index = *reason as usize;
                    format!(
                        "{} {} lines skipped ({} since the start)",
                        totals[index] - self.reported_bad[index],
                        reason.as_str(),
                        totals[index]
                    )
                })
                .collect();
            errors.push(format!("log: {}", new.join(", ")));
            self.reported_bad = totals;
        }
        closed
    }
}

impl Collector for LogCollector {
    fn resume(&mut self, offsets: Vec<ReadOffset>) {
        if let Some(files) = &mut self.files {
            self.saved = files.resume_from_offsets(offsets);
        }
    }

    fn collect(&mut self) -> Collected {
        let mut collected = Collected::default();
        let (samples, events) = self.poll(&mut collected.errors);
        collected.samples = samples;
        collected.events = events;
        if let Some(files) = &self.files {
            // Lines are counted in the interval they are read in, closed in this batch:
            // everything read is accounted for once it is stored.
            collected.read_offsets = files.changed_offsets(&self.name, &mut self.saved, |_| None);
        }
        collected
    }
}

#[cfg(test)]
mod tests;
