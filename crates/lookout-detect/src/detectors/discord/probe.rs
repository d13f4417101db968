//! The period probe: is this series periodic at all, for almost no memory?
//!
//! The probe keeps [`SLOTS`] means of consecutive blocks of points, starting with blocks
//! of [`FIRST_BLOCK`] points. When every slot is filled (after 384 points at first), the
//! autocorrelation of the block means ([`super::period::estimate_with`]) is searched for
//! a period of at least [`MIN_LAG`] blocks whose peak reaches the caller's `min_peak`; if one is found, its length in points (lag ×
//! block) is the answer. Otherwise neighbouring slots are merged in pairs (blocks twice
//! as long, half the slots free) and the probe looks again when they have filled: after
//! 768, 1,536, 3,072 and 6,144 points, each time over all the points seen, for periods up
//! to a third of them. It gives up once a block holds more than a third of `max_lag`, where no
//! period the caller accepts could still be found.
//!
//! The block means smooth the series (a low-pass filter), so a sharp pulse train still
//! correlates at its period, and the period is known to about one block; the caller
//! refines it at full resolution. Periods shorter than [`MIN_LAG`] blocks (24 points at
//! the first look) are not found.
//!
//! Cost per point: one addition (and one division per block); per look, ~800
//! multiply-adds (48 slots × lags up to 16). Memory: 48 `f32` plus ~48 bytes.

use serde::{Deserialize, Serialize};

/// Block means kept.
pub const SLOTS: usize = 48;

/// Points per block at the first look.
pub const FIRST_BLOCK: u32 = 8;

/// Shortest period searched, in blocks.
pub const MIN_LAG: usize = 3;

/// A period found by the probe, with the level and spread of the points it saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub period: usize,
    pub mean: f64,
    pub spread: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    means: Vec<f32>,
    block: u32,
    in_block: u32,
    block_sum: f64,
    /// Gave up: no period the caller accepts can be found any more.
    done: bool,
}

impl Default for Probe {
    fn default() -> Self {
        Probe::new()
    }
}

impl Probe {
    pub fn new() -> Probe {
        Probe {
            means: Vec::with_capacity(SLOTS),
            block: FIRST_BLOCK,
            in_block: 0,
            block_sum: 0.0,
            done: false,
        }
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.means.capacity() * std::mem::size_of::<f32>()
    }

    /// Points per block now.
    pub fn block(&self) -> u32 {
        self.block
    }

    /// Adds one value; answers the period (in points) when a look finds one within
    /// `min_period..=max_period`.
    pub fn push(
        &mut self,
        value: f64,
        min_period: usize,
        max_period: usize,
        min_peak: f64,
    ) -> Option<Found> {
        if self.done {
            return None;
        }
        self.block_sum += value;
        self.in_block += 1;
        if self.in_block < self.block {
            return None;
        }
        self.means
            .push(slot(self.block_sum / f64::from(self.block)));
        self.block_sum = 0.0;
        self.in_block = 0;
        if self.means.len() < SLOTS {
            return None;
        }
        let found = self.look(min_period, max_period, min_peak);
        if found.is_none() {
            self.merge(max_period);
        }
        found
    }

    fn look(&self, min_period: usize, max_period: usize, min_peak: f64) -> Option<Found> {
        let block = self.block as usize;
        let values: Vec<f64> = self.means.iter().map(|&v| f64::from(v)).collect();
        let min_lag = MIN_LAG.max(min_period.div_ceil(block));
        let max_lag = (max_period / block).max(min_lag + 2);
        let lag = super::period::estimate_with(&values, min_lag, max_lag, min_peak)?;
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let spread = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        Some(Found {
            period: lag * block,
            mean,
            spread,
        })
    }

    fn merge(&mut self, max_period: usize) {
        let merged: Vec<f32> = self
            .means
            .chunks_exact(2)
            .map(|pair| slot(0.5 * f64::from(pair[0]) + 0.5 * f64::from(pair[1])))
            .collect();
        self.means.clear();
        self.means.extend(merged);
        self.block *= 2;
        if MIN_LAG * self.block as usize > max_period {
            self.done = true;
            self.means = Vec::new();
        }
    }
}

/// A block mean as stored: clamped to `f32`'s finite range, NaN as 0 (a mean past the
/// range once became an infinity, which a snapshot wrote as `null` and could not read).
fn slot(mean: f64) -> f32 {
    if mean.is_nan() {
        return 0.0;
    }
    mean.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulse(i: usize, period: usize) -> f64 {
        let phase = (i % period) as f64 / period as f64;
        (-0.5 * ((phase - 0.4) / 0.02f64).powi(2)).exp()
            + 0.3 * (-0.5 * ((phase - 0.7) / 0.06f64).powi(2)).exp()
    }

    fn first_find(values: impl Iterator<Item = f64>) -> Option<(usize, usize)> {
        first_find_with(values, super::super::period::MIN_PEAK)
    }

    fn first_find_with(values: impl Iterator<Item = f64>, min_peak: f64) -> Option<(usize, usize)> {
        let mut probe = Probe::new();
        for (i, value) in values.enumerate() {
            if let Some(found) = probe.push(value, 8, 512, min_peak) {
                return Some((i + 1, found.period));
            }
        }
        None
    }

    #[test]
    fn a_pulse_train_is_found_to_within_a_block() {
        // (period, the look that finds it, points per block then)
        for (period, at, block) in [
            (40, 384, 8),
            (90, 384, 8),
            (137, 768, 16),
            (250, 768, 16),
            (320, 1536, 32),
            (480, 1536, 32),
        ] {
            let (found_at, found) = first_find((0..20_000).map(|i| pulse(i, period))).unwrap();
            assert_eq!(found_at, at, "period {period}");
            assert!(found.abs_diff(period) <= block, "period {period}: {found}");
        }
    }

    #[test]
    fn noise_a_walk_and_a_constant_are_not_periodic_and_the_probe_gives_up() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let white: Vec<f64> = (0..40_000).map(|_| noise()).collect();
        // 48 block means of noise may correlate by chance at 0.3; `default` asks for 0.9.
        assert_eq!(first_find_with(white.iter().copied(), 0.9), None);
        let mut level = 0.0;
        let walk: Vec<f64> = white
            .iter()
            .map(|step| {
                level += step;
                level
            })
            .collect();
        assert_eq!(first_find(walk.into_iter()), None);
        assert_eq!(first_find(std::iter::repeat_n(3.0, 40_000)), None);
        let mut probe = Probe::new();
        for value in white {
            probe.push(value, 8, 512, 0.9);
        }
        assert!(probe.done && probe.state_bytes() < 100);
    }
}
