//! `GET /api/v1/cluster`: the nodes whose heartbeat is live, each partition's owner,
//! lease revision and last scored sequence, read from the buckets (the holder's own
//! figures where this node is the holder: they are newer than its last renewal).

use std::sync::{Arc, Mutex};

use async_nats::jetstream::kv::Operation;
use futures::StreamExt;
use serde::Serialize;

use crate::connect::Handles;
use crate::keeper::{read_progress, LocalView};
use crate::lease::{partition_key, LeaseRecord, NodeRecord};

#[derive(Debug, Serialize)]
pub struct ClusterStatus {
    pub node_id: String,
    pub stream: String,
    pub partition_count: u32,
    pub lease_ttl_seconds: f64,
    pub nodes: Vec<NodeStatus>,
    pub partitions: Vec<PartitionStatus>,
}

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub node_id: String,
    pub listen: String,
    pub started_ms: i64,
    /// How many partitions it holds.
    pub partitions: usize,
}

#[derive(Debug, Serialize)]
pub struct PartitionStatus {
    pub partition: u32,
    /// `None`: no live lease (being taken over).
    pub owner: Option<String>,
    /// The lease's revision: its fencing token.
    pub lease_revision: Option<u64>,
    /// The last stream sequence scored by its owner (0: none).
    pub scored_sequence: u64,
}

pub struct StatusReader {
    pub handles: Handles,
    pub node_id: String,
    pub stream: String,
    pub partitions: u32,
    pub ttl: std::time::Duration,
    pub view: Arc<Mutex<LocalView>>,
}

impl StatusReader {
    pub async fn read(&self) -> Result<ClusterStatus, String> {
        let local = self.view.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut partitions = Vec::with_capacity(self.partitions as usize);
        for partition in 0..self.partitions {
            if let Some((revision, scored)) = local.held.get(&partition) {
                partitions.push(PartitionStatus {
                    partition,
                    owner: Some(self.node_id.clone()),
                    lease_revision: Some(*revision),
                    scored_sequence: *scored,
                });
                continue;
            }
            let entry = self
                .handles
                .leases
                .entry(partition_key(partition))
                .await
                .map_err(|e| e.to_string())?
                .filter(|entry| entry.operation == Operation::Put);
            let lease = entry
                .as_ref()
                .and_then(|entry| serde_json::from_slice::<LeaseRecord>(&entry.value).ok());
            let (_, progress) = read_progress(&self.handles.progress, partition).await;
            partitions.push(PartitionStatus {
                partition,
                owner: lease.as_ref().map(|lease| lease.node_id.clone()),
                lease_revision: entry.map(|entry| entry.revision),
                scored_sequence: lease.map_or(0, |l| l.scored_sequence).max(progress),
            });
        }
        let nodes = self.nodes(&partitions).await?;
        Ok(ClusterStatus {
            node_id: self.node_id.clone(),
            stream: self.stream.clone(),
            partition_count: self.partitions,
            lease_ttl_seconds: self.ttl.as_secs_f64(),
            nodes,
            partitions,
        })
    }

    async fn nodes(&self, partitions: &[PartitionStatus]) -> Result<Vec<NodeStatus>, String> {
        let mut keys = self
            .handles
            .leases
            .keys()
            .await
            .map_err(|e| e.to_string())?;
        let mut nodes = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| e.to_string())?;
            if !key.starts_with("node.") {
                continue;
            }
            let Ok(Some(value)) = self.handles.leases.get(key.as_str()).await else {
                continue;
            };
            let Ok(record) = serde_json::from_slice::<NodeRecord>(&value) else {
                continue;
            };
            let held = partitions
                .iter()
                .filter(|p| p.owner.as_deref() == Some(record.node_id.as_str()))
                .count();
            nodes.push(NodeStatus {
                node_id: record.node_id,
                listen: record.listen,
                started_ms: record.started_ms,
                partitions: held,
            });
        }
        nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        Ok(nodes)
    }
}
