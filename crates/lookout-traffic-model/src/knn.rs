//! Exact k-nearest neighbours over encoded records, brute force.
//!
//! **Catches**: attacks that resemble known attack records locally, whatever their shape in
//! feature space (no linear or axis-aligned boundary assumed). **Misses**: attacks unlike
//! any training record but closer to normal traffic than to known attacks (the usual fate
//! of unseen attack types); it extrapolates nothing. **Cost**: the model is the training
//! set (40 `f32` + 3 category slots per record, ~172 bytes); scoring one record is one pass
//! over all of it, O(n · 40) multiply-adds plus a k-slot insertion, ~1.3 µs per 1000
//! training records on one core (see the README).
//!
//! The distance is the Euclidean distance of the full encoded vectors, computed without
//! materialising the one-hot blocks: each record has exactly one hot slot per categorical
//! feature, so two records differ by 2 in squared distance for each category they do not
//! share. The dense part is padded to 40 lanes and summed in 8-lane chunks, which the
//! compiler vectorises. A KD-tree does not pay at 38 dense dimensions (it degrades to a
//! scan), which is why this stays a scan.

use serde::{Deserialize, Serialize};

use crate::record::NUMERIC_FEATURES;

/// Dense lanes per record: the numeric features padded to a multiple of 8.
const LANES: usize = NUMERIC_FEATURES.div_ceil(8) * 8;

/// Parameters of [`Knn`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnConfig {
    /// Neighbours that vote.
    pub k: usize,
}

impl Default for KnnConfig {
    fn default() -> Self {
        KnnConfig { k: 5 }
    }
}

/// The fitted model: the training records in compact form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knn {
    pub k: usize,
    dense: Vec<f32>,
    slots: Vec<[u16; 3]>,
    attack: Vec<bool>,
}

/// Hot slot of each one-hot block of an encoded row (`u16::MAX` when none is hot).
pub(crate) fn hot_slots(row: &[f32]) -> [u16; 3] {
    let mut slots = [u16::MAX; 3];
    let mut block = 0;
    for (index, value) in row[NUMERIC_FEATURES..].iter().enumerate() {
        if *value != 0.0 && block < 3 {
            slots[block] = index as u16;
            block += 1;
        }
    }
    slots
}

fn dense_lanes(row: &[f32]) -> [f32; LANES] {
    let mut lanes = [0.0; LANES];
    lanes[..NUMERIC_FEATURES].copy_from_slice(&row[..NUMERIC_FEATURES]);
    lanes
}

#[inline]
fn squared_distance(a: &[f32], b: &[f32; LANES]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for lane in 0..8 {
            let d = ca[lane] - cb[lane];
            acc[lane] += d * d;
        }
    }
    acc.iter().sum()
}

impl Knn {
    /// Keeps the rows (encoded with [`crate::encode::Encoder`]) and their labels.
    pub fn fit(config: &KnnConfig, rows: impl Iterator<Item = (Vec<f32>, bool)>) -> Self {
        let mut model = Knn {
            k: config.k.max(1),
            dense: Vec::new(),
            slots: Vec::new(),
            attack: Vec::new(),
        };
        for (row, attack) in rows {
            model.dense.extend_from_slice(&dense_lanes(&row));
            model.slots.push(hot_slots(&row));
            model.attack.push(attack);
        }
        model
    }

    pub fn len(&self) -> usize {
        self.attack.len()
    }

    pub fn is_empty(&self) -> bool {
        self.attack.is_empty()
    }

    /// The k nearest training records: (squared distance, index), nearest first.
    pub fn neighbours(&self, row: &[f32]) -> Vec<(f32, usize)> {
        let query = dense_lanes(row);
        let slots = hot_slots(row);
        let k = self.k.min(self.len());
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
        let mut worst = f32::INFINITY;
        for (index, (dense, other)) in self.dense.chunks_exact(LANES).zip(&self.slots).enumerate() {
            let mismatches = (0..3).filter(|&b| slots[b] != other[b]).count();
            let categorical = 2.0 * mismatches as f32;
            if best.len() == k && categorical >= worst {
                continue; // cannot enter the k nearest whatever the dense part
            }
            let distance = categorical + squared_distance(dense, &query);
            if best.len() < k || distance < worst {
                let at = best.partition_point(|(d, _)| *d <= distance);
                best.insert(at, (distance, index));
                best.truncate(k);
                if best.len() == k {
                    worst = best[k - 1].0;
                }
            }
        }
        best
    }

    /// Probability of attack: the share of attacks among the k nearest, each neighbour
    /// weighted by 1 / (1 + distance) so that near ties do not flip on far votes.
    pub fn score(&self, row: &[f32]) -> f64 {
        let neighbours = self.neighbours(row);
        let (mut attack, mut total) = (0.0, 0.0);
        for (distance, index) in neighbours {
            let weight = 1.0 / (1.0 + f64::from(distance).sqrt());
            total += weight;
            if self.attack[index] {
                attack += weight;
            }
        }
        if total > 0.0 {
            attack / total
        } else {
            0.5
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(x: f32, slot: usize) -> Vec<f32> {
        let mut row = vec![0.0; NUMERIC_FEATURES + 6];
        row[0] = x;
        row[NUMERIC_FEATURES + slot] = 1.0;
        row[NUMERIC_FEATURES + 2] = 1.0;
        row[NUMERIC_FEATURES + 4] = 1.0;
        row
    }

    #[test]
    fn distance_matches_the_full_euclidean_distance() {
        let a = row(1.0, 0);
        let b = row(-0.5, 1);
        let model = Knn::fit(&KnnConfig { k: 1 }, [(b.clone(), true)].into_iter());
        let full: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        let (distance, _) = model.neighbours(&a)[0];
        assert!((distance - full).abs() < 1e-6, "{distance} vs {full}");
    }

    #[test]
    fn votes_of_the_nearest() {
        let train = (0..20).map(|i| (row(i as f32, 0), i >= 10));
        let model = Knn::fit(&KnnConfig { k: 3 }, train);
        assert_eq!(model.score(&row(2.0, 0)), 0.0);
        assert_eq!(model.score(&row(17.0, 0)), 1.0);
        let near = model.neighbours(&row(4.2, 0));
        assert_eq!(near.iter().map(|n| n.1).collect::<Vec<_>>(), vec![4, 5, 3]);
    }
}
