//! Property tests of the forest detectors: the raw-score contract on arbitrary finite
//! input, bit-for-bit snapshot/restore, and seed determinism.

use lookout_detect::detectors::hst::{HalfSpaceTrees, HstConfig};
use lookout_detect::detectors::iforest::{
    IsolationForest, IsolationForestConfig, StreamingIsolationForest,
    StreamingIsolationForestConfig,
};
use lookout_detect::detectors::rcf::{RandomCutForest, RandomCutForestConfig};
use lookout_detect::{Detector, MultiDetector, MultiScore};
use proptest::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

fn small_rcf(seed: u64) -> RandomCutForest {
    let config = RandomCutForestConfig {
        num_trees: 8,
        sample_size: 32,
        output_after: Some(4),
        ..Default::default()
    };
    RandomCutForest::new(config, seed).unwrap()
}

fn small_hst_config() -> HstConfig {
    HstConfig {
        n_trees: 6,
        max_depth: 5,
        window_size: 16,
        ..Default::default()
    }
}

fn small_iforest_config() -> StreamingIsolationForestConfig {
    StreamingIsolationForestConfig {
        n_trees: 8,
        sample_size: 16,
        warmup: 12,
        refit_every: 10,
        window: 40,
        ..Default::default()
    }
}

/// Finite values across the whole range, with extremes and long constant runs.
fn values() -> impl Strategy<Value = Vec<f64>> {
    let value = prop_oneof![
        4 => -1e3..1e3f64,
        1 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
        1 => prop_oneof![Just(1e300), Just(-1e300), Just(f64::MAX), Just(f64::MIN), Just(0.0)],
    ];
    prop_oneof![
        prop::collection::vec(value, 0..160),
        (-1e300..1e300f64, 1..160usize).prop_map(|(v, n)| vec![v; n]),
    ]
}

fn roundtrip<T: Serialize + DeserializeOwned>(value: &T) -> T {
    bincode::deserialize(&bincode::serialize(value).unwrap()).unwrap()
}

fn run<D: Detector>(detector: &mut D, values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| detector.update(i as i64, *v).raw)
        .collect()
}

fn assert_contract(scores: &[f64]) {
    for s in scores {
        assert!(s.is_finite() && *s >= 0.0, "score {s}");
    }
}

fn assert_multi_contract(score: &MultiScore, features: usize) {
    assert!(score.raw.is_finite() && score.raw >= 0.0, "{score:?}");
    assert_eq!(score.contributions.len(), features);
    assert!(score
        .contributions
        .iter()
        .all(|c| c.is_finite() && *c >= 0.0));
    let total: f64 = score.contributions.iter().sum();
    assert!(total == 0.0 || (total - 1.0).abs() < 1e-9, "{score:?}");
}

/// Runs `prefix`, snapshots, and checks that the original and the restored copy give
/// identical scores on `suffix`; also that a second instance with the same seed
/// gives the same scores throughout.
fn check_snapshot_and_seed<D, F>(make: F, prefix: &[f64], suffix: &[f64])
where
    D: Detector + Serialize + DeserializeOwned,
    F: Fn() -> D,
{
    let mut original = make();
    let mut twin = make();
    let first = run(&mut original, prefix);
    assert_contract(&first);
    assert_eq!(first, run(&mut twin, prefix));
    let mut restored: D = roundtrip(&original);
    let expected = run(&mut original, suffix);
    assert_contract(&expected);
    assert_eq!(expected, run(&mut restored, suffix));
    assert_eq!(expected, run(&mut twin, suffix));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn rcf_contract_snapshot_and_seed(prefix in values(), suffix in values(), seed in any::<u64>()) {
        check_snapshot_and_seed(|| small_rcf(seed), &prefix, &suffix);
    }

    #[test]
    fn hst_contract_snapshot_and_seed(prefix in values(), suffix in values(), seed in any::<u64>()) {
        check_snapshot_and_seed(
            || HalfSpaceTrees::new(small_hst_config(), seed).unwrap(),
            &prefix,
            &suffix,
        );
    }

    #[test]
    fn iforest_contract_snapshot_and_seed(prefix in values(), suffix in values(), seed in any::<u64>()) {
        check_snapshot_and_seed(
            || StreamingIsolationForest::new(small_iforest_config(), seed).unwrap(),
            &prefix,
            &suffix,
        );
    }

    #[test]
    fn multivariate_contract_and_snapshot(flat in values(), seed in any::<u64>()) {
        const FEATURES: usize = 3;
        let mut hst = HalfSpaceTrees::new_multivariate(small_hst_config(), FEATURES, seed).unwrap();
        let mut iforest =
            StreamingIsolationForest::new_multivariate(small_iforest_config(), FEATURES, seed).unwrap();
        let rows: Vec<&[f64]> = flat.chunks_exact(FEATURES).collect();
        let half = rows.len() / 2;
        for (t, row) in rows[..half].iter().enumerate() {
            assert_multi_contract(&MultiDetector::update(&mut hst, t as i64, row), FEATURES);
            assert_multi_contract(&MultiDetector::update(&mut iforest, t as i64, row), FEATURES);
        }
        let mut hst_restored: HalfSpaceTrees = roundtrip(&hst);
        let mut iforest_restored: StreamingIsolationForest = roundtrip(&iforest);
        for (t, row) in rows[half..].iter().enumerate() {
            let a = MultiDetector::update(&mut hst, t as i64, row);
            assert_multi_contract(&a, FEATURES);
            prop_assert_eq!(a, MultiDetector::update(&mut hst_restored, t as i64, row));
            let b = MultiDetector::update(&mut iforest, t as i64, row);
            assert_multi_contract(&b, FEATURES);
            prop_assert_eq!(b, MultiDetector::update(&mut iforest_restored, t as i64, row));
        }
    }

    #[test]
    fn batch_iforest_scores_in_unit_interval(flat in values(), seed in any::<u64>()) {
        const FEATURES: usize = 2;
        let rows = &flat[..flat.len() / FEATURES * FEATURES];
        prop_assume!(!rows.is_empty());
        let config = IsolationForestConfig { n_trees: 10, sample_size: 32, ..Default::default() };
        let model = IsolationForest::fit(rows, FEATURES, &config, seed).unwrap();
        let again = IsolationForest::fit(rows, FEATURES, &config, seed).unwrap();
        prop_assert_eq!(&model, &again);
        for row in rows.chunks_exact(FEATURES) {
            let s = model.score(row);
            prop_assert!(s > 0.0 && s <= 1.0, "score {}", s);
            let shares = model.contributions(row);
            let total: f64 = shares.iter().sum();
            prop_assert!(total == 0.0 || (total - 1.0).abs() < 1e-9);
        }
        prop_assert!(model.threshold() > 0.0 && model.threshold() <= 1.0);
    }
}

#[test]
fn constant_series_stays_finite_and_quiet() {
    let mut rcf = small_rcf(1);
    let mut hst = HalfSpaceTrees::new(small_hst_config(), 1).unwrap();
    let mut iforest = StreamingIsolationForest::new(small_iforest_config(), 1).unwrap();
    for t in 0..500 {
        for score in [
            rcf.update(t, 42.0).raw,
            Detector::update(&mut hst, t, 42.0).raw,
            Detector::update(&mut iforest, t, 42.0).raw,
        ] {
            assert!(score.is_finite() && score >= 0.0);
        }
    }
    // A constant series is one duplicate leaf per tree: the damped "seen" score.
    assert!(rcf.update(500, 42.0).raw <= 0.5 + 1e-12);
    assert!(rcf.update(501, 43.0).raw > 1.0);
}
