//! Builders shared by the unit tests.

use std::collections::BTreeMap;

use lookout_model::{Explanation, SeriesKey};

use crate::model::{AlertInstance, AlertState, Evidence};

/// A firing alert on metric `name` with these labels.
pub(crate) fn alert_with(fingerprint: &str, name: &str, labels: &[(&str, &str)]) -> AlertInstance {
    AlertInstance {
        fingerprint: fingerprint.into(),
        rule: "r".into(),
        series: SeriesKey::new(name),
        group: "r".into(),
        state: AlertState::Firing,
        severity: "warning".into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: BTreeMap::new(),
        starts_ms: 0,
        ends_ms: None,
        since_ms: 0,
        fired_ms: Some(0),
        resolving_since_ms: None,
        flaps: 0,
        peak_score: 0.95,
        location: None,
        evidence: Evidence {
            at_ms: 0,
            score: 0.95,
            value: 1.0,
            expected_lower: 0.0,
            expected_upper: 0.5,
            explanation: Explanation::default(),
        },
        detected_ms: 0,
        restored: false,
        event: None,
    }
}

/// A firing alert on `cpu` without labels.
pub(crate) fn alert(fingerprint: &str) -> AlertInstance {
    alert_with(fingerprint, "cpu", &[])
}
