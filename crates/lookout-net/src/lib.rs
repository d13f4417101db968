//! Network traffic: packet decoding, per-second traffic features, flood detection.
//!
//! ```text
//! frames (pcap/pcapng file, or live capture) ──► decode ──► Features (one second)
//!      ──► TrafficSecond ──► series (samples)  +  FloodDetector ──► events
//! ```
//!
//! With [`Analyzer::with_connections`] it also derives NSL-KDD connection records
//! ([`connections`]) for a model trained with `lookout train traffic`.
//!
//! The same [`Analyzer`] serves `lookout pcap FILE` and the live `packet_capture`
//! source: time is always taken from the packets, so a capture analysed after the fact
//! gives what live traffic would have given.

pub mod analyzer;
pub mod capture;
pub mod connections;
pub mod decode;
pub mod features;
pub mod floods;
pub mod flows;
pub mod pipeline;
pub mod series;
pub mod synth;

pub use analyzer::{Analyzer, AnalyzerStats, SecondOutput};
pub use capture::{read_capture, CaptureError, CaptureStats, Frame};
pub use connections::{ConnectionConfig, ConnectionEnd, ConnectionScorer, Connections};
pub use features::FeatureConfig;
pub use floods::FloodConfig;
pub use pipeline::analyze_capture;
