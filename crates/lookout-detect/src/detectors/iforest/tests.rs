use super::*;
use crate::detector::{Detector, MultiDetector};
use crate::detectors::rcf::rng::ForestRng;

/// Gaussian-ish inliers (sum of uniforms) with a labelled share of uniform outliers.
fn synthetic(n: usize, features: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = ForestRng::new(seed);
    let mut rows = Vec::with_capacity(n * features);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let outlier = i % 20 == 0;
        for _ in 0..features {
            let v = if outlier {
                rng.next_f64() * 16.0 - 8.0
            } else {
                (0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0
            };
            rows.push(v);
        }
        labels.push(outlier);
    }
    (rows, labels)
}

fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    for (rank, &i) in order.iter().enumerate() {
        if labels[i] {
            rank_sum += rank as f64 + 1.0;
        }
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

#[test]
fn separates_synthetic_outliers() {
    let (rows, labels) = synthetic(4000, 4, 1);
    let model = IsolationForest::fit(&rows, 4, &IsolationForestConfig::default(), 7).unwrap();
    let scores = model.score_many(&rows);
    assert!(scores.iter().all(|s| *s > 0.0 && *s < 1.0));
    let area = auc(&scores, &labels);
    assert!(area > 0.9, "auc {area}");
    for (i, row) in rows.chunks(4).enumerate().take(50) {
        assert_eq!(model.score(row), scores[i]);
    }
    let flagged = scores.iter().filter(|s| **s > model.threshold()).count();
    assert!(
        (150..=250).contains(&flagged),
        "flagged {flagged} of 4000 at 5%"
    );
    assert!(model.is_anomaly(&[8.0, 8.0, -8.0, 8.0]));
    assert!(!model.is_anomaly(&[0.0, 0.0, 0.0, 0.0]));
}

#[test]
fn contributions_point_at_the_perturbed_feature() {
    let (rows, _) = synthetic(2000, 5, 2);
    let model = IsolationForest::fit(&rows, 5, &IsolationForestConfig::default(), 3).unwrap();
    for feature in 0..5 {
        let mut row = vec![0.1, -0.2, 0.0, 0.3, -0.1];
        row[feature] = 12.0;
        let shares = model.contributions(&row);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let top = (0..5)
            .max_by(|&a, &b| shares[a].total_cmp(&shares[b]))
            .unwrap();
        assert_eq!(top, feature, "{shares:?}");
        assert!(shares[feature] > 0.5, "{shares:?}");
    }
}

#[test]
fn average_path_length_matches_known_values() {
    assert_eq!(average_path_length(1), 0.0);
    assert_eq!(average_path_length(2), 1.0);
    // c(256) as computed by scikit-learn's _average_path_length.
    assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
}

#[test]
fn rejects_bad_input_by_name() {
    let config = IsolationForestConfig {
        contamination: 0.9,
        ..Default::default()
    };
    let err = IsolationForest::fit(&[1.0, 2.0], 1, &config, 1).unwrap_err();
    assert!(err.to_string().contains("contamination"), "{err}");
    let config = IsolationForestConfig::default();
    assert!(matches!(
        IsolationForest::fit(&[1.0, 2.0, 3.0], 2, &config, 1),
        Err(IsolationForestError::Ragged { .. })
    ));
    assert!(matches!(
        IsolationForest::fit(&[1.0, f64::NAN], 1, &config, 1),
        Err(IsolationForestError::NonFinite { row: 1, column: 0 })
    ));
    assert!(matches!(
        IsolationForest::fit(&[], 3, &config, 1),
        Err(IsolationForestError::Empty { .. })
    ));
}

#[test]
fn constant_training_data_scores_everything_alike() {
    let rows = vec![5.0; 300 * 2];
    let model = IsolationForest::fit(&rows, 2, &IsolationForestConfig::default(), 1).unwrap();
    let s = model.score(&[5.0, 5.0]);
    assert_eq!(s, model.score(&[500.0, -5.0]));
    assert!(s > 0.0 && s < 1.0);
    assert_eq!(model.contributions(&[5.0, 5.0]), vec![0.0, 0.0]);
}

#[test]
fn streaming_flags_a_multivariate_outlier_and_refits() {
    let config = StreamingIsolationForestConfig {
        warmup: 200,
        refit_every: 300,
        window: 600,
        ..Default::default()
    };
    let mut detector = StreamingIsolationForest::new_multivariate(config, 3, 5).unwrap();
    let mut rng = ForestRng::new(9);
    let mut bell = move || (0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0;
    let mut inlier_scores = Vec::new();
    for t in 0..1500 {
        let row = [bell(), 2.0 * bell(), bell() - 5.0];
        let score = MultiDetector::update(&mut detector, t, &row);
        if t < 200 {
            assert_eq!(score.raw, 0.0);
        } else {
            inlier_scores.push(score.raw);
        }
    }
    inlier_scores.sort_by(f64::total_cmp);
    let inlier_p75 = inlier_scores[inlier_scores.len() * 3 / 4];
    let inlier_max = inlier_scores[inlier_scores.len() - 1];
    // Far out in one feature only: above most inliers (axis-parallel splits treat it
    // like the sample's extreme in that feature), and blamed on that feature.
    let one_feature = MultiDetector::update(&mut detector, 1500, &[0.1, 9.0, -4.9]);
    assert!(
        one_feature.raw > inlier_p75,
        "{} vs {inlier_p75}",
        one_feature.raw
    );
    let top = (0..3)
        .max_by(|&a, &b| one_feature.contributions[a].total_cmp(&one_feature.contributions[b]))
        .unwrap();
    assert_eq!(top, 1, "{:?}", one_feature.contributions);
    // Far out in every feature: above every inlier.
    let obvious = MultiDetector::update(&mut detector, 1501, &[6.0, 12.0, 1.0]);
    assert!(obvious.raw > inlier_max, "{} vs {inlier_max}", obvious.raw);
    let wrong_length = MultiDetector::update(&mut detector, 1501, &[1.0]);
    assert_eq!(wrong_length.raw, 0.0);
}

#[test]
fn streaming_univariate_flags_a_spike_in_a_sine() {
    let mut detector =
        StreamingIsolationForest::new(StreamingIsolationForestConfig::default(), 4).unwrap();
    let mut scores = Vec::new();
    for i in 0..3000 {
        let base = (i as f64 * std::f64::consts::TAU / 60.0).sin();
        let value = if i == 2500 { 4.0 } else { base };
        scores.push(Detector::update(&mut detector, i, value).raw);
    }
    let spike = scores[2500];
    let inlier_max = scores[1000..2500].iter().cloned().fold(0.0, f64::max);
    assert!(spike > inlier_max, "spike {spike} vs {inlier_max}");
}

#[test]
fn serde_round_trip_keeps_scores_and_rejects_broken_layouts() {
    let (rows, _) = synthetic(600, 3, 6);
    let model = IsolationForest::fit(&rows, 3, &IsolationForestConfig::default(), 2).unwrap();
    let json = serde_json::to_string(&model).unwrap();
    let back: IsolationForest = serde_json::from_str(&json).unwrap();
    assert_eq!(back.score_many(&rows), model.score_many(&rows));

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["splits"][0]["left"] = serde_json::json!(1_000_000);
    let err = serde_json::from_value::<IsolationForest>(value).unwrap_err();
    assert!(err.to_string().contains("node 0 has children"), "{err}");

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["splits"][0]["feature"] = serde_json::json!(3);
    let err = serde_json::from_value::<IsolationForest>(value).unwrap_err();
    assert!(err.to_string().contains("feature 3 of 3"), "{err}");

    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["paths"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<IsolationForest>(value).is_err());
}
