//! Why the cluster mode could not start or go on.

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS: {0}")]
    Connect(String),
    /// The message names the file or variable, never its content.
    #[error("cannot read the NATS credentials: {0}")]
    Credentials(String),
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error("stream {stream} is partitioned {existing} ways; this node is configured with partitions = {configured} (every node must use the stream's count)")]
    PartitionMismatch {
        stream: String,
        existing: u32,
        configured: u32,
    },
    #[error("node_id {0:?} is already live in the cluster (its heartbeat is being renewed); give each node its own node_id")]
    DuplicateNode(String),
}
