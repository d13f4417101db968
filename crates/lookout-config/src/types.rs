//! The validated, typed configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole validated configuration. See `CONFIG.md` for every key and default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    /// The `[[source]]` tables, in file order.
    pub sources: Vec<SourceConfig>,
    pub detection: DetectionConfig,
    pub usage: UsageConfig,
    /// `[object_store]`: where trained models and detector snapshots are kept.
    pub object_store: ObjectStoreConfig,
    /// `[cluster]`: `None` runs a single node.
    pub cluster: Option<ClusterConfig>,
    pub alert: AlertConfig,
    /// `[auth]`: API tokens.
    pub auth: AuthConfig,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Largest accepted request body; bigger ingestion requests get HTTP 413.
    pub max_body_bytes: u64,
    /// Cardinality limit: samples of new series beyond this many are refused.
    pub max_series: u64,
    /// Capacity of the bounded ingestion queue (batches); when full, ingestion answers 429/503.
    pub ingest_queue: usize,
    /// Samples one PromQL query may read and produce; beyond it the query gets HTTP 422.
    pub query_max_samples: u64,
    /// Longest a PromQL evaluation may run; beyond it the query gets HTTP 503.
    pub query_timeout: std::time::Duration,
    /// Labels a series may have (the metric name not counted); more are refused.
    pub max_labels_per_series: u64,
    /// Longest metric or label name, in bytes.
    pub max_label_name_bytes: u64,
    /// Longest label value, in bytes.
    pub max_label_value_bytes: u64,
    /// Longest a silence may last; longer ones are refused.
    pub max_silence_duration: std::time::Duration,
    /// Host names (with optional `:port`) requests may address besides the loopback
    /// names and the listen address, against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// The operator's explicit opt-out: serve a non-loopback address without
    /// authentication.
    pub allow_unauthenticated_remote: bool,
    /// The dashboard's address as people reach it (behind a proxy, say), for links in
    /// alert messages; `None`: `http://{listen}`.
    pub external_url: Option<String>,
    /// Limits on the connections the listener holds (see [`ConnectionLimits`]).
    pub connections: ConnectionLimits,
    /// Budgets shared by requests in flight and caps on one request's work.
    pub limits: RequestLimits,
    /// `[server.tls]`: serve HTTPS instead of HTTP.
    pub tls: Option<TlsConfig>,
}

/// Limits on the listener's connections, against idle and slow clients.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimits {
    /// Connections open at once; a new one beyond it waits in the kernel's backlog
    /// until one closes.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers (the first request's,
    /// and the next one's on a kept-alive connection), and the TLS handshake.
    pub header_read_timeout: std::time::Duration,
    /// A connection on which nothing was read or written for this long is closed
    /// (once its request in flight, if any, is answered).
    pub idle_timeout: std::time::Duration,
    /// Longest a request's body may take to arrive, from the request's start.
    pub body_read_timeout: std::time::Duration,
}

/// Caps on one request's work and budgets shared by the requests in flight (#16).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLimits {
    /// Most `match[]` selectors one metadata request may carry (HTTP 400 beyond).
    pub max_matchers: usize,
    /// Most series one metadata request may look at while matching (HTTP 422 beyond).
    pub max_series_visited: u64,
    /// Samples every PromQL query in flight together may hold (HTTP 503 beyond).
    pub max_query_samples_total: u64,
    /// Bytes of request bodies every request in flight together may buffer (HTTP 503
    /// beyond).
    pub max_inflight_body_bytes: u64,
    /// Bytes of that budget the requests of one client address together may hold (HTTP
    /// 503 beyond); by default a quarter of it, at least `max_body_bytes`.
    pub max_inflight_body_bytes_per_client: u64,
}

/// `[server.tls]`: certificate and key (PEM), reloaded when the files change.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Clients must present a certificate signed by one of these CAs.
    pub client_ca_file: Option<PathBuf>,
    /// How often the files are checked for changes.
    pub reload_interval: std::time::Duration,
}

impl ServerConfig {
    /// The base of the dashboard links alert messages carry.
    pub fn dashboard_url(&self) -> String {
        self.external_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

/// `[storage]`
#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    pub raw_retention: Duration,
    pub rollup_1m_retention: Duration,
    pub rollup_1h_retention: Duration,
    /// How long events are kept.
    pub event_retention: Duration,
    pub compaction_interval: Duration,
}

pub use crate::auth::{AuthConfig, Role, TokenEntry};
pub use crate::notifiers::{
    AlertmanagerNotifier, EmailNotifier, NotifierKind, SlackNotifier, SmsRateLimit, SnsNotifier,
    SnsSmsNotifier, TwilioNotifier, TwilioSender, WebhookNotifier,
};
pub use crate::sources::access_log::AccessLogSourceConfig;
pub use crate::sources::auth_log::{AuthLogInput, AuthLogSourceConfig};
pub use crate::sources::cloudwatch::CloudWatchSourceConfig;
pub use crate::sources::file::{FileSourceConfig, ReadFrom};
pub use crate::sources::host::HostSourceConfig;
pub use crate::sources::kafka::{KafkaFormat, KafkaSourceConfig};
pub use crate::sources::log::{JournalInput, LogFormat, LogSourceConfig, Warmup};
pub use crate::sources::packet_capture::{
    CaptureMethod, PacketCaptureConfig, DEFAULT_RING_SIZE, FLOOD_KINDS, RING_BLOCK_SIZE,
};
pub use crate::sources::prometheus_scrape::{PrometheusScrapeConfig, Scheme};
pub use crate::sources::SourceConfig;

/// Include/exclude lists of names with `*` wildcards. A name passes when it matches an
/// include pattern (or the include list is empty) and matches no exclude pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl NameFilter {
    pub fn new(include: Vec<String>, exclude: Vec<String>) -> Self {
        NameFilter { include, exclude }
    }

    pub fn allows(&self, name: &str) -> bool {
        let included =
            self.include.is_empty() || self.include.iter().any(|p| wildcard_match(p, name));
        included
            && !self
                .exclude
                .iter()
                .any(|pattern| wildcard_match(pattern, name))
    }
}

/// Matches `name` against `pattern`, where `*` stands for any run of characters.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(position) => rest = &rest[position + part.len()..],
            None => return false,
        }
    }
    true
}

/// `[detection]`
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionConfig {
    /// The detector pipeline every series gets unless an override matches.
    pub profile: String,
    /// Smallest relative deviation from the expected value that may count as an
    /// anomaly (`None`: the profile's).
    pub min_deviation: Option<f64>,
    /// Score at or above which an anomaly opens (`None`: the profile's).
    pub hysteresis_enter: Option<f64>,
    /// Score below which an open anomaly closes (`None`: the profile's).
    pub hysteresis_exit: Option<f64>,
    /// Detector parameters by detector name, applied over the profile's.
    pub params: toml::Table,
    /// How far back `serve` replays stored history into the detectors at startup
    /// (zero: not at all).
    pub warm_start: Duration,
    /// At most this many of the newest stored points per series are replayed.
    pub warm_start_points: u64,
    /// At most this many points in all (each series gets `budget / series` when that is
    /// fewer than `warm_start_points`), which bounds the startup time.
    pub warm_start_budget: u64,
    /// Per-selector overrides, first match wins.
    pub overrides: Vec<DetectionOverride>,
}

/// `[[detection.override]]`: settings for the series a selector matches.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionOverride {
    pub selector: String,
    pub profile: Option<String>,
    pub min_deviation: Option<f64>,
    pub hysteresis_enter: Option<f64>,
    pub hysteresis_exit: Option<f64>,
    pub params: toml::Table,
}

/// `[cluster]`: several nodes sharing writes through NATS JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This node's name, unique in the cluster (a second node with it is refused).
    pub node_id: String,
    /// NATS server URLs (`nats://host:port`, `tls://host:port`).
    pub nats: Vec<String>,
    /// Number of partitions the series are hashed into; fixed for a stream's life.
    pub partitions: u32,
    /// JetStream stream name; the subjects are `<stream>.p.<partition>`, the leases'
    /// bucket `<stream>_leases`.
    pub stream: String,
    /// How long a lease or heartbeat lives without renewal (renewed at a third of it).
    pub lease_ttl: Duration,
    /// How the node authenticates to NATS.
    pub credentials: ClusterCredentials,
}

/// Where the NATS credentials are read at start; the secrets themselves never sit in
/// the configuration (and are never logged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClusterCredentials {
    #[default]
    None,
    /// A NATS `.creds` file (user JWT and NKey seed).
    CredentialsFile(PathBuf),
    /// A file holding a token.
    TokenFile(PathBuf),
    /// An environment variable holding a token.
    TokenEnv(String),
}

/// `[object_store]`: a directory (the default) or a versioned S3 bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// A directory; `None`: `<data dir>/objects` (the data directory as finally set,
    /// flags included).
    Directory(Option<PathBuf>),
    S3(S3StoreConfig),
}

impl Default for ObjectStoreConfig {
    fn default() -> Self {
        ObjectStoreConfig::Directory(None)
    }
}

/// A versioned S3 bucket, path-style URLs. Credentials come from the standard AWS
/// chain, never from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3StoreConfig {
    pub bucket: String,
    /// `None`: AWS' regional endpoint.
    pub endpoint: Option<String>,
    pub region: String,
    /// Prepended to every object name; empty, or ending with `/`.
    pub prefix: String,
}

/// `[usage]`: machine usage states and right-sizing hints.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageConfig {
    /// CPU % at or below which a sample counts as idle.
    pub idle_max_percent: f64,
    /// Consecutive idle samples before a machine is `idle`.
    pub idle_samples: u32,
    /// CPU % at or below which a sample counts as underused.
    pub underused_max_percent: f64,
    /// Consecutive underused samples before a machine is `underused`.
    pub underused_samples: u32,
    /// Relative change between consecutive samples that makes a surge or sharp drop.
    pub jump_factor: f64,
    /// Smallest change, in percentage points, of a surge or sharp drop.
    pub min_jump_points: f64,
    /// How long a machine must stay idle or underused before a right-sizing hint.
    pub rightsize_after: Duration,
    /// Metric names holding a machine's CPU utilization in percent.
    pub cpu_metrics: Vec<String>,
    /// Labels naming the machine, the first present wins.
    pub machine_labels: Vec<String>,
}

/// `[alert]`
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertConfig {
    pub notifiers: Vec<NotifierConfig>,
    pub rules: Vec<AlertRule>,
    /// Inhibition rules, besides the built-in one (a failing status check mutes the
    /// instance's other alerts).
    pub inhibit: Vec<InhibitConfig>,
}

/// `[[alert.inhibit]]`: while an alert matching `source` fires, alerts matching
/// `target` (any alert when absent) that share its `equal` labels are not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitConfig {
    pub source: String,
    pub target: Option<String>,
    pub equal: Vec<String>,
}

/// `[[alert.notifier]]`
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierConfig {
    pub name: String,
    /// How long one delivery attempt may take.
    pub timeout: Duration,
    pub kind: NotifierKind,
}

/// `[[alert.rule]]`
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: String,
    /// Series selector (`match` key), e.g. `{domain="cpu"}`; for an event rule, matched
    /// against the event's entity labels, `domain` and `__name__` (the kind).
    pub selector: String,
    /// The event kind the rule alerts on (`event` key); `None`: the rule watches anomalies.
    pub event: Option<String>,
    pub min_score: f64,
    /// How long the anomaly must last before the alert fires (`for` key).
    pub for_duration: Duration,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Names of the notifiers to deliver to; empty means the dashboard only.
    pub notify: Vec<String>,
    pub repeat_interval: Duration,
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first message.
    pub group_wait: Duration,
    /// Least time between two messages of a group whose alerts changed.
    pub group_interval: Duration,
    /// How long an ended anomaly's alert waits before it resolves (flap hysteresis).
    pub resolve_hold: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const NAMES: &'static [&'static str] = &["info", "warning", "critical"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        match name {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// A credential: `Debug` and `Display` print `***`; [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the code that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_prefixes_suffixes_and_middles() {
        assert!(wildcard_match("loop*", "loop0"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("/mnt/*/data", "/mnt/a/data"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXcYYb"));
        assert!(!wildcard_match("ab*ba", "aba"));
        assert!(wildcard_match("eth0", "eth0"));
        assert!(!wildcard_match("eth0", "eth01"));
    }

    #[test]
    fn filters_include_then_exclude() {
        let filter = NameFilter::new(vec!["eth*".into(), "ens*".into()], vec!["eth9".into()]);
        assert!(filter.allows("eth0"));
        assert!(filter.allows("ens5"));
        assert!(!filter.allows("eth9"));
        assert!(!filter.allows("lo"));
        let everything_but_lo = NameFilter::new(vec![], vec!["lo".into()]);
        assert!(everything_but_lo.allows("wlan0"));
        assert!(!everything_but_lo.allows("lo"));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2");
    }
}
