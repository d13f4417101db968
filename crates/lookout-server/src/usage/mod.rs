//! Machine usage states and right-sizing hints over HTTP: `GET /api/v1/machines`
//! ([`routes::list`]). The states themselves are kept by the pipeline
//! (`lookout_pipeline::usage`, re-exported here).

pub mod routes;

pub use lookout_pipeline::usage::*;
