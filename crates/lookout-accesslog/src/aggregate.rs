//! Per-interval aggregation of parsed requests into [`IntervalSummary`]s.
//!
//! Each request is placed in the interval of its own timestamp (or of its arrival, for
//! formats without a time) and counted, exactly, under its virtual host and under its
//! (virtual host, route template) pair: requests by status class and by method, body
//! bytes, and request and upstream durations (histograms, see [`crate::histogram`]).
//! Clients are counted in a Space-Saving summary (see [`crate::clients`]), so the top
//! clients cost fixed memory however many addresses there are.
//!
//! Intervals close when a line of a later interval arrives, or when the reader calls
//! [`Aggregator::flush`] with a time past the interval's end plus the grace period;
//! intervals without lines between two closed ones are reported empty (at most
//! [`MAX_GAP_INTERVALS`] at a time), so a silence shows as zero traffic. A line older
//! than the open interval is counted in it and in [`IntervalSummary::late`]: nothing
//! accepted is dropped.
//!
//! Bounded cardinality: at most `max_vhosts` virtual hosts (the rest under `:other`) and
//! `max_routes` route keys (the rest under each host's `:other` route); a route unseen
//! for `route_idle_intervals` intervals gives its slot back.
//!
//! Cost per line: one route template, two hash look-ups, one Space-Saving update, a
//! copy of the line into a small ring of recent examples.

use rustc_hash::FxHashMap;

use crate::clients::TopClients;

use crate::histogram::{Histogram, Quantiles};
use crate::record::{BadLine, Method, Request};
use crate::route::{template, OTHER_ROUTE};

/// Empty intervals reported at most between two lines (or at one flush).
pub const MAX_GAP_INTERVALS: u64 = 720;
/// The virtual host of lines without one.
pub const NO_VHOST: &str = "_";
/// The virtual host collecting hosts beyond the limit.
pub const OTHER_VHOST: &str = ":other";
/// Bytes of a line kept as an example.
pub const EXAMPLE_BYTES: usize = 512;
/// Recent lines kept for the examples of the top client.
const RECENT_LINES: usize = 64;
/// Error lines kept per interval and per route.
const ERROR_EXAMPLES: usize = 3;

/// The aggregator's bounds and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatorConfig {
    pub interval_ms: i64,
    /// How long after an interval's end lines may still arrive for it before
    /// [`Aggregator::flush`] closes it.
    pub grace_ms: i64,
    pub max_vhosts: usize,
    pub max_routes: usize,
    pub route_idle_intervals: u64,
    /// Clients reported per interval.
    pub top_clients: usize,
    /// Space-Saving counters (clients whose share exceeds 1/capacity are always held).
    pub client_capacity: usize,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            interval_ms: 5_000,
            grace_ms: 2_000,
            max_vhosts: 32,
            max_routes: 200,
            route_idle_intervals: 720,
            top_clients: 5,
            client_capacity: 256,
        }
    }
}

/// Exact counts of one scope (a virtual host or a route) in one interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeCounts {
    pub requests: u64,
    /// Index 0 is 1xx, ..., 4 is 5xx.
    pub by_class: [u64; 5],
    /// Indexed like [`Method::ALL`].
    pub by_method: [u64; 8],
    pub bytes: u64,
    pub latency: Option<Quantiles>,
    pub upstream: Option<Quantiles>,
}

impl ScopeCounts {
    /// Requests of status class `digit`xx (1..=5).
    pub fn class(&self, digit: usize) -> u64 {
        self.by_class[digit - 1]
    }

    pub fn method(&self, method: Method) -> u64 {
        self.by_method[method.index()]
    }
}

/// One route's counts, with a few of its error lines.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSummary {
    pub vhost: String,
    pub route: String,
    pub counts: ScopeCounts,
    /// Up to three lines of this route with a 5xx status.
    pub error_examples: Vec<String>,
}

/// Everything one interval of a log says; the derived series and the log events are
/// computed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalSummary {
    pub start_ms: i64,
    pub interval_ms: i64,
    /// All requests of the interval.
    pub total: ScopeCounts,
    /// Per virtual host, sorted by name.
    pub vhosts: Vec<(String, ScopeCounts)>,
    /// Per (virtual host, route), sorted.
    pub routes: Vec<RouteSummary>,
    /// The heaviest clients and their (over-)estimated request counts, heaviest first.
    pub top_clients: Vec<(String, u64)>,
    /// Lines counted in this interval that belonged to an earlier, closed one.
    pub late: u64,
    /// Lines refused in this interval, indexed like [`BadLine::ALL`].
    pub bad_lines: [u64; 4],
    /// Requests flagged as injection attempts, indexed like `lookout_inject::Kind::ALL`.
    pub injections: [u64; 5],
    /// Up to three lines with a 5xx status.
    pub error_examples: Vec<String>,
    /// The slowest lines (by request time), slowest first, up to three.
    pub slow_examples: Vec<(f64, String)>,
    /// Recent lines of the heaviest client, up to three.
    pub top_client_examples: Vec<String>,
}

impl IntervalSummary {
    pub fn end_ms(&self) -> i64 {
        self.start_ms + self.interval_ms
    }

    pub fn bad(&self, reason: BadLine) -> u64 {
        self.bad_lines[reason.index()]
    }
}

#[derive(Debug, Default, Clone)]
struct Scope {
    counts: ScopeCounts,
    latency: Histogram,
    upstream: Histogram,
}

impl Scope {
    fn add(&mut self, request: &Request<'_>, method: Method) {
        let counts = &mut self.counts;
        counts.requests += 1;
        counts.by_class[usize::from(request.status / 100) - 1] += 1;
        counts.by_method[method.index()] += 1;
        counts.bytes += request.bytes;
        if let Some(seconds) = request.request_time {
            self.latency.record(seconds);
        }
        if let Some(seconds) = request.upstream_time {
            self.upstream.record(seconds);
        }
    }

    fn take(&mut self) -> ScopeCounts {
        let mut counts = std::mem::take(&mut self.counts);
        counts.latency = self.latency.quantiles();
        counts.upstream = self.upstream.quantiles();
        self.latency.clear();
        self.upstream.clear();
        counts
    }
}

#[derive(Debug, Clone)]
struct RouteScope {
    vhost: Box<str>,
    route: Box<str>,
    scope: Scope,
    errors: Vec<String>,
    /// The last interval (index) with a line of this route.
    seen: u64,
}

#[derive(Debug, Default, Clone)]
struct VhostScope {
    scope: Scope,
    seen: u64,
}

/// The open interval and the bounded tables; see the module documentation.
#[derive(Debug, Clone)]
pub struct Aggregator {
    config: AggregatorConfig,
    /// Start of the open interval, if one is open.
    open: Option<i64>,
    /// Start of the interval after the last one closed.
    next: Option<i64>,
    total: Scope,
    vhosts: FxHashMap<Box<str>, VhostScope>,
    /// Keyed `vhost route`.
    routes: FxHashMap<Box<str>, RouteScope>,
    /// Routes with a slot of their own (not an `:other` route).
    own_routes: usize,
    clients: TopClients,
    late: u64,
    bad_lines: [u64; 4],
    injections: [u64; 5],
    errors: Vec<String>,
    slow: Vec<(f64, String)>,
    recent: Vec<(u64, String)>,
    recent_next: usize,
    key: String,
    template: String,
}

fn example(line: &str) -> String {
    if line.len() <= EXAMPLE_BYTES {
        return line.to_string();
    }
    format!("{}…", &line[..floor_boundary(line, EXAMPLE_BYTES)])
}

impl Aggregator {
    pub fn new(config: AggregatorConfig) -> Aggregator {
        assert!(config.interval_ms > 0, "the interval must be positive");
        Aggregator {
            clients: TopClients::new(config.client_capacity),
            config,
            open: None,
            next: None,
            total: Scope::default(),
            vhosts: FxHashMap::default(),
            routes: FxHashMap::default(),
            own_routes: 0,
            late: 0,
            bad_lines: [0; 4],
            injections: [0; 5],
            errors: Vec::new(),
            slow: Vec::new(),
            recent: Vec::new(),
            recent_next: 0,
            key: String::new(),
            template: String::new(),
        }
    }

    pub fn config(&self) -> &AggregatorConfig {
        &self.config
    }

    fn interval_of(&self, timestamp_ms: i64) -> i64 {
        timestamp_ms - timestamp_ms.rem_euclid(self.config.interval_ms)
    }

    /// Counts a refused line (in the open interval, or the next one to open).
    pub fn bad_line(&mut self, reason: BadLine) {
        self.bad_lines[reason.index()] += 1;
    }

    /// Counts an injection attempt of `kind` in the open interval (the one of the request
    /// just observed).
    pub fn injection(&mut self, kind: lookout_inject::Kind) {
        self.injections[kind as usize] += 1;
    }

    /// Counts one request; `line` is kept as an example if needed, `arrival_ms` places
    /// lines without a time. Intervals this line closes are appended to `out`.
    pub fn observe(
        &mut self,
        request: &Request<'_>,
        line: &str,
        arrival_ms: i64,
        out: &mut Vec<IntervalSummary>,
    ) {
        let start = self.interval_of(request.timestamp_ms.unwrap_or(arrival_ms));
        match self.open {
            None => self.open_at(start, out),
            Some(open) if start > open => {
                self.close(out);
                self.open_at(start, out);
            }
            Some(open) if start < open => self.late += 1,
            Some(_) => {}
        }
        self.count(request, line);
    }

    /// Opens the interval at `start`, reporting the empty ones since the last closed.
    fn open_at(&mut self, start: i64, out: &mut Vec<IntervalSummary>) {
        if let Some(next) = self.next {
            let step = self.config.interval_ms;
            let gaps = ((start - next) / step).clamp(0, MAX_GAP_INTERVALS as i64);
            let first = start - gaps * step;
            for index in 0..gaps {
                self.open = Some(first + index * step);
                self.close(out);
            }
        }
        self.open = Some(start);
    }

    fn count(&mut self, request: &Request<'_>, line: &str) {
        let method = Method::of(request.method);
        let interval = (self.open.unwrap_or(0) / self.config.interval_ms) as u64;
        self.total.add(request, method);
        let mut vhost_name = request.vhost.unwrap_or(NO_VHOST);
        if !self.vhosts.contains_key(vhost_name) && self.vhosts.len() >= self.config.max_vhosts {
            vhost_name = OTHER_VHOST;
        }
        match self.vhosts.get_mut(vhost_name) {
            Some(vhost) => {
                vhost.scope.add(request, method);
                vhost.seen = interval;
            }
            None => {
                let mut vhost = VhostScope {
                    seen: interval,
                    ..VhostScope::default()
                };
                vhost.scope.add(request, method);
                self.vhosts.insert(vhost_name.into(), vhost);
            }
        }
        template(request.path, &mut self.template);
        self.key.clear();
        self.key.push_str(vhost_name);
        self.key.push(' ');
        self.key.push_str(&self.template);
        let route = match self.routes.get_mut(self.key.as_str()) {
            Some(route) => route,
            None => {
                if self.own_routes >= self.config.max_routes {
                    self.key.truncate(vhost_name.len() + 1);
                    self.key.push_str(OTHER_ROUTE);
                    self.template.clear();
                    self.template.push_str(OTHER_ROUTE);
                } else {
                    self.own_routes += 1;
                }
                if !self.routes.contains_key(self.key.as_str()) {
                    let scope = RouteScope {
                        vhost: vhost_name.into(),
                        route: self.template.as_str().into(),
                        scope: Scope::default(),
                        errors: Vec::new(),
                        seen: interval,
                    };
                    self.routes.insert(self.key.as_str().into(), scope);
                }
                self.routes.get_mut(self.key.as_str()).expect("inserted")
            }
        };
        route.scope.add(request, method);
        route.seen = interval;
        if request.status >= 500 {
            if route.errors.len() < ERROR_EXAMPLES {
                route.errors.push(example(line));
            }
            if self.errors.len() < ERROR_EXAMPLES {
                self.errors.push(example(line));
            }
        }
        let hash = self.clients.insert(request.client);
        if let Some(seconds) = request.request_time {
            let slowest_kept = self.slow.last().map_or(f64::NEG_INFINITY, |(s, _)| *s);
            if self.slow.len() < ERROR_EXAMPLES || seconds > slowest_kept {
                if self.slow.len() == ERROR_EXAMPLES {
                    self.slow.pop();
                }
                let at = self.slow.partition_point(|(kept, _)| *kept >= seconds);
                self.slow.insert(at, (seconds, example(line)));
            }
        }
        self.remember(hash, line);
    }

    /// Keeps `line` in the ring of recent lines, reusing its buffers.
    fn remember(&mut self, client: u64, line: &str) {
        let kept = &line[..floor_boundary(line, EXAMPLE_BYTES)];
        if self.recent.len() < RECENT_LINES {
            self.recent.push((client, kept.to_string()));
            return;
        }
        let slot = &mut self.recent[self.recent_next];
        self.recent_next = (self.recent_next + 1) % RECENT_LINES;
        slot.0 = client;
        slot.1.clear();
        slot.1.push_str(kept);
    }

    /// The start of the interval lines are counted in now, if one is open.
    pub fn open_interval(&self) -> Option<i64> {
        self.open
    }

    /// Closes the open interval if `now_ms` is past its end plus the grace period, and
    /// reports the empty intervals up to `now_ms` when nothing is open.
    pub fn flush(&mut self, now_ms: i64, out: &mut Vec<IntervalSummary>) {
        let step = self.config.interval_ms;
        let grace = self.config.grace_ms;
        if let Some(open) = self.open {
            if open + step + grace <= now_ms {
                self.close(out);
            } else {
                return;
            }
        }
        let Some(next) = self.next else {
            return;
        };
        let due = (now_ms - grace - next).div_euclid(step);
        for _ in 0..due.clamp(0, MAX_GAP_INTERVALS as i64) {
            self.open = self.next;
            self.close(out);
        }
    }

    /// Closes the open interval whatever the time (the end of a file read offline).
    pub fn finish(&mut self, out: &mut Vec<IntervalSummary>) {
        if self.open.is_some() {
            self.close(out);
        }
    }

    fn close(&mut self, out: &mut Vec<IntervalSummary>) {
        let Some(start) = self.open.take() else {
            return;
        };
        let interval = (start / self.config.interval_ms) as u64;
        let mut vhosts: Vec<(String, ScopeCounts)> = self
            .vhosts
            .iter_mut()
            .filter(|(_, vhost)| vhost.scope.counts.requests > 0)
            .map(|(name, vhost)| (name.to_string(), vhost.scope.take()))
            .collect();
        vhosts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut routes: Vec<RouteSummary> = self
            .routes
            .values_mut()
            .filter(|route| route.scope.counts.requests > 0)
            .map(|route| RouteSummary {
                vhost: route.vhost.to_string(),
                route: route.route.to_string(),
                counts: route.scope.take(),
                error_examples: std::mem::take(&mut route.errors),
            })
            .collect();
        routes.sort_by(|a, b| (&a.vhost, &a.route).cmp(&(&b.vhost, &b.route)));
        let held = self.clients.take_top(self.config.top_clients);
        let top_client_examples = match held.first() {
            Some((_, _, top)) => self
                .recent
                .iter()
                .filter(|(seen, _)| seen == top)
                .take(ERROR_EXAMPLES)
                .map(|(_, line)| line.clone())
                .collect(),
            None => Vec::new(),
        };
        let top_clients = held
            .into_iter()
            .map(|(name, count, _)| (name, count))
            .collect();
        self.recent.clear();
        self.recent_next = 0;
        // Routes and hosts idle for too long give their slot back.
        let idle = self.config.route_idle_intervals.max(1);
        self.routes.retain(|_, route| route.seen + idle > interval);
        self.own_routes = self
            .routes
            .values()
            .filter(|route| &*route.route != OTHER_ROUTE)
            .count();
        self.vhosts.retain(|_, vhost| vhost.seen + idle > interval);
        out.push(IntervalSummary {
            start_ms: start,
            interval_ms: self.config.interval_ms,
            total: self.total.take(),
            vhosts,
            routes,
            top_clients,
            late: std::mem::take(&mut self.late),
            bad_lines: std::mem::take(&mut self.bad_lines),
            injections: std::mem::take(&mut self.injections),
            error_examples: std::mem::take(&mut self.errors),
            slow_examples: std::mem::take(&mut self.slow),
            top_client_examples,
        });
        self.next = Some(start + self.config.interval_ms);
    }
}

fn floor_boundary(line: &str, limit: usize) -> usize {
    if line.len() <= limit {
        return line.len();
    }
    let mut end = limit;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests;
