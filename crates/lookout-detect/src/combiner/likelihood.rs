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
//! What it catches: anything its detector catches, at a calibrated rate. What it
//! misses: a detector whose raw score is always high stays "normal"; and while the
//! history is short (`warmup`), it says nothing.
//!
//! Cost: O(1) per point, `16 + 8·short_window` bytes per detector per series.

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
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig { warmup: 150, memory: 2000, short_window: 1 }
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
}

impl Likelihood {
    pub fn new(config: LikelihoodConfig) -> Self {
        let short = (config.short_window.max(1) as usize).min(MAX_SHORT_WINDOW);
        Likelihood {
            config: LikelihoodConfig { short_window: short as u32, ..config },
            seen: 0,
            mean: 0.0,
            variance: 0.0,
            recent: Vec::with_capacity(short),
            recent_next: 0,
        }
    }

    /// Feeds one raw score; returns the log-likelihood score in `[0, 1]`.
    pub fn update(&mut self, raw: f64) -> f64 {
        let x = compress(raw);
        let short = self.push_recent(x);
        self.seen += 1;
        let score = if self.seen > u64::from(self.config.warmup) {
            let spread = self.variance.sqrt().max(1e-3 + 0.05 * self.mean.abs());
            let z = (short - self.mean) / spread;
            log_likelihood(1.0 - gaussian_tail(z))
        } else {
            0.0
        };
        self.learn(x);
        score
    }

    fn push_recent(&mut self, x: f64) -> f64 {
        let capacity = self.config.short_window as usize;
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
        std::mem::size_of::<Self>() + self.recent.capacity() * std::mem::size_of::<f64>()
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
    let result = t * poly.exp();
    if x >= 0.0 {
        result
    } else {
        2.0 - result
    }
}

#[cfg(test)]
mod tests {
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
    fn silent_during_warmup() {
        let mut calibration = Likelihood::new(LikelihoodConfig::default());
        for _ in 0..150 {
            assert_eq!(calibration.update(1e9), 0.0);
        }
    }
}
