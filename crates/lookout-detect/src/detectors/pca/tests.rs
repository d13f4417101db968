use super::*;

/// Rows on a 2-dimensional plane inside 6 metrics, plus a little noise.
fn plane_row(state: &mut u64) -> Vec<f64> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (a, b) = (next(), next());
    (0..6)
        .map(|j| a * (j as f64 + 1.0) + b * (3.0 - j as f64) + 0.01 * next() + 10.0)
        .collect()
}

fn trained() -> (StreamingPca, u64) {
    let mut pca = StreamingPca::new(PcaConfig::default(), 6).unwrap();
    let mut state = 7;
    for t in 0..3000 {
        pca.update(t, &plane_row(&mut state));
    }
    (pca, state)
}

#[test]
fn finds_the_plane_and_scores_ordinary_rows_alike() {
    let (mut pca, mut state) = trained();
    assert_eq!(pca.components(), 2);
    let mean: f64 = (0..500)
        .map(|t| pca.update(3000 + t, &plane_row(&mut state)).raw)
        .sum::<f64>()
        / 500.0;
    // Every metric's residual variance is floored at 10× the mean: ordinary rows ≈ 0.1.
    assert!(mean > 0.03 && mean < 0.3, "mean ordinary score {mean}");
}

#[test]
fn a_broken_correlation_scores_high_and_names_the_metric() {
    let (mut pca, mut state) = trained();
    let mut row = plane_row(&mut state);
    row[4] += 0.5;
    let score = pca.update(5000, &row);
    assert!(score.raw > 50.0, "raw {}", score.raw);
    let top = (0..6)
        .max_by(|&a, &b| score.contributions[a].total_cmp(&score.contributions[b]))
        .unwrap();
    assert_eq!(top, 4);
    assert!((score.contributions.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn warms_up_silently_and_rejects_bad_rows() {
    let mut pca = StreamingPca::new(PcaConfig::default(), 3).unwrap();
    for t in 0..100 {
        assert_eq!(pca.update(t, &[t as f64, 1.0, 2.0]).raw, 0.0);
    }
    assert_eq!(pca.update(100, &[f64::NAN, 1.0, 2.0]).raw, 0.0);
    assert_eq!(pca.update(101, &[1.0, 2.0]).raw, 0.0);
    assert!(StreamingPca::new(PcaConfig::default(), 1).is_err());
    let bad = PcaConfig {
        variance_kept: 1.0,
        ..PcaConfig::default()
    };
    assert!(StreamingPca::new(bad, 3).is_err());
}

#[test]
fn constant_metrics_do_not_divide_by_zero() {
    let mut pca = StreamingPca::new(PcaConfig::default(), 4).unwrap();
    let mut state = 3;
    for t in 0..2000 {
        let row = plane_row(&mut state);
        let score = pca.update(t, &[row[0], row[1], 0.0, 5.0]);
        assert!(score.raw.is_finite());
    }
    let score = pca.update(2000, &[10.0, 10.0, 1.0, 5.0]);
    assert!(score.raw.is_finite() && score.raw > 10.0);
}

#[test]
fn deterministic_and_serde_round_trip() {
    let (pca, mut state) = trained();
    let json = serde_json::to_string(&pca).unwrap();
    let mut restored: StreamingPca = serde_json::from_str(&json).unwrap();
    let mut original = pca.clone();
    for t in 0..600 {
        let row = plane_row(&mut state);
        assert_eq!(original.update(t, &row), restored.update(t, &row));
    }
}
