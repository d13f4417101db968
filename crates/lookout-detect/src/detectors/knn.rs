//! k-nearest-neighbour shape detector over shingles of recent values.
//!
//! Each new point closes a *shingle*: the last `shingle` values. The detector keeps the
//! last `history` values (as `f32`) and measures the distance from the current shingle
//! to every earlier, non-overlapping shingle in that history; the raw score is the
//! distance to the `k`-th nearest one, in units of the series' typical spread (a slow
//! EWMA standard deviation). A shingle unlike anything seen recently (a new shape, a
//! broken rhythm, a spike inside an otherwise familiar pattern) is far from all of
//! them. This is the idea of KNN-CAD, which scores well on NAB, in a form cheap enough
//! to run on every series.
//!
//! What it catches: shape and rhythm changes, spikes, oscillations that start or stop,
//! a pattern whose amplitude changes. What it misses: slow drifts (each shingle still
//! has near neighbours), anomalies that last longer than `history` (they become the
//! history), and level shifts once they have lasted `k` shingles (the level detectors
//! catch those).
//!
//! Cost: O(history × shingle) per point, vectorised (~0.15 µs with the defaults); per series
//! `4 × (history + shingle)` bytes plus ~100 bytes.

use crate::detector::{Detector, Score};
use crate::stats::{clamp_value, ConfigCheck, DetectorConfigError};
use serde::{Deserialize, Serialize};

/// Stored values are clamped here so that squared distances of a shingle stay finite
/// in `f32` (metric values beyond 10^18 carry no shape information anyway).
const F32_VALUE_LIMIT: f64 = 1e18;

/// Largest history + shingle (the search keeps its distances in a stack buffer).
const MAX_CAPACITY: usize = 320;

/// Free slots after the history: the history moves back to the front once per `SLACK`
/// points.
const SLACK: usize = 16;

/// Configuration of [`KnnShingle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnnShingleConfig {
    /// Values per shingle.
    pub shingle: usize,
    /// Values of history searched for neighbours.
    pub history: usize,
    /// Which nearest neighbour's distance is the score (1 = the nearest).
    pub k: usize,
    /// Smoothing factor of the spread estimate.
    pub scale_alpha: f64,
}

impl Default for KnnShingleConfig {
    fn default() -> Self {
        KnnShingleConfig {
            shingle: 6,
            history: 96,
            k: 3,
            scale_alpha: 0.01,
        }
    }
}

impl KnnShingleConfig {
    pub fn validate(&self) -> Result<(), DetectorConfigError> {
        let check = ConfigCheck::new("knn");
        check.int_in("shingle", self.shingle as u64, 1, 64)?;
        check.int_in(
            "history",
            self.history as u64,
            2 * self.shingle.max(1) as u64,
            (MAX_CAPACITY - 64) as u64,
        )?;
        check.int_in("k", self.k as u64, 1, 16)?;
        check.alpha("scale_alpha", self.scale_alpha)
    }
}

/// The k-NN shingle detector of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnShingle {
    config: KnnShingleConfig,
    /// The last `history + shingle` values in time order at `values[..filled]`, with
    /// `SLACK` free slots after them: appending is a store, and every `SLACK` points
    /// the newest values move back to the front. The search reads one contiguous
    /// slice, with no copy per point.
    values: Vec<f32>,
    filled: usize,
    seen: u64,
    mean: f64,
    variance: f64,
}

impl KnnShingle {
    pub fn new(config: KnnShingleConfig) -> Result<KnnShingle, DetectorConfigError> {
        config.validate()?;
        let capacity = config.history + config.shingle;
        Ok(KnnShingle {
            values: vec![0.0; capacity + SLACK],
            filled: 0,
            seen: 0,
            mean: 0.0,
            variance: 0.0,
            config,
        })
    }

    pub fn config(&self) -> &KnnShingleConfig {
        &self.config
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.capacity() * std::mem::size_of::<f32>()
    }

    pub(crate) fn prefetch(&self) {
        let searchable = (self.seen as usize).min(self.capacity());
        crate::prefetch::slice(&self.values[self.filled - searchable..self.filled], 1024);
    }

    /// Values kept for the search: `history + shingle`.
    fn capacity(&self) -> usize {
        self.values.len() - SLACK
    }

    fn append(&mut self, value: f32) {
        if self.filled == self.values.len() {
            let keep = self.capacity() - 1;
            self.values.copy_within(self.filled - keep..self.filled, 0);
            self.filled = keep;
        }
        self.values[self.filled] = value;
        self.filled += 1;
    }

    fn learn_scale(&mut self, value: f64) {
        let alpha = (1.0 / self.seen as f64).max(self.config.scale_alpha);
        let delta = value - self.mean;
        self.mean += alpha * delta;
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
    }

    fn kth_distance(&self) -> f64 {
        let shingle = self.config.shingle;
        let k = self.config.k;
        let searchable = (self.seen as usize).min(self.capacity());
        let window = &self.values[self.filled - searchable..self.filled];
        let current = &window[searchable - shingle..];
        // Candidate `c` is `window[c..c + shingle]`; candidates end at least one shingle
        // back, so they never overlap the current one. Distances are accumulated one
        // shingle offset at a time over all candidates: the inner loop is a straight
        // pass over contiguous memory that the compiler vectorises, and each candidate
        // still sums its terms in offset order (the same result as one candidate at a
        // time).
        let candidates = searchable + 1 - 2 * shingle;
        let mut distances = [0.0f32; MAX_CAPACITY];
        let distances = &mut distances[..candidates];
        for (offset, &target) in current.iter().enumerate() {
            let shifted = &window[offset..offset + candidates];
            for (distance, &value) in distances.iter_mut().zip(shifted) {
                let difference = value - target;
                *distance += difference * difference;
            }
        }
        f64::from(kth_smallest(distances, k)).sqrt()
    }
}

/// Candidates per step of the selection: each lane keeps the `k` smallest of its own
/// candidates with branch-free min/max, so the loop vectorises and never mispredicts.
const LANES: usize = 8;

/// The `k`-th smallest of `values` (`1 <= k <= 16`); values must not be NaN.
fn kth_smallest(values: &[f32], k: usize) -> f32 {
    let mut best = [[f32::INFINITY; LANES]; 16];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        let mut carry = [0.0f32; LANES];
        carry.copy_from_slice(chunk);
        for row in best.iter_mut().take(k) {
            for (kept, carried) in row.iter_mut().zip(carry.iter_mut()) {
                let (low, high) = if *carried < *kept {
                    (*carried, *kept)
                } else {
                    (*kept, *carried)
                };
                *kept = low;
                *carried = high;
            }
        }
    }
    // Each lane's k smallest plus the last partial chunk hold the k smallest overall.
    let mut nearest = [f32::INFINITY; 16];
    let lane_best = best.iter().take(k).flatten();
    for &value in lane_best.chain(rest) {
        if value < nearest[k - 1] {
            let mut slot = k - 1;
            while slot > 0 && nearest[slot - 1] > value {
                nearest[slot] = nearest[slot - 1];
                slot -= 1;
            }
            nearest[slot] = value;
        }
    }
    nearest[k - 1]
}

impl Detector for KnnShingle {
    fn name(&self) -> &'static str {
        "knn"
    }

    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let value = clamp_value(value);
        self.append(value.clamp(-F32_VALUE_LIMIT, F32_VALUE_LIMIT) as f32);
        self.seen += 1;
        let ready = self.seen as usize >= 2 * self.config.shingle + self.config.k + 8;
        let raw = if ready {
            let spread = self.variance.sqrt().max(1e-9 + 1e-3 * self.mean.abs());
            let distance = self.kth_distance();
            if distance.is_finite() {
                distance / (spread * (self.config.shingle as f64).sqrt())
            } else {
                0.0
            }
        } else {
            0.0
        };
        self.learn_scale(value);
        Score {
            raw: crate::sanitize_raw(raw),
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(i: usize) -> f64 {
        10.0 + 5.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin()
    }

    #[test]
    fn a_broken_rhythm_scores_far_above_the_familiar_pattern() {
        let mut detector = KnnShingle::new(KnnShingleConfig::default()).unwrap();
        let mut familiar = 0.0f64;
        for i in 0..400 {
            let raw = detector.update(i, sine(i as usize)).raw;
            if i >= 200 {
                familiar = familiar.max(raw);
            }
        }
        let broken = detector.update(400, sine(400) + 6.0).raw;
        assert!(
            broken > 5.0 * familiar.max(0.01),
            "broken {broken} vs familiar {familiar}"
        );
    }

    #[test]
    fn lane_selection_matches_sorting() {
        let mut state = 7u64;
        for length in [1usize, 3, 7, 8, 9, 16, 17, 91, 200] {
            let values: Vec<f32> = (0..length)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    ((state >> 40) % 50) as f32
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f32::total_cmp);
            for k in 1..=16 {
                let expected = sorted.get(k - 1).copied().unwrap_or(f32::INFINITY);
                assert_eq!(kth_smallest(&values, k), expected, "length {length}, k {k}");
            }
        }
    }

    #[test]
    fn snapshot_restores_identically() {
        let mut detector = KnnShingle::new(KnnShingleConfig::default()).unwrap();
        for i in 0..150 {
            detector.update(i, sine(i as usize));
        }
        let mut restored: KnnShingle =
            serde_json::from_str(&serde_json::to_string(&detector).unwrap()).unwrap();
        for i in 150..300 {
            assert_eq!(
                detector.update(i, sine(i as usize) * 1.1),
                restored.update(i, sine(i as usize) * 1.1)
            );
        }
    }

    #[test]
    fn huge_and_constant_inputs_stay_finite() {
        let mut detector = KnnShingle::new(KnnShingleConfig::default()).unwrap();
        for i in 0..300 {
            let value = if i % 7 == 0 { f64::MAX } else { 1.0 };
            let score = detector.update(i, value);
            assert!(score.raw.is_finite() && score.raw >= 0.0);
        }
    }

    #[test]
    fn invalid_config_names_the_field() {
        let error = KnnShingle::new(KnnShingleConfig {
            k: 0,
            ..KnnShingleConfig::default()
        })
        .unwrap_err();
        assert_eq!(error.field, "k");
    }
}
