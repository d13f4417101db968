//! The data alerting works on: anomaly events in, alert instances, notifications out.

use std::collections::BTreeMap;

use lookout_model::{Domain, Explanation, SeriesKey};
use serde::{Deserialize, Serialize};

/// What happened to an anomaly record (the server's anomaly tracker emits these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An anomaly opened.
    Open,
    /// Its peak score rose (or it was first seen mid-way, e.g. after a restart).
    Update,
    /// It ended.
    Close,
}

/// One change of one anomaly, with what an alert needs to say about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyEvent {
    pub kind: EventKind,
    pub series: SeriesKey,
    /// Start of the anomaly (sample time, unix ms); identifies it with the series.
    pub start_ms: i64,
    /// Time of the sample that caused the event (unix ms); the end time for `Close`.
    pub at_ms: i64,
    /// Score of that sample (the peak for `Open`/`Update`).
    pub score: f64,
    pub value: f64,
    pub expected_lower: f64,
    pub expected_upper: f64,
    pub explanation: Explanation,
    /// Wall-clock time the server produced the event (unix ms), for latency figures.
    pub detected_ms: i64,
}

impl AnomalyEvent {
    /// A `Close` event: only the series and times matter.
    pub fn close(series: SeriesKey, start_ms: i64, end_ms: i64, detected_ms: i64) -> Self {
        AnomalyEvent {
            kind: EventKind::Close,
            series,
            start_ms,
            at_ms: end_ms,
            score: 0.0,
            value: f64::NAN,
            expected_lower: f64::NAN,
            expected_upper: f64::NAN,
            explanation: Explanation::default(),
            detected_ms,
        }
    }
}

/// The labels a series is matched on: its own, `__name__`, and `domain` when it has none
/// (inferred from the metric name, the way lookout records anomalies).
pub fn match_key(series: &SeriesKey) -> SeriesKey {
    let mut key = series.clone();
    key.labels
        .entry("domain".to_string())
        .or_insert_with(|| Domain::infer(&series.name).as_str().to_string());
    key
}

/// Where an alert instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Matched, waiting for the rule's `for` duration.
    Pending,
    Firing,
    /// The anomaly closed; the alert resolves unless it reopens within the hold time.
    Resolving,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolving => "resolving",
            AlertState::Resolved => "resolved",
        }
    }
}

/// The latest facts about the anomaly behind an alert, for its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub at_ms: i64,
    pub score: f64,
    /// NaN when unknown (an event alert has no value or band); stored as JSON `null`.
    #[serde(deserialize_with = "null_as_nan")]
    pub value: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub expected_lower: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub expected_upper: f64,
    pub explanation: Explanation,
}

/// JSON has no NaN: `serde_json` writes it as `null`, read back here as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// One alert: one rule × one series × one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInstance {
    /// Stable id: rule, series and the incident's start. Receivers de-duplicate on it.
    pub fingerprint: String,
    pub rule: String,
    pub series: SeriesKey,
    /// Group key within the rule (`rule` + the `group_by` label values).
    pub group: String,
    pub state: AlertState,
    pub severity: String,
    /// Alert labels: the series' labels, `alertname`, `severity`, the rule's labels.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Start of the incident (sample time, unix ms).
    pub starts_ms: i64,
    /// End of the incident (sample time), once closed.
    pub ends_ms: Option<i64>,
    /// Wall-clock times of the transitions (unix ms).
    pub since_ms: i64,
    pub fired_ms: Option<i64>,
    pub resolving_since_ms: Option<i64>,
    /// How many times the anomaly closed and reopened while the alert lived.
    pub flaps: u32,
    pub peak_score: f64,
    /// Where the anomaly is, for people (`instance_id i-0abc`): the series' machine
    /// label, else its scrape job; fixed when the alert opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The peak verdict's facts.
    pub evidence: Evidence,
    /// Wall-clock time of the anomaly event that made it fire (latency figures).
    pub detected_ms: i64,
    /// Restored from disk and not yet confirmed by a new event.
    #[serde(default)]
    pub restored: bool,
    /// The event behind an event rule's alert; `None` for an anomaly alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<crate::event_alerts::EventFacts>,
}

/// Whether a notification announces firing alerts or only resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Firing,
    Resolved,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Firing => "firing",
            NotificationStatus::Resolved => "resolved",
        }
    }
}

/// One message about one group, sent to each of the rule's notifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable id (group, sequence number): the same message always carries the same id,
    /// so a receiver can drop a duplicate sent again after a crash.
    pub id: String,
    pub rule: String,
    pub group: String,
    /// The `group_by` labels and their values.
    pub group_labels: BTreeMap<String, String>,
    pub status: NotificationStatus,
    pub firing: Vec<AlertInstance>,
    pub resolved: Vec<AlertInstance>,
    /// Wall-clock creation time (unix ms).
    pub created_ms: i64,
    /// How long the receiver should consider firing alerts active without news (ms);
    /// Alertmanager's `endsAt` is set this far ahead.
    pub valid_for_ms: i64,
    /// Dashboard base URL, e.g. `http://127.0.0.1:8080`.
    pub dashboard: String,
    /// A test message (`lookout alert test`), not a real incident.
    #[serde(default)]
    pub test: bool,
}

/// FNV-1a 64-bit over parts separated by a byte that never occurs in text; stable
/// between runs and builds, so fingerprints survive restarts.
pub fn stable_id(parts: &[&str]) -> String {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for byte in part.as_bytes().iter().chain(&[0xffu8]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The fingerprint of the alert of `rule` on `series` for the incident starting at `starts_ms`.
pub fn fingerprint(rule: &str, series: &SeriesKey, starts_ms: i64) -> String {
    stable_id(&[rule, &series.to_string(), &starts_ms.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let series = SeriesKey::new("cpu").with_label("host", "a");
        let first = fingerprint("high", &series, 10);
        assert_eq!(first, fingerprint("high", &series, 10));
        assert_ne!(first, fingerprint("high", &series, 11));
        assert_ne!(first, fingerprint("other", &series, 10));
        // Part boundaries matter: ("ab","c") differs from ("a","bc").
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
        assert_eq!(first.len(), 16);
    }

    #[test]
    fn unknown_evidence_values_survive_json() {
        let evidence = Evidence {
            at_ms: 1,
            score: 0.5,
            value: f64::NAN,
            expected_lower: 1.0,
            expected_upper: f64::NAN,
            explanation: Explanation::default(),
        };
        let text = serde_json::to_string(&evidence).unwrap();
        let back: Evidence = serde_json::from_str(&text).unwrap();
        assert!(back.value.is_nan() && back.expected_upper.is_nan());
        assert_eq!(back.expected_lower, 1.0);
    }

    #[test]
    fn match_key_adds_an_inferred_domain_only_when_missing() {
        let inferred = match_key(&SeriesKey::new("node_load1"));
        assert_eq!(inferred.labels["domain"], "cpu");
        let explicit = match_key(&SeriesKey::new("node_load1").with_label("domain", "custom"));
        assert_eq!(explicit.labels["domain"], "custom");
    }
}
