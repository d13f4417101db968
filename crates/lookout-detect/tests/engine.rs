//! The sharded engine: ordering policy, rejected values, limits, feedback, stats.

use lookout_detect::engine::{
    id_of_key, Engine, EngineConfig, Feedback, Point, RejectReason, SampleOutcome,
};
use lookout_detect::pipeline::PipelineConfig;
use lookout_model::{SeriesId, SeriesKey};

fn key(host: &str) -> SeriesId {
    id_of_key(&SeriesKey::new("cpu").with_label("host", host))
}

fn sample(host: &str, timestamp_ms: i64, value: f64) -> Point {
    Point {
        series: key(host),
        timestamp_ms,
        value,
    }
}

fn engine(max_series: usize) -> Engine {
    Engine::start(EngineConfig {
        workers: 2,
        max_series,
        ..EngineConfig::default()
    })
    .unwrap()
}

fn rejected(outcome: &SampleOutcome) -> Option<RejectReason> {
    match outcome {
        SampleOutcome::Rejected(reason) => Some(*reason),
        SampleOutcome::Scored(_) => None,
    }
}

#[test]
fn outcomes_come_back_in_input_order_across_shards() {
    let engine = engine(1000);
    let samples: Vec<Point> = (0..200)
        .map(|i| sample(&format!("h{}", i % 17), 1000 + i, i as f64))
        .collect();
    let outcomes = engine.score_blocking(samples.clone()).unwrap();
    assert_eq!(outcomes.len(), samples.len());
    for (outcome, sample) in outcomes.iter().zip(&samples) {
        match outcome {
            SampleOutcome::Scored(verdict) => {
                assert_eq!(verdict.timestamp_ms, sample.timestamp_ms);
                assert_eq!(verdict.value, sample.value);
            }
            SampleOutcome::Rejected(reason) => panic!("unexpected rejection {reason:?}"),
        }
    }
}

#[test]
fn out_of_order_duplicates_conflicts_and_non_finite_values_are_rejected_and_counted() {
    let engine = engine(1000);
    let outcomes = engine
        .score_blocking(vec![
            sample("a", 2000, 1.0),
            sample("a", 2000, 1.0),
            sample("a", 2000, 7.0),
            sample("a", 1000, 1.0),
            sample("a", 3000, f64::NAN),
            sample("a", 3000, f64::INFINITY),
            sample("a", 3000, 2.0),
        ])
        .unwrap();
    let reasons: Vec<Option<RejectReason>> = outcomes.iter().map(rejected).collect();
    assert_eq!(
        reasons,
        vec![
            None,
            Some(RejectReason::Duplicate),
            Some(RejectReason::ConflictingValue),
            Some(RejectReason::OutOfOrder),
            Some(RejectReason::NonFinite),
            Some(RejectReason::NonFinite),
            None
        ]
    );
    let stats = engine.stats().unwrap();
    assert_eq!(stats.scored, 2);
    let count = |reason| stats.rejected.iter().find(|(r, _)| *r == reason).unwrap().1;
    assert_eq!(count(RejectReason::Duplicate), 1);
    assert_eq!(count(RejectReason::ConflictingValue), 1);
    assert_eq!(count(RejectReason::OutOfOrder), 1);
    assert_eq!(count(RejectReason::NonFinite), 2);
}

#[test]
fn series_beyond_the_limit_are_rejected_and_known_ones_keep_working() {
    let engine = engine(4);
    let first: Vec<Point> = (0..4)
        .map(|i| sample(&format!("h{i}"), 1000, 1.0))
        .collect();
    assert!(engine
        .score_blocking(first)
        .unwrap()
        .iter()
        .all(|o| rejected(o).is_none()));
    let more: Vec<Point> = (0..40)
        .map(|i| sample(&format!("new{i}"), 1000, 1.0))
        .collect();
    let outcomes = engine.score_blocking(more).unwrap();
    assert!(outcomes
        .iter()
        .any(|o| rejected(o) == Some(RejectReason::SeriesLimit)));
    assert_eq!(engine.stats().unwrap().series, 4);
    let known = engine
        .score_blocking(vec![sample("h0", 2000, 1.0)])
        .unwrap();
    assert_eq!(rejected(&known[0]), None);
}

#[test]
fn false_positive_feedback_raises_the_series_threshold() {
    let engine = engine(1000);
    engine.score_blocking(vec![sample("a", 1000, 1.0)]).unwrap();
    let before = engine.tolerance(key("a")).unwrap().unwrap();
    engine.feedback(key("a"), Feedback::FalsePositive).unwrap();
    let after = engine.tolerance(key("a")).unwrap().unwrap();
    assert!(after > before, "{after} should exceed {before}");
    assert_eq!(engine.tolerance(key("unknown")).unwrap(), None);
}

#[test]
fn memory_per_series_is_bounded_and_reported() {
    let engine = engine(100_000);
    let mut samples = Vec::new();
    for step in 0..300 {
        for host in 0..50 {
            samples.push(sample(
                &format!("h{host}"),
                1000 + step * 1000,
                (step % 13) as f64 + host as f64,
            ));
        }
    }
    engine.score_blocking(samples).unwrap();
    let stats = engine.stats().unwrap();
    assert_eq!(stats.series, 50);
    let per_series = stats.state_bytes / stats.series;
    assert!(
        per_series <= 8 * 1024,
        "default pipeline holds {per_series} bytes per series"
    );
    assert!(
        per_series > 1000,
        "state accounting looks wrong: {per_series}"
    );
}

#[test]
fn a_peek_scores_against_the_series_model_and_leaves_it_unchanged() {
    let engine = engine(1000);
    let history: Vec<Point> = (0..300)
        .map(|i| sample("a", i * 60_000, 20.0 + (i % 7) as f64))
        .collect();
    engine.score_blocking(history).unwrap();
    let before = engine.snapshot(key("a")).unwrap().unwrap();
    let spike = engine.peek(key("a"), 0, 95.0).unwrap().unwrap();
    let usual = engine.peek(key("a"), 0, 23.0).unwrap().unwrap();
    assert_eq!(engine.snapshot(key("a")).unwrap().unwrap(), before);
    assert_eq!(spike.newest_ms, 299 * 60_000);
    assert_eq!(spike.verdict.timestamp_ms, 299 * 60_000 + 1);
    assert!(
        spike.verdict.score > usual.verdict.score && spike.verdict.score >= spike.open_at,
        "{spike:?} vs {usual:?}"
    );
    assert!(engine.peek(key("unknown"), 0, 1.0).unwrap().is_none());
    assert!(engine.peek(key("a"), 0, f64::NAN).unwrap().is_none());
}

#[test]
fn snapshots_are_json_of_the_pipeline() {
    let engine = engine(1000);
    engine
        .score_blocking(vec![sample("a", 1000, 1.0), sample("a", 2000, 2.0)])
        .unwrap();
    let snapshot = engine.snapshot(key("a")).unwrap().unwrap();
    let value: serde_json::Value = serde_json::from_str(&snapshot).unwrap();
    assert!(value["detectors"].as_array().unwrap().len() >= 3);
    let _: lookout_detect::pipeline::SeriesPipeline = serde_json::from_str(&snapshot).unwrap();
    assert!(PipelineConfig::default().validate().is_ok());
}

#[test]
fn consecutive_store_ids_are_separate_series() {
    let engine = engine(10_000);
    let points: Vec<Point> = (0..1000)
        .map(|id| Point {
            series: SeriesId(id),
            timestamp_ms: 1000,
            value: id as f64,
        })
        .collect();
    let outcomes = engine.score_blocking(points).unwrap();
    for (id, outcome) in outcomes.iter().enumerate() {
        match outcome {
            SampleOutcome::Scored(verdict) => assert_eq!(verdict.value, id as f64),
            SampleOutcome::Rejected(reason) => panic!("series {id} rejected: {reason:?}"),
        }
    }
    assert_eq!(engine.stats().unwrap().series, 1000);
    // Each id is its own series: a second point of every id is scored, not a duplicate.
    let again: Vec<Point> = (0..1000)
        .map(|id| Point {
            series: SeriesId(id),
            timestamp_ms: 2000,
            value: 1.0,
        })
        .collect();
    let outcomes = engine.score_blocking(again).unwrap();
    assert!(outcomes.iter().all(|o| rejected(o).is_none()));
}

#[test]
fn a_chooser_gives_chosen_series_another_pipeline() {
    use lookout_detect::engine::PipelineChooser;
    use lookout_detect::settings::PipelineSettings;
    use std::sync::Arc;

    let strict = PipelineConfig::named("default")
        .unwrap()
        .with_settings(&PipelineSettings {
            open_at: Some(0.97),
            ..PipelineSettings::default()
        })
        .unwrap();
    let special = key("special");
    let engine = Engine::start(EngineConfig {
        workers: 2,
        alternatives: vec![strict],
        choose: Some(PipelineChooser(Arc::new(move |series| {
            usize::from(series == special)
        }))),
        ..EngineConfig::default()
    })
    .unwrap();
    engine
        .score_blocking(vec![
            sample("special", 1000, 1.0),
            sample("plain", 1000, 1.0),
        ])
        .unwrap();
    assert_eq!(engine.tolerance(key("special")).unwrap(), Some(0.97));
    let default_open_at = PipelineConfig::named("default")
        .unwrap()
        .combiner
        .hysteresis
        .open_at;
    assert_eq!(
        engine.tolerance(key("plain")).unwrap(),
        Some(default_open_at)
    );
}
