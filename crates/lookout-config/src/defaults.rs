//! Default values of every key; `CONFIG.md` documents the same values.

use std::time::Duration;

pub const LISTEN: &str = "127.0.0.1:8080";
pub const DATA_DIR: &str = "./lookout-data";
pub const MAX_BODY_BYTES: u64 = 16 << 20;
/// `max_body_bytes` may not be set above this (1 GiB): a body is held in memory whole.
pub const MAX_BODY_BYTES_CEILING: u64 = 1 << 30;
pub const MAX_LABELS_PER_SERIES: u64 = 30;
pub const MAX_LABEL_NAME_BYTES: u64 = 1024;
pub const MAX_LABEL_VALUE_BYTES: u64 = 2048;
pub const MAX_SILENCE_DURATION: std::time::Duration = std::time::Duration::from_secs(90 * 86_400);
pub const MAX_SERIES: u64 = 1_000_000;
pub const INGEST_QUEUE: usize = 1024;
pub const QUERY_MAX_SAMPLES: u64 = 50_000_000;
pub const QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
pub const MAX_MATCHERS: u64 = 100;
pub const MAX_SERIES_VISITED: u64 = 10_000_000;
pub const MAX_QUERY_SAMPLES_TOTAL: u64 = 100_000_000;
pub const MAX_INFLIGHT_BODY_BYTES: u64 = 256 << 20;
pub const MAX_CONNECTIONS: u64 = 1024;
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
pub const TLS_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

pub const RAW_RETENTION: Duration = Duration::from_secs(7 * 86_400);
pub const ROLLUP_1M_RETENTION: Duration = Duration::from_secs(30 * 86_400);
pub const ROLLUP_1H_RETENTION: Duration = Duration::from_secs(365 * 86_400);
pub const EVENT_RETENTION: Duration = Duration::from_secs(30 * 86_400);
pub const COMPACTION_INTERVAL: Duration = Duration::from_secs(600);

pub const HOST_INTERVAL: Duration = Duration::from_secs(1);
pub const HOST_DEVICES_EXCLUDE: &[&str] = &["loop*", "ram*", "zram*", "fd*", "sr*"];
pub const HOST_INTERFACES_EXCLUDE: &[&str] = &["lo"];

pub const CLOUDWATCH_REGION: &str = "us-east-1";
pub const CLOUDWATCH_INTERVAL: Duration = Duration::from_secs(60);
pub const CLOUDWATCH_PERIOD: Duration = Duration::from_secs(60);
pub const CLOUDWATCH_NAMESPACE: &str = "AWS/EC2";
pub const CLOUDWATCH_METRICS: &[&str] = &[
    "CPUUtilization",
    "NetworkIn",
    "NetworkOut",
    "NetworkPacketsIn",
    "NetworkPacketsOut",
    "DiskReadBytes",
    "DiskWriteBytes",
    "StatusCheckFailed",
    "CPUCreditBalance",
];
pub const CLOUDWATCH_TAG_LABELS: &[&str] = &["Name"];
pub const CLOUDWATCH_STATISTIC: &str = "Average";
pub const CLOUDWATCH_STATISTICS: &[&str] = &["Average", "Sum", "Minimum", "Maximum", "SampleCount"];
pub const CLOUDWATCH_BACKFILL: Duration = Duration::from_secs(3 * 86_400);

pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(15);
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
pub const SCRAPE_METRICS_PATH: &str = "/metrics";

/// The detection profiles known when no list is passed to the loader: every profile and
/// every single detector of the detector registry.
pub const KNOWN_PROFILES: &[&str] = &lookout_detect::registry::PIPELINE_NAMES;
pub const PROFILE: &str = "default";
/// Stored history replayed into the detectors when `serve` starts.
pub const WARM_START: Duration = Duration::from_secs(86_400);
pub const WARM_START_POINTS: u64 = 2_000;
/// About 15–20 s of replay on 2 cores.
pub const WARM_START_BUDGET: u64 = 20_000_000;

pub const USAGE_IDLE_MAX_PERCENT: f64 = 1.0;
pub const USAGE_IDLE_SAMPLES: u32 = 3;
pub const USAGE_UNDERUSED_MAX_PERCENT: f64 = 30.0;
pub const USAGE_UNDERUSED_SAMPLES: u32 = 3;
pub const USAGE_JUMP_FACTOR: f64 = 1.0;
pub const USAGE_MIN_JUMP_POINTS: f64 = 10.0;
pub const USAGE_RIGHTSIZE_AFTER: Duration = Duration::from_secs(14 * 86_400);
pub const USAGE_CPU_METRICS: &[&str] = &[
    "host_cpu_utilization_percent",
    "aws_ec2_cpu_utilization",
    "CPUUtilization",
    "node_cpu_utilization_percent",
];
pub const USAGE_MACHINE_LABELS: &[&str] = lookout_model::DEFAULT_MACHINE_LABELS;

pub const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(10);
/// The notifier types, from their registration list.
pub use crate::notifiers::NOTIFIER_TYPES;
pub const SMTP_PORT: u16 = 587;
pub const STARTTLS: bool = true;
pub const SNS_REGION: &str = "us-east-1";
/// SMS notifiers: messages per receiver per window.
pub const SMS_RATE_LIMIT: u32 = 5;
pub const SMS_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(3600);
pub const SMS_TYPE: &str = "Transactional";
pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

pub const RULE_MIN_SCORE: f64 = 0.9;
pub const RULE_FOR: Duration = Duration::ZERO;
pub const RULE_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3_600);
pub const RULE_GROUP_WAIT: Duration = Duration::from_millis(200);
pub const RULE_GROUP_INTERVAL: Duration = Duration::from_secs(300);
pub const RULE_RESOLVE_HOLD: Duration = Duration::from_secs(60);

/// The configuration `lookout serve` runs without a file.
pub const EMBEDDED_DEFAULT_TOML: &str = include_str!("default.toml");

/// Labels an inhibition rule's source and target must share, when `equal` is left out.
pub const INHIBIT_EQUAL: &str = "instance";
