use super::*;

fn cpu(machine: &str) -> SeriesKey {
    SeriesKey::new("host_cpu_utilization_percent").with_label("host", machine)
}

fn tracker(rightsize_after: Duration) -> UsageTracker {
    UsageTracker::new(UsageOptions {
        rightsize_after,
        ..UsageOptions::default()
    })
}

/// Feeds `values` one minute apart from `start_ms`; returns the states.
fn feed(tracker: &UsageTracker, key: &SeriesKey, start_ms: i64, values: &[f64]) -> Vec<UsageState> {
    values
        .iter()
        .enumerate()
        .flat_map(|(i, &value)| tracker.observe([(key, start_ms + i as i64 * 60_000, value)]))
        .map(|(_, _, state)| state)
        .collect()
}

#[test]
fn states_follow_the_usage_rules_and_since_marks_the_entry() {
    let tracker = tracker(Duration::from_secs(3600));
    let web = cpu("web-1");
    let states = feed(
        &tracker,
        &web,
        0,
        &[50.0, 52.0, 10.0, 9.0, 8.0, 0.5, 0.4, 0.3, 60.0],
    );
    use UsageState::*;
    assert_eq!(
        states,
        vec![Normal, Normal, SharpDrop, Normal, Underused, Underused, Underused, Idle, Surge]
    );
    let report = &tracker.machines()[0];
    assert_eq!(report.machine, "web-1");
    assert_eq!(report.state, "surge");
    assert_eq!(report.since_ms, 8 * 60_000);
    assert_eq!(report.cpu_percent, 60.0);
    assert!(report.hint.is_none());
}

#[test]
fn an_idle_machine_gets_a_stop_hint_after_the_configured_time() {
    let tracker = tracker(Duration::from_secs(30 * 60));
    let key = SeriesKey::new("CPUUtilization").with_label("instance_id", "i-0abc");
    feed(&tracker, &key, 0, &[0.2; 30]);
    assert!(
        tracker.machines()[0].hint.is_none(),
        "29 minutes is not yet 30"
    );
    feed(&tracker, &key, 30 * 60_000, &[0.4]);
    let hint = tracker.machines()[0]
        .hint
        .clone()
        .expect("a hint after 30 minutes");
    assert_eq!(hint.action, "stop");
    assert_eq!(hint.low_since_ms, 0);
    assert_eq!(
        hint.message,
        "stop or downsize i-0abc: CPU ≤ 1% for 30 minutes (peak 0.4%)"
    );
}

#[test]
fn an_underused_machine_gets_a_downsize_hint_and_one_busy_sample_resets_it() {
    let tracker = tracker(Duration::from_secs(3 * 86_400));
    let key = cpu("batch-2");
    let day = 86_400_000;
    for step in 0..=(3 * 24) {
        tracker.observe([(&key, step * 3_600_000, 12.0 + (step % 5) as f64)]);
    }
    let hint = tracker.machines()[0]
        .hint
        .clone()
        .expect("a hint after 3 days");
    assert_eq!(hint.action, "downsize");
    assert_eq!(
        hint.message,
        "downsize batch-2: CPU ≤ 30% for 3 days (peak 16.0%)"
    );
    tracker.observe([(&key, 3 * day + 3_600_000, 45.0)]);
    assert!(tracker.machines()[0].hint.is_none());
    for hour in 2..6 {
        tracker.observe([(&key, 3 * day + hour * 3_600_000, 12.0)]);
    }
    let report = &tracker.machines()[0];
    assert_eq!(report.state, "underused");
    assert!(report.hint.is_none(), "the low-usage run restarted");
}

#[test]
fn other_series_and_old_samples_are_ignored() {
    let tracker = tracker(Duration::from_secs(60));
    let memory = SeriesKey::new("host_memory_used_percent").with_label("host", "a");
    let unnamed = SeriesKey::new("host_cpu_utilization_percent");
    assert!(tracker
        .observe([(&memory, 0, 1.0), (&unnamed, 0, 1.0)])
        .is_empty());
    let key = cpu("a");
    assert_eq!(tracker.observe([(&key, 10, 50.0)]).len(), 1);
    assert!(tracker
        .observe([(&key, 10, 50.0), (&key, 5, 1.0)])
        .is_empty());
    let second_series = SeriesKey::new("node_cpu_utilization_percent").with_label("host", "a");
    assert!(tracker.observe([(&second_series, 20, 1.0)]).is_empty());
    assert!(tracker.observe([(&key, 20, f64::NAN)]).is_empty());
    assert_eq!(tracker.machines().len(), 1);
}

#[test]
fn machine_labels_are_tried_in_order() {
    let tracker = UsageTracker::default();
    let both = SeriesKey::new("CPUUtilization")
        .with_label("host", "h")
        .with_label("instance_id", "i-1");
    assert_eq!(tracker.machine_of(&both).as_deref(), Some("i-1"));
    let scraped = SeriesKey::new("node_cpu_utilization_percent").with_label("instance", "n:9100");
    assert_eq!(tracker.machine_of(&scraped).as_deref(), Some("n:9100"));
}

#[test]
fn metrics_render_one_hot_states_and_candidates() {
    let tracker = tracker(Duration::from_secs(120));
    feed(&tracker, &cpu("db-1"), 0, &[0.1, 0.1, 0.1, 0.1]);
    let mut writer = lookout_protocol::exposition::ExpositionWriter::new();
    metrics::render_metrics(&tracker, &mut writer);
    let out = writer.finish();
    assert!(
        out.contains("lookout_usage_state{machine=\"db-1\",state=\"idle\"} 1"),
        "{out}"
    );
    assert!(
        out.contains("lookout_usage_state{machine=\"db-1\",state=\"normal\"} 0"),
        "{out}"
    );
    assert!(
        out.contains("lookout_rightsizing_candidate{machine=\"db-1\",action=\"stop\"} 1"),
        "{out}"
    );
}

#[test]
fn spans_read_naturally() {
    assert_eq!(human_span(14 * 86_400_000), "14 days");
    assert_eq!(human_span(36 * 3_600_000), "36 hours");
    assert_eq!(human_span(60_000), "60 seconds");
    assert_eq!(human_span(5 * 60_000), "5 minutes");
    assert_eq!(human_span(1_000), "1 second");
}

#[test]
fn the_subscriber_stores_each_changed_machine_state_code() {
    use crate::fanout::{ScoredBatch, Subscriber};
    use crate::index::{SeriesEntry, SeriesIndex};
    use lookout_model::{Explanation, SeriesId, Verdict};

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), Default::default()).unwrap());
    let index = Arc::new(SeriesIndex::new(100));
    let usage = Arc::new(tracker(Duration::from_secs(3600)));
    let subscriber =
        UsageSubscriber::new(Arc::clone(&usage), Arc::clone(&index), Arc::clone(&store));
    let verdict = |timestamp_ms: i64, value: f64| {
        ScoreOutcome::Scored(Verdict {
            timestamp_ms,
            value,
            score: 0.1,
            is_anomaly: false,
            anomaly_started: false,
            expected_lower: 0.0,
            expected_upper: 100.0,
            explanation: Explanation::default(),
        })
    };
    let cpu_entry = Arc::new(SeriesEntry::new(SeriesId(1), cpu("web-1")));
    let other = Arc::new(SeriesEntry::new(SeriesId(2), SeriesKey::new("mem")));
    let batch = ScoredBatch {
        entries: vec![Arc::clone(&cpu_entry), other, cpu_entry],
        values: vec![(60_000, 50.0), (60_000, 1.0), (120_000, 52.0)],
        outcomes: vec![
            verdict(60_000, 50.0),
            verdict(60_000, 1.0),
            ScoreOutcome::NotScored("duplicate"),
        ],
        anomalies: Vec::new(),
    };
    subscriber.on_scored(&batch);
    assert_eq!(usage.machines().len(), 1, "only scored CPU samples count");
    let code = index
        .get(&SeriesKey::new(STATE_CODE_METRIC).with_label("machine", "web-1"))
        .expect("the state code series is registered");
    store.flush().unwrap();
    let stored = store.range(&[code.id], 0, 200_000, None).unwrap();
    assert_eq!(stored[0].points.len(), 1);
    assert_eq!(stored[0].points[0].value, UsageCode::of(UsageState::Normal));
    assert_eq!(subscriber.dropped_codes(), 0);
}
