//! Benchmark corpora readers and scorers.
//!
//! - [`table`]: the time-series CSV format shared by the CLI, the benches and the NAB reader.
//! - [`nab`]: the Numenta Anomaly Benchmark: corpus loader, exact NAB scorer with its
//!   exhaustive threshold sweep, and reader/writer for NAB's per-detector results layout.

pub mod nab;
pub mod table;
