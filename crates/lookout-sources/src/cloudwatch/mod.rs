//! The `cloudwatch` source: EC2 instances' metrics through CloudWatch `GetMetricData`.
//!
//! Each poll: discover running instances (`DescribeInstances`, by `instance_ids` and/or
//! `tag_filters`, paginated; again every 10 minutes, or at every poll while none is
//! found), list the `extra_metrics` of other namespaces (`ListMetrics`, e.g. the
//! CloudWatch agent's `mem_used_percent`), then read
//! every series with `GetMetricData`, 500 queries a call (the API limit), following
//! `NextToken`. An instance seen for the first time is read over the `backfill` window
//! (default 3 days) so its detectors are warm at once; afterwards each poll re-reads a
//! short window and keeps only datapoints newer than the last one per series, so series
//! stay in time order and nothing is sent twice.
//!
//! Series are `<namespace>_<metric>` in snake case (`aws_ec2_cpu_utilization`,
//! `cwagent_mem_used_percent`) with labels `instance_id`, `instance_type`, `region`,
//! `source="cloudwatch"`, `tag_<tag>` for each `tag_labels` tag, the metric's other
//! dimensions and the source's `labels`. Full list and the IAM policy: `CLOUDWATCH.md`.
//!
//! Failures: throttled and transient answers are retried in the call with exponential
//! back-off; a poll that fails backs the source off (interval × 2, 4, ... up to a minute or
//! the interval). A permanently denied call (`AccessDenied`, `UnauthorizedOperation`) is
//! reported once, naming the missing IAM action. Problems are logged when they appear and
//! when they clear, not at every poll. Credentials come from the standard AWS chain
//! ([`lookout_aws::CredentialChain`]) and never appear in logs.
//!
//! The client speaks the AWS Query protocol itself ([`client`], [`xml`], signed with
//! [`lookout_aws::sigv4`]); see
//! `CLOUDWATCH.md` for why rather than the AWS SDK.
//!
//! Cost: one `GetMetricData` call per 500 series per poll (1,000 instances × 6 metrics =
//! 12 calls); memory is one query (key + dimensions) and one last timestamp per series.

pub mod client;
mod poll;
pub mod queries;
pub mod xml;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lookout_config::CloudWatchSourceConfig;
use tokio::sync::mpsc;

pub use client::{AwsClient, AwsError, CallCounts, ClientOptions, Service};
pub use lookout_aws::{CredentialChain, Credentials, NoCredentials};
pub use poll::{Closed, PollOutcome, Poller};

use crate::polling::backoff_delay;
use crate::{Shutdown, Source, SourceBatch};

/// How often instances (and extra metrics) are discovered again.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(600);

/// The source for one `[[source]] type = "cloudwatch"` table.
pub struct CloudWatchSource {
    name: String,
    interval: Duration,
    max_backoff: Duration,
    poller: Poller,
}

impl CloudWatchSource {
    /// A source named `name` (e.g. `cloudwatch#2`) for `config`.
    pub fn new(name: impl Into<String>, config: &CloudWatchSourceConfig) -> Self {
        Self::with_client_options(
            name,
            config,
            ClientOptions::new(config.region.clone(), config.endpoint.clone()),
        )
    }

    /// As [`new`](Self::new) with explicit retry and timeout settings.
    pub fn with_client_options(
        name: impl Into<String>,
        config: &CloudWatchSourceConfig,
        options: ClientOptions,
    ) -> Self {
        let interval = config.interval.max(Duration::from_millis(10));
        CloudWatchSource {
            name: name.into(),
            interval,
            max_backoff: interval.max(Duration::from_secs(60)),
            poller: Poller::new(config.clone(), AwsClient::new(options)),
        }
    }

    /// Caps the back-off between failed polls (at least the interval).
    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff.max(self.interval);
        self
    }

    /// Counts of the AWS requests sent so far.
    pub fn calls(&self) -> Arc<CallCounts> {
        self.poller.calls()
    }

    async fn run_loop(self, batches: mpsc::Sender<SourceBatch>, mut shutdown: Shutdown) {
        let CloudWatchSource {
            name,
            interval,
            max_backoff,
            mut poller,
        } = self;
        let mut reporter = Reporter::default();
        let mut failures = 0u32;
        loop {
            let started = tokio::time::Instant::now();
            let outcome = tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                outcome = poller.poll(&name, &batches) => outcome,
            };
            let Ok(outcome) = outcome else {
                tracing::debug!(source = %name, "the batch channel is closed; the source stops");
                return;
            };
            let fresh = reporter.update(&name, &outcome.problems);
            if !fresh.is_empty() {
                let batch = SourceBatch {
                    source: name.clone(),
                    samples: Vec::new(),
                    events: Vec::new(),
                    errors: fresh,
                    read_offsets: Vec::new(),
                    receipt: None,
                };
                tokio::select! {
                    biased;
                    _ = shutdown.wait() => return,
                    sent = batches.send(batch) => if sent.is_err() { return },
                }
            }
            let wait = if outcome.failed {
                failures = failures.saturating_add(1);
                if outcome.denied {
                    max_backoff
                } else {
                    backoff_delay(interval, failures, max_backoff)
                }
            } else {
                failures = 0;
                interval.saturating_sub(started.elapsed())
            };
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

impl Source for CloudWatchSource {
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

/// Reports each problem once: logged and sent when it appears, logged when it clears.
#[derive(Debug, Default)]
struct Reporter {
    active: BTreeSet<String>,
}

impl Reporter {
    /// The problems that are new since the last poll.
    fn update(&mut self, source: &str, problems: &[String]) -> Vec<String> {
        let current: BTreeSet<String> = problems.iter().cloned().collect();
        let fresh: Vec<String> = current.difference(&self.active).cloned().collect();
        for problem in &fresh {
            tracing::warn!(source, problem = %problem, "cloudwatch problem");
        }
        for cleared in self.active.difference(&current) {
            tracing::info!(source, problem = %cleared, "cloudwatch problem resolved");
        }
        self.active = current;
        fresh
    }
}

impl crate::registry::BuildSource for CloudWatchSourceConfig {
    /// CloudWatch datapoints are minutes old and backfill is days old: history.
    fn build_source(&self, index: usize) -> Result<(Box<dyn Source>, crate::Delivery), String> {
        let source = CloudWatchSource::new(format!("cloudwatch#{index}"), self);
        Ok((Box::new(source), crate::Delivery::History))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_reported_once_until_they_clear() {
        let mut reporter = Reporter::default();
        let denied = vec!["permission denied: ec2:DescribeInstances".to_string()];
        assert_eq!(reporter.update("cw", &denied), denied);
        assert!(reporter.update("cw", &denied).is_empty(), "not repeated");
        assert!(reporter.update("cw", &[]).is_empty());
        assert_eq!(reporter.update("cw", &denied), denied, "a new occurrence");
    }
}
