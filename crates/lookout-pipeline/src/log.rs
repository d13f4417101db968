//! The write-log seam of cluster mode.
//!
//! On a single node an accepted write goes straight to the engine and the store. On a
//! cluster node ([`crate::Pipeline::set_write_log`]) a validated write goes to a
//! replicated log instead (`lookout-cluster`: NATS JetStream, one subject per
//! partition), and the request is answered once the log acknowledged all of it; the
//! node owning a partition later reads it back in log order and feeds it here with
//! [`crate::Pipeline::ingest_owned`], which scores and stores like a single node.
//!
//! What the entry node checks: the whole request's validity (all or nothing, the same
//! [`lookout_protocol::SampleLimits`]). What it does not: cardinality and the
//! first-write-wins order policy, which need the series' state and are applied by the
//! owner (a refusal there is logged and counted, since the client was answered).

use std::future::Future;
use std::pin::Pin;

use lookout_model::Sample;

use crate::error::IngestError;

/// What [`WriteLog::append`] returns: resolves once every sample is durable in the log.
pub type AppendFuture = Pin<Box<dyn Future<Output = Result<(), IngestError>> + Send>>;

/// A durable, replicated log that accepted writes go to before they are acknowledged.
pub trait WriteLog: Send + Sync + 'static {
    /// Appends a validated request's samples; `Err` (usually
    /// [`IngestError::LogUnavailable`]) when any part was not acknowledged.
    fn append(&self, samples: Vec<Sample>) -> AppendFuture;
}
