//! The NAB scorer: raw score at a threshold, and the exhaustive threshold sweep.
//!
//! Semantics (corpus README, `nab/sweeper.py` and `optimizer.py`): a scorable row (index at
//! or after the probationary period) is a detection when `score >= threshold`. A window earns
//! the largest weight among its detected rows (that of its first detection), or `-A_FN` with
//! none; every detection outside windows adds its (negative) weight. The corpus raw score is
//! the sum over files, normalized as `100 (raw - raw_null) / (raw_perfect - raw_null)` with
//! `raw_null = -A_FN * windows` and `raw_perfect = A_TP * windows` (NaN for a corpus without
//! windows).
//!
//! The sweep evaluates every candidate threshold, `1.1` and each distinct score among scorable
//! rows, in one pass over the rows sorted by descending score, keeping per window its best
//! detected weight; on equal raw scores the higher threshold wins. A NaN score is never a
//! detection and never a candidate.
//!
//! Cost: [`NabScorer::new`] precomputes one weight per scorable row (16 bytes a row, ~5 MB for
//! NAB). A sweep sorts the scorable rows once (O(n log n), 16 bytes a row) and walks them once
//! per profile; [`NabScorer::score_at_threshold`] is a single O(n) pass.

use super::weights::{row_weights, RowWeight};
use super::{CostProfile, NabCorpus, NabError};

/// The threshold NAB starts its sweep from: above any score in [0, 1], so no detections.
pub const NO_DETECTION_THRESHOLD: f64 = 1.1;

/// The best threshold of one profile, as found by the sweep.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProfileScore {
    pub profile: String,
    pub threshold: f64,
    pub raw_score: f64,
    pub normalized: f64,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

/// The sweep's result for every profile of the corpus, in corpus profile order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NabReport {
    pub profiles: Vec<ProfileScore>,
}

impl NabReport {
    /// The result for the named profile.
    pub fn profile(&self, name: &str) -> Option<&ProfileScore> {
        self.profiles.iter().find(|score| score.profile == name)
    }
}

/// One file's score at a fixed threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileScore {
    pub name: String,
    pub raw_score: f64,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
    /// All rows of the file, probationary ones included (NAB's `Total_Count`).
    pub rows: usize,
}

/// The corpus score at a fixed threshold, with the per-file breakdown.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdScore {
    pub profile: String,
    pub threshold: f64,
    pub raw_score: f64,
    pub normalized: f64,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
    pub files: Vec<FileScore>,
}

/// Per-file layout of the flat scorable-row arrays.
#[derive(Debug, Clone)]
struct FileLayout {
    name: String,
    rows: usize,
    probation: usize,
    /// Index of this file's first scorable row in the flat arrays.
    flat_offset: usize,
    /// Global index of this file's first window.
    first_window: usize,
    window_count: usize,
}

/// Precomputed weights for a corpus; build once, score many score sets.
#[derive(Debug, Clone)]
pub struct NabScorer {
    files: Vec<FileLayout>,
    /// Per scorable row: global window index, or `NO_WINDOW`.
    row_window: Vec<u32>,
    /// Per scorable row: unit weight (A_TP-scaled inside windows, A_FP-scaled outside).
    row_unit: Vec<f64>,
    window_count: usize,
    /// Scorable rows inside windows / outside windows, for the counts.
    window_rows: usize,
    outside_rows: usize,
    profiles: Vec<CostProfile>,
}

const NO_WINDOW: u32 = u32::MAX;

impl NabScorer {
    /// Precomputes the weights of every scorable row of `corpus`.
    pub fn new(corpus: &NabCorpus) -> NabScorer {
        let mut scorer = NabScorer {
            files: Vec::with_capacity(corpus.files.len()),
            row_window: Vec::new(),
            row_unit: Vec::new(),
            window_count: 0,
            window_rows: 0,
            outside_rows: 0,
            profiles: corpus.profiles.clone(),
        };
        for file in &corpus.files {
            let probation = file.probationary_rows();
            scorer.files.push(FileLayout {
                name: file.name.clone(),
                rows: file.len(),
                probation,
                flat_offset: scorer.row_unit.len(),
                first_window: scorer.window_count,
                window_count: file.windows.len(),
            });
            for weight in row_weights(file).into_iter().skip(probation) {
                let (window, unit) = match weight {
                    RowWeight::InWindow { window, unit } => {
                        scorer.window_rows += 1;
                        let global = scorer.window_count + window;
                        (
                            u32::try_from(global).expect("fewer than 4 billion windows"),
                            unit,
                        )
                    }
                    RowWeight::Outside { unit } => {
                        scorer.outside_rows += 1;
                        (NO_WINDOW, unit)
                    }
                };
                scorer.row_window.push(window);
                scorer.row_unit.push(unit);
            }
            scorer.window_count += file.windows.len();
        }
        scorer
    }

    /// The corpus profiles, in order.
    pub fn profiles(&self) -> &[CostProfile] {
        &self.profiles
    }

    /// Total number of windows.
    pub fn window_count(&self) -> usize {
        self.window_count
    }

    /// Number of scorable rows (after each file's probationary period).
    pub fn scorable_rows(&self) -> usize {
        self.row_unit.len()
    }

    /// `100 (raw - raw_null) / (raw_perfect - raw_null)` for this corpus and profile.
    pub fn normalize(&self, raw: f64, profile: &CostProfile) -> f64 {
        let windows = self.window_count as f64;
        let null = -profile.a_fn * windows;
        let perfect = profile.a_tp * windows;
        100.0 * (raw - null) / (perfect - null)
    }

    /// Runs the sweep for every profile of the corpus.
    pub fn sweep(&self, scores: &[Vec<f64>]) -> Result<NabReport, NabError> {
        let order = self.sorted_rows(scores)?;
        let profiles = self
            .profiles
            .iter()
            .map(|profile| self.sweep_sorted(&order, profile))
            .collect();
        Ok(NabReport { profiles })
    }

    /// Runs the sweep for one profile.
    pub fn sweep_profile(
        &self,
        scores: &[Vec<f64>],
        profile: &CostProfile,
    ) -> Result<ProfileScore, NabError> {
        let order = self.sorted_rows(scores)?;
        Ok(self.sweep_sorted(&order, profile))
    }

    /// Scores at a fixed threshold, with per-file raw scores and counts.
    pub fn score_at_threshold(
        &self,
        scores: &[Vec<f64>],
        profile: &CostProfile,
        threshold: f64,
    ) -> Result<ThresholdScore, NabError> {
        self.check_shape(scores)?;
        let mut best_unit = vec![f64::NAN; self.window_count];
        let mut files = Vec::with_capacity(self.files.len());
        for (layout, file_scores) in self.files.iter().zip(scores) {
            let mut file = FileScore {
                name: layout.name.clone(),
                raw_score: 0.0,
                tp: 0,
                fp: 0,
                fn_: 0,
                tn: 0,
                rows: layout.rows,
            };
            for (offset, &score) in file_scores[layout.probation..].iter().enumerate() {
                let flat = layout.flat_offset + offset;
                let detected = score >= threshold;
                let window = self.row_window[flat];
                let unit = self.row_unit[flat];
                match (window == NO_WINDOW, detected) {
                    (true, true) => {
                        file.fp += 1;
                        file.raw_score += profile.a_fp * unit;
                    }
                    (true, false) => file.tn += 1,
                    (false, true) => {
                        file.tp += 1;
                        let best = &mut best_unit[window as usize];
                        if best.is_nan() || unit > *best {
                            *best = unit;
                        }
                    }
                    (false, false) => file.fn_ += 1,
                }
            }
            let windows =
                &best_unit[layout.first_window..layout.first_window + layout.window_count];
            for &best in windows {
                file.raw_score += if best.is_nan() {
                    -profile.a_fn
                } else {
                    profile.a_tp * best
                };
            }
            files.push(file);
        }
        let raw_score: f64 = files.iter().map(|file| file.raw_score).sum();
        Ok(ThresholdScore {
            profile: profile.name.clone(),
            threshold,
            raw_score,
            normalized: self.normalize(raw_score, profile),
            tp: files.iter().map(|file| file.tp).sum(),
            fp: files.iter().map(|file| file.fp).sum(),
            fn_: files.iter().map(|file| file.fn_).sum(),
            tn: files.iter().map(|file| file.tn).sum(),
            files,
        })
    }

    fn check_shape(&self, scores: &[Vec<f64>]) -> Result<(), NabError> {
        if scores.len() != self.files.len() {
            return Err(NabError::Scores {
                reason: format!(
                    "{} score series given for {} corpus files",
                    scores.len(),
                    self.files.len()
                ),
            });
        }
        for (layout, file_scores) in self.files.iter().zip(scores) {
            if file_scores.len() != layout.rows {
                return Err(NabError::Scores {
                    reason: format!(
                        "{}: {} scores for {} rows",
                        layout.name,
                        file_scores.len(),
                        layout.rows
                    ),
                });
            }
        }
        Ok(())
    }

    /// `(score, flat row)` for every scorable row with a non-NaN score, by descending score.
    fn sorted_rows(&self, scores: &[Vec<f64>]) -> Result<Vec<(f64, u32)>, NabError> {
        self.check_shape(scores)?;
        let mut order = Vec::with_capacity(self.row_unit.len());
        for (layout, file_scores) in self.files.iter().zip(scores) {
            for (offset, &score) in file_scores[layout.probation..].iter().enumerate() {
                if !score.is_nan() {
                    let flat = u32::try_from(layout.flat_offset + offset)
                        .expect("fewer than 4 billion rows");
                    order.push((score, flat));
                }
            }
        }
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        Ok(order)
    }

    fn sweep_sorted(&self, order: &[(f64, u32)], profile: &CostProfile) -> ProfileScore {
        let mut best_unit = vec![f64::NAN; self.window_count];
        let mut raw = -profile.a_fn * self.window_count as f64;
        let (mut tp, mut fp) = (0usize, 0usize);
        let mut best = (NO_DETECTION_THRESHOLD, f64::NEG_INFINITY, 0usize, 0usize);
        let mut next = 0;
        let mut start_candidate_pending = true;
        loop {
            let next_score = order.get(next).map(|&(score, _)| score);
            let threshold = match next_score {
                Some(score) if start_candidate_pending && NO_DETECTION_THRESHOLD > score => {
                    start_candidate_pending = false;
                    NO_DETECTION_THRESHOLD
                }
                Some(score) => {
                    if score == NO_DETECTION_THRESHOLD {
                        start_candidate_pending = false;
                    }
                    score
                }
                None if start_candidate_pending => {
                    start_candidate_pending = false;
                    NO_DETECTION_THRESHOLD
                }
                None => break,
            };
            while let Some(&(_, flat)) = order.get(next).filter(|(score, _)| *score >= threshold) {
                next += 1;
                let unit = self.row_unit[flat as usize];
                let window = self.row_window[flat as usize];
                if window == NO_WINDOW {
                    fp += 1;
                    raw += profile.a_fp * unit;
                    continue;
                }
                tp += 1;
                let window_best = &mut best_unit[window as usize];
                if window_best.is_nan() {
                    raw += profile.a_tp * unit + profile.a_fn;
                    *window_best = unit;
                } else if unit > *window_best {
                    raw += profile.a_tp * (unit - *window_best);
                    *window_best = unit;
                }
            }
            // Candidates come in descending order, so keeping only strict improvements makes
            // the higher threshold win a tie.
            if raw > best.1 {
                best = (threshold, raw, tp, fp);
            }
        }
        let (threshold, raw_score, tp, fp) = best;
        ProfileScore {
            profile: profile.name.clone(),
            threshold,
            raw_score,
            normalized: self.normalize(raw_score, profile),
            tp,
            fp,
            fn_: self.window_rows - tp,
            tn: self.outside_rows - fp,
        }
    }
}

/// Sweeps every profile of `corpus` for `scores` (one series per corpus file, in order).
pub fn score_corpus(corpus: &NabCorpus, scores: &[Vec<f64>]) -> Result<NabReport, NabError> {
    NabScorer::new(corpus).sweep(scores)
}

#[cfg(test)]
mod tests;
