mod common;

use common::{cpu, open, TempDir, EPOCH};
use lookout_model::{Explanation, SeriesKey, Verdict};
use lookout_store::{Resolution, StoreError, WriteBatch};

fn verdict(ts: i64, value: f64, score: f64) -> Verdict {
    Verdict {
        timestamp_ms: ts,
        value,
        score,
        is_anomaly: score > 0.9,
        anomaly_started: false,
        expected_lower: value - 2.0,
        expected_upper: value + 2.0,
        explanation: Explanation::default(),
    }
}

#[test]
fn samples_and_verdicts_read_back_as_written() {
    let dir = TempDir::new("roundtrip");
    let store = open(&dir);
    let a = store.series_id(&cpu("a"));
    let b = store.series_id(&cpu("b"));
    assert_ne!(a, b);
    assert_eq!(store.series_id(&cpu("a")), a);

    let mut batch = WriteBatch::new();
    for i in 0..100 {
        batch.push_verdict(a, &verdict(EPOCH + i * 1000, i as f64, i as f64 / 100.0));
        batch.push(b, EPOCH + i * 1000, -(i as f64));
    }
    store.write(batch).unwrap();

    let answer = store.range(&[a, b], EPOCH, EPOCH + 99_000, None).unwrap();
    assert_eq!(answer.len(), 2);
    assert_eq!(answer[0].series, a);
    assert_eq!(answer[0].resolution, Resolution::Raw);
    let points = &answer[0].points;
    assert_eq!(points.len(), 100);
    for (i, point) in points.iter().enumerate() {
        assert_eq!(point.ts_ms, EPOCH + i as i64 * 1000);
        assert_eq!(point.value, i as f64);
        assert_eq!(point.score, Some(i as f64 / 100.0));
        assert_eq!(point.is_anomaly, i as f64 / 100.0 > 0.9);
        assert_eq!(point.lower, Some(i as f64 - 2.0));
        assert_eq!(point.upper, Some(i as f64 + 2.0));
    }
    let unscored = &answer[1].points;
    assert_eq!(unscored.len(), 100);
    assert_eq!(unscored[7].value, -7.0);
    assert_eq!(unscored[7].score, None);
    assert_eq!(unscored[7].lower, None);

    let narrow = store
        .range(&[a], EPOCH + 10_000, EPOCH + 19_999, None)
        .unwrap();
    assert_eq!(narrow[0].points.len(), 10);
}

#[test]
fn series_survive_reopen_with_the_same_ids() {
    let dir = TempDir::new("reopen");
    let key = SeriesKey::new("node_network_receive_bytes_total")
        .with_label("device", "eth0")
        .with_label("quote", "a\"b");
    let (id, other) = {
        let store = open(&dir);
        let id = store.series_id(&key);
        let mut batch = WriteBatch::new();
        batch.push(id, EPOCH, 1.5);
        store.write(batch).unwrap();
        let other = store.series_id(&cpu("x"));
        // `other` has no samples: its row is committed on close.
        store.close().unwrap();
        (id, other)
    };
    let store = open(&dir);
    assert_eq!(store.count_series(), 2);
    assert_eq!(store.lookup_series(&key), Some(id));
    assert_eq!(store.lookup_series(&cpu("x")), Some(other));
    assert_eq!(
        store.list_series(),
        vec![(id, key.clone()), (other, cpu("x"))]
    );
    let info = store.series_info(id).unwrap();
    assert_eq!(info.domain, lookout_model::Domain::Network);
    let fresh = store.series_id(&cpu("y"));
    assert!(fresh.0 > other.0, "new ids continue after stored ones");
    assert_eq!(
        store.range(&[id], EPOCH, EPOCH, None).unwrap()[0].points[0].value,
        1.5
    );
}

#[test]
fn duplicate_timestamps_keep_the_first_write() {
    let dir = TempDir::new("duplicates");
    let store = open(&dir);
    let id = store.series_id(&cpu("dup"));
    let mut first = WriteBatch::new();
    first.push(id, EPOCH, 1.0);
    first.push(id, EPOCH, 2.0);
    first.push(id, EPOCH + 1, 10.0);
    store.write(first).unwrap();
    let mut second = WriteBatch::new();
    second.push_verdict(id, &verdict(EPOCH + 1, 20.0, 0.5));
    store.write(second).unwrap();

    let points = &store.range(&[id], EPOCH, EPOCH + 1, None).unwrap()[0].points;
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].value, 1.0, "same batch: the earlier row wins");
    assert_eq!(points[1].value, 10.0, "the earlier batch wins");
    assert_eq!(points[1].score, None);
}

#[test]
fn nan_values_round_trip_and_do_not_fail_the_batch() {
    let dir = TempDir::new("nan");
    let store = open(&dir);
    let id = store.series_id(&cpu("nan"));
    let mut batch = WriteBatch::new();
    batch.push(id, EPOCH, f64::NAN);
    batch.push(id, EPOCH + 1, f64::INFINITY);
    store.write(batch).unwrap();
    let points = &store.range(&[id], EPOCH, EPOCH + 1, None).unwrap()[0].points;
    assert!(points[0].value.is_nan());
    assert_eq!(points[0].count, 0);
    assert_eq!(points[1].value, f64::INFINITY);
}

#[test]
fn latest_before_respects_lookback() {
    let dir = TempDir::new("latest");
    let store = open(&dir);
    let a = store.series_id(&cpu("a"));
    let b = store.series_id(&cpu("b"));
    let mut batch = WriteBatch::new();
    batch.push(a, EPOCH, 1.0);
    batch.push(a, EPOCH + 10_000, 2.0);
    batch.push(a, EPOCH + 20_000, 3.0);
    batch.push(b, EPOCH, 7.0);
    store.write(batch).unwrap();

    let answer = store
        .latest_before(&[a, b], EPOCH + 15_000, 300_000)
        .unwrap();
    assert_eq!(answer[0].1.unwrap().value, 2.0);
    assert_eq!(answer[1].1.unwrap().value, 7.0);
    let stale = store.latest_before(&[b], EPOCH + 400_000, 300_000).unwrap();
    assert_eq!(stale[0].1, None);
}

#[test]
fn bad_configuration_is_refused_before_touching_disk() {
    let dir = TempDir::new("badconfig");
    let config = lookout_store::StoreConfig {
        queue_capacity: 0,
        ..Default::default()
    };
    let error = lookout_store::Store::open(dir.path().join("sub"), config)
        .err()
        .unwrap();
    assert!(matches!(error, StoreError::Config(_)), "{error}");
    assert!(!dir.path().join("sub").exists());
}

#[test]
fn reads_combine_the_head_with_sealed_blocks_while_sealing_runs_in_steps() {
    let dir = TempDir::new("log-merge");
    let config = lookout_store::StoreConfig {
        log_flush_rows: 12,
        seal_rows_per_step: 5,
        ..Default::default()
    };
    let store = lookout_store::Store::open(dir.path(), config).unwrap();
    let id = store.series_id(&cpu("log"));
    let other = store.series_id(&cpu("other"));
    // Three batches of 8 per series: the first ones end up sealed into blocks (in steps of
    // 5 rows, between commits), the last stay in the head.
    for round in 0..3i64 {
        let mut batch = WriteBatch::new();
        for i in 0..8 {
            batch.push(id, EPOCH + round * 8 + i, (round * 100 + i) as f64);
            batch.push(other, EPOCH + round * 8 + i, -1.0);
        }
        store.write(batch).unwrap();
    }
    // Rewrite a sealed timestamp and a recent one: the first write wins either way.
    let mut batch = WriteBatch::new();
    batch.push(id, EPOCH + 3, -3.0);
    batch.push(id, EPOCH + 20, -20.0);
    store.write(batch).unwrap();

    let points = &store.range(&[id], EPOCH, EPOCH + 23, None).unwrap()[0].points;
    assert_eq!(points.len(), 24);
    assert!(points.windows(2).all(|pair| pair[0].ts_ms < pair[1].ts_ms));
    assert_eq!(points[3].value, 3.0);
    assert_eq!(points[20].value, 204.0);
    assert_eq!(points[9].value, 101.0);
    let latest = store.latest_before(&[id], EPOCH + 20, 10).unwrap();
    assert_eq!(latest[0].1.unwrap().value, 204.0);
    let older = store.latest_before(&[id], EPOCH + 4, 10).unwrap();
    assert_eq!(older[0].1.unwrap().value, 4.0);
    let others = &store.range(&[other], EPOCH, EPOCH + 23, None).unwrap()[0].points;
    assert_eq!(others.len(), 24);

    // Closing seals the head; reopening reads the same answer from blocks alone.
    store.close().unwrap();
    let store = open(&dir);
    let again = &store.range(&[id], EPOCH, EPOCH + 23, None).unwrap()[0].points;
    assert_eq!(again, points);
}
