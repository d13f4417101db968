//! `serve` in cluster mode (`[cluster]`): starts the node (`lookout_cluster::Cluster`:
//! writes go to JetStream, owned partitions are scored here) and shows it at
//! `GET /api/v1/cluster`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use lookout_cluster::Cluster;
use lookout_config::Config;
use lookout_server::cluster::{ClusterView, StatusFuture};
use lookout_server::Server;

struct View(Arc<Cluster>);

impl ClusterView for View {
    fn status(&self) -> StatusFuture<'_> {
        Box::pin(async move {
            let status = self.0.status().await?;
            serde_json::to_value(status).map_err(|error| error.to_string())
        })
    }
}

/// Starts the cluster node when the configuration has `[cluster]`; `None` otherwise
/// (a single node, unchanged).
pub async fn start(
    config: &Config,
    server: &Server,
    listen: SocketAddr,
) -> anyhow::Result<Option<Arc<Cluster>>> {
    let Some(cluster) = &config.cluster else {
        return Ok(None);
    };
    let node = Cluster::start(cluster, server.pipeline(), listen.to_string())
        .await
        .with_context(|| format!("starting cluster node {:?}", cluster.node_id))?;
    let _ = server
        .state()
        .cluster
        .set(Arc::new(View(Arc::clone(&node))));
    eprintln!(
        "lookout: cluster node {} on stream {} ({} partitions, NATS {})",
        cluster.node_id,
        cluster.stream,
        cluster.partitions,
        cluster.nats.join(", ")
    );
    Ok(Some(node))
}
