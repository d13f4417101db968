use std::collections::BTreeMap;
use std::time::Duration;

use lookout_config::{AlertRule, Severity};
use lookout_model::{Explanation, SeriesKey};
use proptest::prelude::*;

use super::*;
use crate::model::{AnomalyEvent, EventKind};
use crate::silence::Silence;

fn rule(for_ms: u64, repeat_ms: u64) -> CompiledRule {
    CompiledRule::compile(&AlertRule {
        name: "cpu-high".into(),
        selector: r#"{domain="cpu"}"#.into(),
        event: None,
        min_score: 0.9,
        for_duration: Duration::from_millis(for_ms),
        severity: Severity::Warning,
        labels: BTreeMap::new(),
        annotations: BTreeMap::from([("summary".into(), "CPU anomaly".into())]),
        notify: vec!["hook".into()],
        repeat_interval: Duration::from_millis(repeat_ms),
        group_by: vec!["host".into()],
        group_wait: Duration::from_millis(100),
        group_interval: Duration::from_millis(1_000),
        resolve_hold: Duration::from_millis(500),
    })
    .unwrap()
}

fn options() -> EvaluatorOptions {
    EvaluatorOptions {
        restore_grace: Duration::from_millis(5_000),
        dashboard: "http://127.0.0.1:8080".into(),
        machine_identity: lookout_model::MachineIdentity::default(),
    }
}

fn evaluator(rule: CompiledRule) -> Evaluator {
    Evaluator::new(vec![rule], vec![], options())
}

fn series(host: &str, core: usize) -> SeriesKey {
    SeriesKey::new("cpu_utilization")
        .with_label("host", host)
        .with_label("cpu", core.to_string())
}

fn event(
    kind: EventKind,
    series: &SeriesKey,
    start_ms: i64,
    at_ms: i64,
    score: f64,
) -> AnomalyEvent {
    AnomalyEvent {
        kind,
        series: series.clone(),
        start_ms,
        at_ms,
        score,
        value: 97.0,
        expected_lower: 10.0,
        expected_upper: 40.0,
        explanation: Explanation::default(),
        detected_ms: at_ms,
    }
}

fn open(series: &SeriesKey, at_ms: i64, score: f64) -> AnomalyEvent {
    event(EventKind::Open, series, at_ms, at_ms, score)
}

fn close(series: &SeriesKey, start_ms: i64, at_ms: i64) -> AnomalyEvent {
    event(EventKind::Close, series, start_ms, at_ms, 0.0)
}

/// Ticks every 10 ms from `from` to `to` and collects the notifications.
fn run(eval: &mut Evaluator, from: i64, to: i64) -> Vec<Outgoing> {
    let mut out = Vec::new();
    let mut now = from;
    while now <= to {
        eval.tick(now);
        out.extend(eval.take_changes().outgoing);
        now += 10;
    }
    out
}

#[test]
fn an_incident_on_many_series_of_a_host_is_one_message() {
    let mut eval = evaluator(rule(0, 10_000));
    for core in 0..200 {
        eval.handle(
            &open(&series("web-1", core), 1_000, 0.95),
            1_000 + core as i64 / 10,
        );
    }
    let sent = run(&mut eval, 1_000, 1_500);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = &sent[0].notification;
    assert_eq!(message.status, NotificationStatus::Firing);
    assert_eq!(message.firing.len(), 200);
    assert_eq!(message.group_labels["host"], "web-1");
    assert_eq!(sent[0].notifiers, vec!["hook".to_string()]);
    // Still firing: nothing more until the repeat interval, then exactly one repeat with the same alerts.
    assert!(run(&mut eval, 1_510, 11_000).is_empty());
    let repeat = run(&mut eval, 11_010, 11_200);
    assert_eq!(repeat.len(), 1);
    assert_ne!(repeat[0].notification.id, message.id);
    assert_eq!(
        repeat[0].notification.firing[0].fingerprint,
        message.firing[0].fingerprint
    );
}

#[test]
fn groups_split_by_their_labels() {
    let mut eval = evaluator(rule(0, 10_000));
    eval.handle(&open(&series("web-1", 0), 0, 0.95), 0);
    eval.handle(&open(&series("web-2", 0), 0, 0.95), 0);
    let sent = run(&mut eval, 0, 200);
    assert_eq!(sent.len(), 2);
}

#[test]
fn low_scores_do_not_alert_until_the_peak_crosses_min_score() {
    let mut eval = evaluator(rule(0, 10_000));
    let cpu = series("a", 0);
    eval.handle(&open(&cpu, 0, 0.5), 0);
    assert!(run(&mut eval, 0, 300).is_empty());
    eval.handle(&event(EventKind::Update, &cpu, 0, 400, 0.97), 400);
    let sent = run(&mut eval, 400, 600);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].notification.firing[0].peak_score, 0.97);
    assert_eq!(sent[0].notification.firing[0].starts_ms, 0);
}

#[test]
fn other_domains_do_not_match() {
    let mut eval = evaluator(rule(0, 10_000));
    eval.handle(&open(&SeriesKey::new("node_memory_used"), 0, 0.99), 0);
    assert_eq!(eval.alert_count(), 0);
}

#[test]
fn for_delays_firing_and_short_anomalies_are_dropped() {
    let mut eval = evaluator(rule(2_000, 10_000));
    let brief = series("a", 0);
    eval.handle(&open(&brief, 0, 0.95), 0);
    assert!(run(&mut eval, 0, 1_000).is_empty());
    eval.handle(&close(&brief, 0, 1_000), 1_000);
    assert!(run(&mut eval, 1_000, 5_000).is_empty());
    assert_eq!(eval.alert_count(), 0);
    let lasting = series("b", 0);
    eval.handle(&open(&lasting, 6_000, 0.95), 6_000);
    assert!(run(&mut eval, 6_000, 7_900).is_empty());
    assert_eq!(run(&mut eval, 7_910, 8_200).len(), 1);
}

#[test]
fn flapping_keeps_one_alert_and_resolution_waits_for_the_hold() {
    let mut eval = evaluator(rule(0, 100_000));
    let cpu = series("a", 0);
    eval.handle(&open(&cpu, 0, 0.95), 0);
    let first = run(&mut eval, 0, 200);
    assert_eq!(first.len(), 1);
    let fingerprint = first[0].notification.firing[0].fingerprint.clone();
    // Closes and reopens quickly, five times: no new message, no resolution.
    let mut now = 300;
    for _ in 0..5 {
        eval.handle(&close(&cpu, 0, now), now);
        assert!(run(&mut eval, now, now + 200).is_empty());
        now += 210;
        eval.handle(&open(&cpu, now, 0.95), now);
        assert!(run(&mut eval, now, now + 100).is_empty());
        now += 110;
    }
    let alert = eval.alerts().next().unwrap();
    assert_eq!(alert.fingerprint, fingerprint);
    assert_eq!(alert.flaps, 5);
    // Ends for good: the hold (×5 after five flaps) passes, then one resolve message.
    eval.handle(&close(&cpu, now, now), now);
    assert!(run(&mut eval, now, now + 2_400).is_empty());
    let resolved = run(&mut eval, now + 2_410, now + 2_600);
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].notification.status,
        NotificationStatus::Resolved
    );
    assert_eq!(
        resolved[0].notification.resolved[0].fingerprint,
        fingerprint
    );
    assert_eq!(eval.alert_count(), 0);
}

#[test]
fn silences_mute_and_their_end_releases_the_message() {
    let mut eval = evaluator(rule(0, 100_000));
    eval.silences_mut()
        .upsert(Silence {
            id: 7,
            matchers: r#"{host="a"}"#.into(),
            starts_ms: 0,
            ends_ms: 1_000,
            every_ms: None,
            author: "ops".into(),
            comment: "maintenance".into(),
            created_ms: 0,
            expired_ms: None,
            created_by: String::new(),
        })
        .unwrap();
    eval.handle(&open(&series("a", 0), 0, 0.95), 0);
    eval.handle(&open(&series("b", 0), 0, 0.95), 0);
    let sent = run(&mut eval, 0, 900);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].notification.group_labels["host"], "b");
    let after = run(&mut eval, 1_000, 1_100);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].notification.group_labels["host"], "a");
}

#[test]
fn a_failing_status_check_inhibits_the_instance() {
    let rule = CompiledRule::compile(&AlertRule {
        name: "any".into(),
        selector: r#"{instance=~"i-.*"}"#.into(),
        event: None,
        min_score: 0.9,
        for_duration: Duration::ZERO,
        severity: Severity::Warning,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        notify: vec![],
        repeat_interval: Duration::from_secs(3600),
        group_by: vec!["__name__".into(), "instance".into()],
        group_wait: Duration::from_millis(100),
        group_interval: Duration::from_millis(1_000),
        resolve_hold: Duration::from_millis(500),
    })
    .unwrap();
    let mut eval = Evaluator::new(
        vec![rule],
        vec![InhibitRule::status_check_default()],
        options(),
    );
    let status = SeriesKey::new("StatusCheckFailed").with_label("instance", "i-1");
    let cpu = SeriesKey::new("CPUUtilization").with_label("instance", "i-1");
    let other = SeriesKey::new("CPUUtilization").with_label("instance", "i-2");
    for key in [&status, &cpu, &other] {
        eval.handle(&open(key, 0, 0.95), 0);
    }
    let sent = run(&mut eval, 0, 300);
    let names: Vec<String> = sent
        .iter()
        .map(|o| o.notification.firing[0].series.to_string())
        .collect();
    assert_eq!(sent.len(), 2, "{names:?}");
    assert!(
        names.iter().all(|name| name != &cpu.to_string()),
        "{names:?}"
    );
}

#[test]
fn restored_alerts_keep_their_schedule_and_resolve_without_news() {
    let mut eval = evaluator(rule(0, 100_000));
    let cpu = series("a", 0);
    eval.handle(&open(&cpu, 0, 0.95), 0);
    assert_eq!(run(&mut eval, 0, 200).len(), 1);
    let alerts: Vec<(String, AlertInstance)> = eval
        .alerts
        .iter()
        .map(|(slot, alert)| (slot.clone(), alert.clone()))
        .collect();
    let groups: Vec<GroupState> = eval.groups.values().cloned().collect();
    // A new process: the restored group does not re-send before its repeat interval...
    let mut restarted = evaluator(rule(0, 100_000));
    restarted.restore(alerts, groups, 1_000);
    assert!(run(&mut restarted, 1_000, 5_900).is_empty());
    // ...and with no event confirming the anomaly, it resolves after the grace period.
    let resolved = run(&mut restarted, 6_000, 6_200);
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].notification.status,
        NotificationStatus::Resolved
    );
}

proptest! {
    /// With `group_interval` equal to the repeat interval, a group never sends two firing
    /// messages closer than the repeat interval within one episode, whatever the events.
    #[test]
    fn at_most_one_message_per_group_per_repeat_interval(
        steps in proptest::collection::vec((0usize..6, 0u8..3, 0u64..400), 1..80)
    ) {
        let repeat_ms = 2_000;
        let mut grouped = rule(0, repeat_ms);
        grouped.rule.group_interval = Duration::from_millis(repeat_ms);
        let mut eval = Evaluator::new(vec![grouped], vec![], options());
        let mut now = 0i64;
        let mut open_since: BTreeMap<usize, i64> = BTreeMap::new();
        let mut last_firing: BTreeMap<String, i64> = BTreeMap::new();
        for (index, action, wait) in steps {
            let key = series(if index < 3 { "a" } else { "b" }, index);
            match action {
                0 | 1 => {
                    let start = *open_since.entry(index).or_insert(now);
                    eval.handle(&event(EventKind::Open, &key, start, now, 0.95), now);
                }
                _ => {
                    if let Some(start) = open_since.remove(&index) {
                        eval.handle(&close(&key, start, now), now);
                    }
                }
            }
            let end = now + wait as i64;
            while now <= end {
                eval.tick(now);
                for out in eval.take_changes().outgoing {
                    let message = out.notification;
                    match message.status {
                        NotificationStatus::Firing => {
                            if let Some(previous) = last_firing.get(&message.group) {
                                prop_assert!(now - previous >= repeat_ms as i64, "{} then {}", previous, now);
                            }
                            last_firing.insert(message.group.clone(), now);
                        }
                        NotificationStatus::Resolved => {
                            last_firing.remove(&message.group);
                        }
                    }
                }
                now += 10;
            }
        }
    }
}

#[test]
fn a_cloudwatch_labelled_anomaly_alert_names_its_instance() {
    let mut eval = evaluator(rule(0, 10_000));
    let instance = SeriesKey::new("cpu_utilization").with_label("instance_id", "i-0abc");
    eval.handle(&open(&instance, 0, 0.95), 0);
    let sent = run(&mut eval, 0, 200);
    let alert = &sent[0].notification.firing[0];
    assert_eq!(alert.location.as_deref(), Some("instance_id i-0abc"));
    let text = crate::content::alert_text(alert, "http://127.0.0.1:8080", 200);
    assert!(text.contains("Where: instance_id i-0abc"), "{text}");
}

#[test]
fn the_configured_machine_labels_say_where_an_alert_is() {
    let options = EvaluatorOptions {
        machine_identity: lookout_model::MachineIdentity::new(["node".to_string()]),
        ..options()
    };
    let mut eval = Evaluator::new(vec![rule(0, 10_000)], vec![], options);
    let scraped = series("web-1", 0).with_label("node", "n7");
    eval.handle(&open(&scraped, 0, 0.95), 0);
    let sent = run(&mut eval, 0, 200);
    assert_eq!(
        sent[0].notification.firing[0].location.as_deref(),
        Some("node n7")
    );
}
