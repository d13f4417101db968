//! Numerics shared by functions and aggregations, written to give Prometheus' (Go's)
//! answers: Neumaier-compensated sums, the `quantile` interpolation, least-squares
//! regression, `math.Max`/`math.Min` (NaN wins), rounding as `funcRound`.

/// `kahanSumInc`: adds `inc` to a compensated sum `(sum, c)`.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Go's `time.Duration.Seconds()` of a whole number of milliseconds: whole seconds plus
/// the nanosecond remainder over 1e9 (not `ms / 1000.0`, which rounds differently).
pub fn go_duration_seconds(ms: i64) -> f64 {
    (ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9
}

/// Go's `math.Max`: NaN if either is NaN.
pub fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN if either is NaN.
pub fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else {
        a.min(b)
    }
}

/// Prometheus' `quantile`: linear interpolation between the closest ranks, NaN values
/// sorting first; `q` outside [0, 1] gives ∓Inf, no values NaN. Sorts `values`.
pub fn go_quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `linearRegression`: slope and intercept of the least-squares line through the
/// samples, times in seconds relative to `intercept_ms`.
pub fn linear_regression(samples: &[(i64, f64)], intercept_ms: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = samples[0].1;
    let mut const_y = true;
    for (i, (t, v)) in samples.iter().enumerate() {
        if const_y && i > 0 && *v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(*v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `funcRound`: rounds half up to a multiple of `to_nearest`.
pub fn round_to(v: f64, to_nearest: f64) -> f64 {
    let inverse = 1.0 / to_nearest;
    (v * inverse + 0.5).floor() / inverse
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_keeps_small_terms() {
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1e16, 1.0, -1e16] {
            (s, c) = kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 1.0);
    }

    #[test]
    fn go_max_and_min_propagate_nan() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(go_min(0.0, -0.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn quantile_interpolates_between_ranks() {
        // rank = 0.9 * 3 = 2.7 → 3 * 0.3 + 4 * 0.7 = 3.7
        assert!((go_quantile(0.9, &mut [4.0, 1.0, 3.0, 2.0]) - 3.7).abs() < 1e-12);
        assert_eq!(go_quantile(0.5, &mut [1.0, 2.0, 3.0]), 2.0);
        assert_eq!(go_quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
        assert_eq!(go_quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(go_quantile(0.5, &mut []).is_nan());
        // NaN sorts first: [NaN, 1] at q = 1 → 1.
        assert_eq!(go_quantile(1.0, &mut [1.0, f64::NAN]), 1.0);
    }

    #[test]
    fn regression_fits_a_line() {
        let samples: Vec<(i64, f64)> = (0..5)
            .map(|i| (i * 10_000, 3.0 + 0.5 * (i * 10) as f64))
            .collect();
        let (slope, intercept) = linear_regression(&samples, 0);
        assert!((slope - 0.5).abs() < 1e-12 && (intercept - 3.0).abs() < 1e-12);
        let (slope, intercept) = linear_regression(&[(0, 2.0), (1000, 2.0)], 0);
        assert_eq!((slope, intercept), (0.0, 2.0));
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round_to(2.5, 1.0), 3.0);
        assert_eq!(round_to(-2.5, 1.0), -2.0);
        assert_eq!(round_to(7.3, 5.0), 5.0);
        assert_eq!(round_to(0.26, 0.1), 0.3);
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("_a9"));
        assert!(!is_valid_label_name("9a"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
    }
}
