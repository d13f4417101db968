//! The `prometheus_scrape` source: scrapes exporters' text exposition like Prometheus.
//!
//! Every `interval`, each target's `<scheme>://<target><metrics_path>` is fetched
//! (at most [`ScrapeOptions::concurrency`] at once, each within `timeout`), parsed with
//! [`lookout_protocol::exposition`] and turned into samples:
//!
//! - labels: the exposed labels plus `instance="<host:port>"` and `job` (the configured
//!   `labels.job`, else `scrape`) and the configured `labels`; an exposed label that
//!   clashes is kept as `exported_<name>` (Prometheus' `honor_labels: false`);
//! - counters, and histograms' and summaries' `_bucket`/`_sum`/`_count`, become
//!   per-second rates named `<name>:rate` (resets handled, see [`rates`]); gauges,
//!   untyped samples and summary quantiles pass through as they are;
//! - `node_cpu_utilization_percent` is derived from node_exporter's CPU counters (see
//!   [`derived`]), so that scraped machines get usage states;
//! - health per target: `lookout_scrape_up` (1 scraped, 0 failed or backing off),
//!   `lookout_scrape_duration_seconds`, `lookout_scrape_samples` (samples exposed).
//!
//! A failing target (connection refused, a hang past the timeout, an HTTP error, a body
//! that is not exposition text) is reported in the batch's `errors` with its URL and
//! logged when the error appears and when it clears; it is then skipped for 1, 3, 7, at
//! most 8 cycles (back-off) while `lookout_scrape_up` reports 0. Other targets are not
//! affected: each target's scrape is independent and bounded by the timeout.
//!
//! Each target's samples are sent as their own batch as soon as they are ready. A
//! cycle that takes longer than the interval delays the next one (missed ticks are
//! skipped, never bunched) and is logged.
//!
//! Cost: one HTTP request, one parse and one hash-map step per cumulative series per
//! target per cycle; memory is one `(timestamp, value)` per cumulative series.

pub mod derived;
pub mod rates;
pub mod target;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lookout_config::PrometheusScrapeConfig;
use lookout_model::clock::now_ms;
use lookout_model::Labels;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::{Shutdown, Source, SourceBatch};
pub use target::{ScrapeError, ScrapeOutcome, Target};

/// The `job` label when the configuration's `labels` has none.
pub const DEFAULT_JOB: &str = "scrape";

/// Tunables besides the configuration file's keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeOptions {
    /// Targets scraped at the same time.
    pub concurrency: usize,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions { concurrency: 64 }
    }
}

/// Why a scrape source could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeSetupError {
    #[error("[[source]] {source_name}: target {target:?} is not host:port ({reason})")]
    InvalidTarget {
        source_name: String,
        target: String,
        reason: String,
    },
    #[error("[[source]] {source_name}: cannot build the HTTP client: {reason}")]
    Client { source_name: String, reason: String },
}

/// Scrapes a set of targets every interval; see the module documentation.
pub struct ScrapeSource {
    name: String,
    interval: Duration,
    timeout: Duration,
    options: ScrapeOptions,
    client: reqwest::Client,
    targets: Vec<Target>,
}

impl ScrapeSource {
    pub fn new(
        name: impl Into<String>,
        config: &PrometheusScrapeConfig,
        options: ScrapeOptions,
    ) -> Result<ScrapeSource, ScrapeSetupError> {
        let name = name.into();
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|error| ScrapeSetupError::Client {
                source_name: name.clone(),
                reason: error.to_string(),
            })?;
        let job = config
            .labels
            .get("job")
            .cloned()
            .unwrap_or_else(|| DEFAULT_JOB.to_string());
        let mut targets = Vec::with_capacity(config.targets.len());
        for address in &config.targets {
            let url =
                target_url(config, address).map_err(|reason| ScrapeSetupError::InvalidTarget {
                    source_name: name.clone(),
                    target: address.clone(),
                    reason,
                })?;
            let mut labels: Labels = config.labels.clone();
            labels.insert("instance".to_string(), address.clone());
            labels.insert("job".to_string(), job.clone());
            targets.push(Target::new(address.clone(), url, labels));
        }
        Ok(ScrapeSource {
            name,
            interval: config.interval,
            timeout: config.timeout.min(config.interval),
            options,
            client,
            targets,
        })
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    async fn run_loop(mut self, batches: mpsc::Sender<SourceBatch>, mut shutdown: Shutdown) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut logged_errors = BTreeSet::new();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let started = Instant::now();
            let Some(errors) = self.cycle(&batches, &mut shutdown).await else {
                return;
            };
            log_error_changes(&self.name, &errors, &mut logged_errors);
            let took = started.elapsed();
            if took > self.interval {
                tracing::warn!(
                    source = %self.name,
                    took_ms = took.as_millis() as u64,
                    interval_ms = self.interval.as_millis() as u64,
                    "a scrape cycle took longer than the interval; the next one is delayed"
                );
            }
        }
    }

    /// Scrapes every target once and sends each target's batch; `None` when the source
    /// must stop (shutdown or the channel closed). Returns the cycle's errors.
    pub async fn cycle(
        &mut self,
        batches: &mpsc::Sender<SourceBatch>,
        shutdown: &mut Shutdown,
    ) -> Option<Vec<String>> {
        let at_ms = now_ms();
        let timeout = self.timeout;
        let targets = std::mem::take(&mut self.targets);
        let client = self.client.clone();
        let mut scrapes = futures::stream::iter(targets.into_iter().map(move |mut target| {
            let client = client.clone();
            async move {
                let outcome = target.scrape(&client, timeout, at_ms).await;
                (target, outcome)
            }
        }))
        .buffer_unordered(self.options.concurrency.max(1));
        let mut errors = Vec::new();
        while let Some((target, outcome)) = scrapes.next().await {
            self.targets.push(target);
            errors.extend(outcome.error.iter().cloned());
            let batch = SourceBatch {
                source: self.name.clone(),
                samples: outcome.samples,
                events: Vec::new(),
                errors: outcome.error.into_iter().collect(),
                read_offsets: Vec::new(),
                receipt: None,
            };
            tokio::select! {
                biased;
                _ = shutdown.wait() => return None,
                sent = batches.send(batch) => if sent.is_err() {
                    return None;
                },
            }
        }
        Some(errors)
    }
}

impl Source for ScrapeSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin((*self).run_loop(batches, shutdown))
    }
}

/// `<scheme>://<host:port><metrics_path>`, checking that the target is `host:port`.
fn target_url(config: &PrometheusScrapeConfig, address: &str) -> Result<String, String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| "no port".to_string())?;
    if host.is_empty() || host.contains('/') {
        return Err("the host part is empty or contains '/'".to_string());
    }
    port.parse::<u16>()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    let path = if config.metrics_path.starts_with('/') {
        config.metrics_path.clone()
    } else {
        format!("/{}", config.metrics_path)
    };
    Ok(format!("{}://{address}{path}", config.scheme.as_str()))
}

/// Logs a target's error when it first appears and once when it clears. Errors are
/// compared by their text before the failure count, so that a persisting error is
/// logged once.
fn log_error_changes(source: &str, errors: &[String], logged: &mut BTreeSet<String>) {
    let stem = |error: &String| {
        error
            .split(" (")
            .next()
            .unwrap_or(error.as_str())
            .to_string()
    };
    let current: BTreeSet<String> = errors.iter().map(stem).collect();
    for error in current.difference(logged) {
        tracing::warn!(source, error = %error, "scrape failed; backing off");
    }
    for error in logged.difference(&current) {
        tracing::info!(source, error = %error, "scrape problem resolved");
    }
    *logged = current;
}

impl crate::registry::BuildSource for PrometheusScrapeConfig {
    fn build_source(&self, _index: usize) -> Result<(Box<dyn Source>, crate::Delivery), String> {
        let source = ScrapeSource::new("prometheus_scrape", self, Default::default())
            .map_err(|error| error.to_string())?;
        Ok((Box::new(source), crate::Delivery::Live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_config::Scheme;

    fn config(targets: &[&str]) -> PrometheusScrapeConfig {
        PrometheusScrapeConfig {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
            metrics_path: "metrics".to_string(),
            scheme: Scheme::Http,
            labels: Labels::from([("job".to_string(), "node".to_string())]),
        }
    }

    #[test]
    fn targets_get_urls_and_instance_and_job_labels() {
        let source = ScrapeSource::new(
            "scrape",
            &config(&["127.0.0.1:9100"]),
            ScrapeOptions::default(),
        )
        .unwrap();
        let target = &source.targets()[0];
        assert_eq!(target.url, "http://127.0.0.1:9100/metrics");
        assert_eq!(target.labels["instance"], "127.0.0.1:9100");
        assert_eq!(target.labels["job"], "node");
    }

    #[test]
    fn bad_targets_are_refused_with_their_name() {
        for bad in ["localhost", "host:port", "a/b:80", ":80"] {
            let error = ScrapeSource::new("scrape#2", &config(&[bad]), ScrapeOptions::default())
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            let message = error.to_string();
            assert!(
                message.contains(bad) && message.contains("scrape#2"),
                "{message}"
            );
        }
    }
}
