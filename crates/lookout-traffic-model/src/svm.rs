//! Linear support vector machine trained with Pegasos (primal stochastic sub-gradient).
//!
//! **Catches**: attacks separable from normal traffic by one hyperplane in the encoded
//! space (floods: high `count`, `serror_rate`; scans: high `diff_srv_rate`, `rerror_rate`).
//! **Misses**: anything needing a non-linear boundary, e.g. an R2L attack that looks like
//! normal traffic on every feature but one combination. **Cost**: training O(epochs · n ·
//! d); scoring one record is one dot product over d ≈ 125 weights, the model is d + 3
//! numbers.
//!
//! The score is the margin mapped to 0..1 by Platt scaling (a one-dimensional logistic
//! regression of the labels on the training margins), so 0.5 is the decision boundary.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::encode::Matrix;

/// Parameters of [`LinearSvm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmConfig {
    /// Regularisation strength λ.
    pub lambda: f64,
    /// Passes over the training data.
    pub epochs: usize,
    pub seed: u64,
}

impl Default for SvmConfig {
    fn default() -> Self {
        SvmConfig {
            lambda: 1e-5,
            epochs: 15,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearSvm {
    pub weights: Vec<f64>,
    pub bias: f64,
    /// Platt scaling: P(attack) = 1 / (1 + exp(-(a · margin + b))).
    pub platt: (f64, f64),
}

impl LinearSvm {
    pub fn fit(config: &SvmConfig, x: &Matrix, attack: &[bool]) -> Self {
        let n = x.rows();
        let d = x.width;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut order: Vec<usize> = (0..n).collect();
        // w = scale · v keeps the shrink step O(1).
        let mut v = vec![0.0f64; d];
        let mut scale = 1.0f64;
        let mut bias = 0.0f64;
        let lambda = config.lambda;
        let mut t = 1.0f64;
        // Start after a delay so the first steps (η = 1/(λt)) are not huge.
        let t0 = 1.0 / (lambda * 10.0);
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for &i in &order {
                let row = x.row(i);
                let y = if attack[i] { 1.0 } else { -1.0 };
                let eta = 1.0 / (lambda * (t + t0));
                let margin = y * (scale * dot(&v, row) + bias);
                scale *= 1.0 - eta * lambda;
                if margin < 1.0 {
                    let step = eta * y / scale;
                    for (w, &xi) in v.iter_mut().zip(row) {
                        *w += step * f64::from(xi);
                    }
                    bias += eta * y * 0.01;
                }
                if scale < 1e-9 {
                    v.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
                t += 1.0;
            }
        }
        let weights: Vec<f64> = v.iter().map(|w| w * scale).collect();
        let mut model = LinearSvm {
            weights,
            bias,
            platt: (1.0, 0.0),
        };
        let margins: Vec<f64> = (0..n).map(|i| model.margin(x.row(i))).collect();
        model.platt = platt(&margins, attack);
        model
    }

    pub fn margin(&self, row: &[f32]) -> f64 {
        dot(&self.weights, row) + self.bias
    }

    pub fn score(&self, row: &[f32]) -> f64 {
        let (a, b) = self.platt;
        sigmoid(a * self.margin(row) + b)
    }
}

fn dot(w: &[f64], row: &[f32]) -> f64 {
    w.iter().zip(row).map(|(w, x)| w * f64::from(*x)).sum()
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Fits P(attack | m) = σ(a·m + b) by Newton's method on the log-loss.
pub(crate) fn platt(margins: &[f64], attack: &[bool]) -> (f64, f64) {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (&m, &y) in margins.iter().zip(attack) {
            let p = sigmoid(a * m + b);
            let r = p - if y { 1.0 } else { 0.0 };
            let w = (p * (1.0 - p)).max(1e-12);
            ga += r * m;
            gb += r;
            haa += w * m * m;
            hab += w * m;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    if a.is_finite() && b.is_finite() && a > 0.0 {
        (a, b)
    } else {
        (1.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_a_linearly_separable_set() {
        let mut data = Vec::new();
        let mut attack = Vec::new();
        for i in 0..200 {
            let x = (i % 20) as f32 / 10.0 - 1.0;
            let y = (i / 20) as f32 / 10.0 - 0.5;
            data.extend_from_slice(&[x, y, 1.0]);
            attack.push(x + 0.5 * y > 0.05);
        }
        let matrix = Matrix { width: 3, data };
        let model = LinearSvm::fit(&SvmConfig::default(), &matrix, &attack);
        let correct = (0..200)
            .filter(|&i| (model.score(matrix.row(i)) > 0.5) == attack[i])
            .count();
        assert!(correct >= 190, "{correct}/200");
        assert!(model.score(&[1.0, 0.5, 1.0]) > 0.9);
        assert!(model.score(&[-1.0, -0.5, 1.0]) < 0.1);
    }
}
