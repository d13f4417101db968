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
//! the series `log_http_bad_lines_per_second{reason}`, in `/metrics` as
//! [`LINES_METRIC`]`{source, outcome}` (`request` or the reason, through
//! `lookout_protocol::exposition::counters`), and reported in the batch's errors (the
//! source's status) once per poll with the totals since the start; they never stop the
//! source.
//!
//! Every request line also goes through the content-injection check
//! (`lookout_accesslog::injection`, on unless `injection = false`): attacks become
//! `content_injection` events grouped per client into incidents (one event when a
//! client's incident opens, one with the counts per kind when it closes), counted in
//! [`AccessLogStats`] and in `log_http_injection_requests_per_second{attack_kind}`.
//!
//! **Read offsets and restarts.** Every batch carries the read offsets that changed
//! ([`AccessLogCollector::read_offsets`]): per followed file (path, device, inode), the
//! start of its first line counted in the still open interval, or where the file is
//! read up to when none is. Everything before that offset went into intervals closed in
//! this batch or earlier. `serve` saves them in the store (`read_offsets` table) only
//! after the batch's samples and events are committed, and hands the saved ones to the
//! source before it starts ([`crate::Source::resume`]): a file whose path still names
//! the same device and inode, at least that long, is read from its offset (line
//! numbering kept); any other file follows `read_from`. So after a restart, `kill -9`
//! included, the open interval is rebuilt from its lines and:
//! - **no line is skipped**: a line's offset is saved only with (after) the interval
//!   that counts it;
//! - **no line is counted twice**: a crash between the commit of an interval and the
//!   save of the offsets reads that interval's lines again and stores the same interval
//!   again, with the same values: the store keeps the first write of a time, so the
//!   interval is not added twice.
//!
//! What it misses: the log events of intervals read twice that way are raised twice,
//! and the events' baselines, the client sketch and injection incidents restart empty;
//! a late line (older than the open interval) read again after a restart goes in its
//! own, already closed interval, which the store does not take (the first write of
//! that interval's time wins); lines a rotated-away file
//! still had in the open interval, and lines written to a file rotated away while
//! lookout was down, are not read again; a file replaced by one with the same inode
//! (a truncate and rewrite past the offset) is taken for the same file. The offsets are
//! keyed by the source name `access_log#<n>`: reordering the `[[source]]` tables loses
//! them. Cost per line: see `lookout_accesslog`; per poll one glob expansion and one
//! `stat` per file, one offset row per file that moved; at most [`MAX_LINES_PER_POLL`]
//! lines per poll.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lookout_accesslog::events::LogEvents;
use lookout_accesslog::{series, BadLine, IntervalSummary, LogDeriver};
use lookout_config::AccessLogSourceConfig;

use lookout_model::ReadOffset;
use lookout_protocol::exposition::counters;

use crate::file::follow::Follower;
use crate::{Collected, Collector, PollingSource};

/// `/metrics` counter of lines read, `{source, outcome}`: `request` or the refusal's reason.
pub const LINES_METRIC: &str = "lookout_access_log_lines_total";

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
        self.publish_counters();
        closed
    }

    /// Publishes the totals for `/metrics` (see [`LINES_METRIC`]).
    fn publish_counters(&self) {
        let help =
            "Lines an access-log source read since it started: a request, or refused by reason.";
        let refused = BadLine::ALL.map(|r| (r.as_str(), self.stats.bad_lines[r as usize]));
        let outcomes = std::iter::once(("request", self.stats.requests)).chain(refused);
        counters::set_outcomes(LINES_METRIC, help, &self.name, outcomes);
    }
}

impl AccessLogCollector {
    /// The read offsets that changed since the last call: per followed file, the start
    /// of its first line counted in the open interval, or where it is read up to when
    /// none is. Everything before them is in the intervals closed so far.
    pub fn read_offsets(&mut self) -> Vec<ReadOffset> {
        let open_first = &self.open_first;
        self.follower
            .changed_offsets(&self.name, &mut self.saved, |position| {
                let key = (position.path.clone(), position.dev, position.ino);
                open_first.get(&key).copied()
            })
    }
}

impl Collector for AccessLogCollector {
    fn resume(&mut self, offsets: Vec<ReadOffset>) {
        self.saved = self.follower.resume_from_offsets(offsets);
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
