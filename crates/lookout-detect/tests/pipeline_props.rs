//! Invariants of whole pipelines on arbitrary input: finite scores in [0, 1], no
//! panic, and a snapshot restored mid-stream continues bit for bit.

use lookout_detect::pipeline::{PipelineConfig, SeriesPipeline, DETECTOR_NAMES};
use proptest::prelude::*;

fn finite_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6f64..1e6,
        Just(0.0),
        Just(1e300),
        Just(-1e300),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        (0u8..3).prop_map(f64::from),
    ]
}

fn check(profile: &str, values: &[f64], split: usize) {
    let config = PipelineConfig::named(profile).unwrap();
    let mut pipeline = SeriesPipeline::new(&config, 7).unwrap();
    let split = split.min(values.len());
    for (index, value) in values[..split].iter().enumerate() {
        let verdict = pipeline.verdict(index as i64 * 1000, *value);
        assert!(verdict.score.is_finite() && (0.0..=1.0).contains(&verdict.score));
    }
    let snapshot = serde_json::to_string(&pipeline).unwrap();
    let mut restored: SeriesPipeline = serde_json::from_str(&snapshot).unwrap();
    for (index, value) in values.iter().enumerate().skip(split) {
        let timestamp = index as i64 * 1000;
        let a = pipeline.verdict(timestamp, *value);
        let b = restored.verdict(timestamp, *value);
        assert_eq!(a, b, "{profile}: restored pipeline diverged at row {index}");
        assert!(a.score.is_finite() && (0.0..=1.0).contains(&a.score));
        assert!(a.expected_lower.is_finite() && a.expected_upper.is_finite());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn default_pipeline_invariants(values in prop::collection::vec(finite_value(), 1..400), split in 0usize..400) {
        check("default", &values, split);
    }

    #[test]
    fn every_single_detector_pipeline_invariants(values in prop::collection::vec(finite_value(), 1..300), split in 0usize..300) {
        for name in DETECTOR_NAMES {
            check(name, &values, split);
        }
    }
}
