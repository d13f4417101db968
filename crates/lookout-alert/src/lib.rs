//! lookout's alerting: which anomalies become alerts, how they are grouped and muted, and
//! how they reach people without being lost or repeated.
//!
//! ```text
//!  anomaly events ─┐
//!  events ─────────┴► rules (selector, min_score, for, severity, labels, annotations)
//!                 ─► alerts (pending → firing → resolving → resolved; flap hysteresis)
//!                 ─► groups (group_by labels; group_wait, group_interval, repeat_interval)
//!                 ─► silences, maintenance windows, inhibition
//!                 ─► outbox (SQLite, written before delivery) ─► notifiers, back-off + jitter
//! ```
//!
//! - [`rules`]: `[[alert.rule]]` compiled (Prometheus selectors via `lookout_protocol`);
//! - [`event_alerts`]: rules with `event = "<kind>"`: what they match, what their alerts carry;
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
pub mod event_alerts;
pub mod gsm7;
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
    alerting.options.dashboard = config.server.dashboard_url();
    alerting.options.machine_identity =
        lookout_model::MachineIdentity::new(config.usage.machine_labels.iter().cloned());
    for (index, inhibit) in config.alert.inhibit.iter().enumerate() {
        alerting.inhibit.push(compile_inhibit(index + 1, inhibit)?);
    }
    Ok(alerting)
}

/// A configured `[[alert.inhibit]]` as a rule.
fn compile_inhibit(
    index: usize,
    config: &lookout_config::InhibitConfig,
) -> Result<silence::InhibitRule, RuleError> {
    let parse = |key: &'static str, text: &str| {
        lookout_protocol::selector::parse_selector(text).map_err(|error| {
            RuleError::InhibitSelector {
                index,
                key,
                selector: text.to_string(),
                reason: error.to_string(),
            }
        })
    };
    Ok(silence::InhibitRule {
        source: parse("source", &config.source)?,
        target: config
            .target
            .as_deref()
            .map(|text| parse("target", text))
            .transpose()?,
        equal: config.equal.clone(),
    })
}

/// Where the alert database lives in a data directory.
pub fn alerts_db_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("alerts.db")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::alert_with;

    fn config(text: &str) -> lookout_config::Config {
        lookout_config::Config::from_str_named(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn configured_inhibition_rules_join_the_built_in_one() {
        let alerting = alerting_config(&config(
            "[[alert.inhibit]]\nsource = '{__name__=\"host_down\"}'\ntarget = '{domain=\"network\"}'\nequal = [\"host\"]\n",
        ))
        .unwrap();
        assert_eq!(alerting.inhibit.len(), 2);
        let down = alert_with("d", "host_down", &[("host", "a")]);
        let net = alert_with("n", "rx_bytes", &[("host", "a"), ("domain", "network")]);
        let cpu = alert_with("c", "cpu", &[("host", "a"), ("domain", "cpu")]);
        let other = alert_with("o", "rx_bytes", &[("host", "b"), ("domain", "network")]);
        let muted = silence::inhibited(&alerting.inhibit, &[&down, &net, &cpu, &other]);
        assert_eq!(muted.len(), 1, "{muted:?}");
        assert_eq!(muted["n"], "d");
    }

    #[test]
    fn an_invalid_inhibition_selector_is_named() {
        let error = alerting_config(&config("[[alert.inhibit]]\nsource = '{host=~\"(\"}'\n"))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("[[alert.inhibit]] #1: source"),
            "{error}"
        );
    }
}
