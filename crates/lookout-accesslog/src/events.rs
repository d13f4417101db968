//! Log events from the derived series: robust baselines per series, simple rules.
//!
//! For each virtual host the detector keeps the last [`WINDOW`] quiet intervals of five
//! series (requests, 5xx ratio, request-duration p95, the heaviest client's share) and
//! for each route its 5xx ratio; the baseline of a series is their median, its spread
//! `1.4826 × MAD`. An interval raises an event when its value is far from the baseline
//! by every one of these measures (σ is the larger of the spread and a counting-noise
//! floor: `sqrt(median)` for counts, 5 % of the median for durations):
//!
//! | kind | raised when |
//! |---|---|
//! | `traffic_spike` | requests ≥ 2.5 × median and ≥ median + 6σ |
//! | `traffic_drop` | median ≥ 20 requests, requests ≤ median / 3 and ≤ median − 6σ |
//! | `error_rate_spike` | ≥ 10 responses 5xx, ratio ≥ 5 %, ≥ 3 × median ratio and ≥ median + 6σ (σ ≥ the binomial noise of the median ratio) |
//! | `latency_degradation` | ≥ 20 timed requests, p95 ≥ 2 × median p95 and ≥ median + 6σ |
//! | `route_failing` | a route with ≥ 5 responses 5xx and a 5xx ratio ≥ 50 % whose median ratio is ≤ 10 % (a route new to a warm log counts as 0 %) |
//! | `client_flood` | the heaviest client sent ≥ 50 requests, ≥ 30 % of them, ≥ 3 × its usual share and ≥ usual + 6σ |
//!
//! No rule fires before [`WARM_UP`] quiet intervals of its series (of the log, for a new
//! route). One incident is one
//! event: a rule that fired stays open (its series' baseline frozen, so the incident
//! does not become normal) until it has been false for two intervals in a row.
//! Evidence: the vhost and route or client, the interval's count and the baseline's
//! (`before`, `during`), and up to three example lines.
//!
//! What it misses: slow drifts (the baseline follows them), incidents shorter than an
//! interval that do not move the interval's totals, and anything during the warm-up.
//! Cost: per interval and series, one sort of at most [`WINDOW`] values; memory bounded
//! by the aggregator's vhost and route limits.

use std::collections::{BTreeMap, VecDeque};

use lookout_model::{Domain, Event, Severity};

use crate::aggregate::IntervalSummary;

/// Quiet intervals a baseline remembers.
pub const WINDOW: usize = 60;
/// Quiet intervals a baseline needs before its rule may fire.
pub const WARM_UP: usize = 12;
/// Intervals a route may be absent before its baseline is forgotten.
const ROUTE_FORGET: u64 = 720;

/// A rolling window of quiet values: median and spread.
#[derive(Debug, Clone, Default)]
struct Baseline {
    values: VecDeque<f64>,
}

impl Baseline {
    fn push(&mut self, value: f64) {
        if self.values.len() == WINDOW {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// Median and 1.4826 × MAD, once warm.
    fn stats(&self) -> Option<(f64, f64)> {
        if self.values.len() < WARM_UP {
            return None;
        }
        let mut sorted: Vec<f64> = self.values.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - median).abs()).collect();
        deviations.sort_by(f64::total_cmp);
        Some((median, 1.4826 * deviations[deviations.len() / 2]))
    }
}

/// One rule on one series: its baseline and whether an incident is open.
#[derive(Debug, Clone, Default)]
struct Watch {
    baseline: Baseline,
    open: bool,
    quiet_streak: u32,
}

impl Watch {
    /// Feeds one interval's value; `fires` decides from the baseline (median, σ).
    /// Returns the baseline median when an incident opens.
    fn update(&mut self, value: Option<f64>, fires: impl Fn(f64, f64, f64) -> bool) -> Option<f64> {
        self.update_or(value, None, fires)
    }

    /// [`Watch::update`] with `fallback` (median, σ) as the baseline while this one is
    /// still warming up.
    fn update_or(
        &mut self,
        value: Option<f64>,
        fallback: Option<(f64, f64)>,
        fires: impl Fn(f64, f64, f64) -> bool,
    ) -> Option<f64> {
        let value = value?;
        let stats = self.baseline.stats().or(fallback);
        let firing = stats.is_some_and(|(median, sigma)| fires(value, median, sigma));
        if firing {
            self.quiet_streak = 0;
            if !self.open {
                self.open = true;
                return stats.map(|(median, _)| median);
            }
            return None;
        }
        if self.open {
            self.quiet_streak += 1;
            if self.quiet_streak < 2 {
                return None;
            }
            self.open = false;
        }
        self.baseline.push(value);
        None
    }
}

#[derive(Debug, Clone, Default)]
struct VhostWatches {
    spike: Watch,
    drop: Watch,
    errors: Watch,
    latency: Watch,
}

#[derive(Debug, Clone, Default)]
struct RouteWatch {
    watch: Watch,
    seen: u64,
}

/// The log-event detector of one log; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct LogEvents {
    labels: BTreeMap<String, String>,
    vhosts: BTreeMap<String, VhostWatches>,
    routes: BTreeMap<(String, String), RouteWatch>,
    clients: Watch,
    intervals: u64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl LogEvents {
    /// A detector whose events carry `labels` (the log's) in their entity.
    pub fn new(labels: BTreeMap<String, String>) -> LogEvents {
        LogEvents {
            labels,
            ..LogEvents::default()
        }
    }

    fn event(&self, summary: &IntervalSummary, kind: &str, severity: Severity) -> Event {
        let mut event = Event::new(summary.end_ms(), kind, Domain::Traffic, severity);
        event.entity = self.labels.clone();
        event.evidence.first_ms = Some(summary.start_ms);
        event.evidence.last_ms = Some(summary.end_ms());
        event
    }

    /// The events one closed interval raises.
    pub fn observe(&mut self, summary: &IntervalSummary) -> Vec<Event> {
        self.intervals += 1;
        let mut events = Vec::new();
        let interval = self.intervals;
        let mut vhosts = std::mem::take(&mut self.vhosts);
        let mut names: Vec<&str> = summary
            .vhosts
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        for name in vhosts.keys() {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        for name in names {
            let counts = summary
                .vhosts
                .iter()
                .find(|(vhost, _)| *vhost == name)
                .map(|(_, c)| c);
            let requests = counts.map_or(0, |c| c.requests);
            let errors = counts.map_or(0, |c| c.class(5));
            let watches = vhosts.entry(name.clone()).or_default();
            let n = requests as f64;
            if let Some(before) = watches.spike.update(Some(n), |n, median, sigma| {
                let sigma = sigma.max(median.sqrt()).max(1.0);
                n >= 2.5 * median && n >= median + 6.0 * sigma
            }) {
                let summary_line =
                    format!("{name}: {requests} requests in the interval, usually {before:.0}");
                events.push(
                    self.event(summary, "traffic_spike", Severity::Warning)
                        .with_entity("vhost", &name)
                        .with_summary(summary_line)
                        .with_count("before", before.round() as u64)
                        .with_count("during", requests),
                );
            }
            if let Some(before) = watches.drop.update(Some(n), |n, median, sigma| {
                let sigma = sigma.max(median.sqrt()).max(1.0);
                median >= 20.0 && n <= median / 3.0 && n <= median - 6.0 * sigma
            }) {
                let summary_line =
                    format!("{name}: {requests} requests in the interval, usually {before:.0}");
                events.push(
                    self.event(summary, "traffic_drop", Severity::Warning)
                        .with_entity("vhost", &name)
                        .with_summary(summary_line)
                        .with_count("before", before.round() as u64)
                        .with_count("during", requests),
                );
            }
            let error_ratio = (requests > 0).then(|| ratio(errors, requests));
            if let Some(before) = watches.errors.update(error_ratio, |r, median, sigma| {
                let noise = (median.max(0.001) * (1.0 - median) / n.max(1.0)).sqrt();
                errors >= 10
                    && r >= 0.05
                    && r >= 3.0 * median
                    && r >= median + 6.0 * sigma.max(noise)
            }) {
                let during = error_ratio.unwrap_or(0.0);
                let severity = if during >= 0.5 {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                let mut event = self
                    .event(summary, "error_rate_spike", severity)
                    .with_entity("vhost", &name)
                    .with_summary(format!(
                        "{name}: {:.1} % of responses 5xx, usually {:.2} %",
                        100.0 * during,
                        100.0 * before
                    ))
                    .with_count("errors", errors)
                    .with_count("requests", requests)
                    .with_field("before_ratio", format!("{before:.4}"))
                    .with_field("during_ratio", format!("{during:.4}"))
                    .with_score(during.min(1.0));
                event.evidence.examples = summary.error_examples.clone();
                events.push(event);
            }
            let latency = counts.and_then(|c| c.latency).filter(|q| q.count >= 20);
            if let Some(before) =
                watches
                    .latency
                    .update(latency.map(|q| q.p95), |p95, median, sigma| {
                        let sigma = sigma.max(0.05 * median);
                        p95 >= 2.0 * median && p95 >= median + 6.0 * sigma
                    })
            {
                let p95 = latency.map_or(0.0, |q| q.p95);
                let mut event = self
                    .event(summary, "latency_degradation", Severity::Warning)
                    .with_entity("vhost", &name)
                    .with_summary(format!(
                        "{name}: p95 request time {p95:.3} s, usually {before:.3} s"
                    ))
                    .with_field("before_p95_seconds", format!("{before:.4}"))
                    .with_field("during_p95_seconds", format!("{p95:.4}"))
                    .with_count("timed_requests", latency.map_or(0, |q| q.count));
                event.evidence.examples = summary
                    .slow_examples
                    .iter()
                    .map(|(_, line)| line.clone())
                    .collect();
                events.push(event);
            }
        }
        self.vhosts = vhosts;
        for route in &summary.routes {
            let key = (route.vhost.clone(), route.route.clone());
            let watch = self.routes.entry(key).or_default();
            watch.seen = interval;
            let errors = route.counts.class(5);
            let during = ratio(errors, route.counts.requests);
            // A route new to a log past its warm-up has a clean record: failing from its
            // first interval is failing.
            let fallback = (interval > WARM_UP as u64).then_some((0.0, 0.0));
            if let Some(before) = watch
                .watch
                .update_or(Some(during), fallback, |r, median, _| {
                    errors >= 5 && r >= 0.5 && median <= 0.1
                })
            {
                let mut event = Event::new(
                    summary.end_ms(),
                    "route_failing",
                    Domain::Traffic,
                    Severity::Critical,
                );
                event.entity = self.labels.clone();
                event.evidence.first_ms = Some(summary.start_ms);
                event.evidence.last_ms = Some(summary.end_ms());
                let mut event = event
                    .with_entity("vhost", &route.vhost)
                    .with_entity("route", &route.route)
                    .with_summary(format!(
                        "{} {}: {errors} of {} responses 5xx, usually {:.1} %",
                        route.vhost,
                        route.route,
                        route.counts.requests,
                        100.0 * before
                    ))
                    .with_count("errors", errors)
                    .with_count("requests", route.counts.requests)
                    .with_field("before_ratio", format!("{before:.4}"))
                    .with_score(during);
                event.evidence.examples = route.error_examples.clone();
                events.push(event);
            }
        }
        self.routes
            .retain(|_, watch| watch.seen + ROUTE_FORGET > interval);
        let total = summary.total.requests;
        let (client, top) = summary
            .top_clients
            .first()
            .map_or(("", 0), |(client, count)| {
                (client.as_str(), (*count).min(total))
            });
        let share = (total > 0).then(|| ratio(top, total));
        if let Some(before) = self.clients.update(share, |s, median, sigma| {
            top >= 50 && s >= 0.3 && s >= 3.0 * median && s >= median + 6.0 * sigma.max(0.01)
        }) {
            let during = share.unwrap_or(0.0);
            let mut event = self
                .event(summary, "client_flood", Severity::Warning)
                .with_entity("client", client)
                .with_summary(format!(
                    "{client} sent {top} of {total} requests ({:.0} %), the heaviest client usually {:.0} %",
                    100.0 * during,
                    100.0 * before
                ))
                .with_count("during", top)
                .with_count("requests", total)
                .with_field("before_share", format!("{before:.4}"))
                .with_field("during_share", format!("{during:.4}"))
                .with_score(during);
            event.evidence.examples = summary.top_client_examples.clone();
            events.push(event);
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_fires_once_per_incident_and_freezes_its_baseline() {
        let mut watch = Watch::default();
        let fires = |v: f64, median: f64, _: f64| v > 2.0 * median;
        for _ in 0..WARM_UP {
            assert_eq!(watch.update(Some(10.0), fires), None);
        }
        assert_eq!(watch.update(Some(50.0), fires), Some(10.0));
        assert_eq!(
            watch.update(Some(60.0), fires),
            None,
            "still the same incident"
        );
        assert_eq!(watch.update(Some(10.0), fires), None);
        assert_eq!(watch.update(Some(10.0), fires), None);
        assert_eq!(
            watch.baseline.stats().unwrap().0,
            10.0,
            "the incident is not learnt"
        );
        assert_eq!(
            watch.update(Some(50.0), fires),
            Some(10.0),
            "a new incident"
        );
    }

    #[test]
    fn nothing_fires_during_the_warm_up() {
        let mut watch = Watch::default();
        for _ in 0..WARM_UP {
            assert_eq!(watch.update(Some(1e9), |_, _, _| true), None);
        }
    }
}
