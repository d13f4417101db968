//! lookout's alerting: which anomalies become alerts, how they are grouped and muted, and
//! how they reach people without being lost or repeated.
//!
//! ```text
//!  anomaly events ─► rules (selector, min_score, for, severity, labels, annotations)
//!                 ─► alerts (pending → firing → resolving → resolved; flap hysteresis)
//!                 ─► groups (group_by labels; group_wait, group_interval, repeat_interval)
//!                 ─► silences, maintenance windows, inhibition
//!                 ─► outbox (SQLite, written before delivery) ─► notifiers, back-off + jitter
//! ```
//!
//! - [`rules`]: `[[alert.rule]]` compiled (Prometheus selectors via `lookout_protocol`);
//! - [`evaluator`]: the pure state machine (time passed in);
//! - [`silence`]: silences, maintenance windows, inhibition rules;
//! - [`outbox`]: the durable store (`alerts.db`); [`persist`]: outbox first, state in batches;
//! - [`notify`]: Alertmanager, webhook, Slack, email (SMTP), SNS;
//! - [`content`]: what a message says; [`sample`]: test messages;
//! - [`service`]: the running thread and tasks; [`metrics`]: counters for `/metrics`.
//!
//! See `README.md` beside this crate for the configuration, guarantees and measurements.

pub mod backoff;
pub mod content;
pub mod evaluator;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod persist;
pub mod rules;
pub mod sample;
pub mod service;
pub mod silence;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::Path;

pub use evaluator::{Evaluator, EvaluatorOptions};
pub use model::{AlertInstance, AlertState, AnomalyEvent, EventKind, Notification};
pub use notify::{DeliveryError, Notifier};
pub use rules::{compile_rules, CompiledRule, RuleError};
pub use service::{AlertError, AlertHandle, AlertService, AlertingConfig};
pub use silence::{InhibitRule, Silence};

/// The alerting configuration of a lookout configuration: rules compiled, notifiers
/// built, the database at `<data_dir>/alerts.db`, links to the dashboard at `listen`.
pub fn alerting_config(config: &lookout_config::Config) -> Result<AlertingConfig, RuleError> {
    let rules = compile_rules(&config.alert.rules)?;
    let http = notify::http_client();
    let notifiers = config
        .alert
        .notifiers
        .iter()
        .map(|notifier| Notifier::from_config(notifier, &http))
        .collect();
    let mut alerting =
        AlertingConfig::new(rules, notifiers, alerts_db_path(&config.server.data_dir));
    alerting.options.dashboard = format!("http://{}", config.server.listen);
    Ok(alerting)
}

/// Where the alert database lives in a data directory.
pub fn alerts_db_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("alerts.db")
}
