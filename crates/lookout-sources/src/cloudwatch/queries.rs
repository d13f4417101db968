//! What to ask for: the series of each discovered instance, their names and labels, and
//! the Query-protocol parameters of `DescribeInstances`, `ListMetrics` and `GetMetricData`.

use std::collections::{BTreeMap, HashMap};

use lookout_config::CloudWatchSourceConfig;
use lookout_model::{Labels, SeriesKey};

use super::xml::{Instance, ListedMetric};

/// Queries per `GetMetricData` call: the API's limit.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// One CloudWatch metric of one instance and the series it feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: String,
    pub metric: String,
    /// The exact dimensions of the metric (CloudWatch matches them exactly).
    pub dimensions: Vec<(String, String)>,
    pub instance_id: String,
    pub key: SeriesKey,
}

/// `CPUUtilization` → `cpu_utilization`, `AWS/EC2` → `aws_ec2`, `mem_used_percent` unchanged.
pub fn snake_case(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower);
            if boundary && !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    let trimmed = out.trim_matches('_');
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{trimmed}")
    } else {
        trimmed.to_string()
    }
}

/// The series name of a metric: `aws_ec2_cpu_utilization`, `cwagent_mem_used_percent`.
pub fn series_name(namespace: &str, metric: &str) -> String {
    let namespace: String = namespace
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{}_{}", namespace.trim_matches('_'), snake_case(metric))
}

/// The label of an EC2 tag: `Name` → `tag_name`.
pub fn tag_label(tag: &str) -> String {
    format!("tag_{}", snake_case(tag))
}

/// Labels every series of `instance` carries.
pub fn instance_labels(
    instance: &Instance,
    config: &CloudWatchSourceConfig,
    tag_labels: &[String],
) -> Labels {
    let mut labels: Labels = config.labels.clone();
    for tag in tag_labels {
        if let Some(value) = instance.tags.get(tag) {
            labels.insert(tag_label(tag), value.clone());
        }
    }
    labels.insert("source".into(), "cloudwatch".into());
    labels.insert("region".into(), config.region.clone());
    labels.insert("instance_id".into(), instance.id.clone());
    if !instance.instance_type.is_empty() {
        labels.insert("instance_type".into(), instance.instance_type.clone());
    }
    labels
}

/// Dimension labels (other than the instance's own) of a query: `path="/"`, ...
fn with_dimension_labels(mut labels: Labels, dimensions: &[(String, String)]) -> Labels {
    for (name, value) in dimensions {
        if name == "InstanceId" || name == "InstanceType" {
            continue;
        }
        labels.insert(snake_case(name), value.clone());
    }
    labels
}

/// The configured namespace's metrics for every instance (`InstanceId` + fixed dimensions).
pub fn primary_queries(
    config: &CloudWatchSourceConfig,
    instances: &[Instance],
    tag_labels: &[String],
) -> Vec<MetricQuery> {
    let mut queries = Vec::with_capacity(instances.len() * config.metrics.len());
    for instance in instances {
        let mut dimensions = vec![("InstanceId".to_string(), instance.id.clone())];
        dimensions.extend(
            config
                .dimensions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let labels =
            with_dimension_labels(instance_labels(instance, config, tag_labels), &dimensions);
        for metric in &config.metrics {
            queries.push(MetricQuery {
                namespace: config.namespace.clone(),
                metric: metric.clone(),
                dimensions: dimensions.clone(),
                instance_id: instance.id.clone(),
                key: SeriesKey {
                    name: series_name(&config.namespace, metric),
                    labels: labels.clone(),
                },
            });
        }
    }
    queries
}

/// Queries for listed metrics (`ListMetrics` of the extra namespaces) that belong to a
/// watched instance, with their exact dimensions; other dimensions become labels.
pub fn listed_queries(
    config: &CloudWatchSourceConfig,
    listed: &[ListedMetric],
    instances: &[Instance],
    tag_labels: &[String],
) -> Vec<MetricQuery> {
    let by_id: HashMap<&str, &Instance> = instances.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut queries = Vec::new();
    for metric in listed {
        let Some((_, id)) = metric
            .dimensions
            .iter()
            .find(|(name, _)| name == "InstanceId")
        else {
            continue;
        };
        let Some(instance) = by_id.get(id.as_str()) else {
            continue;
        };
        let labels = with_dimension_labels(
            instance_labels(instance, config, tag_labels),
            &metric.dimensions,
        );
        queries.push(MetricQuery {
            namespace: metric.namespace.clone(),
            metric: metric.name.clone(),
            dimensions: metric.dimensions.clone(),
            instance_id: instance.id.clone(),
            key: SeriesKey {
                name: series_name(&metric.namespace, &metric.name),
                labels,
            },
        });
    }
    queries
}

/// Parameters of one `DescribeInstances` page: running instances, by ids or tag filters.
pub fn describe_instances_params(
    instance_ids: &[String],
    tag_filters: &BTreeMap<String, Vec<String>>,
    next_token: Option<&str>,
) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for (i, id) in instance_ids.iter().enumerate() {
        params.push((format!("InstanceId.{}", i + 1), id.clone()));
    }
    params.push(("Filter.1.Name".into(), "instance-state-name".into()));
    params.push(("Filter.1.Value.1".into(), "running".into()));
    for (f, (tag, values)) in tag_filters.iter().enumerate() {
        params.push((format!("Filter.{}.Name", f + 2), format!("tag:{tag}")));
        for (v, value) in values.iter().enumerate() {
            params.push((format!("Filter.{}.Value.{}", f + 2, v + 1), value.clone()));
        }
    }
    if instance_ids.is_empty() {
        // MaxResults cannot be combined with instance ids.
        params.push(("MaxResults".into(), "1000".into()));
    }
    if let Some(token) = next_token {
        params.push(("NextToken".into(), token.to_string()));
    }
    params
}

/// Parameters of one `ListMetrics` page: `metric` of `namespace` that has an `InstanceId`.
pub fn list_metrics_params(
    namespace: &str,
    metric: &str,
    next_token: Option<&str>,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("Namespace".to_string(), namespace.to_string()),
        ("MetricName".to_string(), metric.to_string()),
        (
            "Dimensions.member.1.Name".to_string(),
            "InstanceId".to_string(),
        ),
    ];
    if let Some(token) = next_token {
        params.push(("NextToken".into(), token.to_string()));
    }
    params
}

/// The time window and aggregation of one `GetMetricData` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
    pub period_secs: u64,
}

fn iso8601(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parameters of one `GetMetricData` page. Query ids are `q<index in batch>`.
pub fn metric_data_params(
    batch: &[MetricQuery],
    window: Window,
    statistic: &str,
    next_token: Option<&str>,
) -> Vec<(String, String)> {
    let mut params = Vec::with_capacity(batch.len() * 8 + 4);
    params.push(("StartTime".into(), iso8601(window.start_ms)));
    params.push(("EndTime".into(), iso8601(window.end_ms)));
    params.push(("ScanBy".into(), "TimestampAscending".into()));
    for (i, query) in batch.iter().enumerate() {
        let member = format!("MetricDataQueries.member.{}", i + 1);
        params.push((format!("{member}.Id"), format!("q{i}")));
        params.push((format!("{member}.ReturnData"), "true".into()));
        let stat = format!("{member}.MetricStat");
        params.push((format!("{stat}.Metric.Namespace"), query.namespace.clone()));
        params.push((format!("{stat}.Metric.MetricName"), query.metric.clone()));
        for (d, (name, value)) in query.dimensions.iter().enumerate() {
            let dimension = format!("{stat}.Metric.Dimensions.member.{}", d + 1);
            params.push((format!("{dimension}.Name"), name.clone()));
            params.push((format!("{dimension}.Value"), value.clone()));
        }
        params.push((format!("{stat}.Period"), window.period_secs.to_string()));
        params.push((format!("{stat}.Stat"), statistic.to_string()));
    }
    if let Some(token) = next_token {
        params.push(("NextToken".into(), token.to_string()));
    }
    params
}

/// The batch index of a query id `q<index>`.
pub fn query_index(id: &str) -> Option<usize> {
    id.strip_prefix('q')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_case() {
        let cases = [
            ("CPUUtilization", "cpu_utilization"),
            ("NetworkPacketsIn", "network_packets_in"),
            ("CPUCreditBalance", "cpu_credit_balance"),
            ("StatusCheckFailed_System", "status_check_failed_system"),
            ("mem_used_percent", "mem_used_percent"),
            ("aws:autoscaling:groupName", "aws_autoscaling_group_name"),
            ("EBSIOBalance%", "ebsio_balance"),
            ("5xxErrors", "_5xx_errors"),
        ];
        for (input, expected) in cases {
            assert_eq!(snake_case(input), expected, "{input}");
        }
        assert_eq!(
            series_name("AWS/EC2", "CPUUtilization"),
            "aws_ec2_cpu_utilization"
        );
        assert_eq!(
            series_name("CWAgent", "mem_used_percent"),
            "cwagent_mem_used_percent"
        );
        for name in [series_name("AWS/EC2", "NetworkIn"), tag_label("Name")] {
            lookout_model::SeriesKey::validated(name, Labels::new()).unwrap();
        }
    }

    #[test]
    fn describe_params_combine_ids_state_and_tags() {
        let filters = BTreeMap::from([(
            "Env".to_string(),
            vec!["prod".to_string(), "stage".to_string()],
        )]);
        let params = describe_instances_params(&[], &filters, Some("t"));
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Filter.1.Value.1"), Some("running"));
        assert_eq!(get("Filter.2.Name"), Some("tag:Env"));
        assert_eq!(get("Filter.2.Value.2"), Some("stage"));
        assert_eq!(get("MaxResults"), Some("1000"));
        assert_eq!(get("NextToken"), Some("t"));
        let by_id = describe_instances_params(&["i-1".into()], &BTreeMap::new(), None);
        assert!(by_id.iter().any(|(k, v)| k == "InstanceId.1" && v == "i-1"));
        assert!(!by_id.iter().any(|(k, _)| k == "MaxResults"));
    }

    #[test]
    fn metric_data_params_number_queries_and_dimensions() {
        let query = MetricQuery {
            namespace: "CWAgent".into(),
            metric: "disk_used_percent".into(),
            dimensions: vec![
                ("InstanceId".into(), "i-1".into()),
                ("path".into(), "/".into()),
            ],
            instance_id: "i-1".into(),
            key: SeriesKey::new("x"),
        };
        let window = Window {
            start_ms: 0,
            end_ms: 60_000,
            period_secs: 60,
        };
        let params = metric_data_params(&[query.clone(), query], window, "p99", None);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("StartTime"), Some("1970-01-01T00:00:00Z"));
        assert_eq!(get("EndTime"), Some("1970-01-01T00:01:00Z"));
        assert_eq!(get("MetricDataQueries.member.2.Id"), Some("q1"));
        assert_eq!(
            get("MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.2.Value"),
            Some("/")
        );
        assert_eq!(
            get("MetricDataQueries.member.1.MetricStat.Stat"),
            Some("p99")
        );
        assert_eq!(query_index("q1"), Some(1));
        assert_eq!(query_index("x1"), None);
    }
}
