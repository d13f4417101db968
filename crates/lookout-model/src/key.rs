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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SeriesKey {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
}

impl SeriesKey {
    /// A key without validation, for names that are known to be valid.
    pub fn new(name: impl Into<String>) -> Self {
        SeriesKey { name: name.into(), labels: Labels::new() }
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

    /// A stable 64-bit hash (FNV-1a) used for sharding; it does not change between runs.
    pub fn stable_hash(&self) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        let mut feed = |bytes: &[u8]| {
            for byte in bytes {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(self.name.as_bytes());
        for (name, value) in &self.labels {
            feed(&[0xff]);
            feed(name.as_bytes());
            feed(&[0xfe]);
            feed(value.as_bytes());
        }
        hash
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
            write!(f, "{name}=\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))?;
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
        let key = SeriesKey::new("cpu").with_label("host", "web-1").with_label("a", "x\"y");
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
