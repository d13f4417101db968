//! Web-server access logs turned into series: parse, template, aggregate.
//!
//! Pure and synchronous: the `access_log` source (in `lookout-sources`) reads the files
//! and hands each line here; `lookout logs derive` does the same offline.
//!
//! - [`format`]: line parsers for `combined`, `common`, `json` (field names
//!   configurable) and any nginx `log_format` string, compiled once into a matcher;
//!   each line becomes a [`Request`] or a [`BadLine`] reason.
//! - [`route`]: route templates (`/users/:id/orders`) and the bounded route table.
//! - [`aggregate`]: per-interval exact counts per virtual host and route, latency
//!   quantiles, top clients (Space-Saving), into [`IntervalSummary`]s.
//! - [`series`]: the documented derived series of a summary, as samples.
//! - [`events`]: log events (`error_rate_spike`, `traffic_spike`, `traffic_drop`,
//!   `route_failing`, `client_flood`, `latency_degradation`) from robust baselines.
//! - [`injection`]: the content-injection check of each request line, attacks grouped
//!   per client into incidents (`content_injection` events).
//! - [`LogDeriver`]: parser, aggregator and injection check together, one line at a
//!   time.
//!
//! Cost per line: one UTF-8 check, one matcher pass, one route template, a few hash
//! look-ups, and with the injection check one classification of the target; memory is
//! bounded by the aggregator's and the incidents' limits, never by the traffic.

pub mod aggregate;
pub mod clients;
mod error;
pub mod events;
pub mod format;
pub mod generate;
pub mod histogram;
pub mod injection;
mod record;
pub mod route;
pub mod series;
pub mod time;

pub use aggregate::{Aggregator, AggregatorConfig, IntervalSummary, RouteSummary, ScopeCounts};
pub use error::FormatError;
pub use format::{Fields, JsonFields, LogFormat, Parser, ParserConfig};
pub use injection::{InjectionCheck, InjectionConfig, InjectionStats};
pub use record::{BadLine, Method, Request, STATUS_CLASSES};

/// A parser and an aggregator: lines in, closed intervals out.
#[derive(Debug, Clone)]
pub struct LogDeriver {
    parser: Parser,
    aggregator: Aggregator,
    /// Lines refused since the start, indexed like [`BadLine::ALL`].
    bad_lines: [u64; 4],
    requests: u64,
    injection: Option<InjectionCheck>,
    /// Events of the injection check not yet taken.
    events: Vec<lookout_model::Event>,
}

impl LogDeriver {
    pub fn new(
        parser: &ParserConfig,
        aggregator: AggregatorConfig,
    ) -> Result<LogDeriver, FormatError> {
        Ok(LogDeriver {
            parser: Parser::new(parser)?,
            aggregator: Aggregator::new(aggregator),
            bad_lines: [0; 4],
            requests: 0,
            injection: None,
            events: Vec::new(),
        })
    }

    /// Checks every request line for injection attempts (when `config.enabled`); the
    /// events carry `labels` in their entity. Take them with [`LogDeriver::take_events`].
    pub fn with_injection(
        mut self,
        config: &InjectionConfig,
        labels: lookout_model::Labels,
    ) -> Self {
        self.injection = config
            .enabled
            .then(|| InjectionCheck::new(config.incidents, labels));
        self
    }

    /// Moves the injection check's pending events to `out`.
    pub fn take_events(&mut self, out: &mut Vec<lookout_model::Event>) {
        out.append(&mut self.events);
    }

    /// The injection check's counters, when it is on.
    pub fn injection_stats(&self) -> Option<InjectionStats> {
        self.injection.as_ref().map(InjectionCheck::stats)
    }

    /// Parses and counts one line (without its newline); intervals it closes go to `out`.
    pub fn line(&mut self, line: &[u8], arrival_ms: i64, out: &mut Vec<IntervalSummary>) {
        match self.parser.parse(line) {
            Ok((request, fields)) => {
                let text = match fields {
                    Fields::Text { line, .. } => line,
                    Fields::Json(_) => std::str::from_utf8(line).unwrap_or_default(),
                };
                self.aggregator.observe(&request, text, arrival_ms, out);
                self.requests += 1;
                if let Some(check) = &mut self.injection {
                    if let Some(kind) = check.observe(&request, text, arrival_ms, &mut self.events)
                    {
                        self.aggregator.injection(kind);
                    }
                }
            }
            Err(reason) => self.bad_line(reason),
        }
    }

    /// Counts a line refused before parsing (too long, seen by the reader).
    pub fn bad_line(&mut self, reason: BadLine) {
        self.bad_lines[reason as usize] += 1;
        self.aggregator.bad_line(reason);
    }

    /// Closes the intervals (and the injection incidents) `now_ms` puts behind.
    pub fn flush(&mut self, now_ms: i64, out: &mut Vec<IntervalSummary>) {
        self.aggregator.flush(now_ms, out);
        if let Some(check) = &mut self.injection {
            check.flush(now_ms, &mut self.events);
        }
    }

    /// Closes everything open: the last interval, every injection incident.
    pub fn finish(&mut self, out: &mut Vec<IntervalSummary>) {
        self.aggregator.finish(out);
        if let Some(check) = &mut self.injection {
            check.finish(&mut self.events);
        }
    }

    /// The start of the open interval (the one the next lines of its time go in), if any.
    pub fn open_interval(&self) -> Option<i64> {
        self.aggregator.open_interval()
    }

    /// Requests counted since the start.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Lines refused since the start, by reason.
    pub fn bad_lines(&self) -> [(BadLine, u64); 4] {
        BadLine::ALL.map(|reason| (reason, self.bad_lines[reason as usize]))
    }

    pub fn has_request_time(&self) -> bool {
        self.parser.has_request_time()
    }
}
