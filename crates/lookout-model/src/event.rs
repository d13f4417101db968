//! Events: findings that are not numbers.
//!
//! A failed-login burst, an injected request or a SYN flood is not a sample of a series:
//! it is a finding about an entity (a host, a source address, a route) at a time, with
//! evidence. Sources emit events beside their samples, and detectors of derived series
//! can raise them. An event carries:
//!
//! - a `kind` (`ssh_bruteforce`, `content_injection`, `syn_flood`, `new_log_pattern`, …),
//!   a snake_case name that alert rules match (`[[alert.rule]] event = "<kind>"`);
//! - the [`Domain`] it belongs to and the `entity` it is about, as labels (the same
//!   model as a series key's labels, so the same selectors match them);
//! - a [`Severity`] and, where the finding has one, a score in [0, 1];
//! - a one-line `summary` for people and structured [`Evidence`]: named fields, counts
//!   and a few raw examples (log lines, packet summaries).
//!
//! Every size is bounded ([`EventLimits`]) and checked by [`Event::validate`] before an
//! event is accepted, so a client or a noisy source cannot make one event arbitrarily
//! large.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::key::{validate_label_name, Labels};
use crate::{Domain, Severity};

/// Identifier of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub i64);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What supports an event: named fields, counts and a few raw examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Named facts (`users_tried = "root,admin"`, `victim = "10.0.0.5:443"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Named counts (`failures = 37`, `distinct_sources = 812`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// A few raw lines or packet summaries, as they were seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// First and last time (unix ms) of what the event summarises, when it spans time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<i64>,
}

/// One finding about one entity at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (unix ms): the time of the finding, not of its arrival.
    pub timestamp_ms: i64,
    /// What was found, snake_case (`ssh_bruteforce`).
    pub kind: String,
    pub domain: Domain,
    /// What it is about: host, source address, route, … (label names as in Prometheus).
    #[serde(default)]
    pub entity: Labels,
    pub severity: Severity,
    /// A score in [0, 1] where the finding has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// One line for people.
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub evidence: Evidence,
}

/// An event as stored: its id beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: EventId,
    #[serde(flatten)]
    pub event: Event,
}

/// What enters lookout: a sample of a series or an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Sample(crate::Sample),
    Event(Event),
}

/// Bounds on one event's size; see [`Event::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventLimits {
    pub max_kind_bytes: usize,
    pub max_entity_labels: usize,
    pub max_label_value_bytes: usize,
    pub max_summary_bytes: usize,
    pub max_fields: usize,
    pub max_field_bytes: usize,
    pub max_examples: usize,
    pub max_example_bytes: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        EventLimits {
            max_kind_bytes: 64,
            max_entity_labels: 16,
            max_label_value_bytes: 1024,
            max_summary_bytes: 1024,
            max_fields: 64,
            max_field_bytes: 4096,
            max_examples: 10,
            max_example_bytes: 4096,
        }
    }
}

/// Why an event was refused; each names the part and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("event kind {0:?} is not a snake_case name ([a-z][a-z0-9_]*, at most {1} bytes)")]
    Kind(String, usize),
    #[error("event entity label name {0:?} is not a valid label name")]
    EntityLabel(String),
    #[error("event {what} has {count} entries, more than the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("event {what} {name:?} is {bytes} bytes, more than the limit of {limit}")]
    TooLong {
        what: &'static str,
        name: String,
        bytes: usize,
        limit: usize,
    },
    #[error("event score {0} is not within [0, 1]")]
    Score(f64),
    #[error("event evidence spans {first_ms}..{last_ms}: the first time is after the last")]
    Span { first_ms: i64, last_ms: i64 },
}

/// Checks that `kind` is a snake_case event kind of at most `max_bytes`.
pub fn validate_event_kind(kind: &str, max_bytes: usize) -> Result<(), EventError> {
    let mut chars = kind.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_ok || kind.len() > max_bytes {
        return Err(EventError::Kind(kind.to_string(), max_bytes));
    }
    Ok(())
}

impl Event {
    /// An event with empty entity and evidence; fill them with the builder methods.
    pub fn new(
        timestamp_ms: i64,
        kind: impl Into<String>,
        domain: Domain,
        severity: Severity,
    ) -> Event {
        Event {
            timestamp_ms,
            kind: kind.into(),
            domain,
            entity: Labels::new(),
            severity,
            score: None,
            summary: String::new(),
            evidence: Evidence::default(),
        }
    }

    pub fn with_entity(mut self, name: impl Into<String>, value: impl Into<String>) -> Event {
        self.entity.insert(name.into(), value.into());
        self
    }

    pub fn with_summary(mut self, summary: impl Into<String>) -> Event {
        self.summary = summary.into();
        self
    }

    pub fn with_score(mut self, score: f64) -> Event {
        self.score = Some(score);
        self
    }

    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Event {
        self.evidence.fields.insert(name.into(), value.into());
        self
    }

    pub fn with_count(mut self, name: impl Into<String>, count: u64) -> Event {
        self.evidence.counts.insert(name.into(), count);
        self
    }

    pub fn with_example(mut self, example: impl Into<String>) -> Event {
        self.evidence.examples.push(example.into());
        self
    }

    /// Checks every bound of `limits`; the first problem found is the error.
    pub fn validate(&self, limits: &EventLimits) -> Result<(), EventError> {
        validate_event_kind(&self.kind, limits.max_kind_bytes)?;
        count_within("entity labels", self.entity.len(), limits.max_entity_labels)?;
        for (name, value) in &self.entity {
            validate_label_name(name).map_err(|_| EventError::EntityLabel(name.clone()))?;
            bytes_within("entity label", name, value, limits.max_label_value_bytes)?;
        }
        bytes_within(
            "summary",
            "summary",
            &self.summary,
            limits.max_summary_bytes,
        )?;
        let evidence = &self.evidence;
        count_within(
            "evidence fields",
            evidence.fields.len() + evidence.counts.len(),
            limits.max_fields,
        )?;
        for (name, value) in &evidence.fields {
            bytes_within("evidence field", name, value, limits.max_field_bytes)?;
        }
        for name in evidence.counts.keys() {
            bytes_within("evidence count name", name, name, limits.max_field_bytes)?;
        }
        count_within("examples", evidence.examples.len(), limits.max_examples)?;
        for (index, example) in evidence.examples.iter().enumerate() {
            let name = format!("#{}", index + 1);
            bytes_within("example", &name, example, limits.max_example_bytes)?;
        }
        if let Some(score) = self.score {
            if !(0.0..=1.0).contains(&score) {
                return Err(EventError::Score(score));
            }
        }
        if let (Some(first_ms), Some(last_ms)) = (evidence.first_ms, evidence.last_ms) {
            if first_ms > last_ms {
                return Err(EventError::Span { first_ms, last_ms });
            }
        }
        Ok(())
    }
}

fn count_within(what: &'static str, count: usize, limit: usize) -> Result<(), EventError> {
    if count > limit {
        return Err(EventError::TooMany { what, count, limit });
    }
    Ok(())
}

fn bytes_within(
    what: &'static str,
    name: &str,
    value: &str,
    limit: usize,
) -> Result<(), EventError> {
    if value.len() > limit {
        return Err(EventError::TooLong {
            what,
            name: name.to_string(),
            bytes: value.len(),
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force() -> Event {
        Event::new(1_000, "ssh_bruteforce", Domain::Login, Severity::Warning)
            .with_entity("host", "web-1")
            .with_entity("source_ip", "203.0.113.9")
            .with_summary("37 failed logins from 203.0.113.9 in 60 s")
            .with_count("failures", 37)
            .with_field("users_tried", "root,admin")
            .with_example("Failed password for root from 203.0.113.9 port 4242 ssh2")
    }

    #[test]
    fn a_well_formed_event_passes_and_round_trips_through_json() {
        let event = brute_force();
        event.validate(&EventLimits::default()).unwrap();
        let text = serde_json::to_string(&Record::Event(event.clone())).unwrap();
        assert!(text.contains("\"type\":\"event\""), "{text}");
        let back: Record = serde_json::from_str(&text).unwrap();
        assert_eq!(back, Record::Event(event));
    }

    #[test]
    fn kinds_must_be_snake_case() {
        for bad in ["", "SSH", "1flood", "syn-flood", "syn flood"] {
            let mut event = brute_force();
            event.kind = bad.into();
            assert!(
                matches!(
                    event.validate(&EventLimits::default()),
                    Err(EventError::Kind(..))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_size_is_bounded_and_named() {
        let limits = EventLimits::default();
        let mut event = brute_force();
        event.evidence.examples = vec!["x".into(); limits.max_examples + 1];
        let error = event.validate(&limits).unwrap_err();
        assert!(error.to_string().contains("examples"), "{error}");

        let mut event = brute_force();
        event.summary = "x".repeat(limits.max_summary_bytes + 1);
        let error = event.validate(&limits).unwrap_err();
        assert!(error.to_string().contains("summary"), "{error}");

        let mut event = brute_force();
        event.entity.insert("bad-name".into(), "x".into());
        assert_eq!(
            event.validate(&limits),
            Err(EventError::EntityLabel("bad-name".into()))
        );

        let event = brute_force().with_score(1.5);
        assert_eq!(event.validate(&limits), Err(EventError::Score(1.5)));
    }
}
