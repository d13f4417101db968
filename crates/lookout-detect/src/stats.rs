//! Small streaming statistics shared by detectors and the combiner.
//!
//! Everything here is allocation-free per point (buffers are sized once, at
//! construction), deterministic, and `serde`-serializable so that a detector's state
//! can be snapshotted and restored bit for bit.
//!
//! - [`clamp_value`]: keeps values inside `±VALUE_LIMIT` so that squares stay finite;
//! - [`DetectorConfigError`] and [`ConfigCheck`]: validation of detector configs;
//! - [`floored_scale`], [`band_around`]: scale floors and expected bands;
//! - [`RingBuffer`], [`RollingMedian`]: fixed-capacity windows, rolling median and MAD;
//! - [`EwmaMean`], [`EwmaMeanVar`]: exponentially weighted mean / variance that start
//!   as exact running averages (Welford) and become exponential after `1/alpha` points.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::detector::{sanitize_raw, Band};

/// Largest magnitude a detector works with. Larger finite inputs are clamped to it, so
/// that differences and squares of values (≤ 4e300) stay finite.
pub const VALUE_LIMIT: f64 = 1e150;

/// Consistency factor turning a median absolute deviation into a normal σ.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// Consistency factor turning a mean absolute deviation into a normal σ (√(π/2)).
pub const MEAN_ABS_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// Clamps a value into `±VALUE_LIMIT`, maps NaN to `0` (defensive: the engine already
/// rejects NaN) and `-0.0` to `0.0`, so that state never holds non-finite numbers.
pub fn clamp_value(value: f64) -> f64 {
    if value.is_nan() {
        return 0.0;
    }
    value.clamp(-VALUE_LIMIT, VALUE_LIMIT) + 0.0
}

/// A detector configuration value is out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid `{detector}` detector config: `{field}` {reason}")]
pub struct DetectorConfigError {
    /// The detector's name, e.g. `robust_z`.
    pub detector: &'static str,
    /// The offending configuration field.
    pub field: &'static str,
    /// Why the value was rejected, including the value.
    pub reason: String,
}

/// Validation helpers naming the detector and field in every error.
#[derive(Debug, Clone, Copy)]
pub struct ConfigCheck {
    detector: &'static str,
}

impl ConfigCheck {
    pub fn new(detector: &'static str) -> Self {
        ConfigCheck { detector }
    }

    pub fn error(&self, field: &'static str, reason: String) -> DetectorConfigError {
        DetectorConfigError {
            detector: self.detector,
            field,
            reason,
        }
    }

    /// A smoothing factor: `0 < value <= 1`.
    pub fn alpha(&self, field: &'static str, value: f64) -> Result<(), DetectorConfigError> {
        if value.is_finite() && value > 0.0 && value <= 1.0 {
            return Ok(());
        }
        Err(self.error(field, format!("must be in (0, 1], got {value}")))
    }

    /// A finite float in `[min, max]`.
    pub fn float_in(
        &self,
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    ) -> Result<(), DetectorConfigError> {
        if value.is_finite() && value >= min && value <= max {
            return Ok(());
        }
        Err(self.error(field, format!("must be in [{min}, {max}], got {value}")))
    }

    /// An integer in `[min, max]`.
    pub fn int_in(
        &self,
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    ) -> Result<(), DetectorConfigError> {
        if value >= min && value <= max {
            return Ok(());
        }
        Err(self.error(field, format!("must be in [{min}, {max}], got {value}")))
    }
}

/// The usual scale-floor fields' limits: the absolute floor must be positive (no
/// division by zero) and not so small that a clamped deviation overflows.
pub fn check_scale_floors(
    check: ConfigCheck,
    relative: f64,
    absolute: f64,
) -> Result<(), DetectorConfigError> {
    check.float_in("rel_scale_floor", relative, 0.0, 1.0)?;
    check.float_in("abs_scale_floor", absolute, 1e-100, 1e100)
}

/// `scale`, but never below `relative·|center| + absolute`: a flat series has no
/// spread, and a tiny wobble around a large level is not an anomaly.
pub fn floored_scale(scale: f64, center: f64, relative: f64, absolute: f64) -> f64 {
    let floor = relative * center.abs() + absolute;
    if scale > floor {
        scale
    } else {
        floor
    }
}

/// `|deviation| / scale` as a raw score within the detector contract.
pub fn deviation_score(deviation: f64, scale: f64) -> f64 {
    sanitize_raw(deviation.abs() / scale)
}

/// `center ± half_width`, with bounds kept finite.
pub fn band_around(center: f64, half_width: f64) -> Band {
    Band {
        lower: (center - half_width).max(-f64::MAX),
        upper: (center + half_width).min(f64::MAX),
    }
}

/// A fixed-capacity FIFO window of values; pushing into a full buffer evicts the oldest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RingBuffer {
    values: Vec<f64>,
    capacity: usize,
    /// Index of the oldest value once full (the slot the next push overwrites).
    next: usize,
}

impl RingBuffer {
    /// `capacity` must be at least 1.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RingBuffer {
            values: Vec::with_capacity(capacity),
            capacity,
            next: 0,
        }
    }

    /// Appends `value`; returns the evicted oldest value when the buffer was full.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        if self.values.len() < self.capacity {
            self.values.push(value);
            return None;
        }
        let evicted = std::mem::replace(&mut self.values[self.next], value);
        self.next = (self.next + 1) % self.capacity;
        Some(evicted)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.values.len() == self.capacity
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Values from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (newer, older) = self.values.split_at(self.next);
        older.iter().chain(newer.iter()).copied()
    }

    /// Bytes held, inline and on the heap.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.capacity * std::mem::size_of::<f64>()
    }
}

/// A rolling window that also keeps its values in order, for the median and the median
/// absolute deviation. The values live once, in arrival order; the order is a list of
/// their slots (`u16`, a quarter of a second `f64` copy: ~770 bytes less per series at
/// the default window of 128). Push is one binary search and one `memmove` of slots
/// (O(w)); the median is O(1) and the MAD O(log w) without allocation. Windows of up to
/// 65,536 points.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RollingMedian {
    ring: RingBuffer,
    /// Slots of `ring`, ordered by their values.
    order: Vec<u16>,
}

/// Largest window a [`RollingMedian`] holds (slots are `u16`).
pub const MAX_ROLLING_WINDOW: usize = 1 << 16;

impl RollingMedian {
    /// `capacity` is clamped to `1..=MAX_ROLLING_WINDOW`.
    pub fn new(capacity: usize) -> Self {
        let ring = RingBuffer::new(capacity.min(MAX_ROLLING_WINDOW));
        let order = Vec::with_capacity(ring.capacity());
        RollingMedian { ring, order }
    }

    fn value(&self, rank: usize) -> f64 {
        self.ring.values[usize::from(self.order[rank])]
    }

    /// Ranks `< returned` hold values below `value`.
    fn rank_of(&self, ranks: std::ops::Range<usize>, value: f64) -> usize {
        let values = &self.ring.values;
        ranks.start
            + self.order[ranks]
                .partition_point(|slot| values[usize::from(*slot)].total_cmp(&value).is_lt())
    }

    /// Adds a finite value, evicting the oldest when full.
    pub fn push(&mut self, value: f64) {
        if !self.ring.is_full() {
            let slot = self.ring.len() as u16;
            let at = self.rank_of(0..self.order.len(), value);
            self.ring.push(value);
            self.order.insert(at, slot);
            return;
        }
        let slot = self.ring.next;
        let old = self.ring.values[slot];
        // The evicted slot's rank: among the values equal to it, the entry of this slot.
        let first_equal = self.rank_of(0..self.order.len(), old);
        let found = self.order[first_equal..]
            .iter()
            .position(|s| usize::from(*s) == slot);
        self.ring.push(value);
        let Some(offset) = found else {
            // Unreachable while `order` mirrors `ring`; rebuild rather than drift.
            self.rebuild_order();
            return;
        };
        let at = first_equal + offset;
        let slot = slot as u16;
        match value.total_cmp(&old) {
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Greater => {
                let end = self.rank_of(at + 1..self.order.len(), value);
                self.order.copy_within(at + 1..end, at);
                self.order[end - 1] = slot;
            }
            std::cmp::Ordering::Less => {
                let start = self.rank_of(0..at, value);
                self.order.copy_within(start..at, start + 1);
                self.order[start] = slot;
            }
        }
    }

    fn rebuild_order(&mut self) {
        let values = &self.ring.values;
        let mut order: Vec<u16> = (0..values.len() as u16).collect();
        order.sort_by(|a, b| values[usize::from(*a)].total_cmp(&values[usize::from(*b)]));
        self.order = order;
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Hints that the next push will read this window (see [`crate::prefetch`]).
    pub(crate) fn prefetch(&self) {
        crate::prefetch::slice(&self.ring.values, 1024);
        crate::prefetch::slice(&self.order, 256);
    }

    /// The window's values in ascending order.
    pub fn sorted(&self) -> Vec<f64> {
        (0..self.order.len()).map(|rank| self.value(rank)).collect()
    }

    pub fn median(&self) -> Option<f64> {
        let n = self.order.len();
        if n == 0 {
            return None;
        }
        if n % 2 == 1 {
            return Some(self.value(n / 2));
        }
        Some(self.value(n / 2 - 1) / 2.0 + self.value(n / 2) / 2.0)
    }

    /// Median of `|x - center|` over the window, `center` being the window's median.
    /// O(log w), branch-light: see [`kth_smallest_deviation`].
    pub fn mad(&self, center: f64) -> f64 {
        let n = self.order.len();
        if n == 0 {
            return 0.0;
        }
        let value = |rank| self.value(rank);
        let low = kth_smallest_deviation_by(n, value, center, (n - 1) / 2);
        if n % 2 == 1 {
            return low;
        }
        let high = kth_smallest_deviation_by(n, value, center, n / 2);
        low / 2.0 + high / 2.0
    }

    /// Mean of `|x - center|` over the window (O(w)); the fallback scale when more
    /// than half of the window is one value and the MAD is zero.
    pub fn mean_abs_deviation(&self, center: f64) -> f64 {
        if self.order.is_empty() {
            return 0.0;
        }
        // Summed in value order, smallest first.
        let total: f64 = (0..self.order.len())
            .map(|rank| (self.value(rank) - center).abs())
            .sum();
        total / self.order.len() as f64
    }

    pub fn state_bytes(&self) -> usize {
        self.ring.state_bytes()
            + std::mem::size_of::<Vec<u16>>()
            + self.ring.capacity() * std::mem::size_of::<u16>()
    }
}

/// The `k`-th smallest (0-based) of `|x − center|` over an ascending slice.
///
/// The `k + 1` values nearest to `center` form a contiguous block `sorted[i..=i + k]`,
/// and the block's largest deviation is `max(center − sorted[i], sorted[i + k] −
/// center)`; that maximum is smallest for the nearest block, so the answer is the
/// minimum over `i` of the maximum. The first term falls and the second rises with
/// `i`, so a binary search for their crossing finds it in O(log n).
pub fn kth_smallest_deviation(sorted: &[f64], center: f64, k: usize) -> f64 {
    kth_smallest_deviation_by(sorted.len(), |rank| sorted[rank], center, k)
}

/// [`kth_smallest_deviation`] over `n` sorted values read through `value(rank)`.
pub fn kth_smallest_deviation_by(
    n: usize,
    value: impl Fn(usize) -> f64,
    center: f64,
    k: usize,
) -> f64 {
    debug_assert!(k < n);
    let (mut low, mut high) = (0usize, n - k);
    while low < high {
        let mid = low + (high - low) / 2;
        if value(mid + k) - center < center - value(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    let right = if low < n - k {
        value(low + k) - center
    } else {
        f64::MAX
    };
    let left = if low > 0 {
        center - value(low - 1)
    } else {
        f64::MAX
    };
    right.min(left)
}

/// Weight of the `count`-th observation: exact running average (`1/count`) until it
/// drops below `alpha`, then exponential with `alpha`.
fn warm_weight(alpha: f64, count: u64) -> f64 {
    let cumulative = 1.0 / count.max(1) as f64;
    if cumulative > alpha {
        cumulative
    } else {
        alpha
    }
}

/// Exponentially weighted mean that starts as an exact running average.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EwmaMean {
    pub mean: f64,
    pub count: u64,
}

impl EwmaMean {
    /// Adds `value` with smoothing `alpha` (may vary between calls).
    pub fn update(&mut self, value: f64, alpha: f64) {
        self.count = self.count.saturating_add(1);
        let weight = warm_weight(alpha, self.count);
        self.mean += weight * (value - self.mean);
    }
}

/// Exponentially weighted mean and variance (West's incremental form) that start as
/// an exact running mean/variance (Welford) for the first `1/alpha` points.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EwmaMeanVar {
    pub mean: f64,
    pub variance: f64,
    pub count: u64,
}

impl EwmaMeanVar {
    /// Adds `value` with smoothing `alpha`.
    pub fn update(&mut self, value: f64, alpha: f64) {
        let deviation = value - self.mean;
        self.step(deviation, alpha);
    }

    /// Adds `value` with its deviation from the mean clipped to `±clip` (winsorized), so
    /// that one outlier moves the estimate by a bounded amount.
    pub fn update_clipped(&mut self, value: f64, alpha: f64, clip: f64) {
        let deviation = (value - self.mean).clamp(-clip, clip);
        self.step(deviation, alpha);
    }

    fn step(&mut self, deviation: f64, alpha: f64) {
        self.count = self.count.saturating_add(1);
        let weight = warm_weight(alpha, self.count);
        let increment = weight * deviation;
        self.mean += increment;
        self.variance = (1.0 - weight) * (self.variance + deviation * increment);
    }

    pub fn std_dev(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Feeds `values` one per second from t = 0 and collects the scores.
    pub fn feed(detector: &mut impl crate::Detector, values: &[f64]) -> Vec<crate::Score> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| detector.update(i as i64 * 1000, v))
            .collect()
    }

    /// `n` standard normal draws from a fixed seed (Box–Muller).
    pub fn gaussian(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
                let u2: f64 = rng.gen::<f64>();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_median(values: &mut [f64]) -> f64 {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n % 2 == 1 {
            values[n / 2]
        } else {
            values[n / 2 - 1] / 2.0 + values[n / 2] / 2.0
        }
    }

    #[test]
    fn ring_buffer_evicts_oldest_and_iterates_in_order() {
        let mut ring = RingBuffer::new(3);
        assert_eq!(ring.push(1.0), None);
        assert_eq!(ring.push(2.0), None);
        assert_eq!(ring.push(3.0), None);
        assert!(ring.is_full());
        assert_eq!(ring.push(4.0), Some(1.0));
        assert_eq!(ring.iter().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0]);
    }

    #[test]
    fn rolling_median_and_mad_match_naive_computation() {
        let values = test_support::gaussian(7, 500);
        for capacity in [1, 2, 5, 64] {
            let mut rolling = RollingMedian::new(capacity);
            let mut window: Vec<f64> = Vec::new();
            for (i, &v) in values.iter().enumerate() {
                // Repeat values sometimes so duplicates are exercised.
                let v = if i % 7 == 0 { 0.5 } else { (v * 4.0).round() };
                rolling.push(v);
                window.push(v);
                if window.len() > capacity {
                    window.remove(0);
                }
                let median = naive_median(&mut window.clone());
                assert_eq!(rolling.median(), Some(median));
                let mut deviations: Vec<f64> = window.iter().map(|x| (x - median).abs()).collect();
                assert_eq!(rolling.mad(median), naive_median(&mut deviations));
                let mut sorted = window.clone();
                sorted.sort_by(f64::total_cmp);
                assert_eq!(rolling.sorted(), sorted);
            }
        }
    }

    #[test]
    fn kth_smallest_deviation_matches_sorting_for_every_rank() {
        let values: Vec<f64> = test_support::gaussian(8, 41)
            .iter()
            .map(|z| z.round())
            .collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for center in [-0.5, 0.0, 0.25, 3.0, -10.0] {
            let mut deviations: Vec<f64> = sorted.iter().map(|x| (x - center).abs()).collect();
            deviations.sort_by(f64::total_cmp);
            for (k, expected) in deviations.iter().enumerate() {
                assert_eq!(kth_smallest_deviation(&sorted, center, k), *expected);
            }
        }
    }

    #[test]
    fn ewma_starts_as_exact_running_statistics() {
        let mut stats = EwmaMeanVar::default();
        for v in [2.0, 4.0, 6.0] {
            stats.update(v, 0.01);
        }
        assert!((stats.mean - 4.0).abs() < 1e-12);
        // Population variance of {2, 4, 6}.
        assert!((stats.variance - 8.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn clipped_update_bounds_an_outliers_influence() {
        let mut stats = EwmaMeanVar::default();
        for _ in 0..100 {
            stats.update(10.0, 0.05);
        }
        stats.update_clipped(1e9, 0.05, 1.0);
        assert!((stats.mean - 10.05).abs() < 1e-9);
    }

    #[test]
    fn clamp_keeps_values_finite_and_normalizes_zero() {
        assert_eq!(clamp_value(f64::MAX), VALUE_LIMIT);
        assert_eq!(clamp_value(-f64::MAX), -VALUE_LIMIT);
        assert_eq!(clamp_value(f64::NAN), 0.0);
        assert!(clamp_value(-0.0).is_sign_positive());
    }

    #[test]
    fn config_errors_name_detector_and_field() {
        let err = ConfigCheck::new("ewma_z").alpha("alpha", 0.0).unwrap_err();
        assert_eq!(err.field, "alpha");
        assert!(err.to_string().contains("ewma_z"), "{err}");
        assert!(err.to_string().contains("`alpha`"), "{err}");
    }
}
