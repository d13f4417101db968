//! Functions of one window of samples (a range vector element at one step), as
//! Prometheus 2.x's `functions.go` computes them. Each takes the samples in the window
//! (time-ordered, at least one) and returns `None` where Prometheus returns no element.
//!
//! `rate`/`increase`/`delta` extrapolate exactly as `extrapolatedRate`: to the window's
//! edges when the first/last sample lies within 1.1 average intervals of them, else by
//! half an interval, never below zero for counters.

use super::math::{go_duration_seconds, go_quantile, kahan_inc, linear_regression};

/// The window a range function sees: its end (the reference time, after `@` and
/// `offset`), its length, and the evaluation time of the step.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub end_ms: i64,
    pub range_ms: i64,
    pub eval_ms: i64,
}

/// `extrapolatedRate`: `rate` (counter, per second), `increase` (counter), `delta`.
pub fn extrapolated_rate(
    samples: &[(i64, f64)],
    w: Window,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let range_start = w.end_ms - w.range_ms;
    let (first_t, first_v) = samples[0];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = last_v - first_v;
    if is_counter {
        let mut last = 0.0;
        for (_, v) in samples {
            if *v < last {
                result += last;
            }
            last = *v;
        }
    }
    let mut to_start = (first_t - range_start) as f64 / 1000.0;
    let to_end = (w.end_ms - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let average = sampled / (samples.len() - 1) as f64;
    if is_counter && result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    // One factor, then one multiplication, in Prometheus' order: `(a * b) / c` and
    // `a * (b / c)` differ in the last bit, which decides `topk` among near-ties.
    let mut factor = interval / sampled;
    if is_rate {
        factor /= go_duration_seconds(w.range_ms);
    }
    Some(result * factor)
}

/// `instantValue`: `irate` (counter, per second) and `idelta` from the last two samples.
pub fn instant_value(samples: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (last_t, last_v) = samples[samples.len() - 1];
    let (prev_t, prev_v) = samples[samples.len() - 2];
    let mut result = if is_rate && last_v < prev_v {
        last_v
    } else {
        last_v - prev_v
    };
    let interval = last_t - prev_t;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// `deriv`: per-second slope of the least-squares line.
pub fn deriv(samples: &[(i64, f64)]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    Some(linear_regression(samples, samples[0].0).0)
}

/// `predict_linear`: the regression line's value `seconds` after the evaluation time.
pub fn predict_linear(samples: &[(i64, f64)], w: Window, seconds: f64) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(samples, w.eval_ms);
    Some(slope * seconds + intercept)
}

/// `resets`: how often a value fell.
pub fn resets(samples: &[(i64, f64)]) -> f64 {
    samples.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64
}

/// `changes`: how often a value changed (NaN to NaN is no change).
pub fn changes(samples: &[(i64, f64)]) -> f64 {
    samples
        .windows(2)
        .filter(|p| p[1].1 != p[0].1 && !(p[1].1.is_nan() && p[0].1.is_nan()))
        .count() as f64
}

pub fn avg_over_time(samples: &[(i64, f64)]) -> f64 {
    let (mut mean, mut count, mut c) = (0.0f64, 0.0, 0.0);
    for (_, v) in samples {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (*v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_inc(v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

pub fn sum_over_time(samples: &[(i64, f64)]) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0);
    for (_, v) in samples {
        (sum, c) = kahan_inc(*v, sum, c);
    }
    if sum.is_infinite() {
        sum
    } else {
        sum + c
    }
}

pub fn min_over_time(samples: &[(i64, f64)]) -> f64 {
    let mut min = samples[0].1;
    for (_, v) in samples {
        if *v < min || min.is_nan() {
            min = *v;
        }
    }
    min
}

pub fn max_over_time(samples: &[(i64, f64)]) -> f64 {
    let mut max = samples[0].1;
    for (_, v) in samples {
        if *v > max || max.is_nan() {
            max = *v;
        }
    }
    max
}

/// `stdvar_over_time` (population variance, compensated Welford).
pub fn stdvar_over_time(samples: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (_, v) in samples {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

pub fn quantile_over_time(samples: &[(i64, f64)], q: f64) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(|(_, v)| *v).collect();
    go_quantile(q, &mut values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(end_ms: i64, range_ms: i64) -> Window {
        Window {
            end_ms,
            range_ms,
            eval_ms: end_ms,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn rate_extrapolates_to_both_edges_when_samples_are_close() {
        // Samples every 15 s at 15..=285 s, values 1 per second; window [0, 300].
        let samples: Vec<(i64, f64)> = (1..=19)
            .map(|i| (i * 15_000, 100.0 + 15.0 * i as f64))
            .collect();
        // delta 270 over 270 s sampled; 15 s to each edge < 16.5 s threshold →
        // extrapolated to 300 s: 270 * 300 / 270 = 300; rate = 300 / 300 = 1.
        let r = extrapolated_rate(&samples, w(300_000, 300_000), true, true).unwrap();
        assert!(close(r, 1.0), "{r}");
        let inc = extrapolated_rate(&samples, w(300_000, 300_000), true, false).unwrap();
        assert!(close(inc, 300.0), "{inc}");
    }

    #[test]
    fn rate_extrapolates_half_an_interval_when_far_from_the_edge() {
        // Two samples at 100 s and 160 s (interval 60 s), window [0, 300]; the zero point
        // (1000 / 60 × 60 s = 1000 s before) is further than the window start.
        // to_start 100 s and to_end 140 s exceed 66 s → each edge adds 30 s:
        // increase = 60 * (60 + 60) / 60 = 120.
        let samples = [(100_000, 1000.0), (160_000, 1060.0)];
        let inc = extrapolated_rate(&samples, w(300_000, 300_000), true, false).unwrap();
        assert!(close(inc, 120.0), "{inc}");
    }

    #[test]
    fn counters_are_not_extrapolated_below_zero() {
        // First value 5 at 60 s, 25 at 120 s; to_zero = 60 * 5 / 20 = 15 s < 60 s to start.
        // to_start 60 s < 66 s threshold would extrapolate 60 s, but the zero point cuts it
        // to 15 s; to_end 180 s ≥ 66 → 30 s. increase = 20 * (60 + 15 + 30) / 60 = 35.
        let samples = [(60_000, 5.0), (120_000, 25.0)];
        let inc = extrapolated_rate(&samples, w(300_000, 300_000), true, false).unwrap();
        assert!(close(inc, 35.0), "{inc}");
        // delta is not a counter: 20 * (60 + 60 + 30) / 60 = 50.
        let d = extrapolated_rate(&samples, w(300_000, 300_000), false, false).unwrap();
        assert!(close(d, 50.0), "{d}");
    }

    #[test]
    fn counter_resets_add_the_value_before_the_reset() {
        // 10, 20, 5, 15 every 10 s over [0, 40]: raw delta 5, plus 20 at the reset = 25;
        // sampled 30 s, to_start 10 and to_end 10 < 11 → 25 * 50 / 30.
        let samples = [
            (10_000, 10.0),
            (20_000, 20.0),
            (30_000, 5.0),
            (40_000, 15.0),
        ];
        let inc = extrapolated_rate(&samples, w(50_000, 50_000), true, false).unwrap();
        assert!(close(inc, 25.0 * 50.0 / 30.0), "{inc}");
        assert_eq!(resets(&samples), 1.0);
        assert_eq!(changes(&samples), 3.0);
    }

    #[test]
    fn one_sample_has_no_rate() {
        assert_eq!(extrapolated_rate(&[(1, 1.0)], w(10, 10), true, true), None);
        assert_eq!(instant_value(&[(1, 1.0)], true), None);
        assert_eq!(deriv(&[(1, 1.0)]), None);
    }

    #[test]
    fn irate_and_idelta_use_the_last_two_samples() {
        let samples = [(0, 1.0), (10_000, 50.0), (20_000, 10.0)];
        // Reset: irate takes the last value over the interval, 10 / 10 s.
        assert_eq!(instant_value(&samples, true), Some(1.0));
        assert_eq!(instant_value(&samples, false), Some(-40.0));
        assert_eq!(instant_value(&[(5, 1.0), (5, 2.0)], true), None);
    }

    #[test]
    fn deriv_and_predict_linear() {
        let samples: Vec<(i64, f64)> = (0..4)
            .map(|i| (i * 60_000, 10.0 + 2.0 * i as f64))
            .collect();
        assert!(close(deriv(&samples).unwrap(), 2.0 / 60.0));
        // At eval time 180 s the line is at 16; one hour later 16 + 3600 * 2 / 60 = 136.
        let p = predict_linear(&samples, w(180_000, 300_000), 3600.0).unwrap();
        assert!(close(p, 136.0), "{p}");
    }

    #[test]
    fn over_time_aggregates() {
        let samples = [
            (0, 2.0),
            (1, 4.0),
            (2, 4.0),
            (3, 4.0),
            (4, 5.0),
            (5, 5.0),
            (6, 7.0),
            (7, 9.0),
        ];
        assert!(close(avg_over_time(&samples), 5.0));
        assert!(close(sum_over_time(&samples), 40.0));
        assert_eq!(min_over_time(&samples), 2.0);
        assert_eq!(max_over_time(&samples), 9.0);
        // Population variance of the classic example is 4.
        assert!(close(stdvar_over_time(&samples), 4.0));
        assert!(close(quantile_over_time(&samples, 0.5), 4.5));
        let inf = [(0, f64::INFINITY), (1, 1.0)];
        assert_eq!(avg_over_time(&inf), f64::INFINITY);
        assert!(min_over_time(&[(0, f64::NAN), (1, 1.0)]) == 1.0);
    }
}
