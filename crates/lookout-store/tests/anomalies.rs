mod common;

use common::{cpu, open, TempDir, EPOCH, MINUTE};
use lookout_model::{
    AnomalyId, AnomalyStatus, DetectorContribution, Domain, Explanation, FeedbackLabel, Severity,
};
use lookout_store::{StoreError, WriteBatch};

fn explanation(detector: &str, likelihood: f64) -> Explanation {
    Explanation {
        detectors: vec![DetectorContribution {
            detector: detector.to_string(),
            raw: likelihood * 10.0,
            likelihood,
            fired: true,
        }],
        features: Vec::new(),
    }
}

#[test]
fn anomalies_open_grow_close_and_list_newest_first() {
    let dir = TempDir::new("anomalies");
    let store = open(&dir);
    let a = store.series_id(&cpu("a"));
    let b = store.series_id(&cpu("b"));

    let mut batch = WriteBatch::new();
    batch.open_anomaly(a, EPOCH, 0.91, explanation("zscore", 0.91));
    batch.open_anomaly(b, EPOCH + 5 * MINUTE, 0.95, explanation("rcf", 0.95));
    store.write(batch).unwrap();

    let mut batch = WriteBatch::new();
    batch.update_anomaly(a, EPOCH, 0.995, explanation("spectral", 0.995));
    batch.update_anomaly(a, EPOCH, 0.5, explanation("ignored", 0.5));
    batch.close_anomaly(a, EPOCH, EPOCH + 2 * MINUTE);
    store.write(batch).unwrap();

    let all = store
        .anomalies(EPOCH - MINUTE, EPOCH + 10 * MINUTE, None, 10)
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].series_id, b, "newest first");
    assert_eq!(all[0].status, AnomalyStatus::Open);
    assert_eq!(all[0].end_ms, None);
    assert_eq!(all[0].severity, Severity::Warning);
    let first = &all[1];
    assert_eq!(first.series, cpu("a"));
    assert_eq!(first.domain, Domain::Cpu);
    assert_eq!(first.peak_score, 0.995);
    assert_eq!(first.severity, Severity::Critical);
    assert_eq!(first.explanation, explanation("spectral", 0.995));
    assert_eq!(first.end_ms, Some(EPOCH + 2 * MINUTE));
    assert_eq!(first.status, AnomalyStatus::Resolved);

    let only_a = store
        .anomalies(EPOCH - MINUTE, EPOCH + 10 * MINUTE, Some(&[a]), 10)
        .unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].id, first.id);
    let limited = store
        .anomalies(EPOCH - MINUTE, EPOCH + 10 * MINUTE, None, 1)
        .unwrap();
    assert_eq!(limited.len(), 1);
    // The closed anomaly ended before this window; the open one still overlaps it.
    let later = store
        .anomalies(EPOCH + 3 * MINUTE, EPOCH + 60 * MINUTE, None, 10)
        .unwrap();
    assert_eq!(
        later.iter().map(|r| r.series_id).collect::<Vec<_>>(),
        vec![b]
    );
    let open_now = store.open_anomalies().unwrap();
    assert_eq!(
        open_now.iter().map(|r| r.series_id).collect::<Vec<_>>(),
        vec![b]
    );

    assert_eq!(store.anomaly(first.id).unwrap(), *first);
    assert_eq!(store.anomaly_at(a, EPOCH).unwrap().as_ref(), Some(first));
    assert_eq!(store.anomaly_at(a, EPOCH + 1).unwrap(), None);
}

#[test]
fn feedback_round_trips_and_sets_the_status() {
    let dir = TempDir::new("feedback");
    let store = open(&dir);
    let a = store.series_id(&cpu("a"));
    let mut batch = WriteBatch::new();
    batch.open_anomaly(a, EPOCH, 0.97, explanation("zscore", 0.97));
    batch.close_anomaly(a, EPOCH, EPOCH + MINUTE);
    store.write(batch).unwrap();
    let id = store.anomaly_at(a, EPOCH).unwrap().unwrap().id;

    let first = store
        .record_feedback(id, FeedbackLabel::FalsePositive, "backup job")
        .unwrap();
    assert_eq!(
        store.anomaly(id).unwrap().status,
        AnomalyStatus::FalsePositive
    );
    let second = store
        .record_feedback(id, FeedbackLabel::Incident, "")
        .unwrap();
    assert_eq!(store.anomaly(id).unwrap().status, AnomalyStatus::Incident);
    assert_eq!(store.feedback(id).unwrap(), vec![first.clone(), second]);
    assert_eq!(first.note, "backup job");
    assert_eq!(first.anomaly_id, id);

    store
        .set_anomaly_status(id, AnomalyStatus::Expected)
        .unwrap();
    assert_eq!(store.anomaly(id).unwrap().status, AnomalyStatus::Expected);

    // A close replayed after labelling keeps the label.
    let mut batch = WriteBatch::new();
    batch.close_anomaly(a, EPOCH, EPOCH + 2 * MINUTE);
    store.write(batch).unwrap();
    let record = store.anomaly(id).unwrap();
    assert_eq!(
        (record.status, record.end_ms),
        (AnomalyStatus::Expected, Some(EPOCH + 2 * MINUTE))
    );
}

#[test]
fn unknown_anomaly_ids_are_errors_that_name_the_id() {
    let dir = TempDir::new("unknown");
    let store = open(&dir);
    let missing = AnomalyId(4242);
    let error = store
        .record_feedback(missing, FeedbackLabel::Confirmed, "x")
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AnomalyNotFound(AnomalyId(4242))),
        "{error}"
    );
    assert!(error.to_string().contains("4242"), "{error}");
    assert!(matches!(
        store.anomaly(missing),
        Err(StoreError::AnomalyNotFound(_))
    ));
    assert!(matches!(
        store.set_anomaly_status(missing, AnomalyStatus::Resolved),
        Err(StoreError::AnomalyNotFound(_))
    ));
    assert!(store.feedback(missing).unwrap().is_empty());
}
