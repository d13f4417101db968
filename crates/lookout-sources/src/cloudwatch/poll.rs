//! One poll of the cloudwatch source: discovery, then `GetMetricData` over the plan.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use lookout_config::CloudWatchSourceConfig;
use lookout_model::{Sample, SeriesKey};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::client::{AwsClient, AwsError, CallCounts, Service};
use super::queries::{self, MetricQuery, Window, MAX_QUERIES_PER_CALL};
use super::xml::{self, Instance, ListedMetric};
use super::REDISCOVER_EVERY;
use crate::SourceBatch;

/// Pages followed at most per paginated call, a guard against a token that never ends.
const MAX_PAGES: usize = 10_000;

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollOutcome {
    /// Samples sent.
    pub samples: usize,
    /// Problems met, each naming the region, the endpoint and the action.
    pub problems: Vec<String>,
    /// Nothing was read and something failed: the source should back off.
    pub failed: bool,
    /// A call was denied by IAM.
    pub denied: bool,
}

/// The batch channel is closed: the source stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The state between polls: the instances, the query plan, the last timestamp per series.
pub struct Poller {
    config: CloudWatchSourceConfig,
    client: AwsClient,
    instances: Vec<Instance>,
    queries: Vec<MetricQuery>,
    discovered_at: Option<Instant>,
    /// Instances whose backfill is done.
    warm: HashSet<String>,
    last: HashMap<SeriesKey, i64>,
    /// End of the window of the last poll that read every warm series: after an outage
    /// the next poll reads from there (up to the backfill window), not only the lookback.
    caught_up_to: Option<i64>,
}

impl Poller {
    pub fn new(config: CloudWatchSourceConfig, client: AwsClient) -> Self {
        Poller {
            config,
            client,
            instances: Vec::new(),
            queries: Vec::new(),
            discovered_at: None,
            warm: HashSet::new(),
            last: HashMap::new(),
            caught_up_to: None,
        }
    }

    pub fn calls(&self) -> Arc<CallCounts> {
        self.client.calls()
    }

    /// The series currently planned.
    pub fn series_count(&self) -> usize {
        self.queries.len()
    }

    /// The window re-read by each poll once an instance is warm.
    fn lookback(&self) -> Duration {
        (self.config.interval + self.config.period * 3).max(Duration::from_secs(600))
    }

    fn describe(&self, error: &AwsError) -> String {
        format!("region {}: {error}", self.config.region)
    }

    /// Discovers if due, then reads every planned series and sends the new datapoints.
    pub async fn poll(
        &mut self,
        source: &str,
        batches: &mpsc::Sender<SourceBatch>,
    ) -> Result<PollOutcome, Closed> {
        let mut outcome = PollOutcome::default();
        // Without instances, look again at every poll (a fleet may be starting).
        let due = self.instances.is_empty()
            || self
                .discovered_at
                .is_none_or(|at| at.elapsed() >= REDISCOVER_EVERY);
        if due {
            match self.discover().await {
                Ok(problems) => outcome.problems.extend(problems),
                Err(error) => {
                    outcome.denied |= error.is_denied();
                    outcome.problems.push(self.describe(&error));
                    if self.instances.is_empty() {
                        outcome.failed = true;
                        return Ok(outcome);
                    }
                }
            }
        }
        if self.instances.is_empty() {
            outcome.problems.push(self.no_instances_message());
            return Ok(outcome);
        }
        let period_ms = i64::try_from(self.config.period.as_millis())
            .unwrap_or(60_000)
            .max(1_000);
        let now_ms = chrono::Utc::now().timestamp_millis();
        // The current period is incomplete: stop at its start.
        let end_ms = now_ms.div_euclid(period_ms) * period_ms;
        let lookback_ms = i64::try_from(self.lookback().as_millis()).unwrap_or(i64::MAX);
        let backfill_ms = i64::try_from(self.config.backfill.as_millis())
            .unwrap_or(i64::MAX)
            .max(lookback_ms);
        let (cold, warm): (Vec<MetricQuery>, Vec<MetricQuery>) = self
            .queries
            .iter()
            .cloned()
            .partition(|query| !self.warm.contains(&query.instance_id));
        let mut failed_instances = HashSet::new();
        let warm_span_ms = self.caught_up_to.map_or(lookback_ms, |caught_up| {
            (end_ms - caught_up + lookback_ms).clamp(lookback_ms, backfill_ms)
        });
        let mut warm_failed = false;
        for (group, span_ms) in [(&cold, backfill_ms), (&warm, warm_span_ms)] {
            let window = Window {
                start_ms: end_ms.saturating_sub(span_ms),
                end_ms,
                period_secs: self.config.period.as_secs().max(1),
            };
            for chunk in group.chunks(MAX_QUERIES_PER_CALL) {
                match self.fetch(chunk, window, source, batches).await? {
                    Ok(sent) => outcome.samples += sent,
                    Err(error) => {
                        outcome.denied |= error.is_denied();
                        let message = self.describe(&error);
                        if !outcome.problems.contains(&message) {
                            outcome.problems.push(message);
                        }
                        failed_instances.extend(chunk.iter().map(|q| q.instance_id.clone()));
                        warm_failed |= std::ptr::eq(group, &warm);
                    }
                }
            }
        }
        for query in &cold {
            if !failed_instances.contains(&query.instance_id) {
                self.warm.insert(query.instance_id.clone());
            }
        }
        if !warm_failed {
            self.caught_up_to = Some(end_ms);
        }
        outcome.failed = outcome.samples == 0 && !failed_instances.is_empty();
        Ok(outcome)
    }

    fn no_instances_message(&self) -> String {
        let mut scope = String::new();
        if !self.config.instance_ids.is_empty() {
            scope.push_str(&format!(" with ids {:?}", self.config.instance_ids));
        }
        if !self.config.tag_filters.is_empty() {
            scope.push_str(&format!(" with tags {:?}", self.config.tag_filters));
        }
        format!(
            "region {}: DescribeInstances at {} found no running instance{scope}; check region, instance_ids and tag_filters",
            self.config.region,
            self.client.endpoint(Service::Ec2)
        )
    }

    /// Reads one batch of at most 500 queries over `window`, page by page.
    async fn fetch(
        &mut self,
        chunk: &[MetricQuery],
        window: Window,
        source: &str,
        batches: &mpsc::Sender<SourceBatch>,
    ) -> Result<Result<usize, AwsError>, Closed> {
        let mut token: Option<String> = None;
        let mut sent = 0;
        for _ in 0..MAX_PAGES {
            let params = queries::metric_data_params(
                chunk,
                window,
                &self.config.statistic,
                token.as_deref(),
            );
            let text = match self
                .client
                .call(Service::CloudWatch, "GetMetricData", &params)
                .await
            {
                Ok(text) => text,
                Err(error) => return Ok(Err(error)),
            };
            let page = match xml::metric_data_page(&text) {
                Ok(page) => page,
                Err(reason) => {
                    return Ok(Err(self.garbage(
                        Service::CloudWatch,
                        "GetMetricData",
                        reason,
                    )))
                }
            };
            let mut samples = Vec::new();
            for result in &page.results {
                let Some(query) = queries::query_index(&result.id).and_then(|i| chunk.get(i))
                else {
                    return Ok(Err(self.garbage(
                        Service::CloudWatch,
                        "GetMetricData",
                        format!("a result for unknown query id {:?}", result.id),
                    )));
                };
                let mut points = result.points.clone();
                points.sort_by_key(|(at, _)| *at);
                let last = self.last.get(&query.key).copied().unwrap_or(i64::MIN);
                let mut newest = last;
                for (at, value) in points {
                    if at > newest && at < window.end_ms && value.is_finite() {
                        samples.push(Sample {
                            key: query.key.clone(),
                            timestamp_ms: at,
                            value,
                        });
                        newest = at;
                    }
                }
                if newest > last {
                    self.last.insert(query.key.clone(), newest);
                }
            }
            if !samples.is_empty() {
                sent += samples.len();
                let batch = SourceBatch {
                    source: source.to_string(),
                    samples,
                    events: Vec::new(),
                    errors: Vec::new(),
                    read_offsets: Vec::new(),
                    receipt: None,
                };
                batches.send(batch).await.map_err(|_| Closed)?;
            }
            match page.next_token {
                Some(next) => token = Some(next),
                None => return Ok(Ok(sent)),
            }
        }
        Ok(Err(self.garbage(
            Service::CloudWatch,
            "GetMetricData",
            format!("NextToken still set after {MAX_PAGES} pages"),
        )))
    }

    fn garbage(&self, service: Service, action: &str, reason: String) -> AwsError {
        AwsError::Garbage {
            action: action.to_string(),
            endpoint: self.client.endpoint(service),
            reason,
        }
    }

    /// Finds the instances and builds the query plan; returns non-fatal problems (a
    /// failed `ListMetrics` keeps the primary metrics).
    async fn discover(&mut self) -> Result<Vec<String>, AwsError> {
        let mut instances = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = queries::describe_instances_params(
                &self.config.instance_ids,
                &self.config.tag_filters,
                token.as_deref(),
            );
            let text = self
                .client
                .call(Service::Ec2, "DescribeInstances", &params)
                .await?;
            let page = xml::instances_page(&text)
                .map_err(|reason| self.garbage(Service::Ec2, "DescribeInstances", reason))?;
            instances.extend(page.instances);
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        instances.sort_by(|a, b| a.id.cmp(&b.id));
        instances.dedup_by(|a, b| a.id == b.id);
        let tag_labels = &self.config.tag_labels;
        let mut plan = queries::primary_queries(&self.config, &instances, tag_labels);
        let mut problems = Vec::new();
        let mut listed = Vec::new();
        for (namespace, metrics) in &self.config.extra_metrics {
            for metric in metrics {
                match self.list_metrics(namespace, metric).await {
                    Ok(found) => listed.extend(found),
                    Err(error) => {
                        let message = self.describe(&error);
                        if !problems.contains(&message) {
                            problems.push(message);
                        }
                    }
                }
            }
        }
        listed.sort();
        listed.dedup();
        plan.extend(queries::listed_queries(
            &self.config,
            &listed,
            &instances,
            tag_labels,
        ));
        let ids: HashSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        self.warm.retain(|id| ids.contains(id.as_str()));
        let keys: HashSet<&SeriesKey> = plan.iter().map(|q| &q.key).collect();
        self.last.retain(|key, _| keys.contains(key));
        tracing::debug!(
            region = %self.config.region,
            instances = instances.len(),
            series = plan.len(),
            "cloudwatch discovery"
        );
        self.instances = instances;
        self.queries = plan;
        self.discovered_at = Some(Instant::now());
        Ok(problems)
    }

    async fn list_metrics(
        &self,
        namespace: &str,
        metric: &str,
    ) -> Result<Vec<ListedMetric>, AwsError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = queries::list_metrics_params(namespace, metric, token.as_deref());
            let text = self
                .client
                .call(Service::CloudWatch, "ListMetrics", &params)
                .await?;
            let page = xml::list_metrics_page(&text)
                .map_err(|reason| self.garbage(Service::CloudWatch, "ListMetrics", reason))?;
            found.extend(page.metrics.into_iter().map(|mut listed| {
                if listed.namespace.is_empty() {
                    listed.namespace = namespace.to_string();
                }
                listed
            }));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        Ok(found)
    }
}
