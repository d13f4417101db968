//! Anomaly likelihood: a detector's raw score turned into a tail probability learned
//! online from that detector's own score history.
//!
//! Raw scores live on each detector's own scale. This calibrator keeps a slow running
//! estimate of the mean and spread of a detector's (log-compressed) raw scores and a
//! short moving average of the most recent ones, and asks: how unusual is the recent
//! average, given the long history? The answer is a Gaussian tail probability, turned
//! into a log-likelihood score in `[0, 1]` where `0.5` means "one in 100,000" and
//! `1.0` means "one in 10^10". This is the construction Numenta's HTM uses; it makes
//! every detector's output comparable and self-tuning per series.
//!
//! A running *record* of the raw scores (a maximum that decays back towards the mean
//! over `record_memory` points) damps the likelihood of scores that do not beat it:
//! a burst no larger than one seen recently (the same burst every day, the later
//! points of one incident) is less news than a new extreme.
//!
//! What it catches: anything its detector catches, at a calibrated rate. What it
//! misses: a detector whose raw score is always high stays "normal"; and while the
//! history is short (`warmup`), it says nothing.
//!
//! Cost: O(1) per point, `24 + 8·short_window` bytes per detector per series.

use serde::{Deserialize, Serialize};

/// Tunables of the likelihood calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LikelihoodConfig {
    /// Points of raw-score history before the calibration speaks.
    pub warmup: u32,
    /// Effective memory of the long-run estimate, in points (EWMA with alpha = 1/memory).
    pub memory: u32,
    /// Length of the moving average of recent raw scores (1 = no smoothing, max 16).
    pub short_window: u32,
    /// How the tail probability is estimated: `gaussian` (mean and spread of the
    /// history) or `empirical` (a decaying histogram of the history with an
    /// exponential tail beyond it; robust to heavy-tailed scores).
    pub tail: TailModel,
    /// Memory, in points, of the running record of raw scores (a maximum that decays
    /// towards the long-run mean with alpha = 1/record_memory); 0 disables. A score
    /// that does not beat the record is not news: the same burst every day, or the
    /// later points of one incident.
    pub record_memory: u32,
    /// Factor applied to the likelihood of a score that does not beat the record.
    pub record_damping: f64,
    /// For a detector whose raw scores are bounded by this (the discord's distance: 2);
    /// 0 disables. The likelihood saturates at one in 10^10, and points beyond that all
    /// read 1.0; with a ceiling, [`RAW_TIE_SHARE`] of the score is the raw score over
    /// the ceiling instead, so those points keep the order of their raw scores (the
    /// most unlike cycle scores highest, not the first one past saturation).
    pub raw_ceiling: f64,
}

/// Share of the score given to the raw score when `raw_ceiling` is set.
pub const RAW_TIE_SHARE: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TailModel {
    Gaussian,
    Empirical,
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig {
            warmup: 150,
            memory: 2000,
            short_window: 1,
            tail: TailModel::Gaussian,
            record_memory: 3000,
            record_damping: 0.8,
            raw_ceiling: 0.0,
        }
    }
}

const MAX_SHORT_WINDOW: usize = 16;

/// Online calibration state for one detector of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Likelihood {
    config: LikelihoodConfig,
    seen: u64,
    mean: f64,
    variance: f64,
    recent: Vec<f64>,
    recent_next: usize,
    histogram: Option<Histogram>,
    #[serde(default)]
    record: f64,
}

impl Likelihood {
    pub fn new(config: LikelihoodConfig) -> Self {
        let short = (config.short_window.max(1) as usize).min(MAX_SHORT_WINDOW);
        Likelihood {
            config: LikelihoodConfig {
                short_window: short as u32,
                ..config
            },
            seen: 0,
            mean: 0.0,
            variance: 0.0,
            // Without smoothing the current score is the average: no window to keep
            // (one heap block and one cache miss less per detector and point).
            recent: Vec::with_capacity(if short > 1 { short } else { 0 }),
            recent_next: 0,
            histogram: (config.tail == TailModel::Empirical).then(|| Histogram::new(config.memory)),
            record: 0.0,
        }
    }

    /// Feeds one raw score; returns the log-likelihood score in `[0, 1]`.
    pub fn update(&mut self, raw: f64) -> f64 {
        let x = compress(raw);
        let short = self.push_recent(x);
        let damping = self.beat_record(short);
        let likelihood = damping * self.calibrated(x, short, true);
        if self.config.raw_ceiling > 0.0 {
            let share = (raw / self.config.raw_ceiling).clamp(0.0, 1.0);
            (1.0 - RAW_TIE_SHARE) * likelihood + RAW_TIE_SHARE * share
        } else {
            likelihood
        }
    }

    /// [`Likelihood::update`] with the Gaussian tail's level not clamped at 1
    /// ([`unbounded_level`]): `≥ 0`, the same below about 0.9, and keeps ranking the
    /// rarest scores where the clamped one ties them at 1. The empirical tail stays
    /// clamped.
    pub fn update_unbounded(&mut self, raw: f64) -> f64 {
        let x = compress(raw);
        let short = self.push_recent(x);
        let damping = self.beat_record(short);
        damping * self.calibrated(x, short, false)
    }

    /// 1 when `short` beats the decaying record (or records are off), else the damping.
    fn beat_record(&mut self, short: f64) -> f64 {
        if self.config.record_memory == 0 {
            return 1.0;
        }
        let alpha = 1.0 / f64::from(self.config.record_memory);
        let beaten = short > self.record;
        self.record = if beaten {
            short
        } else {
            self.record - alpha * (self.record - self.mean.min(self.record))
        };
        if beaten {
            1.0
        } else {
            self.config.record_damping.clamp(0.0, 1.0)
        }
    }

    fn calibrated(&mut self, x: f64, short: f64, bounded: bool) -> f64 {
        self.seen += 1;
        let warm = self.seen > u64::from(self.config.warmup);
        if let Some(histogram) = &mut self.histogram {
            let score = if warm {
                log_likelihood(1.0 - histogram.tail_probability(short))
            } else {
                0.0
            };
            histogram.add(x);
            return score;
        }
        let score = if warm {
            let spread = self.variance.sqrt().max(1e-3 + 0.05 * self.mean.abs());
            let z = (short - self.mean) / spread;
            if bounded {
                log_likelihood(1.0 - gaussian_tail(z))
            } else {
                unbounded_level(z)
            }
        } else {
            0.0
        };
        self.learn(x);
        score
    }

    fn push_recent(&mut self, x: f64) -> f64 {
        let capacity = self.config.short_window as usize;
        if capacity <= 1 {
            return x;
        }
        if self.recent.len() < capacity {
            self.recent.push(x);
        } else {
            self.recent[self.recent_next] = x;
            self.recent_next = (self.recent_next + 1) % capacity;
        }
        self.recent.iter().sum::<f64>() / self.recent.len() as f64
    }

    fn learn(&mut self, x: f64) {
        let count = self.seen as f64;
        let alpha = (1.0 / count).max(1.0 / f64::from(self.config.memory.max(2)));
        let delta = x - self.mean;
        self.mean += alpha * delta;
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.recent.capacity() * std::mem::size_of::<f64>()
            + self
                .histogram
                .as_ref()
                .map_or(0, |h| h.bins.capacity() * std::mem::size_of::<f32>())
    }
}

/// Bins over log-compressed raw scores.
const BINS: usize = 64;
const BIN_WIDTH: f64 = 0.125;

/// A histogram of the score history whose old entries fade: each new entry weighs
/// `growth` times the previous one, and weights are rescaled before they overflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Histogram {
    bins: Vec<f32>,
    total: f64,
    weight: f64,
    growth: f64,
    /// Mean excess over the 90th percentile bin, for the exponential tail (EWMA).
    tail_scale: f64,
}

impl Histogram {
    fn new(memory: u32) -> Self {
        Histogram {
            bins: vec![0.0; BINS],
            total: 0.0,
            weight: 1.0,
            growth: 1.0 / (1.0 - 1.0 / f64::from(memory.max(2))),
            tail_scale: BIN_WIDTH,
        }
    }

    fn bin_of(x: f64) -> usize {
        ((x / BIN_WIDTH) as usize).min(BINS - 1)
    }

    fn add(&mut self, x: f64) {
        let bin = Self::bin_of(x);
        self.bins[bin] += self.weight as f32;
        self.total += self.weight;
        self.weight *= self.growth;
        if self.weight > 1e30 {
            let scale = 1.0 / self.weight;
            self.bins
                .iter_mut()
                .for_each(|b| *b = (f64::from(*b) * scale) as f32);
            self.total *= scale;
            self.weight = 1.0;
        }
    }

    /// Fraction of the (weighted) history at or above `x`, extrapolated
    /// exponentially past the highest occupied bin.
    fn tail_probability(&self, x: f64) -> f64 {
        if self.total <= 0.0 {
            return 1.0;
        }
        let bin = Self::bin_of(x);
        let above: f64 = self.bins[bin + 1..].iter().map(|b| f64::from(*b)).sum();
        let within = f64::from(self.bins[bin]);
        let fraction_into_bin = (x / BIN_WIDTH - bin as f64).clamp(0.0, 1.0);
        let mass = above + within * (1.0 - fraction_into_bin);
        let floor = 0.5 * self.weight / self.growth;
        if mass > floor {
            return (mass / self.total).clamp(0.0, 1.0);
        }
        // Beyond everything seen: the last occupied bin's mass decays exponentially.
        let top = self
            .bins
            .iter()
            .rposition(|b| f64::from(*b) > 0.0)
            .unwrap_or(0);
        let top_edge = (top + 1) as f64 * BIN_WIDTH;
        let top_mass = f64::from(self.bins[top]).max(floor);
        let excess = (x - top_edge).max(0.0);
        (top_mass / self.total * (-excess / self.tail_scale.max(0.05)).exp()).clamp(0.0, 1.0)
    }
}

/// Log compression keeps a few huge raw scores from dominating the history.
fn compress(raw: f64) -> f64 {
    if raw.is_finite() && raw > 0.0 {
        raw.ln_1p()
    } else {
        0.0
    }
}

/// `P(Z > z)` for a standard normal, via the complementary error function.
pub fn gaussian_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Maps a probability that the point is anomalous onto `[0, 1]` logarithmically:
/// `0.5` at 1 − 1e-5, `1.0` at 1 − 1e-10 (Numenta's log-likelihood).
pub fn log_likelihood(probability: f64) -> f64 {
    let p = probability.clamp(0.0, 1.0);
    ((1.000_000_000_1 - p).ln() / -23.025_850_929_940_457).clamp(0.0, 1.0)
}

/// Complementary error function (W. J. Cody's rational approximations via the
/// Numerical Recipes `erfcc`, fractional error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let (t, poly) = erfc_terms(x);
    let result = t * poly.exp();
    if x >= 0.0 {
        result
    } else {
        2.0 - result
    }
}

/// `ln erfc(|x|)`, finite however large `|x|` is (no underflow).
fn ln_erfc_abs(x: f64) -> f64 {
    let (t, poly) = erfc_terms(x);
    t.ln() + poly
}

/// `erfc(|x|) = t · exp(poly)`: the two terms of the rational approximation.
fn erfc_terms(x: f64) -> (f64, f64) {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    (t, poly)
}

/// The log-likelihood level of a Gaussian `z`, `−log10(tail(z)) / 10`, without the
/// clamp of [`log_likelihood`]: equal to it below about 0.9, and still growing (and
/// finite) far beyond 1, where [`log_likelihood`] saturates.
pub fn unbounded_level(z: f64) -> f64 {
    let ln_tail = if z > 0.0 {
        ln_erfc_abs(z / std::f64::consts::SQRT_2) - std::f64::consts::LN_2
    } else {
        gaussian_tail(z).ln()
    };
    (ln_tail / -23.025_850_929_940_457).max(0.0)
}

#[cfg(test)]
mod tests {

    #[test]
    fn unbounded_level_matches_below_the_clamp_and_keeps_growing() {
        for step in 0..=50 {
            let z = f64::from(step) * 0.1;
            let clamped = log_likelihood(1.0 - gaussian_tail(z));
            assert!(
                (super::unbounded_level(z) - clamped).abs() < 1e-3,
                "z {z}: {} vs {clamped}",
                super::unbounded_level(z)
            );
        }
        let mut previous = 0.0;
        for step in 1..=400 {
            let level = super::unbounded_level(f64::from(step) * 0.25);
            assert!(level.is_finite() && level > previous, "step {step}");
            previous = level;
        }
        assert!(super::unbounded_level(8.0) > 1.0);
        assert_eq!(
            super::unbounded_level(-3.0),
            0.0f64.max(super::unbounded_level(-3.0))
        );
    }
    use super::*;

    #[test]
    fn tail_matches_known_values() {
        assert!((gaussian_tail(0.0) - 0.5).abs() < 1e-6);
        assert!((gaussian_tail(1.96) - 0.025).abs() < 1e-4);
        assert!((gaussian_tail(-1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn log_likelihood_scale() {
        assert!((log_likelihood(1.0 - 1e-5) - 0.5).abs() < 1e-3);
        assert_eq!(log_likelihood(0.0), 0.0);
        assert!(log_likelihood(1.0) > 0.99);
    }

    #[test]
    fn a_raw_spike_scores_high_after_warmup() {
        let mut calibration = Likelihood::new(LikelihoodConfig::default());
        for i in 0..1000 {
            let raw = 1.0 + 0.3 * ((i as f64) * 0.7).sin();
            assert!(calibration.update(raw) < 0.5);
        }
        assert!(calibration.update(40.0) > 0.5);
    }

    #[test]
    fn empirical_tail_ranks_a_new_extreme_above_a_recurring_spike() {
        let config = LikelihoodConfig {
            tail: TailModel::Empirical,
            ..LikelihoodConfig::default()
        };
        let mut calibration = Likelihood::new(config);
        let mut recurring = 0.0f64;
        for i in 0..2000 {
            let raw = if i % 50 == 0 {
                8.0
            } else {
                1.0 + 0.1 * ((i as f64) * 0.7).sin()
            };
            let score = calibration.update(raw);
            if i > 1000 && i % 50 == 0 {
                recurring = recurring.max(score);
            }
        }
        let extreme = calibration.update(400.0);
        assert!(
            extreme > recurring,
            "new extreme {extreme} vs recurring spike {recurring}"
        );
        assert!((0.0..=1.0).contains(&extreme));
    }

    #[test]
    fn a_score_below_the_running_record_is_damped() {
        let config = LikelihoodConfig {
            record_memory: 1000,
            record_damping: 0.5,
            ..LikelihoodConfig::default()
        };
        let mut damped = Likelihood::new(config);
        let mut plain = Likelihood::new(LikelihoodConfig {
            record_memory: 0,
            ..config
        });
        for i in 0..1000 {
            let raw = 1.0 + 0.3 * ((i as f64) * 0.7).sin();
            damped.update(raw);
            plain.update(raw);
        }
        // A new record is news at full weight...
        let first = damped.update(40.0);
        assert_eq!(first, plain.update(40.0));
        assert!(first > 0.5);
        // ...the same burst again shortly after is not.
        let again = damped.update(30.0);
        assert_eq!(again, 0.5 * plain.update(30.0));
        // The record decays: long after, the burst is news again.
        for i in 0..20_000 {
            let raw = 1.0 + 0.3 * ((i as f64) * 0.7).sin();
            damped.update(raw);
            plain.update(raw);
        }
        assert_eq!(damped.update(30.0), plain.update(30.0));
    }

    #[test]
    fn silent_during_warmup() {
        let mut calibration = Likelihood::new(LikelihoodConfig::default());
        for _ in 0..150 {
            assert_eq!(calibration.update(1e9), 0.0);
        }
    }
}
