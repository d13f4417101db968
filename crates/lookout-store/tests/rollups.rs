mod common;

use common::{cpu, open, TempDir, DAY, EPOCH, HOUR, MINUTE};
use lookout_model::SeriesId;
use lookout_store::{Resolution, Store, WriteBatch};

/// A deterministic wiggly value.
fn value_at(ts: i64) -> f64 {
    let t = (ts / 1000) as f64;
    50.0 + 30.0 * (t / 600.0).sin() + ((ts / 7000) % 13) as f64
}

fn fill(store: &Store, series: SeriesId, from: i64, to: i64, step: i64) -> Vec<(i64, f64)> {
    let mut written = Vec::new();
    let mut batch = WriteBatch::new();
    let mut ts = from;
    while ts < to {
        let value = value_at(ts);
        batch.push(series, ts, value);
        written.push((ts, value));
        if batch.len() == 50_000 {
            store.write(std::mem::take(&mut batch)).unwrap();
        }
        ts += step;
    }
    store.write(batch).unwrap();
    written
}

fn min_max(written: &[(i64, f64)], from: i64, to_exclusive: i64) -> Option<(f64, f64)> {
    let values: Vec<f64> = written
        .iter()
        .filter(|(ts, _)| *ts >= from && *ts < to_exclusive)
        .map(|(_, value)| *value)
        .collect();
    if values.is_empty() {
        return None;
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((min, max))
}

#[test]
fn downsampling_returns_at_most_max_points_with_exact_min_max() {
    let dir = TempDir::new("downsample");
    let store = open(&dir);
    let id = store.series_id(&cpu("ds"));
    let from = EPOCH;
    let to = EPOCH + 2 * HOUR;
    let written = fill(&store, id, from, to, 1000);
    for max_points in [1usize, 7, 100, 719, 7200, 10_000] {
        let answer = store.range(&[id], from, to - 1, Some(max_points)).unwrap();
        let points = &answer[0].points;
        assert!(
            points.len() <= max_points,
            "{} > {max_points}",
            points.len()
        );
        if max_points >= written.len() {
            assert_eq!(points.len(), written.len());
            continue;
        }
        let width = ((to - from) + max_points as i64 - 1) / max_points as i64;
        let total: u64 = points.iter().map(|point| point.count).sum();
        assert_eq!(total, written.len() as u64, "every sample counted once");
        for point in points {
            let (min, max) = min_max(&written, point.ts_ms, point.ts_ms + width).unwrap();
            assert_eq!(
                (point.min, point.max),
                (min, max),
                "bucket at {}",
                point.ts_ms
            );
            let last = written
                .iter()
                .rev()
                .find(|(ts, _)| *ts < point.ts_ms + width)
                .unwrap();
            assert_eq!(point.value, last.1, "value is the bucket's last");
        }
    }
}

#[test]
fn compaction_moves_old_data_to_rollups_and_deletes_expired_raw() {
    let dir = TempDir::new("compact");
    let store = open(&dir);
    let a = store.series_id(&cpu("a"));
    let b = store.series_id(&cpu("b"));
    // Ten days at one sample per 10 s; "now" is the end of the tenth day.
    let from = EPOCH - 10 * DAY;
    let now = EPOCH;
    let written_a = fill(&store, a, from, now, 10_000);
    fill(&store, b, from, now, 10_000);

    let report = store.compact(now).unwrap();
    assert_eq!(report.series, 2);
    let raw_cutoff = now - 3 * DAY;
    assert_eq!(report.raw_horizon, raw_cutoff);
    assert_eq!(report.deleted_raw, 2 * (7 * DAY / 10_000) as u64);
    assert!(report.rollup_1m_rows >= 2 * (10 * DAY / MINUTE - 1) as u64);
    assert!(report.rollup_1h_rows >= 2 * (10 * DAY / HOUR - 1) as u64);

    // Raw rows before the cut-off are gone; those after are intact.
    let raw_before = store.latest_before(&[a], raw_cutoff - 1, 60_000).unwrap();
    let fell_back = raw_before[0].1.expect("old data answered from rollups");
    assert_eq!(fell_back.ts_ms % MINUTE, 0, "answered by a minute bucket");
    let recent = store
        .range(&[a], raw_cutoff, raw_cutoff + MINUTE - 1, None)
        .unwrap();
    assert_eq!(recent[0].resolution, Resolution::Raw);
    assert_eq!(recent[0].points.len(), 6);

    // An old hour comes from minute rollups with exact min/max per minute.
    let old_from = from + DAY;
    let old = store
        .range(&[a], old_from, old_from + HOUR - 1, None)
        .unwrap();
    assert_eq!(old[0].resolution, Resolution::Minute);
    assert_eq!(old[0].points.len(), 60);
    for point in &old[0].points {
        let (min, max) = min_max(&written_a, point.ts_ms, point.ts_ms + MINUTE).unwrap();
        assert_eq!((point.min, point.max, point.count), (min, max, 6));
    }

    // A wide query reads hour rollups and still gets exact extremes per hour.
    let wide = store.range(&[a], from, now - 1, Some(240)).unwrap();
    assert_eq!(wide[0].resolution, Resolution::Hour);
    assert_eq!(wide[0].points.len(), 240);
    for point in &wide[0].points {
        let (min, max) = min_max(&written_a, point.ts_ms, point.ts_ms + HOUR).unwrap();
        assert_eq!((point.min, point.max), (min, max));
    }

    // Compacting again with nothing new changes nothing.
    let again = store.compact(now).unwrap();
    assert_eq!(again.deleted_raw, 0);
    assert_eq!(again.rollup_1m_rows, 0);
}

#[test]
fn rollups_past_their_retention_are_deleted() {
    let dir = TempDir::new("expire");
    let store = open(&dir);
    let id = store.series_id(&cpu("old"));
    fill(&store, id, EPOCH, EPOCH + 2 * HOUR, 60_000);
    store.compact(EPOCH + 3 * HOUR).unwrap();
    let before = store
        .range(&[id], EPOCH, EPOCH + 2 * HOUR - 1, Some(2))
        .unwrap();
    assert_eq!(before[0].points.len(), 2);

    let report = store.compact(EPOCH + 800 * DAY).unwrap();
    assert_eq!(report.deleted_raw, 120);
    assert_eq!(report.deleted_1m, 120);
    assert_eq!(report.deleted_1h, 2);
    let after = store
        .range(&[id], EPOCH, EPOCH + 2 * HOUR - 1, None)
        .unwrap();
    assert!(after[0].points.is_empty());
}

#[test]
fn late_samples_are_rolled_up_on_the_next_compaction() {
    let dir = TempDir::new("late");
    let store = open(&dir);
    let id = store.series_id(&cpu("late"));
    fill(&store, id, EPOCH, EPOCH + 10 * MINUTE, 10_000);
    store.compact(EPOCH + 20 * MINUTE).unwrap();

    // A late sample inside an already rolled-up minute, still within raw retention.
    let mut batch = WriteBatch::new();
    batch.push(id, EPOCH + 2 * MINUTE + 5_000, 1_000.0);
    store.write(batch).unwrap();
    store.compact(EPOCH + 21 * MINUTE).unwrap();
    let minute = store
        .range(&[id], EPOCH, EPOCH + 10 * MINUTE - 1, Some(10))
        .unwrap();
    assert_eq!(minute[0].resolution, Resolution::Minute);
    let bucket = minute[0].points[2];
    assert_eq!(bucket.max, 1_000.0);
    assert_eq!(bucket.count, 7);

    // A late sample older than the raw already deleted is merged into the rollup.
    store.compact(EPOCH + 4 * DAY).unwrap();
    let mut batch = WriteBatch::new();
    batch.push(id, EPOCH + 3 * MINUTE + 1, -5.0);
    store.write(batch).unwrap();
    store.compact(EPOCH + 4 * DAY + MINUTE).unwrap();
    let merged = store
        .range(&[id], EPOCH + 3 * MINUTE, EPOCH + 4 * MINUTE - 1, None)
        .unwrap();
    assert_eq!(merged[0].resolution, Resolution::Minute);
    let point = merged[0].points[0];
    assert_eq!(point.min, -5.0);
    assert_eq!(point.count, 7, "six stored samples plus the late one");
}
