//! lookout's cluster mode: several `lookout serve` nodes, the same binary, sharing the
//! writes through NATS JetStream (`[cluster]`, see `docs/scale.md`).
//!
//! ```text
//!  write (any node) ─► validate ─► split by series hash ─► publish <stream>.p.<n> ─► all acks ─► 2xx
//!                      (pipeline)   (partition.rs)          (publish.rs, bounded)     (else 503)
//!  owner of n ◄─ lease partition.<n> (keeper.rs) ◄─ ordered consumer from last scored + 1 (consume.rs)
//!             ─► Pipeline::ingest_owned: engine scores, store keeps samples + verdicts, subscribers hear
//! ```
//!
//! **Decisions.**
//! - *An existing log, not our own replication.* JetStream replicates each message to
//!   `min(3, servers)` servers (file storage) before it acknowledges; a write is
//!   acknowledged to the client only after every part of it was, so an acknowledged
//!   write survives the loss of any lookout node and, with three servers, of any one
//!   NATS server.
//! - *Partitions by series hash* (`SeriesKey::stable_hash % partitions`): a series'
//!   samples are on one subject in one order, so the one node scoring it sees them in
//!   order, as a single node would. The count is fixed for a stream's life.
//! - *Leases in JetStream's key-value store*, not a separate coordinator: a bucket whose
//!   entries live `lease_ttl`; taking is a create, renewing an update with the
//!   revision last written (the fencing token); the holder stops scoring at two thirds
//!   of the TTL without a renewal, on its own monotonic clock (no wall clock, see
//!   [`lease`] for the bound). Nodes announce themselves with a heartbeat key; each aims
//!   at `ceil(partitions / live nodes)` partitions, so a dead node's partitions are free
//!   within one TTL and taken at the next tick (a third of the TTL later).
//! - *Ordered, ephemeral consumers* holding no state on the server; the last scored
//!   sequence of each partition is in a second bucket, written by the holder with the
//!   revision it read (a stale holder's write fails). A new owner resumes after it:
//!   what the old owner scored after its last write is scored again (at least once).
//! - *What the entry node checks*: the request's validity, whole. Cardinality and the
//!   first-write-wins policy are applied by the owner, which has the series' state.
//!
//! **Not built yet** (see `docs/scale.md`): shared storage (each node's store holds the
//! partitions it scored; queries answer from the node asked), detector snapshots
//! moving with a partition (a new owner starts its series' detectors afresh), alerting
//! deduplicated across nodes.

pub mod connect;
pub mod consume;
pub mod error;
pub mod keeper;
pub mod lease;
pub mod partition;
pub mod publish;
pub mod status;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lookout_config::ClusterConfig;
use lookout_pipeline::Pipeline;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::ClusterError;
pub use status::ClusterStatus;

use keeper::{check_partitions, register, Keeper};
use lease::NodeRecord;
use publish::JetStreamLog;
use status::StatusReader;

/// How long `start` waits for a first NATS server.
pub const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// A running cluster node.
pub struct Cluster {
    status: StatusReader,
    stop: watch::Sender<bool>,
    keeper: Mutex<Option<JoinHandle<()>>>,
}

impl Cluster {
    /// Connects, creates the stream and buckets if missing, registers the node (refused
    /// if its id is live), routes the pipeline's writes to the stream and starts the
    /// lease keeper. `listen` is the node's API address, shown to the other nodes.
    pub async fn start(
        config: &ClusterConfig,
        pipeline: &Pipeline,
        listen: String,
    ) -> Result<Arc<Cluster>, ClusterError> {
        let handles = connect::connect(config, CONNECT_WAIT).await?;
        let record = NodeRecord {
            node_id: config.node_id.clone(),
            listen,
            started_ms: lookout_model::clock::now_ms(),
        };
        check_partitions(&handles, &config.stream, config.partitions).await?;
        let heartbeat = register(&handles, &record, config.lease_ttl).await?;
        let log = JetStreamLog::new(
            handles.jetstream.clone(),
            config.stream.clone(),
            config.partitions,
            handles.client.server_info().max_payload,
        );
        if !pipeline.set_write_log(Arc::new(log)) {
            return Err(ClusterError::JetStream(
                "the pipeline already has a write log".into(),
            ));
        }
        let keeper = Keeper::new(
            handles.clone(),
            config.node_id.clone(),
            config.stream.clone(),
            config.partitions,
            config.lease_ttl,
            pipeline.clone(),
            record,
            heartbeat,
        );
        let status = StatusReader {
            handles,
            node_id: config.node_id.clone(),
            stream: config.stream.clone(),
            partitions: config.partitions,
            ttl: config.lease_ttl,
            view: Arc::clone(&keeper.view),
        };
        let (stop, stop_receiver) = watch::channel(false);
        let task = tokio::spawn(keeper.run(stop_receiver));
        tracing::info!(node_id = %config.node_id, stream = %config.stream, partitions = config.partitions, "cluster node started");
        Ok(Arc::new(Cluster {
            status,
            stop,
            keeper: Mutex::new(Some(task)),
        }))
    }

    pub async fn status(&self) -> Result<ClusterStatus, String> {
        self.status.read().await
    }

    /// Stops scoring, writes each partition's progress and gives the leases back, so
    /// that the other nodes take them at their next tick rather than after a TTL.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.keeper.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
