//! Exact k-nearest neighbours over encoded records, brute force.
//!
//! **Catches**: attacks that resemble known attack records locally, whatever their shape in
//! feature space (no linear or axis-aligned boundary assumed). **Misses**: attacks unlike
//! any training record but closer to normal traffic than to known attacks (the usual fate
//! of unseen attack types); it extrapolates nothing. **Cost**: the model is the training
//! set (40 `f32` + 3 category slots per record, ~170 bytes); scoring one record scans the
//! training records that share its categories (and any other group its k-th best distance
//! does not rule out), O(n · 40) multiply-adds at worst: ~135 µs per record over the
//! 126 000 records of `KDDTrain+.txt` on one core (7 365 records/s, see the README).
//!
//! The distance is the Euclidean distance of the full encoded vectors, computed without
//! materialising the one-hot blocks: each record has exactly one hot slot per categorical
//! feature, so two records differ by 2 in squared distance for each category they do not
//! share. The dense part is padded to 40 lanes and summed in 8-lane chunks, which the
//! compiler vectorises with the baseline instruction set (an AVX2/FMA variant chosen at
//! run time measured 0.83-0.94× as fast: the scan is bound by memory and the top-k
//! bookkeeping, not arithmetic). A KD-tree does not pay at 38 dense dimensions (it
//! degrades to a scan); grouping by category is the pruning that does.

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

/// The fitted model: the training records in compact form, grouped by their
/// (protocol, service, flag) slots so that whole groups are skipped at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knn {
    pub k: usize,
    dense: Vec<f32>,
    attack: Vec<bool>,
    /// Category slots of each group and its record range, sorted by slots.
    groups: Vec<([u16; 3], u32, u32)>,
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

#[inline(always)]
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

/// The k best (squared distance, index) so far, nearest first; `worst` is the bound a
/// candidate must beat (the k-th best once there are k, the search radius before).
struct Best {
    k: usize,
    items: Vec<(f32, usize)>,
    worst: f32,
    radius: f32,
}

impl Best {
    #[inline(always)]
    fn offer(&mut self, distance: f32, index: usize) {
        if distance < self.worst {
            let at = self.items.partition_point(|(d, _)| *d <= distance);
            self.items.insert(at, (distance, index));
            self.items.truncate(self.k);
            if self.items.len() == self.k {
                self.worst = self.items[self.k - 1].0.min(self.radius);
            }
        }
    }
}

/// Offers every record of one group (their categorical distance is `categorical`).
fn scan(dense: &[f32], start: usize, query: &[f32; LANES], categorical: f32, best: &mut Best) {
    for (offset, row) in dense.chunks_exact(LANES).enumerate() {
        best.offer(categorical + squared_distance(row, query), start + offset);
    }
}

impl Knn {
    /// Keeps the rows (encoded with [`crate::encode::Encoder`]) and their labels.
    pub fn fit(config: &KnnConfig, rows: impl Iterator<Item = (Vec<f32>, bool)>) -> Self {
        let mut keyed: Vec<([u16; 3], [f32; LANES], bool)> = rows
            .map(|(row, attack)| (hot_slots(&row), dense_lanes(&row), attack))
            .collect();
        keyed.sort_by_key(|(slots, _, _)| *slots); // stable: file order within a group
        let mut model = Knn {
            k: config.k.max(1),
            dense: Vec::with_capacity(keyed.len() * LANES),
            attack: Vec::with_capacity(keyed.len()),
            groups: Vec::new(),
        };
        for (index, (slots, dense, attack)) in keyed.into_iter().enumerate() {
            match model.groups.last_mut() {
                Some((last, _, end)) if *last == slots => *end += 1,
                _ => model.groups.push((slots, index as u32, index as u32 + 1)),
            }
            model.dense.extend_from_slice(&dense);
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

    /// Whether the training record at `index` (as returned by [`Knn::neighbours`]) is an attack.
    pub fn is_attack(&self, index: usize) -> bool {
        self.attack[index]
    }

    /// The k nearest training records: (squared distance, index), nearest first. Groups
    /// are visited by increasing category mismatch and skipped once their categorical
    /// distance alone cannot beat the k-th best.
    pub fn neighbours(&self, row: &[f32]) -> Vec<(f32, usize)> {
        self.neighbours_within(row, f32::INFINITY)
    }

    /// As [`Knn::neighbours`], among the records at squared distance < `radius` only
    /// (fewer than k, or none, when fewer are that near); a finite radius prunes more.
    pub fn neighbours_within(&self, row: &[f32], radius: f32) -> Vec<(f32, usize)> {
        let query = dense_lanes(row);
        let slots = hot_slots(row);
        let k = self.k.min(self.len());
        let mut best = Best {
            k,
            items: Vec::with_capacity(k + 1),
            worst: radius,
            radius,
        };
        if k == 0 {
            return best.items;
        }
        for wanted in 0..=3 {
            let categorical = 2.0 * wanted as f32;
            if categorical >= best.worst {
                break;
            }
            for (group, start, end) in &self.groups {
                let mismatches = (0..3).filter(|&b| slots[b] != group[b]).count();
                if mismatches != wanted {
                    continue;
                }
                let (start, end) = (*start as usize, *end as usize);
                scan(
                    &self.dense[start * LANES..end * LANES],
                    start,
                    &query,
                    categorical,
                    &mut best,
                );
            }
        }
        best.items
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
