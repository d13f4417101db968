//! `GET /api/v1/cluster`: the cluster's nodes, partitions, owners, lease revisions and
//! last scored sequences, on a cluster node (`[cluster]`, the `lookout-cluster`
//! crate, plugged in by the binary through [`ClusterView`]); 404 on a single node.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// What [`ClusterView::status`] returns.
pub type StatusFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>>;

/// The cluster as the API shows it.
pub trait ClusterView: Send + Sync + 'static {
    /// The status document (see the OpenAPI document); `Err` when NATS cannot be read.
    fn status(&self) -> StatusFuture<'_>;
}

pub async fn status(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let Some(cluster) = state.cluster.get() else {
        return Err(ApiError::not_found(
            "this node runs alone: no [cluster] section in its configuration",
        ));
    };
    cluster.status().await.map(Json).map_err(|error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("cannot read the cluster state from NATS: {error}"),
        )
    })
}

/// The route's entry in the OpenAPI document.
pub(crate) fn openapi_paths() -> Value {
    use crate::openapi::operation;
    serde_json::json!({
        "/api/v1/cluster": { "get": operation(
            "The cluster (cluster mode only): live nodes (by heartbeat) with their API address and partition count, and each partition's owner, lease revision (its fencing token) and last scored stream sequence.",
            vec![],
            None,
            serde_json::json!({
                "200": { "description": "{node_id, stream, partition_count, lease_ttl_seconds, nodes: [{node_id, listen, started_ms, partitions}], partitions: [{partition, owner, lease_revision, scored_sequence}]}." },
                "404": { "description": "Not a cluster node." },
                "503": { "description": "NATS cannot be read." },
            }),
        ) },
    })
}
