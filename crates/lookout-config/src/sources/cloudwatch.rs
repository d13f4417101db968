//! `[[source]] type = "cloudwatch"`: EC2 (or any namespace) metrics through GetMetricData.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::SourceType;
use crate::defaults;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::check_http_url;

/// The `cloudwatch` source type, for the registration list.
pub(crate) struct CloudWatch;

impl SourceType for CloudWatch {
    type Raw = RawCloudWatchSource;
    type Config = CloudWatchSourceConfig;

    fn validate(
        raw: &RawCloudWatchSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        _line: usize,
    ) -> CloudWatchSourceConfig {
        validate_cloudwatch(checker, context, raw)
    }

    fn interval(config: &CloudWatchSourceConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "cloudwatch"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCloudWatchSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub region: Field<String>,
    pub endpoint: Field<String>,
    pub interval: Field<String>,
    pub period: Field<String>,
    pub namespace: Field<String>,
    pub metrics: Field<Vec<String>>,
    pub statistic: Field<String>,
    pub dimensions: Field<StringMap>,
    pub instance_ids: Field<Vec<String>>,
    pub tag_filters: Field<BTreeMap<String, Vec<String>>>,
    pub tag_labels: Field<Vec<String>>,
    pub extra_metrics: Field<BTreeMap<String, Vec<String>>>,
    pub backfill: Field<String>,
    pub labels: Field<StringMap>,
}

/// `[[source]] type = "cloudwatch"`: EC2 (or any namespace) metrics through GetMetricData.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchSourceConfig {
    pub region: String,
    /// A custom endpoint (a local AWS emulator); `None` means the region's AWS endpoint.
    pub endpoint: Option<String>,
    pub interval: Duration,
    /// The aggregation period of each datapoint.
    pub period: Duration,
    pub namespace: String,
    pub metrics: Vec<String>,
    pub statistic: String,
    /// Fixed dimensions every query carries (besides `InstanceId`).
    pub dimensions: BTreeMap<String, String>,
    /// Instances to watch; empty means every instance matching `tag_filters` (or all).
    pub instance_ids: Vec<String>,
    /// EC2 tag filters: tag name → accepted values.
    pub tag_filters: BTreeMap<String, Vec<String>>,
    /// EC2 tags copied onto every series of the instance as `tag_<snake_case name>` labels.
    pub tag_labels: Vec<String>,
    /// Further per-instance metrics: namespace → metric names (e.g. `CWAgent` →
    /// `mem_used_percent`), found with ListMetrics by their `InstanceId` dimension.
    pub extra_metrics: BTreeMap<String, Vec<String>>,
    /// How much history to fetch at start.
    pub backfill: Duration,
    pub labels: BTreeMap<String, String>,
}

fn validate_cloudwatch(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    raw: &RawCloudWatchSource,
) -> CloudWatchSourceConfig {
    let region = checker.value(
        context,
        "region",
        &raw.region,
        defaults::CLOUDWATCH_REGION.to_string(),
        |region| {
            let valid = !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if valid {
                Ok(region.clone())
            } else {
                Err(format!(
                    "{region:?} is not an AWS region (e.g. \"us-east-1\")"
                ))
            }
        },
    );
    let endpoint = checker.value(context, "endpoint", &raw.endpoint, None, |url| {
        check_http_url(url).map(|()| Some(url.clone()))
    });
    let period = checker.value(
        context,
        "period",
        &raw.period,
        defaults::CLOUDWATCH_PERIOD,
        |text| {
            let period = crate::values::parse_duration(text)?;
            let high_resolution = [1, 5, 10, 30].map(Duration::from_secs).contains(&period);
            let whole_minutes =
                period.as_secs() >= 60 && period.as_secs() % 60 == 0 && period.subsec_nanos() == 0;
            if high_resolution || whole_minutes {
                Ok(period)
            } else {
                Err(format!(
                    "{text:?} is not a CloudWatch period (1s, 5s, 10s, 30s or a multiple of 60s)"
                ))
            }
        },
    );
    let statistic = checker.value(
        context,
        "statistic",
        &raw.statistic,
        defaults::CLOUDWATCH_STATISTIC.to_string(),
        |name| {
            let percentile = name.strip_prefix('p').is_some_and(|rest| {
                rest.parse::<f64>()
                    .is_ok_and(|p| (0.0..=100.0).contains(&p))
            });
            if defaults::CLOUDWATCH_STATISTICS.contains(&name.as_str()) || percentile {
                Ok(name.clone())
            } else {
                Err(format!(
                    "unknown statistic {name:?} (known: {}, or a percentile such as p99)",
                    defaults::CLOUDWATCH_STATISTICS.join(", ")
                ))
            }
        },
    );
    let metrics = checker.string_list(
        context,
        "metrics",
        &raw.metrics,
        defaults::CLOUDWATCH_METRICS,
    );
    if metrics.is_empty() {
        if let Some(field) = &raw.metrics {
            let message = "the list is empty; name at least one metric".to_string();
            checker.report_at(
                crate::ErrorKind::InvalidValue,
                context,
                "metrics",
                field,
                message,
            );
        }
    }
    let instance_ids = checker.value(
        context,
        "instance_ids",
        &raw.instance_ids,
        Vec::new(),
        |ids| match ids.iter().find(|id| !id.starts_with("i-") || id.len() < 3) {
            Some(bad) => Err(format!(
                "{bad:?} is not an EC2 instance id (e.g. \"i-0123456789abcdef0\")"
            )),
            None => Ok(ids.clone()),
        },
    );
    let tag_filters = checker.value(
        context,
        "tag_filters",
        &raw.tag_filters,
        Default::default(),
        |filters| match filters.iter().find(|(_, values)| values.is_empty()) {
            Some((tag, _)) => Err(format!("tag {tag:?} has no accepted values")),
            None => Ok(filters.clone()),
        },
    );
    let tag_labels = checker.string_list(
        context,
        "tag_labels",
        &raw.tag_labels,
        defaults::CLOUDWATCH_TAG_LABELS,
    );
    let extra_metrics = checker.value(
        context,
        "extra_metrics",
        &raw.extra_metrics,
        Default::default(),
        |sets| {
            if let Some(namespace) = sets.keys().find(|namespace| namespace.is_empty()) {
                return Err(format!("namespace {namespace:?} is empty"));
            }
            match sets.iter().find(|(_, metrics)| metrics.is_empty()) {
                Some((namespace, _)) => Err(format!(
                    "namespace {namespace:?} lists no metric (e.g. CWAgent = [\"mem_used_percent\"])"
                )),
                None => Ok(sets.clone()),
            }
        },
    );
    CloudWatchSourceConfig {
        region,
        endpoint,
        interval: checker.duration(
            context,
            "interval",
            &raw.interval,
            defaults::CLOUDWATCH_INTERVAL,
            Duration::from_secs(1),
        ),
        period,
        namespace: checker.non_empty_string(
            context,
            "namespace",
            &raw.namespace,
            defaults::CLOUDWATCH_NAMESPACE,
        ),
        metrics,
        statistic,
        dimensions: checker.value(
            context,
            "dimensions",
            &raw.dimensions,
            Default::default(),
            |d| Ok(d.clone()),
        ),
        instance_ids,
        tag_filters,
        tag_labels,
        extra_metrics,
        backfill: checker.duration(
            context,
            "backfill",
            &raw.backfill,
            defaults::CLOUDWATCH_BACKFILL,
            Duration::ZERO,
        ),
        labels: checker.labels(context, "labels", &raw.labels),
    }
}
