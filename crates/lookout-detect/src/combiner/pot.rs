//! Peaks over threshold: a tail probability for a detector's raw score that means
//! what it says, learned online from that detector's own history on one series.
//!
//! The Gaussian tail of [`super::likelihood`] assumes the (log-compressed) raw scores
//! are normal; they rarely are, and the rates it promises are off by orders of
//! magnitude (on white noise, a score of 0.9 — documented as one point in 10^9 —
//! came once every 27,000 points). Extreme-value theory says the excesses over a
//! high threshold `u` of almost any distribution follow a generalised Pareto law
//! (Pickands–Balkema–de Haan), which is what this model fits, in the spirit of
//! SPOT (Siffer et al., KDD 2017) but with O(1) state:
//!
//! - `u` tracks the `1 − TAIL_FRACTION` quantile of the compressed raw score by
//!   stochastic approximation (step proportional to the running spread);
//! - the excesses over `u` (clipped at six mean excesses, so one outlier does not
//!   teach the tail that outliers are normal; excesses rarer than
//!   [`ALARM_PROBABILITY`] are left out altogether, as SPOT leaves out its alarms) feed exponentially weighted first and
//!   second moments, from
//!   which the Pareto shape `ξ` and scale `σ` follow by the method of moments
//!   (`ξ = ½(1 − m²/s²)`, `σ = ½ m (1 + m²/s²)`, `ξ` kept in `[0, 0.5]`: a light tail is extrapolated as an exponential one, never given an end point past which everything would be "impossible");
//! - the fraction of points above `u` is tracked too (it is `TAIL_FRACTION` only at
//!   equilibrium);
//! - `P(X > x) = r · (1 + ξ (x − u)/σ)^(−1/ξ)` above `u`, continued exponentially
//!   below it so the map stays monotone.
//!
//! What it catches: the same points as its detector, at a per-point false-alarm rate
//! close to the one its score states on quiet series (tested on white noise, AR(1)
//! noise and clipped percentages). What it misses: tails rarer than the history can
//! show are extrapolated (a new kind of noise may be rarer or more frequent than the
//! fit says); a series whose raw scores never vary has no tail (everything above its
//! constant is then very rare).
//!
//! Cost: O(1) per point, five `f64` per detector per series.

use serde::{Deserialize, Serialize};

/// Share of points above the tracked threshold `u`.
pub const TAIL_FRACTION: f64 = 0.05;

/// Excesses learned before rare ones are left out as alarms.
const MIN_EXCESSES: f64 = 10.0;

/// Excesses rarer than this (a score of 0.5 and more) do not shape the tail.
pub const ALARM_PROBABILITY: f64 = 1e-5;

/// Peaks-over-threshold state of one detector on one series (on the raw score's scale).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct PotTail {
    /// The tracked high quantile of the compressed raw score.
    threshold: f64,
    /// EWMA of the excesses over the threshold, and of their squares.
    excess_mean: f64,
    excess_square: f64,
    /// EWMA of the fraction of points above the threshold.
    above: f64,
    /// Excesses seen (caps the EWMA weight while the history is short).
    excesses: f64,
}

impl PotTail {
    /// Starts the tail from the history's mean and spread (end of the warm-up).
    pub fn start(mean: f64, spread: f64) -> PotTail {
        let spread = spread.max(1e-6);
        PotTail {
            threshold: mean + 1.65 * spread,
            excess_mean: 0.5 * spread,
            excess_square: 0.5 * spread * spread,
            above: TAIL_FRACTION,
            excesses: 1.0,
        }
    }

    /// Probability that a point of this series' quiet history has a compressed raw
    /// score above `x`; the tail's scale is at least `min_scale`.
    pub fn tail_probability(&self, x: f64, min_scale: f64) -> f64 {
        let (shape, scale) = self.shape_and_scale();
        let scale = scale.max(min_scale);
        let excess = x - self.threshold;
        let rate = self.above.clamp(1e-4, 1.0);
        if excess <= 0.0 {
            return (rate * (-excess / scale).exp()).min(1.0);
        }
        let z = excess / scale;
        let survival = if shape.abs() < 1e-6 {
            (-z).exp()
        } else {
            let base = 1.0 + shape * z;
            if base <= 0.0 {
                0.0
            } else {
                base.powf(-1.0 / shape)
            }
        };
        (rate * survival).clamp(0.0, 1.0)
    }

    /// The tail's own scale, floored at 5 % of its threshold (and 1e-3): the spread
    /// its threshold moves by, and the least scale its tail is given.
    pub fn scale_floor(&self) -> f64 {
        self.excess_mean.max(1e-3 + 0.05 * self.threshold.abs())
    }

    /// Learns from one raw score; `spread` is the history's running spread
    /// and `memory` its effective length in points.
    pub fn learn(&mut self, x: f64, spread: f64, memory: f64) {
        let step = 0.02 * spread.max(1e-6);
        let exceeded = x > self.threshold;
        let alpha = 1.0 / memory.max(2.0);
        self.above += alpha * (f64::from(u8::from(exceeded)) - self.above);
        // An excess this rare is an anomaly, not the tail's shape (SPOT does not learn
        // from its alarms either); it still moves the quantile and the rate.
        // Only once the tail has been fitted on enough excesses: a poor start must not
        // call every later excess an alarm and never learn.
        let alarm = exceeded
            && self.excesses >= MIN_EXCESSES
            && self.tail_probability(x, 0.0) < ALARM_PROBABILITY;
        if exceeded && !alarm {
            // Clipped at six mean excesses (an exponential tail passes that 0.25% of
            // the time): one huge outlier must not make the tail heavy for a long
            // while, yet a tail that really is heavier still grows the fit.
            let excess = (x - self.threshold).min(6.0 * self.excess_mean.max(1e-6));
            self.excesses += 1.0;
            let beta = (1.0 / self.excesses).max(1.0 / (memory * TAIL_FRACTION).max(2.0));
            self.excess_mean += beta * (excess - self.excess_mean);
            self.excess_square += beta * (excess * excess - self.excess_square);
        }
        if exceeded {
            self.threshold += step * (1.0 - TAIL_FRACTION);
        } else {
            self.threshold -= step * TAIL_FRACTION;
        }
    }

    /// The generalised Pareto shape and scale by the method of moments.
    fn shape_and_scale(&self) -> (f64, f64) {
        let mean = self.excess_mean.max(1e-9);
        let variance = (self.excess_square - mean * mean).max(1e-18);
        let ratio = mean * mean / variance;
        let shape = (0.5 * (1.0 - ratio)).clamp(-0.15, 0.5);
        let scale = (mean * (1.0 - shape)).max(1e-9);
        (shape, scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_excesses_give_a_zero_shape() {
        let mut tail = PotTail::start(0.0, 1.0);
        // Exponential(1) draws from a xorshift generator.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..40_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            tail.learn(-(1.0 - u).ln(), 1.0, 2000.0);
        }
        let (shape, scale) = tail.shape_and_scale();
        assert!(shape.abs() < 0.15, "shape {shape}");
        assert!((scale - 1.0).abs() < 0.25, "scale {scale}");
        // P(X > x) for an exponential(1) is exp(-x).
        let p = tail.tail_probability(6.0, 0.0);
        assert!(
            p > 0.5 * (-6.0f64).exp() && p < 2.0 * (-6.0f64).exp(),
            "{p}"
        );
    }

    #[test]
    fn tail_probability_is_monotone() {
        let tail = PotTail::start(1.0, 0.3);
        let mut previous = 1.0;
        for step in 0..200 {
            let p = tail.tail_probability(f64::from(step) * 0.05, 0.0);
            assert!(p <= previous && p >= 0.0);
            previous = p;
        }
    }
}
