//! The raw, deserialised form of the configuration file.
//!
//! Each struct mirrors one TOML table. Every field is optional (the validated
//! [`Config`](crate::Config) supplies defaults) and wrapped in [`Spanned`] so that
//! validation can name the line of each key. `deny_unknown_fields` makes a misspelt key
//! an error; the [reader](crate::reader) checks keys one by one so that every unknown
//! key and every wrongly typed value is reported, not only the first.
//!
//! Nested arrays of tables (`[[source]]`, `[[detection.override]]`, `[[alert.notifier]]`,
//! `[[alert.rule]]`) are split out by the reader and read into their own structs.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

/// An optional key with the place it was written.
pub type Field<T> = Option<Spanned<T>>;

/// A string-to-string table such as `labels = { team = "web" }`.
pub type StringMap = BTreeMap<String, String>;

/// The whole file, after the reader has split it into sections.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub server: RawServer,
    pub storage: RawStorage,
    pub sources: Vec<RawSourceEntry>,
    pub detection: RawDetection,
    pub usage: RawUsage,
    pub object_store: RawObjectStore,
    /// `[cluster]`: `None` when the section is absent (a single node).
    pub cluster: Option<Located<RawCluster>>,
    pub overrides: Vec<Located<RawOverride>>,
    pub notifiers: Vec<Located<RawNotifier>>,
    pub rules: Vec<Located<RawRule>>,
    pub inhibits: Vec<Located<RawInhibit>>,
    pub auth: RawAuth,
    pub tokens: Vec<Located<RawToken>>,
}

/// A table from an array of tables, with its 1-based position and header line.
#[derive(Debug)]
pub struct Located<T> {
    pub index: usize,
    pub line: usize,
    pub value: T,
}

/// One `[[source]]` table, read into the struct its `type` selects.
#[derive(Debug)]
pub struct RawSourceEntry {
    pub index: usize,
    pub line: usize,
    pub source: RawSource,
}

pub use crate::sources::cloudwatch::RawCloudWatchSource;
pub use crate::sources::file::RawFileSource;
pub use crate::sources::host::RawHostSource;
pub use crate::sources::prometheus_scrape::RawPrometheusScrapeSource;
pub use crate::sources::{RawSource, SOURCE_TYPES};

/// `[server]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Field<String>,
    pub data_dir: Field<String>,
    /// An integer number of bytes or a string with a unit (`"16MiB"`).
    pub max_body_bytes: Field<toml::Value>,
    pub max_series: Field<i64>,
    pub ingest_queue: Field<i64>,
    pub query_max_samples: Field<i64>,
    pub query_timeout: Field<String>,
    pub max_labels_per_series: Field<i64>,
    pub max_label_name_bytes: Field<i64>,
    pub max_label_value_bytes: Field<i64>,
    pub max_silence_duration: Field<String>,
    pub allowed_hosts: Field<Vec<String>>,
    pub allow_unauthenticated_remote: Field<bool>,
    pub external_url: Field<String>,
    pub max_connections: Field<i64>,
    pub header_read_timeout: Field<String>,
    pub idle_timeout: Field<String>,
    pub body_read_timeout: Field<String>,
    pub max_matchers: Field<i64>,
    pub max_series_visited: Field<i64>,
    pub max_query_samples_total: Field<i64>,
    /// An integer number of bytes or a string with a unit (`"256MiB"`).
    pub max_inflight_body_bytes: Field<toml::Value>,
    /// Same forms as `max_inflight_body_bytes`.
    pub max_inflight_body_bytes_per_client: Field<toml::Value>,
    pub tls: Field<RawTls>,
}

/// `[server.tls]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert_file: Field<String>,
    pub key_file: Field<String>,
    pub client_ca_file: Field<String>,
    pub reload_interval: Field<String>,
}

/// `[storage]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    pub raw_retention: Field<String>,
    pub rollup_1m_retention: Field<String>,
    pub rollup_1h_retention: Field<String>,
    pub event_retention: Field<String>,
    pub compaction_interval: Field<String>,
}

/// `[detection]` without its `override` array.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetection {
    pub profile: Field<String>,
    pub min_deviation: Field<f64>,
    pub hysteresis_enter: Field<f64>,
    pub hysteresis_exit: Field<f64>,
    pub params: Field<toml::Table>,
    pub warm_start: Field<String>,
    pub warm_start_points: Field<i64>,
    pub warm_start_budget: Field<i64>,
}

/// `[usage]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUsage {
    pub idle_max_percent: Field<f64>,
    pub idle_samples: Field<i64>,
    pub underused_max_percent: Field<f64>,
    pub underused_samples: Field<i64>,
    pub jump_factor: Field<f64>,
    pub min_jump_points: Field<f64>,
    pub rightsize_after: Field<String>,
    pub cpu_metrics: Field<Vec<String>>,
    pub machine_labels: Field<Vec<String>>,
}

/// `[object_store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObjectStore {
    pub path: Field<String>,
    pub s3: Field<RawS3>,
}

/// `[cluster]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub node_id: Field<String>,
    pub nats: Field<Vec<String>>,
    pub partitions: Field<i64>,
    pub stream: Field<String>,
    pub lease_ttl: Field<String>,
    pub credentials_file: Field<String>,
    pub token_file: Field<String>,
    pub token_env: Field<String>,
}

/// `[object_store] s3 = { bucket, endpoint, region, prefix }`
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    pub bucket: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
}

/// `[[detection.override]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    #[serde(rename = "match")]
    pub selector: Field<String>,
    pub profile: Field<String>,
    pub min_deviation: Field<f64>,
    pub hysteresis_enter: Field<f64>,
    pub hysteresis_exit: Field<f64>,
    pub params: Field<toml::Table>,
}

pub use crate::auth::{RawAuth, RawToken};
pub use crate::notifiers::{RawNotifier, RawNotifierSettings};

/// `[[alert.rule]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Field<String>,
    #[serde(rename = "match")]
    pub selector: Field<String>,
    pub event: Field<String>,
    pub min_score: Field<f64>,
    #[serde(rename = "for")]
    pub for_duration: Field<String>,
    pub severity: Field<String>,
    pub labels: Field<StringMap>,
    pub annotations: Field<StringMap>,
    pub notify: Field<Vec<String>>,
    pub repeat_interval: Field<String>,
    pub group_by: Field<Vec<String>>,
    pub group_wait: Field<String>,
    pub group_interval: Field<String>,
    pub resolve_hold: Field<String>,
}

/// `[[alert.inhibit]]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInhibit {
    pub source: Field<String>,
    pub target: Field<String>,
    pub equal: Field<Vec<String>>,
}
