//! Engine-wide snapshots: a restored engine (even with another number of workers) scores
//! the next points exactly like the engine that was never stopped, sample for sample;
//! a snapshot of other settings is refused; the series cap holds.

use lookout_detect::engine::{
    Engine, EngineConfig, EngineError, EngineSnapshot, Point, SampleOutcome, SnapshotError,
};
use lookout_detect::pipeline::PipelineConfig;
use lookout_model::SeriesId;

const SERIES: i64 = 12;
const POINTS: i64 = 700;
const SPLIT: i64 = 450;

fn engine(workers: usize, pipeline: PipelineConfig) -> Engine {
    Engine::start(EngineConfig {
        workers,
        pipeline,
        max_series: 100,
        ..EngineConfig::default()
    })
    .unwrap()
}

/// Seasonal-ish series with spikes and a level shift, interleaved in batches of 50.
fn batches(from: i64, to: i64) -> Vec<Vec<Point>> {
    let mut points = Vec::new();
    for i in from..to {
        for s in 1..=SERIES {
            let phase = (i as f64 / 30.0 + s as f64).sin() * 10.0;
            let noise = (((i * 7919 + s * 104_729) % 1000) as f64) / 250.0;
            let spike = if i % 173 == (s * 11) % 173 { 80.0 } else { 0.0 };
            let shift = if i > 550 && s % 3 == 0 { 25.0 } else { 0.0 };
            points.push(Point {
                series: SeriesId(s),
                timestamp_ms: 1_700_000_000_000 + i * 10_000,
                value: 50.0 + phase + noise + spike + shift,
            });
        }
    }
    points.chunks(50).map(|chunk| chunk.to_vec()).collect()
}

fn verdicts(engine: &Engine, batches: Vec<Vec<Point>>) -> Vec<String> {
    batches
        .into_iter()
        .flat_map(|batch| engine.score_blocking(batch).unwrap())
        .map(|outcome| match outcome {
            // Debug text compares floats bit for bit and NaN equal to NaN.
            SampleOutcome::Scored(verdict) => format!("{verdict:?}"),
            SampleOutcome::Rejected(reason) => format!("rejected {reason:?}"),
        })
        .collect()
}

fn restored_scores_like_the_uninterrupted_engine(pipeline: PipelineConfig) {
    let uninterrupted = engine(2, pipeline.clone());
    verdicts(&uninterrupted, batches(0, SPLIT));
    let expected = verdicts(&uninterrupted, batches(SPLIT, POINTS));

    let first = engine(2, pipeline.clone());
    verdicts(&first, batches(0, SPLIT));
    let bytes = first.snapshot_all().unwrap().to_bytes();
    first.shutdown();
    drop(first);
    let snapshot = EngineSnapshot::from_bytes(&bytes).unwrap();
    assert_eq!(snapshot.series.len(), SERIES as usize);
    assert!(snapshot
        .series
        .windows(2)
        .all(|pair| pair[0].series < pair[1].series));
    // Another number of workers: each series goes to the shard that owns it now.
    let restarted = engine(3, pipeline);
    let report = restarted.restore(snapshot).unwrap();
    assert_eq!(report.restored, SERIES as usize);
    let after = verdicts(&restarted, batches(SPLIT, POINTS));
    assert_eq!(after.len(), expected.len());
    for (index, (got, want)) in after.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "point {index} after the restore");
    }
    assert!(
        expected.iter().any(|v| v.contains("anomaly_started: true")),
        "the compared span holds anomalies"
    );
    // The ordering policy survives too: the last point before the snapshot again is a
    // duplicate, not a new point.
    let last = batches(SPLIT - 1, SPLIT).pop().unwrap();
    assert!(verdicts(&restarted, vec![last])
        .iter()
        .all(|v| v == "rejected OutOfOrder" || v == "rejected Duplicate"));
}

#[test]
fn the_default_profile_continues_bit_for_bit() {
    restored_scores_like_the_uninterrupted_engine(PipelineConfig::default());
}

#[test]
fn the_thorough_profile_continues_bit_for_bit() {
    restored_scores_like_the_uninterrupted_engine(
        PipelineConfig::named("thorough").expect("thorough profile"),
    );
}

#[test]
fn other_settings_are_refused_and_present_series_are_kept() {
    let first = engine(2, PipelineConfig::default());
    verdicts(&first, batches(0, 50));
    let snapshot = first.snapshot_all().unwrap();
    let other = engine(2, PipelineConfig::named("thorough").unwrap());
    assert!(matches!(
        other.restore(snapshot.clone()),
        Err(EngineError::Snapshot(SnapshotError::OtherSettings))
    ));
    let same = engine(2, PipelineConfig::default());
    verdicts(&same, batches(0, 10));
    let report = same.restore(snapshot).unwrap();
    assert_eq!(report.present, SERIES as usize);
    assert_eq!(report.restored, 0);
    assert!(EngineSnapshot::from_bytes(b"no newline").is_err());
}

#[test]
fn the_series_cap_holds_on_restore() {
    let first = engine(2, PipelineConfig::default());
    verdicts(&first, batches(0, 20));
    let snapshot = first.snapshot_all().unwrap();
    let small = Engine::start(EngineConfig {
        workers: 2,
        max_series: 5,
        ..EngineConfig::default()
    })
    .unwrap();
    let report = small.restore(snapshot).unwrap();
    assert_eq!(report.restored, 5);
    assert_eq!(report.over_limit, SERIES as usize - 5);
    assert_eq!(small.stats().unwrap().series, 5);
}
