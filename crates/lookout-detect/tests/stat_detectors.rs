//! Property tests of the statistical detectors over arbitrary finite inputs: scores
//! stay within the contract (finite, >= 0, bands finite and ordered), nothing panics,
//! and a snapshot taken mid-stream restores to a detector that behaves identically.

use std::fmt::Debug;

use lookout_detect::detectors::{
    changepoint::{PageHinkley, PageHinkleyConfig},
    ewma::{EwmaZ, EwmaZConfig},
    robust_z::{RobustZ, RobustZConfig},
    seasonal::{SeasonalBaseline, SeasonalConfig},
    usage::{UsageConfig, UsageRules},
};
use lookout_detect::{Detector, Score};
use proptest::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

fn finite_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3f64,
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(5e-324),
        1 => Just(0.0),
        1 => Just(-0.0),
        2 => prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

/// Arbitrary values, or a constant run followed by arbitrary values.
fn values() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(finite_value(), 0..300),
        (
            finite_value(),
            0..200usize,
            prop::collection::vec(finite_value(), 0..40)
        )
            .prop_map(|(constant, run, tail)| {
                let mut values = vec![constant; run];
                values.extend(tail);
                values
            }),
    ]
}

/// Non-decreasing timestamps (repeats allowed, negative starts allowed) with values.
fn series() -> impl Strategy<Value = Vec<(i64, f64)>> {
    (
        -10_000_000_000i64..10_000_000_000,
        values(),
        prop::collection::vec(0i64..20_000_000, 300),
    )
        .prop_map(|(start, values, steps)| {
            let mut t = start;
            values
                .into_iter()
                .zip(steps)
                .map(|(value, step)| {
                    t += step;
                    (t, value)
                })
                .collect()
        })
}

fn assert_contract(name: &str, score: &Score) {
    assert!(
        score.raw.is_finite() && score.raw >= 0.0,
        "{name}: raw {} breaks the contract",
        score.raw
    );
    if let Some(band) = score.expected {
        assert!(
            band.lower.is_finite() && band.upper.is_finite() && band.lower <= band.upper,
            "{name}: band {band:?}"
        );
    }
}

/// Feeds `series`, snapshots after `split` points (bincode, bit-exact; JSON must also
/// round-trip, i.e. the state holds only finite numbers), then feeds the rest to both
/// the original and the restored copy and requires identical outputs.
fn check_detector<D>(detector: D, series: &[(i64, f64)], split: usize)
where
    D: Detector + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut original = detector;
    let name = original.name();
    let split = split.min(series.len());
    for &(t, v) in &series[..split] {
        assert_contract(name, &original.update(t, v));
    }
    let bytes = bincode::serialize(&original).expect("bincode snapshot");
    let mut restored: D = bincode::deserialize(&bytes).expect("bincode restore");
    assert_eq!(restored, original, "{name}: restored state differs");
    let json = serde_json::to_string(&original).expect("json snapshot");
    let _: D = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{name}: json restore failed ({e}): {json}"));
    for &(t, v) in &series[split..] {
        let expected = original.update(t, v);
        assert_contract(name, &expected);
        let got = restored.update(t, v);
        assert_eq!(got.raw.to_bits(), expected.raw.to_bits(), "{name} at t={t}");
        assert_eq!(got, expected, "{name} at t={t}");
    }
    assert_eq!(restored, original, "{name}: states diverged");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn robust_z_contract_and_snapshots(series in series(), split in 0usize..300, window in 3usize..80) {
        check_detector(RobustZ::default(), &series, split);
        let small = RobustZ::new(RobustZConfig { window, min_points: 3, ..RobustZConfig::default() }).unwrap();
        check_detector(small, &series, split);
    }

    #[test]
    fn ewma_contract_and_snapshots(series in series(), split in 0usize..300, alpha in 0.001f64..=1.0) {
        check_detector(EwmaZ::default(), &series, split);
        let config = EwmaZConfig { alpha, min_points: 2, ..EwmaZConfig::default() };
        check_detector(EwmaZ::new(config).unwrap(), &series, split);
    }

    #[test]
    fn seasonal_contract_and_snapshots(series in series(), split in 0usize..300, bins in 2u32..40) {
        check_detector(SeasonalBaseline::default(), &series, split);
        let fast = SeasonalConfig {
            period_secs: Some(3_600),
            bins: Some(bins),
            min_points: 2,
            ..SeasonalConfig::default()
        };
        check_detector(SeasonalBaseline::new(fast).unwrap(), &series, split);
    }

    #[test]
    fn page_hinkley_contract_and_snapshots(series in series(), split in 0usize..300, delta in 0.0f64..2.0) {
        check_detector(PageHinkley::default(), &series, split);
        let config = PageHinkleyConfig { min_points: 2, delta, lambda: 2.0, ..PageHinkleyConfig::default() };
        check_detector(PageHinkley::new(config).unwrap(), &series, split);
    }

    #[test]
    fn usage_contract_and_snapshots(series in series(), split in 0usize..300) {
        check_detector(UsageRules::default(), &series, split);
        let config = UsageConfig { jump_factor: 0.0, min_jump_points: 0.0, ..UsageConfig::default() };
        check_detector(UsageRules::new(config).unwrap(), &series, split);
    }
}

#[test]
fn hourly_pattern_over_weeks_survives_a_snapshot() {
    // A long deterministic stream that activates seasonal candidates before the split.
    let series: Vec<(i64, f64)> = (0..20_000i64)
        .map(|i| {
            let t = i * 60_000;
            let minute = (t / 60_000) % 60;
            let value = if minute < 5 { 90.0 } else { 20.0 } + ((i * 7919) % 13) as f64 * 0.1;
            (t, value)
        })
        .collect();
    let mut warmed = SeasonalBaseline::default();
    for &(t, v) in &series[..15_000] {
        warmed.update(t, v);
    }
    assert_eq!(warmed.active_period_secs(), Some(3_600));
    check_detector(SeasonalBaseline::default(), &series, 15_000);
}
