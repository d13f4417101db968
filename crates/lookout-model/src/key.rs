//! Series identity: a metric name plus a sorted label set.

use std::collections::BTreeMap;
use std::fmt;

/// Labels of a series, sorted by name so that equal sets compare and hash equal.
pub type Labels = BTreeMap<String, String>;

/// Why a metric or label name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("metric name {0:?} is not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")]
    InvalidMetricName(String),
    #[error("label name {0:?} is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")]
    InvalidLabelName(String),
}

/// Identity of a series: `name{label="value",...}`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SeriesKey {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
}

impl SeriesKey {
    /// A key without validation, for names that are known to be valid.
    pub fn new(name: impl Into<String>) -> Self {
        SeriesKey {
            name: name.into(),
            labels: Labels::new(),
        }
    }

    /// Adds a label, builder style.
    pub fn with_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// A key whose metric and label names are checked against Prometheus' rules.
    pub fn validated(name: impl Into<String>, labels: Labels) -> Result<Self, KeyError> {
        let name = name.into();
        validate_metric_name(&name)?;
        for label in labels.keys() {
            validate_label_name(label)?;
        }
        Ok(SeriesKey { name, labels })
    }

    /// A stable 64-bit hash used for sharding: the same key hashes the same in every
    /// run and on every machine. Eight bytes at a time with a multiply-rotate mix
    /// (FxHash's step), so long label sets cost a few nanoseconds.
    pub fn stable_hash(&self) -> u64 {
        let mut hash = StableHasher::default();
        hash.feed(self.name.as_bytes());
        for (name, value) in &self.labels {
            hash.feed_separator(0xff);
            hash.feed(name.as_bytes());
            hash.feed_separator(0xfe);
            hash.feed(value.as_bytes());
        }
        hash.finish()
    }
}

/// The word-at-a-time mix behind [`SeriesKey::stable_hash`].
#[derive(Default)]
struct StableHasher(u64);

impl StableHasher {
    const SEED: u64 = 0x517c_c1b7_2722_0a95;

    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }

    fn feed(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(
                chunk.try_into().expect("chunks of eight"),
            ));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }

    fn feed_separator(&mut self, marker: u64) {
        self.mix(marker);
    }

    fn finish(&self) -> u64 {
        // A final avalanche so that shard = hash % n uses well-mixed low bits.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, (name, value)) in self.labels.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(
                f,
                "{name}=\"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )?;
        }
        f.write_str("}")
    }
}

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn validate_metric_name(name: &str) -> Result<(), KeyError> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(())
    } else {
        Err(KeyError::InvalidMetricName(name.to_string()))
    }
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn validate_label_name(name: &str) -> Result<(), KeyError> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(KeyError::InvalidLabelName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_prometheus_selector_syntax() {
        let key = SeriesKey::new("cpu")
            .with_label("host", "web-1")
            .with_label("a", "x\"y");
        assert_eq!(key.to_string(), r#"cpu{a="x\"y",host="web-1"}"#);
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_metric_name("node_cpu:rate5m").is_ok());
        assert!(validate_metric_name("1abc").is_err());
        assert!(validate_metric_name("").is_err());
        assert!(validate_label_name("__name__").is_ok());
        assert!(validate_label_name("a:b").is_err());
    }

    #[test]
    fn stable_hash_depends_on_labels() {
        let a = SeriesKey::new("m").with_label("h", "1");
        let b = SeriesKey::new("m").with_label("h", "2");
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.stable_hash(), a.clone().stable_hash());
    }
}
