//! Sample alerts for `lookout alert test RULE`: a message shaped like a real one, marked
//! as a test, sent straight to the rule's notifiers (not through the outbox).

use lookout_model::{DetectorContribution, Explanation, SeriesKey};
use lookout_protocol::selector::MatchOp;

use crate::model::{
    fingerprint, stable_id, AlertInstance, AlertState, Evidence, Notification, NotificationStatus,
};
use crate::notify::{DeliveryError, Notifier};
use crate::rules::CompiledRule;

/// A series the rule would match: its equality matchers, else a placeholder name.
fn sample_series(rule: &CompiledRule) -> SeriesKey {
    let mut series = SeriesKey::new("lookout_test_metric");
    for matcher in rule.selector.matchers() {
        if matcher.op() != MatchOp::Equal {
            continue;
        }
        if matcher.name() == "__name__" {
            series.name = matcher.value().to_string();
        } else {
            series
                .labels
                .insert(matcher.name().to_string(), matcher.value().to_string());
        }
    }
    series
        .labels
        .entry("host".into())
        .or_insert_with(|| "lookout-test".into());
    series
}

/// A test notification for `rule`, as of `now_ms`.
pub fn sample_notification(rule: &CompiledRule, dashboard: &str, now_ms: i64) -> Notification {
    let series = sample_series(rule);
    let starts_ms = now_ms - 120_000;
    let score = rule.min_score.max(0.95);
    let severity = rule.severity_for(score);
    let mut annotations = rule.annotations.clone();
    annotations.insert(
        "test".into(),
        "sent by `lookout alert test`; not a real incident".into(),
    );
    let alert = AlertInstance {
        fingerprint: fingerprint(&rule.name, &series, starts_ms),
        rule: rule.name.clone(),
        group: rule.group_key(&series),
        state: AlertState::Firing,
        severity: severity.as_str().into(),
        labels: rule.alert_labels(&series, severity),
        annotations,
        starts_ms,
        ends_ms: None,
        since_ms: now_ms,
        fired_ms: Some(now_ms),
        resolving_since_ms: None,
        flaps: 0,
        peak_score: score,
        location: crate::content::location(&lookout_model::MachineIdentity::default(), &series),
        evidence: Evidence {
            at_ms: now_ms,
            score,
            value: 97.5,
            expected_lower: 12.0,
            expected_upper: 41.0,
            explanation: Explanation {
                detectors: vec![DetectorContribution {
                    detector: "test".into(),
                    raw: 1.0,
                    likelihood: score,
                    fired: true,
                }],
                features: vec![],
            },
        },
        detected_ms: now_ms,
        restored: false,
        event: None,
        series,
    };
    Notification {
        id: stable_id(&["test", &rule.name, &now_ms.to_string()]),
        rule: rule.name.clone(),
        group: alert.group.clone(),
        group_labels: rule.group_labels(&alert.series),
        status: NotificationStatus::Firing,
        firing: vec![alert],
        resolved: vec![],
        created_ms: now_ms,
        // Short-lived in Alertmanager: the test alert resolves by itself after 5 minutes.
        valid_for_ms: 300_000,
        dashboard: dashboard.to_string(),
        test: true,
    }
}

/// Sends `notification` to each notifier once; the result of each, in order.
pub async fn send_to_all(
    notification: &Notification,
    notifiers: &[Notifier],
) -> Vec<(String, Result<(), DeliveryError>)> {
    let mut results = Vec::new();
    for notifier in notifiers {
        results.push((notifier.name.clone(), notifier.deliver(notification).await));
    }
    results
}
