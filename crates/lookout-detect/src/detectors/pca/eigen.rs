//! Eigen-decomposition of a small symmetric matrix by the cyclic Jacobi method.
//!
//! Each sweep visits every off-diagonal pair once and zeroes it with a plane rotation;
//! sweeps repeat until the off-diagonal mass is negligible relative to the diagonal
//! (quadratic convergence: 6–10 sweeps for a 38×38 covariance). Cost per sweep
//! `O(n³)` (`n²/2` rotations of `O(n)` each), memory `2·n²` values. Accurate to working
//! precision for symmetric matrices, including repeated eigenvalues.

/// Eigenvalues (descending) and unit eigenvectors (row `i` of `vectors`, flattened
/// row-major, pairs with `values[i]`) of the symmetric `n × n` row-major `matrix`.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigen {
    pub values: Vec<f64>,
    pub vectors: Vec<f64>,
}

const MAX_SWEEPS: usize = 64;

/// Decomposes the symmetric `n × n` row-major matrix (only symmetric input is
/// meaningful; the upper triangle is what is read).
pub fn symmetric_eigen(matrix: &[f64], n: usize) -> Eigen {
    assert_eq!(matrix.len(), n * n, "matrix must be n × n");
    let mut a = matrix.to_vec();
    // Symmetrise from the upper triangle so that rounding in the input cannot matter.
    for i in 0..n {
        for j in (i + 1)..n {
            a[j * n + i] = a[i * n + j];
        }
    }
    // v holds eigenvectors as columns while rotating.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let app = a[p * n + p];
                let aqq = a[q * n + q];
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[k * n + p];
                    let akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = a[p * n + k];
                    let aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let vkp = v[k * n + p];
                    let vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| a[y * n + y].total_cmp(&a[x * n + x]).then(x.cmp(&y)));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (row, &column) in order.iter().enumerate() {
        for k in 0..n {
            vectors[row * n + k] = v[k * n + column];
        }
    }
    Eigen { values, vectors }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconstruct(e: &Eigen, n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        for (i, &lambda) in e.values.iter().enumerate() {
            let vi = &e.vectors[i * n..(i + 1) * n];
            for r in 0..n {
                for c in 0..n {
                    m[r * n + c] += lambda * vi[r] * vi[c];
                }
            }
        }
        m
    }

    #[test]
    fn diagonal_matrix_sorted_descending() {
        let e = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 2.0], 3);
        assert_eq!(e.values, vec![3.0, 2.0, 1.0]);
        assert_eq!(&e.vectors[0..3], &[0.0, 1.0, 0.0]);
    }

    #[test]
    fn two_by_two_known() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2.
        let e = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((e.values[0] - 3.0).abs() < 1e-12);
        assert!((e.values[1] - 1.0).abs() < 1e-12);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((e.vectors[0].abs() - h).abs() < 1e-12);
        assert!((e.vectors[0] - e.vectors[1]).abs() < 1e-12);
        assert!((e.vectors[2] + e.vectors[3]).abs() < 1e-12);
    }

    #[test]
    fn three_by_three_known() {
        // [[4, 1, 0], [1, 4, 1], [0, 1, 4]]: eigenvalues 4 + √2, 4, 4 − √2.
        let e = symmetric_eigen(&[4.0, 1.0, 0.0, 1.0, 4.0, 1.0, 0.0, 1.0, 4.0], 3);
        let r2 = std::f64::consts::SQRT_2;
        for (got, want) in e.values.iter().zip([4.0 + r2, 4.0, 4.0 - r2]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn random_symmetric_reconstructs_and_is_orthonormal() {
        let n = 38;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let b: Vec<f64> = (0..n * n).map(|_| next()).collect();
        // m = b bᵀ: symmetric positive semi-definite, like a covariance.
        let mut m = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                m[r * n + c] = (0..n).map(|k| b[r * n + k] * b[c * n + k]).sum();
            }
        }
        let e = symmetric_eigen(&m, n);
        let back = reconstruct(&e, n);
        for (x, y) in m.iter().zip(&back) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n)
                    .map(|k| e.vectors[i * n + k] * e.vectors[j * n + k])
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9);
            }
        }
        assert!(e.values.windows(2).all(|w| w[0] >= w[1]));
    }
}
