//! The `access_log` source: follows web-server access logs and turns them into derived
//! request series and log events.
//!
//! Every poll the [`AccessLogCollector`] (run by [`PollingSource`] on the blocking pool)
//! reads what the followed files gained, through the `file` source's follower (globs,
//! `read_from`, rotation by rename and by copytruncate, a file that disappears and comes
//! back, partial last lines, the long-line limit: see `file::follow`), and hands each
//! line to a [`LogDeriver`] (`lookout-accesslog`): parse, route template, per-interval
//! aggregation. Each closed interval becomes the series documented in
//! `lookout_accesslog::series`, labelled `log = "<source name>"` (plus the configured
//! labels), and goes through the detection engine like any metric; the same summaries
//! feed `lookout_accesslog::events`, whose log events (`error_rate_spike`,
//! `route_failing`, `traffic_spike`, `traffic_drop`, `client_flood`,
//! `latency_degradation`, entity `log` plus `vhost`, `route` or `client`) go in the
//! batch's events.
//!
//! Intervals close when a later line arrives or, once the files are read to their end,
//! when the wall clock passes the interval's end plus a grace period, so a silent log
//! shows as zero traffic. Refused lines are counted by reason
//! (`no_match`, `invalid_utf8`, `too_long`, `bad_value`) in [`AccessLogStats`] and in
//! the series `log_http_bad_lines_per_second{reason}`, and reported in the batch's
//! errors once per poll; they never stop the source.
//!
//! Every request line also goes through the content-injection check
//! (`lookout_accesslog::injection`, on unless `injection = false`): attacks become
//! `content_injection` events grouped per client into incidents (one event when a
//! client's incident opens, one with the counts per kind when it closes), counted in
//! [`AccessLogStats`] and in `log_http_injection_requests_per_second{attack_kind}`.
//!
//! What it misses: a restart forgets the open interval and the read offsets (files
//! are read again per `read_from`). Cost per line: see `lookout_accesslog`; per poll one
//! glob expansion and one `stat` per file; at most [`MAX_LINES_PER_POLL`] lines per
//! poll.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lookout_accesslog::events::LogEvents;
use lookout_accesslog::{series, BadLine, IntervalSummary, LogDeriver};
use lookout_config::AccessLogSourceConfig;

use lookout_model::ReadOffset;

use crate::file::follow::{Follower, Position};
use crate::{Collected, Collector, PollingSource};

/// Lines read per poll, over all files.
pub const MAX_LINES_PER_POLL: usize = 1_000_000;

/// Counters of one access-log source since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AccessLogStats {
    /// Lines that became a request.
    pub requests: u64,
    /// Refused lines, indexed like [`BadLine::ALL`].
    pub bad_lines: [u64; 4],
    /// Files followed from a new beginning after a rotation or a truncation.
    pub rotations: u64,
    /// Intervals closed.
    pub intervals: u64,
    /// The injection check's counters (classified and flagged lines, incidents), when on.
    pub injection: Option<lookout_accesslog::InjectionStats>,
}

/// The access-log source as a polling source.
pub fn access_log_source(
    name: impl Into<String>,
    config: &AccessLogSourceConfig,
) -> Result<PollingSource<AccessLogCollector>, String> {
    let name = name.into();
    let collector = AccessLogCollector::new(&name, config)?;
    Ok(PollingSource::new(name, config.poll, collector))
}

impl crate::registry::BuildSource for AccessLogSourceConfig {
    /// Read from the end, a log's lines are live; from the beginning, they are history.
    fn build_source(
        &self,
        index: usize,
    ) -> Result<(Box<dyn crate::Source>, crate::Delivery), String> {
        let delivery = crate::Delivery::from(self.read_from);
        let source = access_log_source(format!("access_log#{index}"), self)?;
        Ok((Box::new(source), delivery))
    }
}

/// Follows the files of one `[[source]] type = "access_log"`. See the module documentation.
#[derive(Debug)]
pub struct AccessLogCollector {
    follower: Follower,
    deriver: LogDeriver,
    events: LogEvents,
    labels: BTreeMap<String, String>,
    stats: AccessLogStats,
    clock: fn() -> i64,
    /// The source's name, the key of its read offsets.
    name: String,
    /// Per followed file (path, device, inode): where its first line counted in the
    /// open interval starts, and the number of lines before it.
    open_first: BTreeMap<(PathBuf, u64, u64), (u64, u64)>,
    /// The read offsets last handed out, by path: only changes are handed out.
    saved: BTreeMap<String, ReadOffset>,
}

impl AccessLogCollector {
    /// A collector whose series carry `log = "<name>"` and the configured labels.
    pub fn new(name: &str, config: &AccessLogSourceConfig) -> Result<AccessLogCollector, String> {
        let mut labels = config.labels.clone();
        labels
            .entry("log".to_string())
            .or_insert_with(|| name.to_string());
        let deriver = LogDeriver::new(&config.parser, config.aggregator.clone())
            .map_err(|error| error.to_string())?
            .with_injection(&config.injection, labels.clone());
        Ok(AccessLogCollector {
            follower: Follower::new(
                config.paths.clone(),
                config.read_from,
                usize::try_from(config.max_line_bytes).unwrap_or(usize::MAX),
            ),
            deriver,
            events: LogEvents::new(labels.clone()),
            labels,
            stats: AccessLogStats::default(),
            clock: lookout_model::clock::now_ms,
            name: name.to_string(),
            open_first: BTreeMap::new(),
            saved: BTreeMap::new(),
        })
    }

    /// Replaces the wall clock (tests drive time by hand).
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    pub fn stats(&self) -> AccessLogStats {
        self.stats
    }

    /// Reads what the files gained and returns the intervals that closed.
    pub fn poll(&mut self, errors: &mut Vec<String>) -> Vec<IntervalSummary> {
        let now = (self.clock)();
        let mut closed = Vec::new();
        let deriver = &mut self.deriver;
        let open_first = &mut self.open_first;
        let before = self.follower.stats();
        let mut lines = 0usize;
        self.follower
            .read_at(MAX_LINES_PER_POLL, errors, |path, at, line| {
                lines += 1;
                let open = deriver.open_interval();
                deriver.line(line, now, &mut closed);
                match deriver.open_interval() {
                    None => open_first.clear(),
                    Some(start) => {
                        if open != Some(start) {
                            // The line opened a new interval: the earlier ones are closed.
                            open_first.clear();
                        }
                        open_first
                            .entry((path.to_path_buf(), at.dev, at.ino))
                            .or_insert((at.offset, at.number - 1));
                    }
                }
            });
        let after = self.follower.stats();
        for _ in before.too_long..after.too_long {
            self.deriver.bad_line(BadLine::TooLong);
        }
        // A read that used its whole budget has more waiting: flush only when caught up.
        if lines < MAX_LINES_PER_POLL {
            self.deriver.flush(now, &mut closed);
        }
        if self.deriver.open_interval().is_none() {
            self.open_first.clear();
        }
        self.stats.rotations += after.rotations - before.rotations;
        self.stats.intervals += closed.len() as u64;
        self.stats.requests = self.deriver.requests();
        self.stats.injection = self.deriver.injection_stats();
        let before = self.stats.bad_lines;
        for (reason, count) in self.deriver.bad_lines() {
            self.stats.bad_lines[reason as usize] = count;
        }
        let new: Vec<String> = BadLine::ALL
            .iter()
            .filter(|reason| self.stats.bad_lines[**reason as usize] > before[**reason as usize])
            .map(|reason| {
                let index = *reason as usize;
                format!(
                    "{} {reason} lines skipped ({} since the start)",
                    self.stats.bad_lines[index] - before[index],
                    self.stats.bad_lines[index]
                )
            })
            .collect();
        if !new.is_empty() {
            errors.push(format!("access log: {}", new.join(", ")));
        }
        closed
    }
}

impl AccessLogCollector {
    /// The read offsets that changed since the last call: per followed file, the start
    /// of its first line counted in the open interval, or where it is read up to when
    /// none is. Everything before them is in the intervals closed so far.
    pub fn read_offsets(&mut self) -> Vec<ReadOffset> {
        let mut changed = Vec::new();
        for position in self.follower.positions() {
            let key = (position.path.clone(), position.dev, position.ino);
            let (offset, line) = self
                .open_first
                .get(&key)
                .copied()
                .unwrap_or((position.offset, position.line));
            let row = ReadOffset {
                source: self.name.clone(),
                path: position.path.to_string_lossy().into_owned(),
                dev: position.dev,
                ino: position.ino,
                offset,
                line,
            };
            if self.saved.get(&row.path) != Some(&row) {
                self.saved.insert(row.path.clone(), row.clone());
                changed.push(row);
            }
        }
        changed
    }
}

impl Collector for AccessLogCollector {
    fn resume(&mut self, offsets: Vec<ReadOffset>) {
        let positions: Vec<Position> = offsets
            .iter()
            .map(|offset| Position {
                path: PathBuf::from(&offset.path),
                dev: offset.dev,
                ino: offset.ino,
                offset: offset.offset,
                line: offset.line,
            })
            .collect();
        self.follower.resume_from(positions);
        self.saved = offsets
            .into_iter()
            .map(|offset| (offset.path.clone(), offset))
            .collect();
    }

    fn collect(&mut self) -> Collected {
        let mut collected = Collected::default();
        let closed = self.poll(&mut collected.errors);
        for summary in &closed {
            collected
                .samples
                .extend(series::samples(summary, &self.labels));
            collected.events.extend(self.events.observe(summary));
        }
        self.deriver.take_events(&mut collected.events);
        collected.read_offsets = self.read_offsets();
        collected
    }
}

#[cfg(test)]
mod tests;
