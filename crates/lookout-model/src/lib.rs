//! Data types shared by every lookout crate.
//!
//! Everything that enters lookout becomes a [`Sample`] of a series identified by a
//! [`SeriesKey`]: a metric name plus labels, the Prometheus data model, so that every
//! ingestion protocol maps onto it. The detection engine answers each sample with a
//! [`Verdict`]. Findings that are not numbers (a brute force, an injection, a flood)
//! are [`Event`]s; a [`Record`] is either. This crate holds only plain data and
//! validation; it has no IO.

mod anomaly;
pub mod calendar;
pub mod clock;
mod domain;
mod event;
mod key;
pub mod machine;
mod read_offset;
mod verdict;

pub use anomaly::{
    AnomalyId, AnomalyRecord, AnomalyStatus, FeedbackLabel, FeedbackRecord, SeriesId, Severity,
    UnknownName,
};
pub use domain::{Domain, UsageState};
pub use event::{
    validate_event_kind, Event, EventError, EventId, EventLimits, EventRecord, Evidence, Record,
};
pub use key::{validate_label_name, validate_metric_name, KeyError, Labels, SeriesKey};
pub use machine::{MachineIdentity, DEFAULT_MACHINE_LABELS};
pub use read_offset::ReadOffset;
pub use verdict::{DetectorContribution, Explanation, FeatureContribution, Verdict};

/// One observation of one series: milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub key: SeriesKey,
    pub timestamp_ms: i64,
    pub value: f64,
}
