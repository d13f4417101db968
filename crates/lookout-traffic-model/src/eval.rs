//! Evaluation: confusion counts, k-fold cross-validation and the leave-attack-families-out
//! split that estimates how a model does on attack types it never saw.
//!
//! The leave-families-out split groups the training labels into the four NSL-KDD families
//! (DoS, Probe, R2L, U2R) and holds out some attack names of each ([`HELD_OUT_ATTACKS`])
//! plus a share of the normal records: the model trains on the rest and is scored on the
//! held-out normal records and the held-out attacks, none of whose types it has seen.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::TrafficModel;
use crate::record::LabeledRecord;

/// The four attack families of NSL-KDD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Dos,
    Probe,
    R2l,
    U2r,
}

/// The family of a training label; `None` for `normal` and names outside the training file.
pub fn family(label: &str) -> Option<Family> {
    Some(match label {
        "back" | "land" | "neptune" | "pod" | "smurf" | "teardrop" => Family::Dos,
        "ipsweep" | "nmap" | "portsweep" | "satan" => Family::Probe,
        "ftp_write" | "guess_passwd" | "imap" | "multihop" | "phf" | "spy" | "warezclient"
        | "warezmaster" => Family::R2l,
        "buffer_overflow" | "loadmodule" | "perl" | "rootkit" => Family::U2r,
        _ => return None,
    })
}

/// Attack names held out of training in the leave-families-out split: some of each family.
pub const HELD_OUT_ATTACKS: [&str; 13] = [
    "back",
    "teardrop",
    "land",
    "nmap",
    "portsweep",
    "guess_passwd",
    "warezmaster",
    "imap",
    "multihop",
    "phf",
    "buffer_overflow",
    "rootkit",
    "perl",
];

/// Share of the normal records held out with them.
pub const HELD_OUT_NORMAL_SHARE: f64 = 0.2;

/// Binary confusion counts (positive = attack).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub true_positive: usize,
    pub false_positive: usize,
    pub true_negative: usize,
    pub false_negative: usize,
}

impl Confusion {
    pub fn add(&mut self, actual_attack: bool, predicted_attack: bool) {
        match (actual_attack, predicted_attack) {
            (true, true) => self.true_positive += 1,
            (false, true) => self.false_positive += 1,
            (false, false) => self.true_negative += 1,
            (true, false) => self.false_negative += 1,
        }
    }

    pub fn merge(&mut self, other: &Confusion) {
        self.true_positive += other.true_positive;
        self.false_positive += other.false_positive;
        self.true_negative += other.true_negative;
        self.false_negative += other.false_negative;
    }

    pub fn total(&self) -> usize {
        self.true_positive + self.false_positive + self.true_negative + self.false_negative
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.true_positive + self.true_negative, self.total())
    }

    pub fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    /// Detection rate: attacks flagged / attacks.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    pub fn false_positive_rate(&self) -> f64 {
        ratio(
            self.false_positive,
            self.false_positive + self.true_negative,
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Indices of a train/test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

impl Split {
    /// Keeps at most `max` test records (a seeded sample), for costly scorers.
    pub fn limit_test(mut self, max: usize, seed: u64) -> Self {
        if self.test.len() > max {
            self.test.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            self.test.truncate(max);
            self.test.sort_unstable();
        }
        self
    }
}

/// `folds` shuffled folds of `n` records, each the test set once.
pub fn k_fold(n: usize, folds: usize, seed: u64) -> Vec<Split> {
    let folds = folds.max(2);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    (0..folds)
        .map(|fold| {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (position, &index) in order.iter().enumerate() {
                if position % folds == fold {
                    test.push(index);
                } else {
                    train.push(index);
                }
            }
            train.sort_unstable();
            test.sort_unstable();
            Split { train, test }
        })
        .collect()
}

/// The leave-attack-families-out split (see the module doc).
pub fn leave_families_out(records: &[LabeledRecord], seed: u64) -> Split {
    let mut normal: Vec<usize> = Vec::new();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (index, record) in records.iter().enumerate() {
        match record.label.as_deref() {
            Some("normal") => normal.push(index),
            Some(label) if HELD_OUT_ATTACKS.contains(&label) => test.push(index),
            _ => train.push(index),
        }
    }
    normal.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let held = (normal.len() as f64 * HELD_OUT_NORMAL_SHARE).round() as usize;
    test.extend_from_slice(&normal[..held]);
    train.extend_from_slice(&normal[held..]);
    train.sort_unstable();
    test.sort_unstable();
    Split { train, test }
}

/// The records at `indices`, cloned (training takes a slice).
pub fn select(records: &[LabeledRecord], indices: &[usize]) -> Vec<LabeledRecord> {
    indices.iter().map(|&i| records[i].clone()).collect()
}

/// Scores labelled records; records without a label are skipped.
pub fn evaluate<'a>(
    model: &TrafficModel,
    records: impl IntoIterator<Item = &'a LabeledRecord>,
) -> Confusion {
    let mut confusion = Confusion::default();
    for record in records {
        if let Some(actual) = record.is_attack() {
            confusion.add(actual, model.predict(&record.record).attack);
        }
    }
    confusion
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_records() {
        let folds = k_fold(103, 5, 1);
        let mut seen = vec![0; 103];
        for split in &folds {
            assert_eq!(split.train.len() + split.test.len(), 103);
            for &i in &split.test {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&count| count == 1));
        assert_eq!(k_fold(103, 5, 1), folds, "seeded");
    }

    #[test]
    fn held_out_attacks_span_every_family() {
        let families: std::collections::BTreeSet<Family> =
            HELD_OUT_ATTACKS.iter().filter_map(|l| family(l)).collect();
        assert_eq!(families.len(), 4);
        assert_eq!(family("normal"), None);
    }

    #[test]
    fn confusion_ratios() {
        let mut c = Confusion::default();
        for (actual, predicted) in [
            (true, true),
            (true, false),
            (false, false),
            (false, true),
            (false, false),
        ] {
            c.add(actual, predicted);
        }
        assert_eq!(c.accuracy(), 0.6);
        assert_eq!(c.precision(), 0.5);
        assert_eq!(c.recall(), 0.5);
        assert!((c.false_positive_rate() - 1.0 / 3.0).abs() < 1e-12);
    }
}
