//! The period of a series, from the autocorrelation of a bounded buffer.
//!
//! The buffer's mean is removed and its autocorrelation computed at every lag from
//! `min_lag` to `max_lag` (at most a third of the buffer, so every lag has at least two
//! thirds of the buffer behind it). Past the first lag where the autocorrelation falls to
//! zero or below, the local maxima are the candidate periods; the shortest one within 10 %
//! of the best is the period (the fundamental rather than a multiple of it, which
//! correlates nearly as well). No period when the autocorrelation never turns negative
//! (a trend or a random walk) or the best peak is below `min_peak` (no repeating shape;
//! [`MIN_PEAK`] in [`estimate`]).
//!
//! Cost: O(buffer × (max_lag − min_lag)) multiply-adds per call (~1 M for 2,048 values
//! and lags up to 512), no allocation beyond one vector of `max_lag` correlations.

/// Below this autocorrelation a peak is not a period.
pub const MIN_PEAK: f64 = 0.3;

/// A candidate within this share of the best peak wins when it is shorter.
const NEAR_BEST: f64 = 0.9;

/// The period of `values` in points, searched over `min_lag..=max_lag`; `None` when the
/// buffer shows none (see the module doc).
pub fn estimate(values: &[f64], min_lag: usize, max_lag: usize) -> Option<usize> {
    estimate_with(values, min_lag, max_lag, MIN_PEAK)
}

/// [`estimate`] with another least autocorrelation for a period.
pub fn estimate_with(
    values: &[f64],
    min_lag: usize,
    max_lag: usize,
    min_peak: f64,
) -> Option<usize> {
    let n = values.len();
    let max_lag = max_lag.min(n / 3);
    if min_lag < 1 || max_lag <= min_lag + 1 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    if variance <= 0.0 || !variance.is_finite() {
        return None;
    }
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let correlation = |lag: usize| {
        let pairs = n - lag;
        let sum: f64 = centred[..pairs]
            .iter()
            .zip(&centred[lag..])
            .map(|(a, b)| a * b)
            .sum();
        sum / (pairs as f64 * variance)
    };
    // Lag 1 up to the first non-positive correlation: that part is never a period.
    let mut lag = 1;
    while lag <= max_lag && correlation(lag) > 0.0 {
        lag += 1;
    }
    if lag >= max_lag {
        return None;
    }
    let first = lag.max(min_lag);
    let r: Vec<f64> = (first - 1..=max_lag + 1)
        .map(|lag| if lag < n { correlation(lag) } else { f64::MIN })
        .collect();
    let peaks: Vec<(usize, f64)> = (1..r.len() - 1)
        .filter(|&i| r[i] >= r[i - 1] && r[i] >= r[i + 1] && r[i] > 0.0)
        .map(|i| (first - 1 + i, r[i]))
        .collect();
    let best = peaks
        .iter()
        .map(|&(_, value)| value)
        .fold(f64::MIN, f64::max);
    if best < min_peak {
        return None;
    }
    peaks
        .iter()
        .find(|&&(_, value)| value >= NEAR_BEST * best)
        .map(|&(lag, _)| lag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_fundamental_of_a_sharp_pulse_train() {
        let values: Vec<f64> = (0..2048)
            .map(|i| {
                let phase = (i % 137) as f64 / 137.0;
                (-0.5 * ((phase - 0.4) / 0.012f64).powi(2)).exp()
                    + 0.3 * (-0.5 * ((phase - 0.65) / 0.05f64).powi(2)).exp()
            })
            .collect();
        assert_eq!(estimate(&values, 8, 512), Some(137));
    }

    #[test]
    fn a_sine_with_a_weekly_modulation_gives_the_day() {
        let values: Vec<f64> = (0..4096)
            .map(|i| {
                let day = i / 48;
                let weekend = if day % 7 >= 5 { 0.6 } else { 1.0 };
                weekend * (i as f64 * std::f64::consts::TAU / 48.0).sin()
            })
            .collect();
        assert_eq!(estimate(&values, 8, 512), Some(48));
    }

    #[test]
    fn a_trend_or_a_constant_has_no_period() {
        let trend: Vec<f64> = (0..1024).map(|i| i as f64).collect();
        assert_eq!(estimate(&trend, 8, 256), None);
        assert_eq!(estimate(&[3.0; 1024], 8, 256), None);
    }
}
