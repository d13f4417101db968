//! Alerts on events: what an event rule matches and what its alert carries.
//!
//! A rule with `event = "<kind>"` watches events of that kind instead of anomalies. An
//! event is an alert's "series" named after its kind whose labels are the event's entity
//! labels plus `domain` ([`event_key`]); the rule's selector also sees its `severity`
//! ([`event_match_key`]). So the same selectors, group keys, silences and inhibition
//! rules apply to anomaly and event alerts alike. One alert lives per rule × entity: it fires when the first matching event
//! arrives (events have no duration, so no `for`), later events on the entity update it
//! (evidence, count, a higher severity), and it resolves `resolve_hold` after the last
//! one. The alert keeps the latest event's summary and evidence ([`EventFacts`]), which
//! every notifier shows (Alertmanager annotations, webhook JSON, email, SNS and Slack text).
//!
//! Cost: per event, one kind comparison per rule and one selector run per rule of that
//! kind; the facts add the event's bounded evidence (see `EventLimits`) to the alert.

use std::fmt::Write as _;

use lookout_model::{Domain, Event, EventId, EventRecord, Evidence, Labels, SeriesKey, Severity};
use serde::{Deserialize, Serialize};

/// The event behind an event alert: the latest one, and how many were seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFacts {
    /// Id of the latest event in the store (`GET /api/v1/events/{id}`).
    pub id: EventId,
    pub kind: String,
    pub domain: Domain,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub entity: Labels,
    pub summary: String,
    pub evidence: Evidence,
    /// Events that matched this alert while it lived.
    pub count: u64,
    /// Time of the latest event (unix ms).
    pub last_ms: i64,
    /// Wall-clock time the latest event reached alerting (unix ms); the resolve hold
    /// counts from here.
    pub last_seen_ms: i64,
}

impl EventFacts {
    pub fn new(record: &EventRecord, now_ms: i64) -> EventFacts {
        let event = &record.event;
        EventFacts {
            id: record.id,
            kind: event.kind.clone(),
            domain: event.domain,
            severity: event.severity,
            score: event.score,
            entity: event.entity.clone(),
            summary: event.summary.clone(),
            evidence: event.evidence.clone(),
            count: 1,
            last_ms: event.timestamp_ms,
            last_seen_ms: now_ms,
        }
    }

    /// Takes a later event on the same entity: its facts, one more in the count.
    pub fn update(&mut self, record: &EventRecord, now_ms: i64) {
        let count = self.count + 1;
        *self = EventFacts::new(record, now_ms);
        self.count = count;
    }
}

/// The key of an event's alert (one alert per rule × key): named after its kind,
/// labelled with its entity plus `domain` (the entity's own label wins).
pub fn event_key(event: &Event) -> SeriesKey {
    let mut key = SeriesKey::new(event.kind.clone());
    key.labels = event.entity.clone();
    key.labels
        .entry("domain".into())
        .or_insert_with(|| event.domain.as_str().into());
    key
}

/// What a rule's selector sees of an event: [`event_key`] plus `severity`.
pub fn event_match_key(event: &Event) -> SeriesKey {
    let mut key = event_key(event);
    key.labels
        .entry("severity".into())
        .or_insert_with(|| event.severity.as_str().into());
    key
}

/// The configuration's severity of an event's severity.
pub fn config_severity(severity: Severity) -> lookout_config::Severity {
    match severity {
        Severity::Info => lookout_config::Severity::Info,
        Severity::Warning => lookout_config::Severity::Warning,
        Severity::Critical => lookout_config::Severity::Critical,
    }
}

/// How bad, for an event alert: severity, score when there is one, how many events.
pub fn event_how_bad(facts: &EventFacts, alert_severity: &str) -> String {
    let mut text = format!("{alert_severity} {} event", facts.kind);
    if let Some(score) = facts.score {
        let _ = write!(text, ", score {score:.3}");
    }
    if facts.count > 1 {
        let _ = write!(text, "; {} events on this entity", facts.count);
    }
    text
}

/// The evidence in one line: counts, fields, the time span and how many examples.
pub fn evidence_line(evidence: &Evidence) -> String {
    let mut parts: Vec<String> = evidence
        .counts
        .iter()
        .map(|(name, count)| format!("{name}={count}"))
        .chain(
            evidence
                .fields
                .iter()
                .map(|(name, value)| format!("{name}={value:?}")),
        )
        .collect();
    if let (Some(first), Some(last)) = (evidence.first_ms, evidence.last_ms) {
        parts.push(format!(
            "from {} to {}",
            crate::content::rfc3339(first),
            crate::content::rfc3339(last)
        ));
    }
    if parts.is_empty() {
        "no structured evidence".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> EventRecord {
        EventRecord {
            id: EventId(7),
            event: Event::new(1_000, "ssh_bruteforce", Domain::Login, Severity::Warning)
                .with_entity("host", "web-1")
                .with_summary("37 failed logins")
                .with_count("failures", 37)
                .with_field("users_tried", "root,admin"),
        }
    }

    #[test]
    fn the_key_is_the_kind_with_entity_and_domain_and_rules_see_the_severity() {
        assert_eq!(
            event_key(&record().event).to_string(),
            r#"ssh_bruteforce{domain="login",host="web-1"}"#
        );
        assert_eq!(
            event_match_key(&record().event).to_string(),
            r#"ssh_bruteforce{domain="login",host="web-1",severity="warning"}"#
        );
    }

    #[test]
    fn facts_follow_the_latest_event_and_count_them() {
        let mut facts = EventFacts::new(&record(), 5);
        let mut later = record();
        later.id = EventId(8);
        later.event.timestamp_ms = 2_000;
        later.event.summary = "80 failed logins".into();
        facts.update(&later, 9);
        assert_eq!(facts.id, EventId(8));
        assert_eq!(facts.count, 2);
        assert_eq!(facts.summary, "80 failed logins");
        assert_eq!((facts.last_ms, facts.last_seen_ms), (2_000, 9));
        assert_eq!(
            event_how_bad(&facts, "warning"),
            "warning ssh_bruteforce event; 2 events on this entity"
        );
        assert_eq!(
            evidence_line(&facts.evidence),
            "failures=37, users_tried=\"root,admin\""
        );
    }
}
