use super::*;
use crate::nab::weights::scaled_sigmoid;
use crate::nab::NabFile;
use proptest::prelude::*;

fn profile(name: &str, a_fp: f64, a_fn: f64) -> CostProfile {
    CostProfile {
        name: name.into(),
        a_tp: 1.0,
        a_fp,
        a_fn,
        a_tn: 1.0,
    }
}

fn corpus(files: Vec<(usize, Vec<(usize, usize)>)>) -> NabCorpus {
    let files = files
        .into_iter()
        .enumerate()
        .map(|(index, (len, windows))| NabFile {
            name: format!("cat/file{index}.csv"),
            timestamps: (0..len).map(|row| row.to_string()).collect(),
            timestamps_ms: (0..len as i64).map(|row| row * 1000).collect(),
            values: vec![0.0; len],
            windows,
        })
        .collect();
    NabCorpus {
        root: "corpus".into(),
        files,
        profiles: vec![
            profile("standard", 0.11, 1.0),
            profile("reward_low_FN_rate", 0.11, 2.0),
        ],
    }
}

/// 20 rows (probation 3), one window at rows 5..=9 (W = 5).
fn one_window() -> NabCorpus {
    corpus(vec![(20, vec![(5, 9)])])
}

/// Scores that are NaN (never a detection) except at the given rows.
fn scores_with(len: usize, detections: &[(usize, f64)]) -> Vec<f64> {
    let mut scores = vec![f64::NAN; len];
    for &(row, score) in detections {
        scores[row] = score;
    }
    scores
}

#[test]
fn first_row_of_window_earns_a_tp_and_later_rows_add_nothing() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let standard = &corpus.profiles[0];
    let scores = vec![scores_with(20, &[(5, 0.9), (7, 0.9), (9, 0.9)])];
    let at = scorer.score_at_threshold(&scores, standard, 0.5).unwrap();
    assert_eq!(at.raw_score, 1.0);
    assert_eq!((at.tp, at.fp, at.fn_, at.tn), (3, 0, 2, 12));
    assert_eq!(at.normalized, 100.0);
    assert_eq!(at.files[0].rows, 20);
}

#[test]
fn late_detection_earns_less_and_false_positives_cost_by_distance() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let standard = &corpus.profiles[0];
    let scores = vec![scores_with(20, &[(9, 0.9), (12, 0.9), (2, 0.9), (4, 0.9)])];
    let at = scorer.score_at_threshold(&scores, standard, 0.5).unwrap();
    let in_window = scaled_sigmoid(-0.2) / scaled_sigmoid(-1.0);
    let after = 0.11 * scaled_sigmoid(3.0 / 4.0);
    let before = -0.11; // row 4 precedes the first window; row 2 is probationary.
    assert!((at.raw_score - (in_window + after + before)).abs() < 1e-15);
    assert_eq!((at.tp, at.fp), (1, 2));
}

#[test]
fn missed_window_costs_a_fn_and_normalization_uses_the_profile() {
    let corpus = corpus(vec![(20, vec![(5, 9)]), (40, vec![(10, 12), (20, 30)])]);
    let scorer = NabScorer::new(&corpus);
    let low_fn = &corpus.profiles[1];
    let scores = vec![vec![0.0; 20], scores_with(40, &[(10, 1.0)])];
    let at = scorer.score_at_threshold(&scores, low_fn, 0.5).unwrap();
    assert_eq!(at.files[0].raw_score, -2.0);
    assert_eq!(at.files[1].raw_score, 1.0 - 2.0);
    assert_eq!(at.raw_score, -3.0);
    assert_eq!(at.normalized, 100.0 * (-3.0 + 6.0) / (3.0 + 6.0));
    assert_eq!(scorer.window_count(), 3);
}

#[test]
fn sweep_finds_the_best_threshold_and_prefers_the_higher_on_ties() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    // Row 5 (window start) at 0.8; row 7 (inside) at 0.6 changes nothing; row 15 (outside) at
    // 0.4 costs. Best: any threshold in (0.4, 0.8]; the candidates there are 0.8 and 0.6, tie.
    let scores = vec![scores_with(20, &[(5, 0.8), (7, 0.6), (15, 0.4)])];
    let best = scorer.sweep_profile(&scores, &corpus.profiles[0]).unwrap();
    assert_eq!(best.threshold, 0.8);
    assert_eq!(best.raw_score, 1.0);
    assert_eq!((best.tp, best.fp, best.fn_, best.tn), (1, 0, 4, 12));
}

#[test]
fn sweep_with_no_useful_detection_keeps_the_start_threshold() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let scores = vec![scores_with(20, &[(15, 0.7)])];
    let best = scorer.sweep_profile(&scores, &corpus.profiles[0]).unwrap();
    assert_eq!(best.threshold, NO_DETECTION_THRESHOLD);
    assert_eq!(best.raw_score, -1.0);
    assert_eq!(best.normalized, 0.0);
}

#[test]
fn scores_above_the_start_threshold_are_candidates_too() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let scores = vec![scores_with(20, &[(5, 7.0), (15, 1.1)])];
    let best = scorer.sweep_profile(&scores, &corpus.profiles[0]).unwrap();
    assert_eq!(best.threshold, 7.0);
    assert_eq!(best.raw_score, 1.0);
}

#[test]
fn probationary_rows_and_nan_scores_never_count() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let probationary_only = scores_with(20, &[(0, 1.0), (1, 1.0), (2, 1.0)]);
    let best = scorer
        .sweep_profile(
            std::slice::from_ref(&probationary_only),
            &corpus.profiles[0],
        )
        .unwrap();
    assert_eq!(
        best.threshold, NO_DETECTION_THRESHOLD,
        "probationary scores are not candidates"
    );
    assert_eq!((best.tp, best.fp), (0, 0));
    let at = scorer
        .score_at_threshold(&[probationary_only], &corpus.profiles[0], 0.0)
        .unwrap();
    assert_eq!((at.tp, at.fp), (0, 0));

    let mut all_but_one = vec![0.0; 20];
    all_but_one[6] = f64::NAN;
    let at = scorer
        .score_at_threshold(&[all_but_one], &corpus.profiles[0], 0.0)
        .unwrap();
    assert_eq!(
        (at.tp, at.fp, at.fn_, at.tn),
        (4, 12, 1, 0),
        "row 6 (NaN) is not detected even at threshold 0"
    );
}

#[test]
fn shape_mismatches_are_errors_naming_the_file() {
    let corpus = one_window();
    let scorer = NabScorer::new(&corpus);
    let wrong_count = scorer.sweep(&[]).unwrap_err().to_string();
    assert_eq!(
        wrong_count,
        "scores: 0 score series given for 1 corpus files"
    );
    let wrong_len = scorer.sweep(&[vec![0.0; 19]]).unwrap_err().to_string();
    assert_eq!(wrong_len, "scores: cat/file0.csv: 19 scores for 20 rows");
}

/// Reference: evaluate every candidate threshold from scratch, keep the first maximum in
/// descending-threshold order.
fn brute_force(scorer: &NabScorer, scores: &[Vec<f64>], profile: &CostProfile) -> (f64, f64) {
    let mut candidates: Vec<f64> = scorer
        .files
        .iter()
        .zip(scores)
        .flat_map(|(layout, file)| file[layout.probation..].iter().copied())
        .chain([NO_DETECTION_THRESHOLD])
        .collect();
    candidates.sort_by(|a, b| b.total_cmp(a));
    candidates.dedup();
    let mut best = (f64::NAN, f64::NEG_INFINITY);
    for threshold in candidates {
        let raw = scorer
            .score_at_threshold(scores, profile, threshold)
            .unwrap()
            .raw_score;
        if raw > best.1 + 1e-9 {
            best = (threshold, raw);
        }
    }
    best
}

proptest! {
    #[test]
    fn sweep_matches_brute_force(
        seed_windows in proptest::collection::vec((0usize..60, 1usize..12), 0..4),
        raw_scores in proptest::collection::vec(0u8..12, 150),
    ) {
        // Two files of 75 rows; windows placed in order without overlap from the seeds.
        let mut files = Vec::new();
        for half in 0..2 {
            let mut windows = Vec::new();
            let mut next_free = 12;
            for &(gap, width) in seed_windows.iter().skip(half) {
                let left = next_free + gap % 20;
                let right = left + width - 1;
                if right >= 75 { break; }
                windows.push((left, right));
                next_free = right + 2;
            }
            files.push((75, windows));
        }
        let corpus = corpus(files);
        let scorer = NabScorer::new(&corpus);
        let scores: Vec<Vec<f64>> = raw_scores.chunks(75).map(|chunk| chunk.iter().map(|&s| f64::from(s) / 10.0).collect()).collect();
        for profile in &corpus.profiles {
            let swept = scorer.sweep_profile(&scores, profile).unwrap();
            let (threshold, raw) = brute_force(&scorer, &scores, profile);
            prop_assert!((swept.raw_score - raw).abs() < 1e-9, "sweep {} vs brute force {}", swept.raw_score, raw);
            prop_assert_eq!(swept.threshold, threshold);
            let at = scorer.score_at_threshold(&scores, profile, swept.threshold).unwrap();
            prop_assert_eq!((at.tp, at.fp, at.fn_, at.tn), (swept.tp, swept.fp, swept.fn_, swept.tn));
        }
    }
}
