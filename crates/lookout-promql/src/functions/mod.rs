//! PromQL functions, pure over slices: [`range`] over the samples of one window,
//! [`math`] shared numerics (Go's float semantics where they differ from Rust's),
//! [`histogram`] for `histogram_quantile`.

pub mod histogram;
pub mod math;
pub mod range;
