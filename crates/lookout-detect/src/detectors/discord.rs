//! Streaming matrix-profile discords: the distance of the newest subsequence to its
//! nearest neighbour in the past, for shape anomalies in periodic signals.
//!
//! The first `training` points estimate the signal's period by autocorrelation (the
//! first autocorrelation peak within 80 % of the highest one, between `min_window` and
//! `max_window` lags); the subsequence length `m` is that period. From then on, each
//! point closes the subsequence of its last `m` values, which is compared with every
//! earlier subsequence of the bounded history (the last `history` starts, excluding
//! the `m` overlapping ones) by z-normalised Euclidean distance. The raw score is the
//! distance to the nearest one, divided by `√(2m)` (0 = an exact repeat of an earlier
//! cycle, 1 = uncorrelated with every earlier cycle). A distorted heartbeat, a missing
//! or slowed cycle, a noise burst inside a cycle has no near neighbour; an ordinary
//! cycle has many. This is the past-only ("left") matrix profile of STAMP/STOMP and
//! DAMP, computed incrementally: the dot products of the newest subsequence with every
//! stored one are updated in O(1) each from the previous point's (the STOMP diagonal
//! recurrence), means and deviations come from running sums, and every `history`
//! points the dot products are recomputed exactly so rounding never accumulates.
//!
//! What it catches: shape anomalies of periodic and quasi-periodic signals (ECG,
//! respiration, gait, power demand). What it misses: anything during `training` (it
//! scores 0 there); amplitude or level changes that keep the shape (z-normalisation
//! removes them; the level detectors catch those); a shape that recurs within
//! `history` (it has a neighbour); series without a period (the window falls back to
//! `max(min_window, 32)`, and the score is a plain subsequence-novelty score).
//!
//! Cost: O(history) per point (about 4 flops per stored subsequence) plus
//! O(history × m / history) = O(m) amortised for the exact refresh; the period estimate
//! is O(training × max_window) once. Memory: `3 × 8 × (history + m)` bytes (values, dot
//! products, means and deviations; one more for the deviations): about 130 KB with the
//! defaults. That is why it is in `thorough`, not `default`.

use crate::detector::{Detector, Score};
use crate::stats::{clamp_value, ConfigCheck, DetectorConfigError};
use serde::{Deserialize, Serialize};

/// Configuration of [`Discord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Shortest subsequence (and autocorrelation lag) considered.
    pub min_window: usize,
    /// Longest subsequence (and autocorrelation lag) considered.
    pub max_window: usize,
    /// Points used to estimate the period before scoring starts.
    pub training: usize,
    /// Subsequence starts kept as possible neighbours.
    pub history: usize,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            min_window: 8,
            max_window: 400,
            training: 2000,
            history: 4000,
        }
    }
}

impl DiscordConfig {
    pub fn validate(&self) -> Result<(), DetectorConfigError> {
        let check = ConfigCheck::new("discord");
        check.int_in("min_window", self.min_window as u64, 4, 4096)?;
        check.int_in(
            "max_window",
            self.max_window as u64,
            self.min_window as u64,
            4096,
        )?;
        check.int_in(
            "training",
            self.training as u64,
            3 * self.min_window as u64,
            1_000_000,
        )?;
        check.int_in(
            "history",
            self.history as u64,
            2 * self.max_window as u64,
            1 << 20,
        )
    }
}

/// The discord detector of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discord {
    config: DiscordConfig,
    /// Values seen.
    seen: u64,
    /// The subsequence length; 0 while training.
    window: usize,
    /// Training values, then the ring of the last `capacity` values (index `t % capacity`).
    values: Vec<f64>,
    /// Per subsequence start (index `start % capacity`): dot product with the newest
    /// subsequence, mean and deviation.
    dots: Vec<f64>,
    means: Vec<f64>,
    deviations: Vec<f64>,
    /// Running sum and sum of squares of the newest subsequence.
    sum: f64,
    sum_squares: f64,
    /// Points since the last exact refresh.
    since_refresh: usize,
}

impl Discord {
    pub fn new(config: DiscordConfig) -> Result<Discord, DetectorConfigError> {
        config.validate()?;
        Ok(Discord {
            values: Vec::with_capacity(config.training),
            config,
            seen: 0,
            window: 0,
            dots: Vec::new(),
            means: Vec::new(),
            deviations: Vec::new(),
            sum: 0.0,
            sum_squares: 0.0,
            since_refresh: 0,
        })
    }

    pub fn config(&self) -> &DiscordConfig {
        &self.config
    }

    /// The subsequence length in use (0 while training).
    pub fn window(&self) -> usize {
        self.window
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + 8 * (self.values.capacity()
                + self.dots.capacity()
                + self.means.capacity()
                + self.deviations.capacity())
    }

    fn capacity(&self) -> usize {
        self.config.history + self.window
    }

    /// The newest value's index.
    fn newest(&self) -> usize {
        self.seen as usize - 1
    }

    /// The oldest subsequence start still stored.
    fn oldest_start(&self) -> usize {
        (self.newest() + 1).saturating_sub(self.capacity())
    }

    fn value(&self, index: usize) -> f64 {
        self.values[index % self.capacity()]
    }

    /// Ends training: estimates the window and builds the ring from the training values.
    fn start_scoring(&mut self) {
        let training = std::mem::take(&mut self.values);
        self.window = estimate_period(&training, self.config.min_window, self.config.max_window);
        let capacity = self.capacity();
        self.values = vec![0.0; capacity];
        self.dots = vec![0.0; capacity];
        self.means = vec![0.0; capacity];
        self.deviations = vec![0.0; capacity];
        let first = training.len().saturating_sub(capacity);
        for (index, value) in training.iter().enumerate().skip(first) {
            self.values[index % capacity] = *value;
        }
        self.refresh();
    }

    /// Recomputes the running sums, every stored start's mean and deviation and the dot
    /// products with the newest subsequence exactly.
    fn refresh(&mut self) {
        let m = self.window;
        let newest = self.newest();
        let query = newest + 1 - m;
        let capacity = self.capacity();
        for start in self.oldest_start()..=query {
            let (mean, deviation) = moments((0..m).map(|k| self.value(start + k)));
            let slot = start % capacity;
            self.means[slot] = mean;
            self.deviations[slot] = deviation;
            self.dots[slot] = (0..m)
                .map(|k| self.value(start + k) * self.value(query + k))
                .sum();
        }
        self.sum = (0..m).map(|k| self.value(query + k)).sum();
        self.sum_squares = (0..m).map(|k| self.value(query + k).powi(2)).sum();
        self.since_refresh = 0;
    }

    /// Adds the newest value (already counted in `seen`) and returns the raw score.
    fn advance(&mut self, value: f64) -> f64 {
        let m = self.window;
        let capacity = self.capacity();
        let newest = self.newest();
        let query = newest + 1 - m;
        let leaving = self.value(newest - m);
        // The oldest start after this point; its predecessor's value is still in the
        // ring (in the slot `value` is about to take).
        let oldest = (newest + 1).saturating_sub(capacity);
        let get = |this: &Self, index: usize| {
            if index == newest {
                value
            } else {
                this.value(index)
            }
        };
        for start in (oldest.max(1)..=query).rev() {
            let previous = self.dots[(start - 1) % capacity];
            self.dots[start % capacity] =
                previous - get(self, start - 1) * leaving + get(self, start + m - 1) * value;
        }
        if oldest == 0 {
            // The first start has no predecessor: its product is computed directly
            // (only until the ring is full).
            self.dots[0] = (0..m).map(|k| get(self, k) * get(self, query + k)).sum();
        }
        self.values[newest % capacity] = value;
        self.sum += value - leaving;
        self.sum_squares += value * value - leaving * leaving;
        let (mean, deviation) = running_moments(self.sum, self.sum_squares, m);
        self.means[query % capacity] = mean;
        self.deviations[query % capacity] = deviation;
        self.since_refresh += 1;
        if self.since_refresh >= self.config.history {
            self.refresh();
        }
        self.nearest_distance(query)
    }

    /// Normalised distance of subsequence `query` to its nearest non-overlapping
    /// earlier neighbour (0 when there is none yet).
    fn nearest_distance(&self, query: usize) -> f64 {
        let m = self.window;
        let capacity = self.capacity();
        let Some(last) = query.checked_sub(m) else {
            return 0.0;
        };
        let oldest = self.oldest_start();
        if last < oldest {
            return 0.0;
        }
        let slot = query % capacity;
        let (mean_q, deviation_q) = (self.means[slot], self.deviations[slot]);
        let flat_q = is_flat(deviation_q, mean_q);
        let m_f = m as f64;
        let mut best = f64::INFINITY;
        for start in oldest..=last {
            let slot = start % capacity;
            let (mean, deviation) = (self.means[slot], self.deviations[slot]);
            let distance = match (flat_q, is_flat(deviation, mean)) {
                (true, true) => 0.0,
                (true, false) | (false, true) => 1.0,
                (false, false) => {
                    let correlation =
                        (self.dots[slot] - m_f * mean * mean_q) / (m_f * deviation * deviation_q);
                    (1.0 - correlation.clamp(-1.0, 1.0)).max(0.0)
                }
            };
            best = best.min(distance);
        }
        best.sqrt()
    }
}

/// A subsequence whose deviation is negligible against its level is flat.
fn is_flat(deviation: f64, mean: f64) -> bool {
    deviation <= 1e-8 * (1.0 + mean.abs())
}

fn moments(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let count = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / count;
    let variance = values.map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    (mean, variance.max(0.0).sqrt())
}

fn running_moments(sum: f64, sum_squares: f64, m: usize) -> (f64, f64) {
    let m = m as f64;
    let mean = sum / m;
    (mean, (sum_squares / m - mean * mean).max(0.0).sqrt())
}

/// The period of `values` by autocorrelation: the first local peak, between `min` and
/// `max` lags, within 80 % of the highest positive peak (so a multiple of the period
/// does not win over the period); `max(min, 32)` clamped to `max` without one.
pub fn estimate_period(values: &[f64], min: usize, max: usize) -> usize {
    let fallback = min.max(32).min(max);
    let n = values.len();
    let max_lag = max.min(n / 3);
    if max_lag <= min + 1 {
        return fallback;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let variance: f64 = centred.iter().map(|v| v * v).sum();
    if variance <= 0.0 {
        return fallback;
    }
    let acf: Vec<f64> = (0..=max_lag + 1)
        .map(|lag| {
            let dot: f64 = centred[..n - lag]
                .iter()
                .zip(&centred[lag..])
                .map(|(a, b)| a * b)
                .sum();
            dot / variance
        })
        .collect();
    let peaks: Vec<usize> = (min.max(1)..=max_lag)
        .filter(|&lag| acf[lag] > 0.0 && acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1])
        .collect();
    let Some(highest) = peaks.iter().map(|&lag| acf[lag]).reduce(f64::max) else {
        return fallback;
    };
    peaks
        .into_iter()
        .find(|&lag| acf[lag] >= 0.8 * highest)
        .unwrap_or(fallback)
}

impl Detector for Discord {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let value = clamp_value(value);
        self.seen += 1;
        if self.window == 0 {
            self.values.push(value);
            if self.values.len() >= self.config.training {
                self.start_scoring();
            }
            return Score::WARMING_UP;
        }
        let raw = self.advance(value);
        Score {
            raw: crate::sanitize_raw(raw),
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(i: usize, period: usize) -> f64 {
        let phase = (i % period) as f64 / period as f64;
        (std::f64::consts::TAU * phase).sin() + 0.5 * (2.0 * std::f64::consts::TAU * phase).sin()
    }

    #[test]
    fn finds_the_period() {
        let values: Vec<f64> = (0..2000).map(|i| wave(i, 75)).collect();
        assert_eq!(estimate_period(&values, 8, 400), 75);
    }

    #[test]
    fn a_distorted_cycle_is_the_top_discord() {
        let config = DiscordConfig {
            training: 1000,
            history: 1500,
            ..DiscordConfig::default()
        };
        let mut detector = Discord::new(config).unwrap();
        let mut top = (0.0, 0);
        let mut noise = 0x2545_f491_4f6c_dd1du64;
        for i in 0..5000 {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let jitter = (noise % 1000) as f64 / 1000.0 * 0.05;
            let mut value = wave(i, 50) + jitter;
            if (3500..3525).contains(&i) {
                value = 0.3 * value + 0.4;
            }
            let raw = detector.update(i as i64, value).raw;
            if raw > top.0 {
                top = (raw, i);
            }
        }
        assert_eq!(detector.window(), 50);
        assert!((3500..3600).contains(&top.1), "top discord at {top:?}");
    }

    #[test]
    fn incremental_dot_products_match_a_fresh_computation() {
        let config = DiscordConfig {
            training: 300,
            history: 200,
            max_window: 60,
            ..DiscordConfig::default()
        };
        let mut detector = Discord::new(config).unwrap();
        for i in 0..1000 {
            detector.update(i, wave(i as usize, 30) + (i % 7) as f64 * 0.01);
        }
        let mut fresh = detector.clone();
        fresh.refresh();
        for (a, b) in detector.dots.iter().zip(&fresh.dots) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn rejects_a_history_shorter_than_two_windows() {
        let error = Discord::new(DiscordConfig {
            history: 100,
            ..DiscordConfig::default()
        })
        .unwrap_err();
        assert!(error.to_string().contains("history"), "{error}");
    }
}
