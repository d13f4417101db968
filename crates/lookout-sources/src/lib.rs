//! lookout sources: tasks that collect samples and push them into a bounded channel.
//!
//! A [`Source`] is a task: it runs until its [`Shutdown`] signal fires (or the receiving
//! side of its channel is gone) and sends [`SourceBatch`]es into a bounded
//! `tokio::sync::mpsc` channel. Bounded on purpose: when the engine falls behind the
//! source waits on `send`, so overload becomes back-pressure, never unbounded memory.
//!
//! Most sources poll. They implement the synchronous, unit-testable [`Collector`]
//! (read → parse → compute) and run it with [`PollingSource`], the thin async loop:
//! a `tokio::time::interval` with [`MissedTickBehavior::Delay`](tokio::time::MissedTickBehavior),
//! collection on the blocking pool (a hung network filesystem must not stall the
//! runtime), exponential back-off while a collection yields nothing but errors, and
//! errors logged once when they appear and once when they clear.
//!
//! Sources:
//! - [`host`]: this machine's CPU, memory, disks, network and load from Linux `/proc`;
//!   every series is documented in `HOST_METRICS.md`.
//! - [`cloudwatch`]: EC2 instances' metrics through AWS CloudWatch `GetMetricData`;
//!   see `CLOUDWATCH.md`.
//! - [`scrape`]: Prometheus exporters' text exposition, counters turned into rates.
//! - [`file`]: files of JSON lines (samples and events), followed across rotation.
//! - [`auth_log`]: SSH logins from an auth log or the journal, scored by `lookout-auth`
//!   into login series and attack events.
//! - [`access_log`]: web-server access logs turned into request series per interval.
//! - [`log`]: any application log (files, the journal, syslog over UDP and TCP) mined
//!   into log patterns: per-pattern rates and `new_log_pattern` / `log_pattern_spike`.
//! - [`kafka`]: metric samples and access-log lines consumed from Kafka topics with a
//!   consumer group, exactly once through the store's read offsets.
//! - [`packet`]: live packet capture into traffic series and flood events.
//! - [`demo`]: a simulated fleet with injected incidents, for `lookout demo`.
//!
//! [`registry::build_all`] builds every configured source; each source type's
//! configuration lives in `lookout-config`'s `sources` module.

pub mod access_log;
pub mod auth_log;
pub mod cloudwatch;
pub mod demo;
pub mod file;
pub mod host;
pub mod journal;
pub mod kafka;
pub mod log;
pub mod packet;
mod polling;
pub mod registry;
pub mod scrape;
mod shutdown;

use std::future::Future;
use std::pin::Pin;

use lookout_model::Sample;
use tokio::sync::mpsc;

pub use polling::{Collected, Collector, PollingSource};
pub use registry::{build, build_all, BuildError, BuiltSource, Delivery};
pub use shutdown::{shutdown_channel, Shutdown, ShutdownTrigger};

/// One push from a source: samples and events collected together, and what went wrong
/// meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBatch {
    /// The source's name (e.g. `host`), for logs and the dashboard's source health.
    pub source: String,
    pub samples: Vec<Sample>,
    /// Findings that are not numbers (a brute force, a flood, ...).
    pub events: Vec<lookout_model::Event>,
    /// Problems of this collection that did not stop it (an unreadable file, ...).
    pub errors: Vec<String>,
    /// How far the source's files are accounted for once this batch is stored: to be
    /// saved (`lookout_store::Store::save_read_offsets`) only after its samples and
    /// events are committed, under the batch's `source` name. Empty for sources that
    /// read no files.
    pub read_offsets: Vec<lookout_model::ReadOffset>,
    /// Told whether the batch was stored, once its samples, events and read offsets
    /// are committed (a source that acknowledges upstream only then, like `kafka`);
    /// `None` for the others.
    pub receipt: Option<Receipt>,
}

/// The sending half of a batch's "stored" answer (see [`SourceBatch::receipt`]).
///
/// Clones share the one answer; the first [`Receipt::confirm`] sends it, and dropping
/// every clone unanswered reads as "not stored".
#[derive(Debug, Clone)]
pub struct Receipt(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<bool>>>>);

impl Receipt {
    /// A receipt and the receiver of its answer.
    pub fn new() -> (Receipt, tokio::sync::oneshot::Receiver<bool>) {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let shared = std::sync::Arc::new(std::sync::Mutex::new(Some(sender)));
        (Receipt(shared), receiver)
    }

    /// Answers whether the batch was stored; later answers are ignored.
    pub fn confirm(&self, stored: bool) {
        let sender = self
            .0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(stored);
        }
    }
}

/// Receipts compare equal when they are clones of one another.
impl PartialEq for Receipt {
    fn eq(&self, other: &Receipt) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A running task that pushes batches until shut down.
///
/// Implementations stop when `shutdown` fires or when `batches` is closed, and never
/// buffer without bound: a full channel makes them wait.
pub trait Source: Send + 'static {
    /// A short name, e.g. `host` or `cloudwatch#2`.
    fn name(&self) -> &str;

    /// Hands over the read offsets this source saved before (see
    /// [`SourceBatch::read_offsets`]), before it runs; sources that read no files
    /// ignore them.
    fn resume(&mut self, offsets: Vec<lookout_model::ReadOffset>) {
        let _ = offsets;
    }

    /// Runs the source to completion.
    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Spawns a source on the current tokio runtime.
pub fn spawn(
    source: Box<dyn Source>,
    batches: mpsc::Sender<SourceBatch>,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(source.run(batches, shutdown))
}
