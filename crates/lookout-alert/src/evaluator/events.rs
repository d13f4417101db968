//! The evaluator's side of event rules (see [`crate::event_alerts`]): an event fires or
//! updates the alert of each matching rule × entity; the tick resolves it `resolve_hold`
//! after its last event. Grouping, silences, inhibition and the outbox are the anomaly
//! alerts' own.

use lookout_model::EventRecord;

use super::{fire, history, slot, Evaluator};
use crate::event_alerts::{config_severity, event_key, event_match_key, EventFacts};
use crate::model::{fingerprint, AlertInstance, AlertState, Evidence};
use crate::rules::CompiledRule;

impl Evaluator {
    /// Applies one stored event to the event rules of its kind.
    pub fn handle_event(&mut self, record: &EventRecord, now_ms: i64) {
        let key = event_key(&record.event);
        let match_key = event_match_key(&record.event);
        let key_text = key.to_string();
        for index in 0..self.rules.len() {
            let rule = &self.rules[index];
            if rule.event.as_deref() != Some(record.event.kind.as_str())
                || !rule.selector.matches(&match_key)
            {
                continue;
            }
            if record
                .event
                .score
                .is_some_and(|score| score < rule.min_score)
            {
                continue;
            }
            let slot = slot(&rule.name, &key_text);
            if self.alerts.contains_key(&slot) {
                self.event_again(index, slot, record, now_ms);
                continue;
            }
            let severity = severity(rule, record, None);
            let mut alert = AlertInstance {
                fingerprint: fingerprint(&rule.name, &key, record.event.timestamp_ms),
                rule: rule.name.clone(),
                series: key.clone(),
                group: rule.group_key(&key),
                state: AlertState::Pending,
                severity: severity.as_str().into(),
                labels: labels(rule, record, severity),
                annotations: annotations(rule, record),
                starts_ms: record.event.timestamp_ms,
                ends_ms: None,
                since_ms: now_ms,
                fired_ms: None,
                resolving_since_ms: None,
                flaps: 0,
                peak_score: record.event.score.unwrap_or(0.0),
                location: crate::content::location(&self.options.machine_identity, &key),
                evidence: evidence(record),
                detected_ms: now_ms,
                restored: false,
                event: Some(EventFacts::new(record, now_ms)),
            };
            history(
                &mut self.changes,
                &alert,
                now_ms,
                "pending",
                format!("event {}", record.id),
            );
            fire(&mut alert, now_ms, &mut self.changes);
            self.insert_alert(index, slot, alert, now_ms);
        }
    }

    /// A later event on an entity that already has an alert: it takes the new facts.
    fn event_again(&mut self, index: usize, slot: String, record: &EventRecord, now_ms: i64) {
        let rule = &self.rules[index];
        let Some(alert) = self.alerts.get_mut(&slot) else {
            return;
        };
        match alert.event.as_mut() {
            Some(facts) => facts.update(record, now_ms),
            None => alert.event = Some(EventFacts::new(record, now_ms)),
        }
        alert.restored = false;
        if alert.state == AlertState::Resolving {
            alert.state = AlertState::Firing;
            alert.resolving_since_ms = None;
            alert.ends_ms = None;
        }
        let severity = severity(
            rule,
            record,
            lookout_config::Severity::parse(&alert.severity),
        );
        alert.severity = severity.as_str().into();
        alert.labels = labels(rule, record, severity);
        alert.annotations = annotations(rule, record);
        alert.peak_score = alert.peak_score.max(record.event.score.unwrap_or(0.0));
        alert.evidence = evidence(record);
        history(
            &mut self.changes,
            alert,
            now_ms,
            "event",
            format!("event {}", record.id),
        );
        self.dirty_alerts.insert(slot);
    }
}

/// The highest of the rule's severity, the event's and the alert's so far.
fn severity(
    rule: &CompiledRule,
    record: &EventRecord,
    so_far: Option<lookout_config::Severity>,
) -> lookout_config::Severity {
    let mut severity = rule.severity.max(config_severity(record.event.severity));
    if let Some(so_far) = so_far {
        severity = severity.max(so_far);
    }
    severity
}

/// The alert's labels: entity, `domain`, `event` (the kind), `alertname`, `severity`, the rule's.
fn labels(
    rule: &CompiledRule,
    record: &EventRecord,
    severity: lookout_config::Severity,
) -> std::collections::BTreeMap<String, String> {
    let mut labels = rule.alert_labels(&event_key(&record.event), severity);
    labels.remove("metric");
    labels.insert("event".into(), record.event.kind.clone());
    labels
}

/// The rule's annotations, with the event's summary unless the rule sets one.
fn annotations(
    rule: &CompiledRule,
    record: &EventRecord,
) -> std::collections::BTreeMap<String, String> {
    let mut annotations = rule.annotations.clone();
    if !record.event.summary.is_empty() {
        annotations
            .entry("summary".into())
            .or_insert_with(|| record.event.summary.clone());
    }
    annotations
}

fn evidence(record: &EventRecord) -> Evidence {
    Evidence {
        at_ms: record.event.timestamp_ms,
        score: record.event.score.unwrap_or(0.0),
        value: f64::NAN,
        expected_lower: f64::NAN,
        expected_upper: f64::NAN,
        explanation: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use lookout_config::{AlertRule, Severity as RuleSeverity};
    use lookout_model::{Domain, Event, EventId, Severity};

    use super::*;
    use crate::evaluator::EvaluatorOptions;
    use crate::model::NotificationStatus;
    use crate::silence::Silence;

    fn rule(kind: &str, selector: &str) -> CompiledRule {
        CompiledRule::compile(&AlertRule {
            name: "ssh".into(),
            selector: selector.into(),
            event: Some(kind.into()),
            min_score: 0.0,
            for_duration: Duration::ZERO,
            severity: RuleSeverity::Warning,
            labels: BTreeMap::from([("team".into(), "sec".into())]),
            annotations: BTreeMap::new(),
            notify: vec!["am".into()],
            repeat_interval: Duration::from_secs(3600),
            group_by: vec!["host".into()],
            group_wait: Duration::from_millis(100),
            group_interval: Duration::from_millis(1_000),
            resolve_hold: Duration::from_millis(5_000),
        })
        .unwrap()
    }

    fn evaluator(rule: CompiledRule) -> Evaluator {
        Evaluator::new(vec![rule], vec![], EvaluatorOptions::default())
    }

    fn brute_force(id: i64, host: &str, severity: Severity) -> EventRecord {
        EventRecord {
            id: EventId(id),
            event: Event::new(1_000 * id, "ssh_bruteforce", Domain::Login, severity)
                .with_entity("host", host)
                .with_summary(format!("failed logins on {host}"))
                .with_count("failures", 37)
                .with_example("Failed password for root"),
        }
    }

    #[test]
    fn an_event_fires_at_once_and_resolves_after_the_hold_since_the_last_one() {
        let mut ev = evaluator(rule("ssh_bruteforce", r#"{host=~"web-.*"}"#));
        ev.handle_event(&brute_force(1, "web-1", Severity::Warning), 0);
        ev.handle_event(&brute_force(2, "db-1", Severity::Warning), 0);
        assert_eq!(ev.alert_count(), 1, "db-1 is not matched");
        ev.tick(200);
        let changes = ev.take_changes();
        let sent = &changes.outgoing[0].notification;
        assert_eq!(sent.status, NotificationStatus::Firing);
        let alert = &sent.firing[0];
        assert_eq!(alert.labels["event"], "ssh_bruteforce");
        assert_eq!(alert.labels["alertname"], "ssh");
        assert_eq!(alert.labels["host"], "web-1");
        assert_eq!(alert.labels["domain"], "login");
        assert_eq!(alert.labels["team"], "sec");
        assert!(!alert.labels.contains_key("metric"));
        assert_eq!(alert.annotations["summary"], "failed logins on web-1");
        let facts = alert.event.as_ref().unwrap();
        assert_eq!(facts.id, EventId(1));
        assert_eq!(facts.evidence.counts["failures"], 37);

        // A later, critical event on the same host: the same alert, raised and counted.
        ev.handle_event(&brute_force(3, "web-1", Severity::Critical), 4_000);
        assert_eq!(ev.alert_count(), 1);
        let alert = ev.alerts().next().unwrap();
        assert_eq!(alert.severity, "critical");
        assert_eq!(alert.event.as_ref().unwrap().count, 2);
        assert_eq!(alert.event.as_ref().unwrap().id, EventId(3));

        ev.tick(8_999);
        assert_eq!(ev.alert_count(), 1, "the hold counts from the last event");
        ev.tick(9_000);
        assert_eq!(ev.alert_count(), 0);
        ev.tick(10_000);
        let changes = ev.take_changes();
        let resolved = changes
            .outgoing
            .iter()
            .find(|out| out.notification.status == NotificationStatus::Resolved)
            .expect("a resolution is sent");
        assert_eq!(resolved.notification.resolved[0].ends_ms, Some(3_000));
    }

    #[test]
    fn anomaly_rules_ignore_events_and_event_rules_ignore_other_kinds_and_low_scores() {
        let mut ev = evaluator(rule("syn_flood", r#"{__name__="syn_flood"}"#));
        ev.handle_event(&brute_force(1, "web-1", Severity::Critical), 0);
        assert_eq!(ev.alert_count(), 0);

        let mut strict = rule("ssh_bruteforce", r#"{severity="critical"}"#).rule;
        strict.min_score = 0.8;
        let mut ev = evaluator(CompiledRule::compile(&strict).unwrap());
        ev.handle_event(&brute_force(1, "web-1", Severity::Warning), 0);
        assert_eq!(ev.alert_count(), 0, "the selector sees the severity");
        let mut low = brute_force(2, "web-1", Severity::Critical);
        low.event.score = Some(0.5);
        ev.handle_event(&low, 0);
        assert_eq!(ev.alert_count(), 0, "below min_score");
        ev.handle_event(&brute_force(3, "web-1", Severity::Critical), 0);
        assert_eq!(ev.alert_count(), 1, "no score: always passes");
    }

    #[test]
    fn a_silence_on_the_entity_mutes_the_event_alert() {
        let mut ev = evaluator(rule("ssh_bruteforce", r#"{host=~"web-.*"}"#));
        ev.silences_mut()
            .upsert(Silence {
                id: 1,
                matchers: r#"{event="ssh_bruteforce",host="web-1"}"#.into(),
                starts_ms: 0,
                ends_ms: 1_000_000,
                every_ms: None,
                author: "a".into(),
                comment: "known scanner".into(),
                created_ms: 0,
                expired_ms: None,
                created_by: String::new(),
            })
            .unwrap();
        ev.handle_event(&brute_force(1, "web-1", Severity::Warning), 0);
        ev.handle_event(&brute_force(2, "web-2", Severity::Warning), 0);
        ev.tick(200);
        let changes = ev.take_changes();
        let firing: Vec<&str> = changes
            .outgoing
            .iter()
            .flat_map(|out| &out.notification.firing)
            .map(|alert| alert.labels["host"].as_str())
            .collect();
        assert_eq!(firing, ["web-2"]);
    }
}
