//! What an alert says: what (the series in words), where (host/instance), when (start,
//! duration), how bad (score, value against the expected band), why (top detectors and
//! features, and the usage state), and a link to the dashboard view of the series then.
//! An event alert says what the event says instead of how bad and why: its summary,
//! evidence (counts, fields, time span) and raw examples, and links to the event.

use std::fmt::Write as _;

use chrono::SecondsFormat;
use lookout_model::{Domain, SeriesKey};

use crate::event_alerts::{event_how_bad, evidence_line};
use crate::model::{AlertInstance, Notification, NotificationStatus};

/// Alerts listed in full in one message; the rest are counted.
pub const MAX_LISTED: usize = 20;

/// Where a series comes from, for people: its machine label (`instance_id i-0abc`), else
/// its scrape job (`job node`).
pub fn location(identity: &lookout_model::MachineIdentity, series: &SeriesKey) -> Option<String> {
    if let Some((name, value)) = identity.machine_label(&series.labels) {
        return Some(format!("{name} {value}"));
    }
    series.labels.get("job").map(|job| format!("job {job}"))
}

/// Unix ms as RFC 3339 (UTC, seconds).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Percent-encodes a URL query value (RFC 3986 unreserved characters stay).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The dashboard view of the series around the anomaly: from 30 minutes before its start
/// to 30 minutes after its end (or its latest evidence); for an event alert, the event.
pub fn dashboard_link(base: &str, alert: &AlertInstance) -> String {
    if let Some(facts) = &alert.event {
        return format!("{}/#/events?id={}", base.trim_end_matches('/'), facts.id);
    }
    let end = alert
        .ends_ms
        .unwrap_or(alert.evidence.at_ms.max(alert.starts_ms));
    let from = (alert.starts_ms - 30 * 60_000) / 1000;
    let to = (end + 30 * 60_000) / 1000;
    format!(
        "{}/#/series?match={}&from={from}&to={to}",
        base.trim_end_matches('/'),
        encode_component(&alert.series.to_string())
    )
}

/// The series in words: `cpu_utilization (cpu) with cpu="3", host="web-1"`.
pub fn describe_series(series: &SeriesKey) -> String {
    let domain = series
        .labels
        .get("domain")
        .cloned()
        .unwrap_or_else(|| Domain::infer(&series.name).as_str().to_string());
    let labels: Vec<String> = series
        .labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    if labels.is_empty() {
        format!("{} ({domain})", series.name)
    } else {
        format!("{} ({domain}) with {}", series.name, labels.join(", "))
    }
}

/// A duration in words, to the second: `1h 2m 3s`.
pub fn human_duration(duration: std::time::Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(duration.as_secs())).to_string()
}

fn number(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if value.abs() >= 1e6 || (value != 0.0 && value.abs() < 1e-3) {
        format!("{value:.3e}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// How bad: score, severity and value against the expected band.
pub fn how_bad(alert: &AlertInstance) -> String {
    let e = &alert.evidence;
    let mut text = format!("score {:.3} ({})", alert.peak_score, alert.severity);
    if e.value.is_finite() && e.expected_lower.is_finite() && e.expected_upper.is_finite() {
        let _ = write!(
            text,
            "; value {} vs expected {}..{}",
            number(e.value),
            number(e.expected_lower),
            number(e.expected_upper)
        );
    }
    text
}

/// The usage state implied by the value against its band (surge above, sharp drop below).
pub fn usage_state(alert: &AlertInstance) -> Option<&'static str> {
    let e = &alert.evidence;
    let named = e.explanation.detectors.iter().find_map(|d| {
        let name = d.detector.to_ascii_lowercase();
        ["idle", "underused", "surge", "sharp_drop"]
            .into_iter()
            .find(|state| name.contains(state))
    });
    if named.is_some() {
        return named;
    }
    if !(e.value.is_finite() && e.expected_upper.is_finite() && e.expected_lower.is_finite()) {
        return None;
    }
    if e.value > e.expected_upper {
        Some("surge")
    } else if e.value < e.expected_lower {
        Some("sharp_drop")
    } else {
        None
    }
}

/// Why: the detectors that fired (else the three most confident) and the top features.
pub fn why(alert: &AlertInstance) -> String {
    let explanation = &alert.evidence.explanation;
    let fired: Vec<_> = explanation.detectors.iter().filter(|d| d.fired).collect();
    let chosen: Vec<_> = if fired.is_empty() {
        explanation.detectors.iter().take(3).collect()
    } else {
        fired
    };
    let mut parts: Vec<String> = chosen
        .iter()
        .map(|d| format!("{} ({:.3})", d.detector, d.likelihood))
        .collect();
    let features: Vec<String> = explanation
        .features
        .iter()
        .take(3)
        .map(|f| format!("{} {:.0}%", f.feature, f.share * 100.0))
        .collect();
    if !features.is_empty() {
        parts.push(format!("features: {}", features.join(", ")));
    }
    if let Some(state) = usage_state(alert) {
        parts.push(format!("usage state: {state}"));
    }
    if parts.is_empty() {
        "no detector breakdown recorded".into()
    } else {
        parts.join("; ")
    }
}

/// One alert as a few lines of text.
pub fn alert_text(alert: &AlertInstance, dashboard: &str, now_ms: i64) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "- What: {}", describe_series(&alert.series));
    if let Some(place) = &alert.location {
        let _ = writeln!(text, "  Where: {place}");
    }
    let end = alert.ends_ms.unwrap_or(now_ms);
    let ended = match alert.ends_ms {
        Some(ends) => format!(", ended {}", rfc3339(ends)),
        None => String::new(),
    };
    let _ = writeln!(
        text,
        "  When: since {} ({}){ended}",
        rfc3339(alert.starts_ms),
        human_duration(std::time::Duration::from_millis(
            (end - alert.starts_ms).max(0) as u64
        ))
    );
    match &alert.event {
        Some(facts) => {
            let _ = writeln!(text, "  How bad: {}", event_how_bad(facts, &alert.severity));
            let _ = writeln!(text, "  Event: #{} {}", facts.id, facts.summary);
            let _ = writeln!(text, "  Evidence: {}", evidence_line(&facts.evidence));
            for example in &facts.evidence.examples {
                let _ = writeln!(text, "    | {example}");
            }
        }
        None => {
            let _ = writeln!(text, "  How bad: {}", how_bad(alert));
            let _ = writeln!(text, "  Why: {}", why(alert));
        }
    }
    for (name, value) in &alert.annotations {
        let _ = writeln!(text, "  {name}: {value}");
    }
    let _ = writeln!(text, "  Dashboard: {}", dashboard_link(dashboard, alert));
    text
}

/// A one-line subject: `[FIRING:3] cpu-high host=web-1`.
pub fn subject(notification: &Notification) -> String {
    let (word, count) = match notification.status {
        NotificationStatus::Firing => ("FIRING", notification.firing.len()),
        NotificationStatus::Resolved => ("RESOLVED", notification.resolved.len()),
    };
    let mut text = format!("[{word}:{count}] {}", notification.rule);
    for (name, value) in &notification.group_labels {
        let _ = write!(text, " {name}={value}");
    }
    if notification.test {
        text.insert_str(0, "[TEST] ");
    }
    text
}

/// The whole message as plain text (email body, SNS message, Slack text).
pub fn body(notification: &Notification) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{}\n", subject(notification));
    if notification.test {
        let _ = writeln!(
            text,
            "This is a test message sent by `lookout alert test`; no incident is happening.\n"
        );
    }
    let now = notification.created_ms;
    let mut listed = 0;
    for (title, alerts) in [
        ("Firing", &notification.firing),
        ("Resolved", &notification.resolved),
    ] {
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(text, "{title} ({}):", alerts.len());
        for alert in alerts.iter() {
            if listed == MAX_LISTED {
                break;
            }
            text.push_str(&alert_text(alert, &notification.dashboard, now));
            listed += 1;
        }
    }
    let total = notification.firing.len() + notification.resolved.len();
    if total > listed {
        let _ = writeln!(
            text,
            "... and {} more alerts in this group.",
            total - listed
        );
    }
    let _ = writeln!(text, "\nMessage id: {}", notification.id);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert_with;
    use lookout_model::{DetectorContribution, FeatureContribution};

    #[test]
    fn links_encode_the_series_and_frame_the_incident() {
        let mut alert = alert_with("f", "cpu", &[("host", "web 1")]);
        alert.series = SeriesKey::new("cpu").with_label("host", "web 1");
        alert.starts_ms = 3_600_000;
        alert.ends_ms = Some(7_200_000);
        let link = dashboard_link("http://127.0.0.1:8080/", &alert);
        assert_eq!(
            link,
            "http://127.0.0.1:8080/#/series?match=cpu%7Bhost%3D%22web%201%22%7D&from=1800&to=9000"
        );
    }

    #[test]
    fn an_event_alert_carries_the_summary_evidence_and_examples() {
        use crate::event_alerts::EventFacts;
        use lookout_model::{Event, EventId, EventRecord, Severity};
        let mut alert = alert_with("f", "ssh_bruteforce", &[]);
        alert.series = SeriesKey::new("ssh_bruteforce").with_label("host", "web-1");
        let record = EventRecord {
            id: EventId(12),
            event: Event::new(0, "ssh_bruteforce", Domain::Login, Severity::Warning)
                .with_summary("37 failed logins from 203.0.113.9")
                .with_count("failures", 37)
                .with_example("Failed password for root from 203.0.113.9"),
        };
        alert.event = Some(EventFacts::new(&record, 0));
        let text = alert_text(&alert, "http://h:1", 60_000);
        for expected in [
            "What: ssh_bruteforce (login) with host=\"web-1\"",
            "How bad: warning ssh_bruteforce event",
            "Event: #12 37 failed logins from 203.0.113.9",
            "Evidence: failures=37",
            "| Failed password for root from 203.0.113.9",
            "Dashboard: http://h:1/#/events?id=12",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("Why:"), "{text}");
    }

    #[test]
    fn text_answers_what_where_when_how_bad_and_why() {
        let mut alert = alert_with("f", "cpu", &[]);
        alert.series = SeriesKey::new("cpu_utilization").with_label("host", "web-1");
        alert.location = location(&lookout_model::MachineIdentity::default(), &alert.series);
        alert.starts_ms = 0;
        alert.evidence.value = 97.0;
        alert.evidence.expected_lower = 10.0;
        alert.evidence.expected_upper = 40.0;
        alert.evidence.explanation.detectors = vec![DetectorContribution {
            detector: "mad".into(),
            raw: 9.0,
            likelihood: 0.999,
            fired: true,
        }];
        alert.evidence.explanation.features = vec![FeatureContribution {
            feature: "user".into(),
            share: 0.8,
        }];
        alert
            .annotations
            .insert("runbook".into(), "https://wiki/cpu".into());
        let text = alert_text(&alert, "http://h:1", 90_000);
        for expected in [
            "What: cpu_utilization (cpu) with host=\"web-1\"",
            "Where: host web-1",
            "When: since 1970-01-01T00:00:00Z (1m 30s)",
            "How bad: score 0.950 (warning); value 97 vs expected 10..40",
            "Why: mad (0.999); features: user 80%; usage state: surge",
            "runbook: https://wiki/cpu",
            "Dashboard: http://h:1/#/series?match=",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
