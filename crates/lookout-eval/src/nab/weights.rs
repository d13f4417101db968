//! NAB's per-row weights: the scaled sigmoid, the probationary period, and the unit weight of
//! every scorable row (before a profile's A_TP / A_FP scaling).
//!
//! Follows `nab/sweeper.py` exactly (see the corpus README):
//! - inside window k (rows `L..=R`, width `W`): `y = -(R - i + 1) / W`, weight `S(y) / S(-1)`
//!   (times A_TP), so the window's first row earns exactly A_TP;
//! - after window k and before the next: `y = (i - R) / (W - 1)`, weight `S(y)` (times A_FP),
//!   from about 0 just after the window to -1 once `y > 3`. A one-row window (`W = 1`) would
//!   divide by zero in NAB; here `y` is then +inf, so the weight is -1;
//! - before a file's first window (or in a file with none): weight -1 (times A_FP).

use super::NabFile;

/// Fraction of a file's rows that is probationary, and the row count the cap is based on.
pub const PROBATION_FRACTION: f64 = 0.15;
pub const PROBATION_CAP_ROWS: f64 = 5000.0;

/// `sigma(x) = 1 / (1 + exp(-x))`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// NAB's scaled sigmoid: `2 * sigma(-5y) - 1` for `y <= 3`, else `-1`.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 {
        return -1.0;
    }
    2.0 * sigmoid(-5.0 * y) - 1.0
}

/// Number of leading rows ignored by scoring: `min(floor(0.15 N), 0.15 * 5000)` = at most 750.
pub fn probationary_rows(row_count: usize) -> usize {
    let fraction = (PROBATION_FRACTION * row_count as f64).floor();
    fraction.min(PROBATION_FRACTION * PROBATION_CAP_ROWS) as usize
}

/// Where a scorable row sits, with its weight before profile scaling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowWeight {
    /// Inside the window with this file-local index; the weight is multiplied by A_TP.
    InWindow { window: usize, unit: f64 },
    /// Outside every window; the (non-positive) weight is multiplied by A_FP.
    Outside { unit: f64 },
}

/// The unit weight of every row of `file` (probationary rows included; callers skip them).
pub fn row_weights(file: &NabFile) -> Vec<RowWeight> {
    let tp_norm = scaled_sigmoid(-1.0);
    let mut weights = Vec::with_capacity(file.len());
    let mut windows = file.windows.iter().enumerate().peekable();
    let mut previous_window: Option<(usize, usize)> = None; // (R, W)
    for row in 0..file.len() {
        while windows.peek().is_some_and(|(_, &(_, right))| right < row) {
            let (_, &(left, right)) = windows.next().expect("peeked");
            previous_window = Some((right, right - left + 1));
        }
        let current = windows.peek().filter(|(_, &(left, _))| left <= row);
        let weight = match (current, previous_window) {
            (Some(&(window, &(left, right))), _) => {
                let width = (right - left + 1) as f64;
                let y = -((right - row + 1) as f64) / width;
                RowWeight::InWindow {
                    window,
                    unit: scaled_sigmoid(y) / tp_norm,
                }
            }
            (None, Some((right, width))) => {
                let y = (row - right) as f64 / (width as f64 - 1.0);
                RowWeight::Outside {
                    unit: scaled_sigmoid(if y.is_nan() { f64::INFINITY } else { y }),
                }
            }
            (None, None) => RowWeight::Outside { unit: -1.0 },
        };
        weights.push(weight);
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(len: usize, windows: Vec<(usize, usize)>) -> NabFile {
        NabFile {
            name: "test/file.csv".into(),
            timestamps: vec![String::new(); len],
            timestamps_ms: (0..len as i64).collect(),
            values: vec![0.0; len],
            windows,
        }
    }

    #[test]
    fn scaled_sigmoid_matches_readme_values() {
        assert_eq!(scaled_sigmoid(-1.0), 0.9866142981514305);
        assert!((scaled_sigmoid(-0.5) - 0.84828).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert!((scaled_sigmoid(1.0) + 0.98661).abs() < 1e-5);
        assert_eq!(scaled_sigmoid(3.0001), -1.0);
        assert!(scaled_sigmoid(3.0) > -1.0);
    }

    #[test]
    fn probation_is_fifteen_percent_capped_at_750() {
        assert_eq!(probationary_rows(1127), 169);
        assert_eq!(probationary_rows(4032), 604);
        assert_eq!(probationary_rows(5000), 750);
        assert_eq!(probationary_rows(22_695), 750);
        assert_eq!(probationary_rows(0), 0);
    }

    #[test]
    fn window_weights_follow_position() {
        // Rows 0..20, windows [5, 9] (W = 5) and [14, 15] (W = 2).
        let weights = row_weights(&file(20, vec![(5, 9), (14, 15)]));
        let unit = |row: usize| match weights[row] {
            RowWeight::InWindow { unit, .. } | RowWeight::Outside { unit } => unit,
        };
        for (row, weight) in weights.iter().enumerate().take(5) {
            assert_eq!(
                *weight,
                RowWeight::Outside { unit: -1.0 },
                "row {row} precedes every window"
            );
        }
        assert_eq!(
            weights[5],
            RowWeight::InWindow {
                window: 0,
                unit: 1.0
            }
        );
        let last_in_first = scaled_sigmoid(-1.0 / 5.0) / scaled_sigmoid(-1.0);
        assert_eq!(
            weights[9],
            RowWeight::InWindow {
                window: 0,
                unit: last_in_first
            }
        );
        assert!(
            (5..9).all(|row| unit(row) > unit(row + 1)),
            "weight falls through the window"
        );
        // After window 0: y = (i - 9) / (5 - 1).
        assert_eq!(
            weights[10],
            RowWeight::Outside {
                unit: scaled_sigmoid(0.25)
            }
        );
        assert_eq!(
            weights[13],
            RowWeight::Outside {
                unit: scaled_sigmoid(1.0)
            }
        );
        assert_eq!(
            weights[14],
            RowWeight::InWindow {
                window: 1,
                unit: 1.0
            }
        );
        // After window 1 (W = 2): y = (i - 15) / 1; beyond y = 3 the weight is exactly -1.
        assert_eq!(
            weights[16],
            RowWeight::Outside {
                unit: scaled_sigmoid(1.0)
            }
        );
        assert_eq!(
            weights[18],
            RowWeight::Outside {
                unit: scaled_sigmoid(3.0)
            }
        );
        assert_eq!(weights[19], RowWeight::Outside { unit: -1.0 });
    }

    #[test]
    fn one_row_window_is_followed_by_full_penalty() {
        let weights = row_weights(&file(6, vec![(2, 2)]));
        assert_eq!(
            weights[2],
            RowWeight::InWindow {
                window: 0,
                unit: 1.0
            }
        );
        assert_eq!(weights[3], RowWeight::Outside { unit: -1.0 });
    }
}
