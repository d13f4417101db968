//! `GET /api/v1/machines`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// Every machine with its usage state, since when, and its right-sizing hint.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    let machines = state.usage.machines();
    Json(json!({ "status": "success", "data": machines }))
}
