//! Discord detector: how unlike every recent cycle the latest cycle is (an online,
//! past-only matrix profile over a bounded history).
//!
//! The window is one period of the series, found by autocorrelation over the kept
//! history ([`period`]) once `estimate_after` points have been seen, again when the
//! history first fills, and then every `reestimate_every` points. A series without a
//! period (no autocorrelation peak) is not scored, at no cost, until an estimate finds
//! one: on such series (most of NAB's) the neighbours of arbitrary windows are noise.
//! Each new point closes a subsequence: the last `window`
//! values. Its raw score is the z-normalised Euclidean distance to its nearest neighbour
//! among the earlier subsequences of the history that do not overlap it (exclusion zone
//! of one window), divided by √window: 0 for a cycle seen before up to offset and
//! scale, √2 for one uncorrelated with every past cycle, 2 at most. Z-normalisation makes
//! the score blind to the level and the amplitude of the series as a whole, so one
//! distorted cycle stands out against the ordinary cycle-to-cycle variation, whatever
//! the series' units; the combiner then learns what distances are ordinary on that
//! series.
//!
//! What it catches: one cycle of another shape (a distorted heartbeat, a limping step),
//! a missing cycle, a noise burst inside a cycle, a slowed or stretched cycle, a peak
//! shifted within its cycle, a cycle whose amplitude differs from its neighbours' (the
//! window's z-normalisation keeps part of the neighbouring cycles, so the shape still
//! changes). What it misses: level shifts and drifts of the whole series (z-normalised
//! away; the level detectors catch them), anomalies that repeat within the history (the
//! repetition is its own neighbour), shapes last seen longer ago than `history` points,
//! and periods longer than `max_window`. Its score for a point covers the window ending
//! there, so an anomaly is seen when its cycle has arrived, not before.
//!
//! Cost per point: O(history) (the sliding dot products of the latest subsequence with
//! every kept one are updated in one pass, the nearest neighbour found in a second; ~2 µs
//! with the defaults), plus the period estimate, O(history × max_window) once per
//! `reestimate_every` points. Memory per series: four vectors of `history + 16` `f64`
//! (values, dot products, two normalisation factors per subsequence), ~66 KB with the
//! defaults, plus ~250 bytes.
//!
//! With `probe` (what the `default` profile uses) the detector is selected per series:
//! it first keeps only the period probe ([`probe`]: 48 block means, ~0.25 KB, one
//! addition per point, a look after 384, 768, 1,536, 3,072 and 6,144 points) and
//! is silent. Once a look finds a period, the history is allocated (the costs above from
//! then on), the window is the probe's period (known to about one block), and a full
//! estimate at full resolution follows once `estimate_after` values are kept; if that
//! estimate finds no period, the history is freed and the probe starts again. A series
//! without a period (most of NAB's; random walks, noise) thus costs ~0.5 KB and one
//! addition per point, and until it is found periodic, the discord says nothing.

pub mod period;
pub mod probe;

use crate::detector::{Detector, Score};
use crate::stats::{ConfigCheck, DetectorConfigError};
use serde::{Deserialize, Serialize};

/// Values are clamped here before they are kept, so that products of a window stay finite.
const VALUE_LIMIT: f64 = 1e100;

/// Free slots after the history: the history moves back to the front once per `SLACK`
/// points.
const SLACK: usize = 16;

/// A subsequence whose standard deviation is below this share of the history's is flat.
const FLAT_SHARE: f64 = 1e-7;

/// Configuration of [`Discord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Values kept and searched for neighbours.
    pub history: usize,
    /// Points seen before the first period estimate (and the first score).
    pub estimate_after: usize,
    /// Points between two period estimates once the history has filled; 0: never again.
    pub reestimate_every: usize,
    /// Shortest window (period) considered.
    pub min_window: usize,
    /// Longest window (period) considered; at most history / 4.
    pub max_window: usize,
    /// Probe for a period first ([`probe`]): keep only 48 block means (~0.25 KB) until
    /// their autocorrelation shows a period, and allocate the history only then, so a
    /// series without a period costs almost nothing. Off: the history is kept from the
    /// first point.
    pub probe: bool,
    /// Least autocorrelation at the period for a series to count as periodic (in the
    /// probe and in every estimate).
    pub min_peak: f64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            history: 2048,
            estimate_after: 1024,
            reestimate_every: 4096,
            min_window: 8,
            max_window: 512,
            probe: false,
            min_peak: period::MIN_PEAK,
        }
    }
}

impl DiscordConfig {
    pub fn validate(&self) -> Result<(), DetectorConfigError> {
        let check = ConfigCheck::new("discord");
        check.int_in("history", self.history as u64, 64, 16384)?;
        check.int_in("min_window", self.min_window as u64, 4, 4096)?;
        check.int_in(
            "max_window",
            self.max_window as u64,
            self.min_window as u64,
            (self.history / 4) as u64,
        )?;
        check.int_in(
            "estimate_after",
            self.estimate_after as u64,
            3 * self.min_window as u64,
            self.history as u64,
        )?;
        check.float_in("min_peak", self.min_peak, 0.05, 0.99)?;
        check.int_in("reestimate_every", self.reestimate_every as u64, 0, 1 << 40)
    }
}

/// The discord detector of one series.
///
/// Invariant once `window > 0` and `filled >= window`: with `current = filled - window`,
/// for every start `j <= current`, `dots[j]` is the dot product of `values[j..j + window]`
/// with `values[current..filled]`, and `inv_scale[j]`, `mean_ratio[j]` are `1 / (window ×
/// σ_j)` and `μ_j / σ_j` of `values[j..j + window]` (both 0 for a flat subsequence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discord {
    config: DiscordConfig,
    /// The last values minus `offset`, in time order at `values[..filled]`, with `SLACK`
    /// free slots after them.
    values: Vec<f64>,
    dots: Vec<f64>,
    inv_scale: Vec<f64>,
    mean_ratio: Vec<f64>,
    filled: usize,
    seen: u64,
    /// The window in points; 0 before the first estimate and without a period.
    window: usize,
    /// Subtracted from every kept value (the history's mean at the last estimate), so that
    /// dot products do not lose the shape to a large level.
    offset: f64,
    /// Sum and sum of squares of the latest `window` values.
    sum: f64,
    sum_squares: f64,
    /// Standard deviations below this are flat.
    flat_below: f64,
    next_estimate: u64,
    /// `seen` when the history began (0 without a probe).
    started_at: u64,
    /// The period probe while it is looking; `None` once the history is kept.
    probe: Option<probe::Probe>,
    /// Whether the last point had a score (a window and a neighbour for it).
    scoring: bool,
}

impl Discord {
    pub fn new(config: DiscordConfig) -> Result<Discord, DetectorConfigError> {
        config.validate()?;
        let slots = if config.probe {
            0
        } else {
            config.history + SLACK
        };
        Ok(Discord {
            values: vec![0.0; slots],
            dots: vec![0.0; slots],
            inv_scale: vec![0.0; slots],
            mean_ratio: vec![0.0; slots],
            started_at: 0,
            probe: config.probe.then(probe::Probe::new),
            scoring: false,
            filled: 0,
            seen: 0,
            window: 0,
            offset: 0.0,
            sum: 0.0,
            sum_squares: 0.0,
            flat_below: 0.0,
            next_estimate: config.estimate_after as u64,
            config,
        })
    }

    pub fn config(&self) -> &DiscordConfig {
        &self.config
    }

    /// The window (period estimate) in use; 0 before the first estimate and while the
    /// series shows no period.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Whether the history is kept (always without a probe; with one, once it found a
    /// period).
    pub fn is_active(&self) -> bool {
        self.probe.is_none()
    }

    /// Whether the last point was scored: a window is known and the latest subsequence
    /// has a non-overlapping earlier one. A pipeline does not calibrate on the points
    /// before (their raw score 0 is not "ordinary", it is "nothing to say").
    ///
    /// Without a probe the detector reports every point (0 before it scores), as it
    /// always has: the stock `discord` detector keeps its calibration.
    pub fn is_scoring(&self) -> bool {
        self.scoring || !self.config.probe
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.probe.as_ref().map_or(0, probe::Probe::state_bytes)
            + (self.values.capacity()
                + self.dots.capacity()
                + self.inv_scale.capacity()
                + self.mean_ratio.capacity())
                * std::mem::size_of::<f64>()
    }

    fn append(&mut self, value: f64) {
        if self.filled == self.values.len() {
            let keep = self.config.history - 1;
            let shift = self.filled - keep;
            self.values.copy_within(shift..self.filled, 0);
            if self.window > 0 && self.filled >= self.window {
                let starts = self.filled - self.window + 1;
                self.dots.copy_within(shift..starts, 0);
                self.inv_scale.copy_within(shift..starts, 0);
                self.mean_ratio.copy_within(shift..starts, 0);
            }
            self.filled = keep;
        }
        self.values[self.filled] = value - self.offset;
        self.filled += 1;
    }

    /// Estimates the window and rebuilds every derived vector from the kept values.
    fn estimate(&mut self) {
        let kept = &mut self.values[..self.filled];
        let mean = kept.iter().sum::<f64>() / kept.len() as f64;
        kept.iter_mut().for_each(|v| *v -= mean);
        self.offset += mean;
        let spread = (kept.iter().map(|v| v * v).sum::<f64>() / kept.len() as f64).sqrt();
        self.flat_below = FLAT_SHARE * spread;
        let max_window = self.config.max_window.min(self.filled / 3);
        self.window = period::estimate_with(
            kept,
            self.config.min_window,
            max_window,
            self.config.min_peak,
        )
        .map_or(0, |found| {
            found.clamp(self.config.min_window, self.config.max_window)
        });
        if self.window > 0 {
            self.rebuild();
        } else if self.config.probe {
            // The period is gone: back to the probe, and the history is freed.
            self.deactivate();
            return;
        }
        let history_fills = self.started_at + self.config.history as u64;
        self.next_estimate = if self.seen < history_fills {
            history_fills
        } else if self.config.reestimate_every == 0 {
            u64::MAX
        } else {
            self.seen + self.config.reestimate_every as u64
        };
    }

    /// The probe found a period of about `period` points: keep the history from here on,
    /// score with that window, and estimate it at full resolution once `estimate_after`
    /// values are kept.
    fn activate(&mut self, period: usize, mean: f64, spread: f64) {
        let slots = self.config.history + SLACK;
        for vector in [
            &mut self.values,
            &mut self.dots,
            &mut self.inv_scale,
            &mut self.mean_ratio,
        ] {
            *vector = vec![0.0; slots];
        }
        self.probe = None;
        self.filled = 0;
        self.offset = mean;
        self.flat_below = FLAT_SHARE * spread;
        self.window = period.clamp(self.config.min_window, self.config.max_window);
        self.started_at = self.seen;
        self.next_estimate = self.seen + self.config.estimate_after as u64;
    }

    fn deactivate(&mut self) {
        for vector in [
            &mut self.values,
            &mut self.dots,
            &mut self.inv_scale,
            &mut self.mean_ratio,
        ] {
            *vector = Vec::new();
        }
        self.probe = Some(probe::Probe::new());
        self.filled = 0;
        self.window = 0;
        self.next_estimate = u64::MAX;
    }

    fn rebuild(&mut self) {
        let window = self.window;
        if self.filled < window {
            return;
        }
        let current = self.filled - window;
        let latest = &self.values[current..self.filled];
        self.sum = latest.iter().sum();
        self.sum_squares = latest.iter().map(|v| v * v).sum();
        for start in 0..=current {
            let candidate = &self.values[start..start + window];
            self.dots[start] = candidate.iter().zip(latest).map(|(a, b)| a * b).sum();
            let sum: f64 = candidate.iter().sum();
            let squares: f64 = candidate.iter().map(|v| v * v).sum();
            (self.inv_scale[start], self.mean_ratio[start]) =
                normalisation(window, self.flat_below, sum, squares);
        }
    }

    fn moments(&self, sum: f64, squares: f64) -> (f64, f64) {
        moments(self.window, sum, squares)
    }

    fn set_normalisation(&mut self, start: usize, sum: f64, squares: f64) {
        let (scale, ratio) = normalisation(self.window, self.flat_below, sum, squares);
        self.inv_scale[start] = scale;
        self.mean_ratio[start] = ratio;
    }

    /// Slides the latest subsequence one point forward (the newest value is already kept).
    fn slide(&mut self) {
        let window = self.window;
        if self.filled < window {
            return;
        }
        let newest = self.values[self.filled - 1];
        if self.filled == window {
            self.rebuild();
            return;
        }
        let leaving = self.values[self.filled - 1 - window];
        self.sum += newest - leaving;
        self.sum_squares += newest * newest - leaving * leaving;
        let current = self.filled - window;
        // dots'[j] = dots[j - 1] - values[j - 1] × leaving + values[j + window - 1] × newest
        self.dots.copy_within(0..current, 1);
        let (dots, values) = (&mut self.dots[1..=current], &self.values);
        for ((dot, &old), &new) in dots
            .iter_mut()
            .zip(&values[..current])
            .zip(&values[window..window + current])
        {
            *dot += new * newest - old * leaving;
        }
        let latest = &self.values[current..self.filled];
        self.dots[0] = self.values[..window]
            .iter()
            .zip(latest)
            .map(|(a, b)| a * b)
            .sum();
        let (sum, squares) = (self.sum, self.sum_squares);
        self.set_normalisation(current, sum, squares);
    }

    /// Distance of the latest subsequence to its nearest non-overlapping earlier one,
    /// over √window; `None` while there is no such subsequence.
    fn nearest_distance(&self) -> Option<f64> {
        let window = self.window;
        let current = self.filled.checked_sub(window)?;
        let candidates = current.checked_sub(window)? + 1;
        let (mean, sigma) = self.moments(self.sum, self.sum_squares);
        let dots = &self.dots[..candidates];
        let scales = &self.inv_scale[..candidates];
        let ratios = &self.mean_ratio[..candidates];
        if sigma <= self.flat_below {
            // A flat subsequence is at distance 0 from a flat one and √2 from any other.
            let flat_seen = scales.contains(&0.0);
            return Some(if flat_seen {
                0.0
            } else {
                std::f64::consts::SQRT_2
            });
        }
        let mut best = f64::MIN;
        for ((&dot, &scale), &ratio) in dots.iter().zip(scales).zip(ratios) {
            best = best.max(dot * scale - ratio * mean);
        }
        let correlation = (best / sigma).clamp(-1.0, 1.0);
        Some((2.0 * (1.0 - correlation)).max(0.0).sqrt())
    }
}

/// Mean and standard deviation of a window from its sum and sum of squares.
fn moments(window: usize, sum: f64, squares: f64) -> (f64, f64) {
    let n = window as f64;
    let mean = sum / n;
    let sigma = (squares / n - mean * mean).max(0.0).sqrt();
    (mean, sigma)
}

/// `1 / (window × σ)` and `μ / σ` of a window, both 0 when it is flat.
fn normalisation(window: usize, flat_below: f64, sum: f64, squares: f64) -> (f64, f64) {
    let (mean, sigma) = moments(window, sum, squares);
    if sigma > flat_below {
        (1.0 / (window as f64 * sigma), mean / sigma)
    } else {
        (0.0, 0.0)
    }
}

impl Detector for Discord {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let value = crate::stats::clamp_value(value).clamp(-VALUE_LIMIT, VALUE_LIMIT);
        self.seen += 1;
        if let Some(probe) = &mut self.probe {
            let max_lag = self.config.max_window;
            if let Some(found) =
                probe.push(value, self.config.min_window, max_lag, self.config.min_peak)
            {
                self.activate(found.period, found.mean, found.spread);
            }
            self.scoring = false;
            return Score {
                raw: 0.0,
                expected: None,
            };
        }
        self.append(value);
        if self.seen >= self.next_estimate {
            self.estimate();
        } else if self.window > 0 {
            self.slide();
        }
        let distance = if self.window > 0 {
            self.nearest_distance()
        } else {
            None
        };
        self.scoring = distance.is_some();
        let raw = distance.unwrap_or(0.0);
        Score {
            raw: crate::sanitize_raw(raw),
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests;
