//! Feature encoding: records → fixed-length `f32` vectors, fitted on training data.
//!
//! Layout: the 38 numeric features, heavy-tailed counts (durations, byte counts, the
//! connection counts) log-scaled with `ln(1 + x)`, then each standardised with the mean
//! and standard deviation of the training records (a constant column keeps scale 1); then
//! one-hot blocks for protocol, service and flag, each with a final "unknown" slot that a
//! value never seen in training lights (so a new service still encodes, as "unseen").
//! Vocabularies are sorted, so the same training data always gives the same encoder.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::record::{numeric_names, ConnectionRecord, NUMERIC_FEATURES};

/// Numeric features scaled with `ln(1 + x)` before standardisation.
pub const LOG_SCALED: [&str; 16] = [
    "duration",
    "src_bytes",
    "dst_bytes",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "num_compromised",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "count",
    "srv_count",
    "dst_host_count",
    "dst_host_srv_count",
];

/// A categorical feature's known values; index `values.len()` is "unknown".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub values: Vec<String>,
}

impl Vocabulary {
    fn fit<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let set: BTreeSet<&str> = values.collect();
        Vocabulary {
            values: set.into_iter().map(str::to_string).collect(),
        }
    }

    /// Slot of `value`, or the unknown slot.
    pub fn slot(&self, value: &str) -> usize {
        self.values
            .binary_search_by(|known| known.as_str().cmp(value))
            .unwrap_or(self.values.len())
    }

    /// Slots including "unknown".
    pub fn width(&self) -> usize {
        self.values.len() + 1
    }

    pub fn knows(&self, value: &str) -> bool {
        self.slot(value) < self.values.len()
    }
}

/// The fitted encoding: which columns are log-scaled, their means and scales, vocabularies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    pub log_scaled: Vec<bool>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub protocol: Vocabulary,
    pub service: Vocabulary,
    pub flag: Vocabulary,
}

impl Encoder {
    /// Fits on training records. Panics on an empty slice (callers check first).
    pub fn fit(records: &[&ConnectionRecord]) -> Self {
        assert!(!records.is_empty(), "fitting an encoder needs records");
        let log_scaled: Vec<bool> = numeric_names().map(|n| LOG_SCALED.contains(&n)).collect();
        let n = records.len() as f64;
        let mut mean = vec![0.0; NUMERIC_FEATURES];
        let mut square = vec![0.0; NUMERIC_FEATURES];
        for record in records {
            for (column, &raw) in record.numeric.iter().enumerate() {
                let value = transform(raw, log_scaled[column]);
                mean[column] += value;
                square[column] += value * value;
            }
        }
        let scale = mean
            .iter_mut()
            .zip(&square)
            .map(|(mean, square)| {
                *mean /= n;
                let variance = (square / n - *mean * *mean).max(0.0);
                if variance.sqrt() > 1e-9 {
                    variance.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Encoder {
            log_scaled,
            mean,
            scale,
            protocol: Vocabulary::fit(records.iter().map(|r| r.protocol.as_str())),
            service: Vocabulary::fit(records.iter().map(|r| r.service.as_str())),
            flag: Vocabulary::fit(records.iter().map(|r| r.flag.as_str())),
        }
    }

    /// Length of an encoded vector.
    pub fn width(&self) -> usize {
        NUMERIC_FEATURES + self.protocol.width() + self.service.width() + self.flag.width()
    }

    /// Encodes into `out` (length [`Encoder::width`]).
    pub fn encode_into(&self, record: &ConnectionRecord, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.width());
        out.fill(0.0);
        for (column, &raw) in record.numeric.iter().enumerate() {
            let value = transform(raw, self.log_scaled[column]);
            out[column] = ((value - self.mean[column]) / self.scale[column]) as f32;
        }
        let mut offset = NUMERIC_FEATURES;
        for (vocabulary, value) in [
            (&self.protocol, &record.protocol),
            (&self.service, &record.service),
            (&self.flag, &record.flag),
        ] {
            out[offset + vocabulary.slot(value)] = 1.0;
            offset += vocabulary.width();
        }
    }

    pub fn encode(&self, record: &ConnectionRecord) -> Vec<f32> {
        let mut out = vec![0.0; self.width()];
        self.encode_into(record, &mut out);
        out
    }

    /// Encodes many records into one row-major matrix.
    pub fn encode_all(&self, records: &[&ConnectionRecord]) -> Matrix {
        let width = self.width();
        let mut data = vec![0.0; width * records.len()];
        for (record, row) in records.iter().zip(data.chunks_exact_mut(width)) {
            self.encode_into(record, row);
        }
        Matrix { width, data }
    }

    /// Name of encoded column `index` (`service=http`, `flag=<unknown>`, `src_bytes`).
    pub fn column_name(&self, index: usize) -> String {
        if index < NUMERIC_FEATURES {
            return numeric_names().nth(index).unwrap_or("?").to_string();
        }
        let mut offset = NUMERIC_FEATURES;
        for (name, vocabulary) in [
            ("protocol_type", &self.protocol),
            ("service", &self.service),
            ("flag", &self.flag),
        ] {
            if index < offset + vocabulary.width() {
                let value = vocabulary
                    .values
                    .get(index - offset)
                    .map_or("<unknown>", String::as_str);
                return format!("{name}={value}");
            }
            offset += vocabulary.width();
        }
        "?".to_string()
    }
}

fn transform(raw: f64, log: bool) -> f64 {
    if log {
        raw.ln_1p()
    } else {
        raw
    }
}

/// Row-major encoded records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub width: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn row(&self, index: usize) -> &[f32] {
        &self.data[index * self.width..(index + 1) * self.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(protocol: &str, service: &str, src_bytes: f64) -> ConnectionRecord {
        let mut numeric = [0.0; NUMERIC_FEATURES];
        numeric[1] = src_bytes;
        numeric[20] = 0.5; // srv_count
        ConnectionRecord {
            protocol: protocol.into(),
            service: service.into(),
            flag: "SF".into(),
            numeric,
        }
    }

    #[test]
    fn standardises_log_scaled_bytes_and_one_hots_with_unknown() {
        let a = record("tcp", "http", 0.0);
        let b = record(
            "udp",
            "domain_u",
            (std::f64::consts::E * std::f64::consts::E) - 1.0,
        );
        let encoder = Encoder::fit(&[&a, &b]);
        assert_eq!(encoder.protocol.values, vec!["tcp", "udp"]);
        assert_eq!(encoder.width(), NUMERIC_FEATURES + 3 + 3 + 2);
        let ea = encoder.encode(&a);
        let eb = encoder.encode(&b);
        // ln(1+x) of 0 and e²-1 are 0 and 2: mean 1, std 1.
        assert!((ea[1] + 1.0).abs() < 1e-6 && (eb[1] - 1.0).abs() < 1e-6);
        // Constant column: centred, scale 1.
        assert_eq!(ea[20], 0.0);
        assert_eq!(ea[NUMERIC_FEATURES], 1.0); // protocol=tcp
        let unseen = record("sctp", "gopher", 0.0);
        let eu = encoder.encode(&unseen);
        assert_eq!(eu[NUMERIC_FEATURES + 2], 1.0); // protocol=<unknown>
        assert_eq!(eu[NUMERIC_FEATURES + 3 + 2], 1.0); // service=<unknown>
        assert_eq!(
            encoder.column_name(NUMERIC_FEATURES + 2),
            "protocol_type=<unknown>"
        );
        assert_eq!(encoder.column_name(1), "src_bytes");
        assert_eq!(eu.iter().filter(|v| **v == 1.0).count(), 3);
    }
}
