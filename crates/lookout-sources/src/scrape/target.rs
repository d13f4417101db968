//! One scrape target: its URL and labels, its rate state, its back-off, and one scrape.

use std::time::{Duration, Instant};

use lookout_model::{Labels, Sample, SeriesKey};
use lookout_protocol::exposition::parse_exposition;

use super::derived::node_cpu_utilization;
use super::rates::RateConverter;

/// Largest body read from a target; a bigger one is an error (like Prometheus'
/// `body_size_limit`).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Longest wait between attempts at a failing target, in cycles.
pub const MAX_SKIPPED_CYCLES: u32 = 8;

/// Why one scrape failed; every message names the target URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScrapeError {
    #[error("scrape {url}: timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("scrape {url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("scrape {url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("scrape {url}: reading the body failed: {reason}")]
    Body { url: String, reason: String },
    #[error("scrape {url}: body larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("scrape {url}: not a valid Prometheus text exposition: {reason}")]
    Parse { url: String, reason: String },
}

/// What one attempt at a target produced.
#[derive(Debug, Default)]
pub struct ScrapeOutcome {
    pub samples: Vec<Sample>,
    pub error: Option<String>,
}

/// A target and everything remembered about it between cycles.
#[derive(Debug)]
pub struct Target {
    pub address: String,
    pub url: String,
    /// `instance`, `job` and the source's configured labels.
    pub labels: Labels,
    rates: RateConverter,
    consecutive_failures: u32,
    cycles_to_skip: u32,
}

impl Target {
    pub fn new(address: String, url: String, labels: Labels) -> Target {
        Target {
            address,
            url,
            labels,
            rates: RateConverter::default(),
            consecutive_failures: 0,
            cycles_to_skip: 0,
        }
    }

    /// Attempts in a row that failed.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Scrapes once, unless backing off; always yields the health series
    /// (`lookout_scrape_up`, and on an attempt `lookout_scrape_duration_seconds` and
    /// `lookout_scrape_samples`).
    pub async fn scrape(
        &mut self,
        client: &reqwest::Client,
        timeout: Duration,
        at_ms: i64,
    ) -> ScrapeOutcome {
        if self.cycles_to_skip > 0 {
            self.cycles_to_skip -= 1;
            return ScrapeOutcome {
                samples: vec![self.health("lookout_scrape_up", at_ms, 0.0)],
                error: None,
            };
        }
        let started = Instant::now();
        let fetched = fetch(client, &self.url, timeout).await;
        let parsed = fetched.and_then(|body| {
            parse_exposition(&body, at_ms).map_err(|error| ScrapeError::Parse {
                url: self.url.clone(),
                reason: error.to_string(),
            })
        });
        let elapsed = started.elapsed().as_secs_f64();
        match parsed {
            Ok(exposition) => {
                self.consecutive_failures = 0;
                let exposed = exposition
                    .families
                    .iter()
                    .map(|family| family.samples.len())
                    .sum::<usize>();
                let labels = &self.labels;
                let mut samples = self
                    .rates
                    .convert(exposition, |key| with_target_labels(key, labels));
                if let Some(cpu) = node_cpu_utilization(&samples, labels) {
                    samples.push(cpu);
                }
                samples.push(self.health("lookout_scrape_up", at_ms, 1.0));
                samples.push(self.health("lookout_scrape_duration_seconds", at_ms, elapsed));
                samples.push(self.health("lookout_scrape_samples", at_ms, exposed as f64));
                ScrapeOutcome {
                    samples,
                    error: None,
                }
            }
            Err(error) => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.cycles_to_skip = skipped_cycles(self.consecutive_failures);
                let retry = if self.cycles_to_skip == 0 {
                    "retrying next cycle".to_string()
                } else {
                    format!("retrying after {} skipped cycles", self.cycles_to_skip)
                };
                ScrapeOutcome {
                    samples: vec![
                        self.health("lookout_scrape_up", at_ms, 0.0),
                        self.health("lookout_scrape_duration_seconds", at_ms, elapsed),
                    ],
                    error: Some(format!(
                        "{error} ({} failures in a row; {retry})",
                        self.consecutive_failures
                    )),
                }
            }
        }
    }

    fn health(&self, name: &str, at_ms: i64, value: f64) -> Sample {
        Sample {
            key: SeriesKey {
                name: name.to_string(),
                labels: self.labels.clone(),
            },
            timestamp_ms: at_ms,
            value,
        }
    }
}

/// Cycles skipped after `failures` failures in a row: 0, 1, 3, 7, then 8 (capped).
pub fn skipped_cycles(failures: u32) -> u32 {
    let doubled = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    doubled.saturating_sub(1).min(MAX_SKIPPED_CYCLES)
}

/// Adds the target's labels, moving clashing exposed labels to `exported_<name>` (as
/// Prometheus does with `honor_labels: false`).
pub fn with_target_labels(mut key: SeriesKey, target: &Labels) -> SeriesKey {
    for (name, value) in target {
        if let Some(exposed) = key.labels.insert(name.clone(), value.clone()) {
            if &exposed != value {
                key.labels.insert(format!("exported_{name}"), exposed);
            }
        }
    }
    key
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ScrapeError> {
    match tokio::time::timeout(timeout, fetch_body(client, url)).await {
        Ok(result) => result,
        Err(_) => Err(ScrapeError::Timeout {
            url: url.to_string(),
            timeout,
        }),
    }
}

async fn fetch_body(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, ScrapeError> {
    let mut response = client
        .get(url)
        .header(
            reqwest::header::ACCEPT,
            "text/plain;version=0.0.4;q=1,*/*;q=0.1",
        )
        .send()
        .await
        .map_err(|error| ScrapeError::Connect {
            url: url.to_string(),
            reason: error_chain(&error),
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(ScrapeError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0).min(1 << 20) as usize);
    loop {
        let chunk = response.chunk().await.map_err(|error| ScrapeError::Body {
            url: url.to_string(),
            reason: error_chain(&error),
        })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ScrapeError::TooLarge {
                url: url.to_string(),
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
}

/// An error and its sources on one line (reqwest's own message hides the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_in_cycles_and_is_capped() {
        let skips: Vec<u32> = (1..=6).map(skipped_cycles).collect();
        assert_eq!(skips, vec![0, 1, 3, 7, 8, 8]);
        assert_eq!(skipped_cycles(u32::MAX), MAX_SKIPPED_CYCLES);
    }

    #[test]
    fn target_labels_win_and_clashes_are_kept_as_exported() {
        let target: Labels = [("instance", "a:9100"), ("job", "node")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let key = SeriesKey::new("m")
            .with_label("job", "inner")
            .with_label("x", "1");
        let key = with_target_labels(key, &target);
        assert_eq!(
            key.to_string(),
            r#"m{exported_job="inner",instance="a:9100",job="node",x="1"}"#
        );
    }
}
