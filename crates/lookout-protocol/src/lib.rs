//! Wire formats lookout speaks, as pure functions from bytes to [`Sample`]s and back.
//!
//! Every ingestion protocol maps onto the Prometheus data model (a metric name plus
//! labels): Prometheus remote write ([`remote_write`]), the InfluxDB line protocol
//! ([`influx`]), a plain JSON array ([`json_samples`]) and the Prometheus text exposition
//! format ([`exposition`], both parsed from scrapes and written for `/metrics`). Series
//! selectors ([`selector`]) pick series for alert rules and queries.
//!
//! The crate has no IO and no async. Parsers are all-or-nothing on syntax: a malformed
//! request is refused whole with every problem (up to [`MAX_REPORTED_ERRORS`]) named by
//! line, index or position, so that nothing is half-accepted. Samples that parse but
//! are unusable (invalid names, NaN, a timestamp far from now) are sorted out afterwards
//! by [`SampleLimits::apply`], one sample at a time, and counted by [`RejectReason`].
//! Data that is valid but not modelled (stale markers, string fields, native
//! histograms) is skipped and counted by [`IgnoreReason`], never an error.
//!
//! [`Sample`]: lookout_model::Sample

mod batch;
pub mod encoding;
mod error;
pub mod exposition;
pub mod influx;
pub mod json_samples;
mod limits;
pub mod remote_write;
pub mod selector;

pub use batch::{Batch, IgnoreCounts, IgnoreReason, RejectCounts, Rejections};
pub use error::{LineError, ProtocolError, RejectReason, MAX_REPORTED_ERRORS};
pub use limits::SampleLimits;
