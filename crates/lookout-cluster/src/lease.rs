//! Leases and the balanced assignment: values and decisions, no I/O.
//!
//! Keys of the lease bucket (every entry lives `lease_ttl` unless renewed):
//! `node.<node_id>` (a node's heartbeat: [`NodeRecord`]) and `partition.<n>` (the
//! lease of partition `n`: [`LeaseRecord`]). Keys of the progress bucket (no expiry):
//! `partition.<n>` (the last sequence scored, written only by the lease holder, with
//! the revision it read: a stale holder's write fails).
//!
//! **Fencing.** A lease is taken with a create (the key must be absent) and renewed
//! with an update naming the revision the holder last wrote; the revision is the
//! fencing token: a node whose update fails with another revision has lost the lease
//! and stops at once. **Time.** The key expires on the server's clock, `lease_ttl`
//! after the last write; the holder measures on its own monotonic clock from when it
//! *sent* that write (so before the server stored it) and stops scoring at two thirds
//! of the TTL, renewing every third. Wall clocks never enter; what must hold is that
//! the two clocks' rates differ by less than a third over one TTL (they differ by
//! parts per million), and that a renewal's round trip plus the stop take less than
//! the remaining third (2 s of a 6 s TTL).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub fn node_key(node_id: &str) -> String {
    format!("node.{node_id}")
}

pub fn partition_key(partition: u32) -> String {
    format!("partition.{partition}")
}

/// A node's heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub node_id: String,
    /// Where its HTTP API listens.
    pub listen: String,
    pub started_ms: i64,
}

/// A partition's lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub node_id: String,
    /// The last sequence the holder had scored at its last renewal.
    pub scored_sequence: u64,
}

/// What a node does with its leases at one tick.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub release: Vec<u32>,
    pub acquire: Vec<u32>,
}

/// The partitions each node aims at: `ceil(partitions / live nodes)`.
pub fn target(partitions: u32, live_nodes: usize) -> usize {
    (partitions as usize).div_ceil(live_nodes.max(1))
}

/// Releases what is above the target (the highest partitions first) and tries free
/// partitions up to it, starting at a place that depends on the node id so that nodes
/// starting together do not race for the same ones.
pub fn plan(
    partitions: u32,
    live_nodes: usize,
    owned: &BTreeSet<u32>,
    free: &BTreeSet<u32>,
    node_id: &str,
) -> Plan {
    let target = target(partitions, live_nodes);
    if owned.len() > target {
        let release = owned
            .iter()
            .rev()
            .take(owned.len() - target)
            .copied()
            .collect();
        return Plan {
            release,
            acquire: Vec::new(),
        };
    }
    let start = (lookout_model::SeriesKey::new(node_id).stable_hash()
        % u64::from(partitions.max(1))) as u32;
    let acquire = (0..partitions)
        .map(|i| (start + i) % partitions)
        .filter(|p| free.contains(p) && !owned.contains(p))
        .take(target - owned.len())
        .collect();
    Plan {
        release: Vec::new(),
        acquire,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: impl IntoIterator<Item = u32>) -> BTreeSet<u32> {
        items.into_iter().collect()
    }

    #[test]
    fn a_lone_node_takes_everything_and_gives_back_when_others_arrive() {
        let all = set(0..16);
        let first = plan(16, 1, &set([]), &all, "a");
        assert_eq!(first.acquire.len(), 16);
        let shrink = plan(16, 3, &all, &set([]), "a");
        assert_eq!(shrink.release, vec![15, 14, 13, 12, 11, 10, 9, 8, 7, 6]);
        assert_eq!(target(16, 3), 6);
        assert_eq!(target(16, 2), 8);
        assert_eq!(target(16, 0), 16);
    }

    #[test]
    fn a_survivor_takes_free_partitions_up_to_its_share() {
        let owned = set(0..6);
        let free = set([12, 13, 14, 15, 3]);
        let plan = plan(16, 2, &owned, &free, "b");
        assert_eq!(plan.acquire.len(), 2);
        assert!(plan.acquire.iter().all(|p| (12..16).contains(p)));
        assert!(plan.release.is_empty());
    }

    #[test]
    fn records_round_trip() {
        let lease = LeaseRecord {
            node_id: "a".into(),
            scored_sequence: 42,
        };
        let text = serde_json::to_vec(&lease).unwrap();
        assert_eq!(serde_json::from_slice::<LeaseRecord>(&text).unwrap(), lease);
        assert_eq!(partition_key(3), "partition.3");
        assert_eq!(node_key("a"), "node.a");
    }
}
