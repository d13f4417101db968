//! The lease keeper: one task per node that, every third of the lease TTL, renews the
//! node's heartbeat and its partitions' leases, writes their progress, counts the live
//! nodes and takes or gives back partitions toward `ceil(partitions / live nodes)`
//! (see [`crate::lease`] for the keys, fencing and the clock bound).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use lookout_pipeline::Pipeline;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connect::Handles;
use crate::consume::{PartitionConsumer, Progress};
use crate::error::ClusterError;
use crate::lease::{node_key, partition_key, plan, LeaseRecord, NodeRecord};

/// One partition this node holds.
struct Held {
    revision: u64,
    progress_revision: u64,
    progress: Arc<Progress>,
    written: u64,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What the status route reads of this node's own leases.
#[derive(Debug, Clone, Default)]
pub struct LocalView {
    /// Partition → (lease revision, last scored sequence).
    pub held: BTreeMap<u32, (u64, u64)>,
    pub live_nodes: usize,
}

pub struct Keeper {
    pub handles: Handles,
    pub node_id: String,
    pub stream: String,
    pub partitions: u32,
    pub ttl: Duration,
    pub pipeline: Pipeline,
    pub record: NodeRecord,
    pub heartbeat_revision: u64,
    pub view: Arc<Mutex<LocalView>>,
    held: BTreeMap<u32, Held>,
}

/// Records the stream's partition count at its first use (key `partitions` of the
/// progress bucket) and refuses a node configured with another one.
pub async fn check_partitions(
    handles: &Handles,
    stream: &str,
    configured: u32,
) -> Result<(), ClusterError> {
    let value = Bytes::from(configured.to_string());
    match handles.progress.create("partitions", value).await {
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {}
        Err(error) => return Err(ClusterError::JetStream(format!("partition count: {error}"))),
    }
    let stored = handles
        .progress
        .get("partitions")
        .await
        .map_err(|error| ClusterError::JetStream(format!("partition count: {error}")))?;
    let existing = stored
        .and_then(|value| std::str::from_utf8(&value).ok()?.parse::<u32>().ok())
        .unwrap_or(configured);
    if existing == configured {
        Ok(())
    } else {
        Err(ClusterError::PartitionMismatch {
            stream: stream.to_string(),
            existing,
            configured,
        })
    }
}

/// Registers the node's heartbeat; a heartbeat under the same id that is still renewed
/// one TTL later means another live node has this id.
pub async fn register(
    handles: &Handles,
    record: &NodeRecord,
    ttl: Duration,
) -> Result<u64, ClusterError> {
    let key = node_key(&record.node_id);
    let value = Bytes::from(serde_json::to_vec(record).expect("serialisable"));
    for attempt in 0..2 {
        match handles.leases.create(&key, value.clone()).await {
            Ok(revision) => return Ok(revision),
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {
                if attempt == 0 {
                    tracing::info!(node_id = %record.node_id, "a heartbeat under this node id exists; waiting one lease TTL for it to expire");
                    tokio::time::sleep(ttl + ttl / 3).await;
                }
            }
            Err(error) => return Err(ClusterError::JetStream(format!("heartbeat: {error}"))),
        }
    }
    Err(ClusterError::DuplicateNode(record.node_id.clone()))
}

impl Keeper {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        handles: Handles,
        node_id: String,
        stream: String,
        partitions: u32,
        ttl: Duration,
        pipeline: Pipeline,
        record: NodeRecord,
        heartbeat_revision: u64,
    ) -> Keeper {
        Keeper {
            handles,
            node_id,
            stream,
            partitions,
            ttl,
            pipeline,
            record,
            heartbeat_revision,
            view: Arc::new(Mutex::new(LocalView::default())),
            held: BTreeMap::new(),
        }
    }

    /// Ticks every third of the TTL until `stop`; then gives every lease back.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(self.ttl / 3);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => self.tick().await,
                _ = stop.changed() => break,
            }
        }
        let held: Vec<u32> = self.held.keys().copied().collect();
        for partition in held {
            self.release(partition).await;
        }
        let _ = self.handles.leases.delete(node_key(&self.node_id)).await;
    }

    async fn tick(&mut self) {
        self.heartbeat().await;
        let held: Vec<u32> = self.held.keys().copied().collect();
        for partition in held {
            self.renew(partition).await;
        }
        let Some(live) = self.live_nodes().await else {
            self.publish_view(0);
            return;
        };
        let free = self.free_partitions().await;
        let owned: BTreeSet<u32> = self.held.keys().copied().collect();
        let plan = plan(self.partitions, live.max(1), &owned, &free, &self.node_id);
        for partition in plan.release {
            self.release(partition).await;
        }
        for partition in plan.acquire {
            self.acquire(partition).await;
        }
        self.publish_view(live);
    }

    async fn heartbeat(&mut self) {
        let key = node_key(&self.node_id);
        let value = Bytes::from(serde_json::to_vec(&self.record).expect("serialisable"));
        match self
            .handles
            .leases
            .update(&key, value.clone(), self.heartbeat_revision)
            .await
        {
            Ok(revision) => self.heartbeat_revision = revision,
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                // Expired while we were cut off (or taken by a node with our id).
                match self.handles.leases.create(&key, value).await {
                    Ok(revision) => self.heartbeat_revision = revision,
                    Err(error) => {
                        tracing::error!(%error, node_id = %self.node_id, "heartbeat lost; another node may use this node id")
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "heartbeat not renewed"),
        }
    }

    async fn renew(&mut self, partition: u32) {
        let sent = Instant::now();
        let Some(held) = self.held.get(&partition) else {
            return;
        };
        let scored = held.progress.scored.load(Ordering::Acquire);
        let record = LeaseRecord {
            node_id: self.node_id.clone(),
            scored_sequence: scored,
        };
        let value = Bytes::from(serde_json::to_vec(&record).expect("serialisable"));
        let key = partition_key(partition);
        match self.handles.leases.update(&key, value, held.revision).await {
            Ok(revision) => {
                let held = self.held.get_mut(&partition).expect("held");
                held.revision = revision;
                *held
                    .progress
                    .deadline
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = sent + self.ttl * 2 / 3;
                if scored != held.written && !self.write_progress(partition, scored).await {
                    self.lost(partition, "its progress was written by another node");
                }
            }
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                self.lost(partition, "the lease expired or was taken");
            }
            Err(error) => {
                tracing::warn!(partition, %error, "lease not renewed; scoring pauses at its deadline");
            }
        }
    }

    /// Writes the last scored sequence with the revision read; false if it changed.
    async fn write_progress(&mut self, partition: u32, scored: u64) -> bool {
        let Some(held) = self.held.get_mut(&partition) else {
            return false;
        };
        let value = Bytes::from(scored.to_string());
        match self
            .handles
            .progress
            .update(partition_key(partition), value, held.progress_revision)
            .await
        {
            Ok(revision) => {
                held.progress_revision = revision;
                held.written = scored;
                true
            }
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => false,
            Err(error) => {
                tracing::warn!(partition, %error, "progress not written");
                true
            }
        }
    }

    fn lost(&mut self, partition: u32, why: &str) {
        if let Some(held) = self.held.remove(&partition) {
            tracing::warn!(partition, why, "partition lost; its consumer stops");
            let _ = held.stop.send(true);
            held.task.abort();
        }
    }

    /// The nodes whose heartbeat is live; `None` when the bucket cannot be read (then
    /// nothing is taken or given back this tick).
    async fn live_nodes(&self) -> Option<usize> {
        let mut keys = self.handles.leases.keys().await.ok()?;
        let mut live = 0;
        while let Some(key) = keys.next().await {
            live += usize::from(key.ok()?.starts_with("node."));
        }
        Some(live)
    }

    async fn free_partitions(&self) -> BTreeSet<u32> {
        let mut free = BTreeSet::new();
        for partition in 0..self.partitions {
            if self.held.contains_key(&partition) {
                continue;
            }
            match self.handles.leases.entry(partition_key(partition)).await {
                Ok(None) => {
                    free.insert(partition);
                }
                Ok(Some(entry)) if entry.operation != Operation::Put => {
                    free.insert(partition);
                }
                _ => {}
            }
        }
        free
    }

    async fn acquire(&mut self, partition: u32) {
        let sent = Instant::now();
        let record = LeaseRecord {
            node_id: self.node_id.clone(),
            scored_sequence: 0,
        };
        let value = Bytes::from(serde_json::to_vec(&record).expect("serialisable"));
        let revision = match self
            .handles
            .leases
            .create(partition_key(partition), value)
            .await
        {
            Ok(revision) => revision,
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => return,
            Err(error) => {
                tracing::warn!(partition, %error, "lease not taken");
                return;
            }
        };
        // Read after the lease is ours: a previous holder wrote its last progress
        // before it let go (or its lease expired).
        let (progress_revision, scored) = read_progress(&self.handles.progress, partition).await;
        let progress = Arc::new(Progress::new(scored, sent + self.ttl * 2 / 3));
        let (stop, stop_receiver) = watch::channel(false);
        let consumer = PartitionConsumer {
            stream: self.handles.stream.clone(),
            stream_name: self.stream.clone(),
            partition,
            pipeline: self.pipeline.clone(),
            progress: Arc::clone(&progress),
            stop: stop_receiver,
        };
        tracing::info!(
            partition,
            from_sequence = scored + 1,
            revision,
            "partition taken"
        );
        let task = tokio::spawn(consumer.run());
        self.held.insert(
            partition,
            Held {
                revision,
                progress_revision,
                progress,
                written: scored,
                stop,
                task,
            },
        );
    }

    /// Stops the consumer after the message in hand, writes its progress, then
    /// deletes the lease so that another node can take it at once.
    async fn release(&mut self, partition: u32) {
        let Some(held) = self.held.get_mut(&partition) else {
            return;
        };
        let _ = held.stop.send(true);
        let task = std::mem::replace(&mut held.task, tokio::spawn(async {}));
        if tokio::time::timeout(self.ttl / 3, task).await.is_err() {
            tracing::warn!(partition, "consumer did not stop in time");
        }
        let scored = held.progress.scored.load(Ordering::Acquire);
        let revision = held.revision;
        let fenced = self.write_progress(partition, scored).await;
        if fenced {
            let _ = self
                .handles
                .leases
                .delete_expect_revision(partition_key(partition), Some(revision))
                .await;
        }
        self.held.remove(&partition);
        tracing::info!(partition, scored, "partition released");
    }

    fn publish_view(&self, live_nodes: usize) {
        let held = self
            .held
            .iter()
            .map(|(partition, held)| {
                (
                    *partition,
                    (held.revision, held.progress.scored.load(Ordering::Acquire)),
                )
            })
            .collect();
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = LocalView { held, live_nodes };
    }
}

/// The progress key's revision (0: absent) and last scored sequence.
pub async fn read_progress(progress: &kv::Store, partition: u32) -> (u64, u64) {
    match progress.entry(partition_key(partition)).await {
        Ok(Some(entry)) if entry.operation == Operation::Put => {
            let scored = std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|text| text.parse().ok())
                .unwrap_or(0);
            (entry.revision, scored)
        }
        Ok(Some(entry)) => (entry.revision, 0),
        _ => (0, 0),
    }
}
