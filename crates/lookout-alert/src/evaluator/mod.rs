//! The alert state machine: anomaly events and the clock in, alert changes and
//! notifications out. Pure and synchronous: time is passed in, nothing is sent from
//! here; the [service](crate::service) persists what it returns and delivers it.
//!
//! Per rule × series (a *slot*) an alert lives:
//!
//! ```text
//!  event score ≥ min_score ──► pending ──(for elapsed)──► firing ──(anomaly closed)──► resolving
//!                                 │                          ▲                            │
//!                     (closed before `for`: dropped)         └──(reopened: a flap)────────┤
//!                                                                     (hold elapsed) ──► resolved
//! ```
//!
//! **Hysteresis**: a closed anomaly resolves its alert only after `resolve_hold`, and the
//! hold grows with each flap (×(1 + flaps), at most ×5), so a flapping series keeps one
//! alert (one fingerprint) instead of paging on each reopening.
//!
//! Cost: an event is matched against every rule (one selector run each); a tick visits
//! every live alert (a state check) and every group (a timer check); only the groups
//! whose timer is due compute their active alerts, and inhibition is computed over the
//! firing alerts only on a tick where some group is due. Memory: one [`AlertInstance`]
//! per live alert (~1 KiB with its labels and evidence) and one [`GroupState`] per group.

mod events;
pub mod groups;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{
    fingerprint, stable_id, AlertInstance, AlertState, AnomalyEvent, EventKind, Evidence,
    Notification, NotificationStatus,
};
use crate::rules::CompiledRule;
use crate::silence::{inhibited, InhibitRule, SilenceSet};
pub use groups::GroupState;
use groups::{decide, may_be_due, Due, Timing};

/// Settings of the evaluator itself; grouping and hysteresis timers are per rule
/// ([`CompiledRule::group_wait`], `group_interval`, `resolve_hold`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorOptions {
    /// Alerts restored at start resolve after this long unless an event confirms them.
    pub restore_grace: Duration,
    /// Dashboard base URL for links, e.g. `http://127.0.0.1:8080`.
    pub dashboard: String,
    /// Which label names the machine of a series (`[usage] machine_labels`): alert texts
    /// say where an anomaly is with it.
    pub machine_identity: lookout_model::MachineIdentity,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        EvaluatorOptions {
            restore_grace: Duration::from_secs(600),
            dashboard: "http://127.0.0.1:8080".into(),
            machine_identity: lookout_model::MachineIdentity::default(),
        }
    }
}

/// One line of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: i64,
    pub rule: String,
    pub fingerprint: String,
    pub series: String,
    /// `pending`, `firing`, `reopened`, `resolving`, `resolved`, `cancelled`, `notified`.
    pub event: String,
    pub detail: String,
}

/// A notification and the notifiers it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub notification: Notification,
    pub notifiers: Vec<String>,
}

/// What changed since the last [`Evaluator::take_changes`]: to persist in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    /// Slot → the alert's new state.
    pub alerts: BTreeMap<String, AlertInstance>,
    pub removed_alerts: BTreeSet<String>,
    pub groups: BTreeMap<String, GroupState>,
    pub removed_groups: BTreeSet<String>,
    pub outgoing: Vec<Outgoing>,
    pub history: Vec<HistoryEntry>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
            && self.removed_alerts.is_empty()
            && self.groups.is_empty()
            && self.removed_groups.is_empty()
            && self.outgoing.is_empty()
            && self.history.is_empty()
    }
}

/// The slot of a rule × series.
pub fn slot(rule: &str, series: &str) -> String {
    stable_id(&[rule, series])
}

/// Rules, live alerts, groups, silences and inhibition rules.
pub struct Evaluator {
    rules: Vec<CompiledRule>,
    options: EvaluatorOptions,
    alerts: HashMap<String, AlertInstance>,
    groups: HashMap<String, GroupState>,
    silences: SilenceSet,
    inhibit: Vec<InhibitRule>,
    restored_at_ms: Option<i64>,
    dirty_alerts: BTreeSet<String>,
    dirty_groups: BTreeSet<String>,
    changes: Changes,
}

impl Evaluator {
    pub fn new(
        rules: Vec<CompiledRule>,
        inhibit: Vec<InhibitRule>,
        options: EvaluatorOptions,
    ) -> Self {
        Evaluator {
            rules,
            options,
            alerts: HashMap::new(),
            groups: HashMap::new(),
            silences: SilenceSet::default(),
            inhibit,
            restored_at_ms: None,
            dirty_alerts: BTreeSet::new(),
            dirty_groups: BTreeSet::new(),
            changes: Changes::default(),
        }
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn silences_mut(&mut self) -> &mut SilenceSet {
        &mut self.silences
    }

    pub fn silences(&self) -> &SilenceSet {
        &self.silences
    }

    /// Loads alerts and groups persisted by an earlier run. Restored alerts resolve after
    /// `restore_grace` unless a new event about their series confirms them.
    pub fn restore(
        &mut self,
        alerts: Vec<(String, AlertInstance)>,
        groups: Vec<GroupState>,
        now_ms: i64,
    ) {
        for (slot, mut alert) in alerts {
            alert.restored = true;
            self.alerts.insert(slot, alert);
        }
        for group in groups {
            self.groups.insert(group.key.clone(), group);
        }
        self.restored_at_ms = Some(now_ms);
    }

    pub fn alerts(&self) -> impl Iterator<Item = &AlertInstance> {
        self.alerts.values()
    }

    pub fn alert_count(&self) -> usize {
        self.alerts.len()
    }

    /// Applies one anomaly event.
    pub fn handle(&mut self, event: &AnomalyEvent, now_ms: i64) {
        let series_text = event.series.to_string();
        for index in 0..self.rules.len() {
            if self.rules[index].event.is_some() || !self.rules[index].matches(&event.series) {
                continue;
            }
            let slot = slot(&self.rules[index].name, &series_text);
            match event.kind {
                EventKind::Open | EventKind::Update => self.anomalous(index, slot, event, now_ms),
                EventKind::Close => self.closed(slot, event, now_ms),
            }
        }
    }

    fn anomalous(&mut self, index: usize, slot: String, event: &AnomalyEvent, now_ms: i64) {
        let rule = &self.rules[index];
        if let Some(alert) = self.alerts.get_mut(&slot) {
            alert.restored = false;
            if alert.state == AlertState::Resolving {
                alert.state = AlertState::Firing;
                alert.flaps += 1;
                alert.resolving_since_ms = None;
                alert.ends_ms = None;
                alert.since_ms = now_ms;
                history(
                    &mut self.changes,
                    alert,
                    now_ms,
                    "reopened",
                    format!("flap {}", alert.flaps),
                );
            }
            if event.score > alert.peak_score {
                alert.peak_score = event.score;
                alert.evidence = evidence(event);
                let severity = rule.severity_for(event.score);
                alert.severity = severity.as_str().into();
                alert.labels = rule.alert_labels(&event.series, severity);
            }
            self.dirty_alerts.insert(slot);
            return;
        }
        if event.score < rule.min_score {
            return;
        }
        let severity = rule.severity_for(event.score);
        let group_key = rule.group_key(&event.series);
        let mut alert = AlertInstance {
            fingerprint: fingerprint(&rule.name, &event.series, event.start_ms),
            rule: rule.name.clone(),
            series: event.series.clone(),
            group: group_key.clone(),
            state: AlertState::Pending,
            severity: severity.as_str().into(),
            labels: rule.alert_labels(&event.series, severity),
            annotations: rule.annotations.clone(),
            starts_ms: event.start_ms,
            ends_ms: None,
            since_ms: now_ms,
            fired_ms: None,
            resolving_since_ms: None,
            flaps: 0,
            peak_score: event.score,
            location: crate::content::location(&self.options.machine_identity, &event.series),
            evidence: evidence(event),
            detected_ms: event.detected_ms,
            restored: false,
            event: None,
        };
        history(
            &mut self.changes,
            &alert,
            now_ms,
            "pending",
            format!("score {:.3}", event.score),
        );
        if rule.for_duration.is_zero() {
            fire(&mut alert, now_ms, &mut self.changes);
        }
        self.insert_alert(index, slot, alert, now_ms);
    }

    /// Adds a new alert of rule `index` to its group (created when new).
    fn insert_alert(&mut self, index: usize, slot: String, alert: AlertInstance, now_ms: i64) {
        let rule = &self.rules[index];
        let group_key = alert.group.clone();
        let group = self.groups.entry(group_key.clone()).or_insert_with(|| {
            GroupState::new(
                group_key.clone(),
                rule.name.clone(),
                rule.group_labels(&alert.series),
            )
        });
        group.members.insert(slot.clone());
        if alert.state == AlertState::Firing && group.first_firing_ms.is_none() {
            group.first_firing_ms = Some(now_ms);
        }
        self.dirty_groups.insert(group_key);
        self.alerts.insert(slot.clone(), alert);
        self.dirty_alerts.insert(slot);
    }

    fn closed(&mut self, slot: String, event: &AnomalyEvent, now_ms: i64) {
        let Some(alert) = self.alerts.get_mut(&slot) else {
            return;
        };
        match alert.state {
            AlertState::Pending => {
                history(
                    &mut self.changes,
                    alert,
                    now_ms,
                    "cancelled",
                    "anomaly ended before `for`".into(),
                );
                let group = alert.group.clone();
                self.remove_alert(&slot, &group);
            }
            AlertState::Firing => {
                alert.state = AlertState::Resolving;
                alert.resolving_since_ms = Some(now_ms);
                alert.ends_ms = Some(event.at_ms);
                alert.restored = false;
                history(&mut self.changes, alert, now_ms, "resolving", String::new());
                self.dirty_alerts.insert(slot);
            }
            AlertState::Resolving | AlertState::Resolved => {}
        }
    }

    fn remove_alert(&mut self, slot: &str, group_key: &str) {
        self.alerts.remove(slot);
        self.dirty_alerts.insert(slot.to_string());
        if let Some(group) = self.groups.get_mut(group_key) {
            group.members.remove(slot);
            self.dirty_groups.insert(group_key.to_string());
        }
    }

    /// Advances timers: `for` durations, resolve holds, restored alerts, group messages.
    pub fn tick(&mut self, now_ms: i64) {
        let grace_over = self
            .restored_at_ms
            .is_some_and(|at| now_ms >= at + self.options.restore_grace.as_millis() as i64);
        let mut resolved = Vec::new();
        for (slot, alert) in self.alerts.iter_mut() {
            match alert.state {
                AlertState::Pending => {
                    let rule_for = rule_of(&self.rules, &alert.rule)
                        .map_or(0, |rule| rule.for_duration.as_millis() as i64);
                    if now_ms >= alert.since_ms + rule_for {
                        fire(alert, now_ms, &mut self.changes);
                        let group = self.groups.get_mut(&alert.group);
                        if let Some(group) = group {
                            group.first_firing_ms.get_or_insert(now_ms);
                            self.dirty_groups.insert(alert.group.clone());
                        }
                        self.dirty_alerts.insert(slot.clone());
                    }
                }
                AlertState::Resolving => {
                    let since = alert.resolving_since_ms.unwrap_or(now_ms);
                    let hold_ms = rule_of(&self.rules, &alert.rule)
                        .map_or(0, |rule| rule.resolve_hold.as_millis() as i64);
                    let factor = 1 + i64::from(alert.flaps.min(4));
                    if now_ms >= since + hold_ms * factor {
                        resolved.push(slot.clone());
                    }
                }
                // An event alert resolves `resolve_hold` after its last event.
                AlertState::Firing if alert.event.is_some() => {
                    let hold_ms = rule_of(&self.rules, &alert.rule)
                        .map_or(0, |rule| rule.resolve_hold.as_millis() as i64);
                    let (last_seen_ms, last_ms) =
                        alert.event.as_ref().map_or((now_ms, now_ms), |facts| {
                            (facts.last_seen_ms, facts.last_ms)
                        });
                    if now_ms >= last_seen_ms + hold_ms {
                        alert.ends_ms = Some(last_ms);
                        resolved.push(slot.clone());
                    }
                }
                AlertState::Firing if alert.restored && grace_over => {
                    alert.ends_ms = Some(now_ms);
                    resolved.push(slot.clone());
                }
                _ => {}
            }
        }
        for slot in resolved {
            let Some(mut alert) = self.alerts.get(&slot).cloned() else {
                continue;
            };
            alert.state = AlertState::Resolved;
            alert.since_ms = now_ms;
            history(&mut self.changes, &alert, now_ms, "resolved", String::new());
            if let Some(group) = self.groups.get_mut(&alert.group) {
                if group.notified.contains(&alert.fingerprint) {
                    group.resolved.push(alert.clone());
                }
            }
            self.remove_alert(&slot, &alert.group);
        }
        self.schedule_groups(now_ms);
    }

    fn schedule_groups(&mut self, now_ms: i64) {
        // Inhibition needs every firing alert: computed once, and only when a group may be
        // due, so that a tick where every group waits for its timer costs one pass over the
        // groups and nothing per alert.
        let mut muted_by_inhibition: Option<BTreeMap<String, String>> = None;
        let mut sends = Vec::new();
        let mut empty_groups = Vec::new();
        for (key, group) in &self.groups {
            let Some(rule) = self.rules.iter().find(|rule| rule.name == group.rule) else {
                continue;
            };
            let timing = Timing {
                group_wait_ms: rule.group_wait.as_millis() as i64,
                group_interval_ms: rule.group_interval.as_millis() as i64,
                repeat_interval_ms: rule.repeat_interval.as_millis() as i64,
            };
            if !may_be_due(group, now_ms, timing) {
                continue;
            }
            let muted = muted_by_inhibition
                .get_or_insert_with(|| inhibited_alerts(&self.inhibit, &self.alerts));
            let active: BTreeSet<String> = group
                .members
                .iter()
                .filter_map(|slot| self.alerts.get(slot))
                .filter(|a| matches!(a.state, AlertState::Firing | AlertState::Resolving))
                .filter(|a| !muted.contains_key(&a.fingerprint))
                .filter(|a| {
                    self.silences.is_empty() || self.silences.silencing(a, now_ms).is_empty()
                })
                .map(|a| a.fingerprint.clone())
                .collect();
            match decide(group, &active, now_ms, timing) {
                Due::Nothing => {
                    if group.members.is_empty() && group.resolved.is_empty() {
                        empty_groups.push(key.clone());
                    }
                }
                due => sends.push((key.clone(), due, active)),
            }
        }
        for key in empty_groups {
            self.groups.remove(&key);
            self.dirty_groups.remove(&key);
            self.changes.removed_groups.insert(key);
        }
        for (key, due, active) in sends {
            self.send(&key, due, active, now_ms);
        }
    }

    fn send(&mut self, key: &str, due: Due, active: BTreeSet<String>, now_ms: i64) {
        let Some(group) = self.groups.get_mut(key) else {
            return;
        };
        let Some(rule) = self.rules.iter().find(|rule| rule.name == group.rule) else {
            return;
        };
        let firing: Vec<AlertInstance> = group
            .members
            .iter()
            .filter_map(|slot| self.alerts.get(slot))
            .filter(|alert| active.contains(&alert.fingerprint))
            .cloned()
            .collect();
        let status = match due {
            Due::Resolved => NotificationStatus::Resolved,
            _ => NotificationStatus::Firing,
        };
        let id = stable_id(&[key, status.as_str(), &group.sequence.to_string()]);
        let repeat_ms = rule.repeat_interval.as_millis() as i64;
        let notification = Notification {
            id,
            rule: rule.name.clone(),
            group: key.to_string(),
            group_labels: group.labels.clone(),
            status,
            firing,
            resolved: group.resolved.clone(),
            created_ms: now_ms,
            valid_for_ms: 2 * repeat_ms + rule.group_interval.as_millis() as i64,
            dashboard: self.options.dashboard.clone(),
            test: false,
        };
        for alert in notification.firing.iter().chain(&notification.resolved) {
            history(
                &mut self.changes,
                alert,
                now_ms,
                "notified",
                format!("{} message {}", status.as_str(), notification.id),
            );
        }
        match due {
            Due::Resolved => group.closed(),
            _ => group.sent(now_ms, active),
        }
        self.dirty_groups.insert(key.to_string());
        self.changes.outgoing.push(Outgoing {
            notification,
            notifiers: rule.notify.clone(),
        });
    }

    /// What changed since the last call, except the alerts themselves: their slots are
    /// returned instead (read their newest state with [`Evaluator::alert_in_slot`] when
    /// writing it), which saves a copy of every changed alert.
    pub fn take_changes_by_slot(&mut self) -> (Changes, BTreeSet<String>) {
        let mut changes = std::mem::take(&mut self.changes);
        self.take_groups(&mut changes);
        (changes, std::mem::take(&mut self.dirty_alerts))
    }

    /// The live alert of a slot.
    pub fn alert_in_slot(&self, slot: &str) -> Option<&AlertInstance> {
        self.alerts.get(slot)
    }

    fn take_groups(&mut self, changes: &mut Changes) {
        for key in std::mem::take(&mut self.dirty_groups) {
            match self.groups.get(&key) {
                Some(group) => {
                    changes.groups.insert(key, group.clone());
                }
                None => {
                    changes.removed_groups.insert(key);
                }
            }
        }
    }

    /// Everything that changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        let mut changes = std::mem::take(&mut self.changes);
        for slot in std::mem::take(&mut self.dirty_alerts) {
            match self.alerts.get(&slot) {
                Some(alert) => {
                    changes.alerts.insert(slot, alert.clone());
                }
                None => {
                    changes.removed_alerts.insert(slot);
                }
            }
        }
        self.take_groups(&mut changes);
        changes
    }
}

fn rule_of<'a>(rules: &'a [CompiledRule], name: &str) -> Option<&'a CompiledRule> {
    rules.iter().find(|rule| rule.name == name)
}

/// The firing (or resolving) alerts muted by an inhibition rule, with the muting alert.
fn inhibited_alerts(
    rules: &[InhibitRule],
    alerts: &HashMap<String, AlertInstance>,
) -> BTreeMap<String, String> {
    if rules.is_empty() {
        return BTreeMap::new();
    }
    let firing: Vec<&AlertInstance> = alerts
        .values()
        .filter(|a| matches!(a.state, AlertState::Firing | AlertState::Resolving))
        .collect();
    inhibited(rules, &firing)
}

fn evidence(event: &AnomalyEvent) -> Evidence {
    Evidence {
        at_ms: event.at_ms,
        score: event.score,
        value: event.value,
        expected_lower: event.expected_lower,
        expected_upper: event.expected_upper,
        explanation: event.explanation.clone(),
    }
}

fn fire(alert: &mut AlertInstance, now_ms: i64, changes: &mut Changes) {
    alert.state = AlertState::Firing;
    alert.fired_ms = Some(now_ms);
    alert.since_ms = now_ms;
    history(
        changes,
        alert,
        now_ms,
        "firing",
        format!("severity {}", alert.severity),
    );
}

fn history(changes: &mut Changes, alert: &AlertInstance, now_ms: i64, event: &str, detail: String) {
    changes.history.push(HistoryEntry {
        at_ms: now_ms,
        rule: alert.rule.clone(),
        fingerprint: alert.fingerprint.clone(),
        series: alert.series.to_string(),
        event: event.into(),
        detail,
    });
}

#[cfg(test)]
mod tests;
