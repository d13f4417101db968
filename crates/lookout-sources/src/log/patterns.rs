//! The `log` source's pure part: lines → patterns → per-interval series and events.
//!
//! [`PatternTracker`] mines each message with `lookout_logpattern::Miner` (the program
//! name, when the header gives one, is the first token, so two programs' messages never
//! share a pattern) and counts lines per pattern in the open interval. [`close`]
//! turns the interval into samples and events:
//!
//! - `log_lines_per_second`, `log_bad_lines_per_second{reason}`, `log_patterns` (patterns
//!   held), and `log_pattern_lines_per_second{pattern, template, program}` for at most
//!   `series_patterns` patterns: a pattern takes a free slot the first interval it has
//!   lines, keeps it while it has lines at least once every [`SLOT_IDLE_INTERVALS`]
//!   intervals, and the lines of patterns without a slot go in `pattern="other"`. Every
//!   series carries `log = "<source>"`.
//! - `new_log_pattern`: a pattern first seen after the warm-up (a duration since the
//!   first line, or a number of lines); evidence: template, lines in the interval,
//!   example lines.
//! - `log_pattern_spike`: a pattern with at least [`MIN_BASELINE_INTERVALS`] intervals of
//!   history whose interval count reaches `spike_min_lines` and `spike_ratio` times its
//!   baseline (the running mean of its counts, then an EWMA over 60 intervals; spiking
//!   intervals do not feed it). One event when the spike starts, none while it lasts.
//!
//! What it catches: a message never logged before (an error path, a new failure mode),
//! a message suddenly logged far more than usual. What it misses: a message that stops
//! (no drop event: the series show it and the engine scores them), slow growth, a new
//! message the miner merges into an existing pattern (below the similarity threshold),
//! and news during the warm-up.
//!
//! Cost per line: the miner's (see `lookout_logpattern`) plus one map update and, for the
//! first `examples` lines of a pattern in an interval, one copy of at most
//! [`EXAMPLE_BYTES`]. Per interval: O(patterns tracked). Memory: the miner's, plus about
//! 100 bytes per tracked pattern (at most `max_patterns`; the least recently seen is
//! dropped) and the interval's examples.

use std::collections::BTreeMap;

use lookout_config::Warmup;
use lookout_logpattern::Miner;
use lookout_model::{Domain, Event, Labels, Sample, SeriesKey, Severity};

/// Intervals a pattern must have been counted before it can spike.
pub const MIN_BASELINE_INTERVALS: u64 = 6;
/// A slot whose pattern had no line for this many intervals may be given to another.
pub const SLOT_IDLE_INTERVALS: u64 = 720;
/// Bytes kept of an example line.
pub const EXAMPLE_BYTES: usize = 1024;
/// Bytes of a template in the `template` label.
pub const TEMPLATE_LABEL_BYTES: usize = 120;
const EWMA_INTERVALS: f64 = 60.0;

/// Why a line was not mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BadLine {
    InvalidUtf8,
    TooLong,
    Binary,
    /// `format = "syslog"` and no syslog header, or a journald line that is not an entry.
    NoMatch,
}

impl BadLine {
    pub const ALL: [BadLine; 4] = [
        BadLine::InvalidUtf8,
        BadLine::TooLong,
        BadLine::Binary,
        BadLine::NoMatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BadLine::InvalidUtf8 => "invalid_utf8",
            BadLine::TooLong => "too_long",
            BadLine::Binary => "binary",
            BadLine::NoMatch => "no_match",
        }
    }
}

/// What decides news and series.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    pub warmup: Warmup,
    pub series_patterns: usize,
    pub spike_ratio: f64,
    pub spike_min_lines: u64,
    pub examples: usize,
    pub max_patterns: usize,
}

#[derive(Debug, Default)]
struct Counted {
    lines: u64,
    examples: Vec<String>,
    new: bool,
}

#[derive(Debug)]
struct Baseline {
    mean: f64,
    intervals: u64,
    spiking: bool,
    last_seen: u64,
    program: Option<String>,
}

#[derive(Debug)]
struct Slot {
    template: String,
    last_seen: u64,
}

/// Lines in, per-interval samples and events out. See the module documentation.
#[derive(Debug)]
pub struct PatternTracker {
    miner: Miner,
    config: TrackerConfig,
    labels: Labels,
    first_ms: Option<i64>,
    lines_seen: u64,
    open: BTreeMap<u64, Counted>,
    open_lines: u64,
    open_bad: [u64; 4],
    bad_total: [u64; 4],
    baselines: BTreeMap<u64, Baseline>,
    slots: BTreeMap<u64, Slot>,
    closed: u64,
}

fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

impl PatternTracker {
    pub fn new(miner: Miner, config: TrackerConfig, labels: Labels) -> PatternTracker {
        PatternTracker {
            miner,
            config,
            labels,
            first_ms: None,
            lines_seen: 0,
            open: BTreeMap::new(),
            open_lines: 0,
            open_bad: [0; 4],
            bad_total: [0; 4],
            baselines: BTreeMap::new(),
            slots: BTreeMap::new(),
            closed: 0,
        }
    }

    /// Lines mined since the start.
    pub fn lines(&self) -> u64 {
        self.lines_seen
    }

    /// Refused lines since the start, by reason (indexed like [`BadLine::ALL`]).
    pub fn bad_lines(&self) -> [u64; 4] {
        self.bad_total
    }

    /// Patterns the miner holds.
    pub fn patterns(&self) -> usize {
        self.miner.len()
    }

    fn warm(&self, now_ms: i64) -> bool {
        match self.config.warmup {
            Warmup::Lines(lines) => self.lines_seen >= lines,
            Warmup::Duration(duration) => self.first_ms.is_some_and(|first| {
                now_ms.saturating_sub(first)
                    >= i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
            }),
        }
    }

    /// Counts a refused line.
    pub fn bad(&mut self, reason: BadLine) {
        self.open_bad[reason as usize] += 1;
        self.bad_total[reason as usize] += 1;
    }

    /// Mines one message read at `now_ms`; `program` comes from its header.
    pub fn line(&mut self, now_ms: i64, program: Option<&str>, message: &str) {
        self.first_ms.get_or_insert(now_ms);
        let warm = self.warm(now_ms);
        self.lines_seen += 1;
        self.open_lines += 1;
        let text;
        let mined = match program {
            Some(program) => {
                text = format!("{program} {message}");
                &text
            }
            None => message,
        };
        let found = self.miner.add(mined);
        let (id, new) = (found.id.0, found.new);
        let interval = self.closed;
        let baseline = self.baselines.entry(id).or_insert_with(|| Baseline {
            mean: 0.0,
            intervals: 0,
            spiking: false,
            last_seen: interval,
            program: program.map(str::to_string),
        });
        baseline.last_seen = interval;
        if self.open.len() >= self.config.max_patterns && !self.open.contains_key(&id) {
            return;
        }
        let counted = self.open.entry(id).or_default();
        counted.lines += 1;
        counted.new |= new && warm;
        if counted.examples.len() < self.config.examples {
            counted.examples.push(cut(message, EXAMPLE_BYTES));
        }
    }

    fn key(&self, name: &str, extra: &[(&str, &str)]) -> SeriesKey {
        let mut labels = self.labels.clone();
        for (name, value) in extra {
            labels.insert(name.to_string(), value.to_string());
        }
        SeriesKey {
            name: name.to_string(),
            labels,
        }
    }

    fn event(&self, end_ms: i64, start_ms: i64, kind: &str, id: u64, counted: &Counted) -> Event {
        let severity = if kind == "new_log_pattern" {
            Severity::Info
        } else {
            Severity::Warning
        };
        let template = self
            .miner
            .template(lookout_logpattern::PatternId(id))
            .unwrap_or("");
        let mut event = Event::new(end_ms, kind, Domain::Log, severity);
        event.entity = self.labels.clone();
        event.entity.insert("pattern".into(), id.to_string());
        if let Some(program) = self.baselines.get(&id).and_then(|b| b.program.clone()) {
            event.entity.insert("program".into(), program);
        }
        event
            .evidence
            .fields
            .insert("template".into(), cut(template, 4096));
        event.evidence.counts.insert("lines".into(), counted.lines);
        event.evidence.examples = counted.examples.clone();
        event.evidence.first_ms = Some(start_ms);
        event.evidence.last_ms = Some(end_ms);
        event
    }

    /// Closes the interval `[end_ms - interval_ms, end_ms)`: its samples and events.
    pub fn close(&mut self, end_ms: i64, interval_ms: i64) -> (Vec<Sample>, Vec<Event>) {
        let seconds = (interval_ms.max(1) as f64) / 1000.0;
        let start_ms = end_ms - interval_ms;
        let open = std::mem::take(&mut self.open);
        let mut samples = Vec::new();
        let mut events = Vec::new();
        let sample = |key: SeriesKey, value: f64| Sample {
            key,
            timestamp_ms: end_ms,
            value,
        };
        samples.push(sample(
            self.key("log_lines_per_second", &[]),
            self.open_lines as f64 / seconds,
        ));
        for reason in BadLine::ALL {
            samples.push(sample(
                self.key("log_bad_lines_per_second", &[("reason", reason.as_str())]),
                self.open_bad[reason as usize] as f64 / seconds,
            ));
        }
        samples.push(sample(
            self.key("log_patterns", &[]),
            self.miner.len() as f64,
        ));
        // Slots: patterns with lines, most lines first, take free (or long idle) slots.
        let mut by_count: Vec<(&u64, &Counted)> = open.iter().collect();
        by_count.sort_by(|a, b| b.1.lines.cmp(&a.1.lines).then(a.0.cmp(b.0)));
        for (id, _) in &by_count {
            if let Some(slot) = self.slots.get_mut(id) {
                slot.last_seen = self.closed;
                continue;
            }
            if self.slots.len() >= self.config.series_patterns {
                let idle = self
                    .slots
                    .iter()
                    .filter(|(_, slot)| self.closed - slot.last_seen > SLOT_IDLE_INTERVALS)
                    .map(|(id, _)| *id)
                    .next();
                match idle {
                    Some(idle) => self.slots.remove(&idle),
                    None => continue,
                };
            }
            let template = self
                .miner
                .template(lookout_logpattern::PatternId(**id))
                .unwrap_or("");
            self.slots.insert(
                **id,
                Slot {
                    template: cut(template, TEMPLATE_LABEL_BYTES),
                    last_seen: self.closed,
                },
            );
        }
        let mut other = 0;
        for (id, counted) in &open {
            if !self.slots.contains_key(id) {
                other += counted.lines;
            }
        }
        for (id, slot) in &self.slots {
            let lines = open.get(id).map_or(0, |c| c.lines);
            let id_text = id.to_string();
            let program = self
                .baselines
                .get(id)
                .and_then(|b| b.program.as_deref())
                .unwrap_or("");
            let mut extra = vec![
                ("pattern", id_text.as_str()),
                ("template", slot.template.as_str()),
            ];
            if !program.is_empty() {
                extra.push(("program", program));
            }
            samples.push(sample(
                self.key("log_pattern_lines_per_second", &extra),
                lines as f64 / seconds,
            ));
        }
        samples.push(sample(
            self.key("log_pattern_lines_per_second", &[("pattern", "other")]),
            other as f64 / seconds,
        ));
        // Events.
        let empty = Counted::default();
        let mut spikes = Vec::new();
        for (id, baseline) in self.baselines.iter_mut() {
            let counted = open.get(id).unwrap_or(&empty);
            let count = counted.lines as f64;
            let spiking = baseline.intervals >= MIN_BASELINE_INTERVALS
                && counted.lines >= self.config.spike_min_lines
                && count >= self.config.spike_ratio * baseline.mean.max(1.0);
            if spiking && !baseline.spiking {
                spikes.push((*id, baseline.mean));
            }
            baseline.spiking = spiking;
            if !spiking {
                baseline.intervals += 1;
                let weight = 1.0 / (baseline.intervals as f64).min(EWMA_INTERVALS);
                baseline.mean += weight * (count - baseline.mean);
            }
        }
        for (id, counted) in &open {
            if counted.new {
                let mut event = self.event(end_ms, start_ms, "new_log_pattern", *id, counted);
                event.evidence.counts.insert("lines_before".into(), 0);
                event.summary = format!(
                    "new log pattern {id}: {} line(s) of {:?}",
                    counted.lines, event.evidence.fields["template"]
                );
                events.push(event);
            }
        }
        for (id, mean) in spikes {
            let counted = &open[&id];
            let mut event = self.event(end_ms, start_ms, "log_pattern_spike", id, counted);
            let before = mean.round() as u64;
            event.evidence.counts.insert("lines_before".into(), before);
            event.summary = format!(
                "log pattern {id} spiked: {} lines in the interval, about {before} before",
                counted.lines
            );
            events.push(event);
        }
        // Bounded tracking: drop the least recently seen patterns.
        while self.baselines.len() > self.config.max_patterns {
            let oldest = self
                .baselines
                .iter()
                .min_by_key(|(id, b)| (b.last_seen, **id))
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.baselines.remove(&oldest);
            }
        }
        self.open_lines = 0;
        self.open_bad = [0; 4];
        self.closed += 1;
        (samples, events)
    }
}
