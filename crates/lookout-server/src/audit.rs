//! The audit log of admin actions: who (the API token's name, or `anonymous` without
//! authentication), what (`silence.create`, `silence.expire`, `anomaly.feedback`,
//! dashboard sessions: `session.sign_in`, `session.sign_out`, `session.refused` for a
//! sign-in with an unknown token) and on which object.
//!
//! Each entry is logged at info level on the tracing target `lookout::audit` (on by
//! default in `lookout serve`: its default filter is `warn,lookout::audit=info`; keep
//! `lookout::audit=info` in a `RUST_LOG` of your own) and kept in memory, the
//! newest [`AUDIT_CAPACITY`] entries, for `GET /api/v1/audit` (admin role). The memory
//! copy does not survive a restart: the log is the lasting record.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::{Caller, AUDIT_TARGET};
use crate::state::AppState;

/// Entries kept in memory.
pub const AUDIT_CAPACITY: usize = 1000;

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub time_ms: i64,
    /// The token's name.
    pub token: String,
    pub action: &'static str,
    /// What it acted on, e.g. `silence 12`.
    pub object: String,
    /// A short description (a silence's matchers, a feedback label).
    pub detail: String,
}

/// The newest entries, bounded.
#[derive(Debug, Default)]
pub struct AuditLog {
    entries: Mutex<VecDeque<AuditEntry>>,
}

impl AuditLog {
    /// Logs and keeps one action.
    pub fn record(&self, caller: &Caller, action: &'static str, object: String, detail: String) {
        tracing::info!(
            target: AUDIT_TARGET,
            token = %caller.name,
            action = %action,
            object = %object,
            detail = %detail,
            "admin action"
        );
        let entry = AuditEntry {
            time_ms: lookout_model::clock::now_ms(),
            token: caller.name.clone(),
            action,
            object,
            detail,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() == AUDIT_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The kept entries, newest first.
    pub fn newest_first(&self) -> Vec<AuditEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().rev().cloned().collect()
    }
}

/// `GET /api/v1/audit`: the kept entries, newest first.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "success",
        "data": { "entries": state.audit.newest_first(), "capacity": AUDIT_CAPACITY },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_entries_only() {
        let log = AuditLog::default();
        let caller = Caller::anonymous();
        for i in 0..AUDIT_CAPACITY + 5 {
            log.record(
                &caller,
                "silence.create",
                format!("silence {i}"),
                String::new(),
            );
        }
        let entries = log.newest_first();
        assert_eq!(entries.len(), AUDIT_CAPACITY);
        assert_eq!(entries[0].object, format!("silence {}", AUDIT_CAPACITY + 4));
        assert_eq!(entries[AUDIT_CAPACITY - 1].object, "silence 5");
        assert_eq!(entries[0].token, "anonymous");
    }
}
