//! Group state and the decision of when a group sends a notification.
//!
//! A group (rule × `group_by` values) sends:
//! - its **first** notification `group_wait` after its first alert fires (so an incident
//!   hitting many series at once becomes one message);
//! - an **update** when alerts joined or resolved since the last message, at most once per
//!   `group_interval`;
//! - a **repeat** of an unchanged firing group once per `repeat_interval`;
//! - a **resolve** message when its last notified alert resolved.
//!
//! Silenced and inhibited alerts are left out; a group whose alerts are all muted sends
//! nothing (and sends its first message if the silence ends while they still fire).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::AlertInstance;

/// One group's delivery state; persisted with the outbox so a restart keeps its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub key: String,
    pub rule: String,
    pub labels: BTreeMap<String, String>,
    /// Slots (rule × series) of the alerts in the group.
    pub members: BTreeSet<String>,
    /// When the current episode's first alert fired (wall ms).
    pub first_firing_ms: Option<i64>,
    /// When the group last sent a notification in this episode (wall ms).
    pub last_sent_ms: Option<i64>,
    /// Fingerprints announced as firing by the last notification.
    pub notified: BTreeSet<String>,
    /// Alerts that resolved since the last notification and were announced as firing.
    pub resolved: Vec<AlertInstance>,
    /// Notifications sent so far (part of each notification's stable id).
    pub sequence: u64,
}

/// What a group should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Nothing,
    /// Send a firing notification with the active alerts (and the resolved ones).
    Firing,
    /// Every announced alert resolved: send the resolve notification, end the episode.
    Resolved,
}

/// Timing knobs of [`decide`].
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub group_wait_ms: i64,
    pub group_interval_ms: i64,
    pub repeat_interval_ms: i64,
}

impl GroupState {
    pub fn new(key: String, rule: String, labels: BTreeMap<String, String>) -> Self {
        GroupState {
            key,
            rule,
            labels,
            members: BTreeSet::new(),
            first_firing_ms: None,
            last_sent_ms: None,
            notified: BTreeSet::new(),
            resolved: Vec::new(),
            sequence: 0,
        }
    }

    /// Records a sent notification.
    pub fn sent(&mut self, now_ms: i64, firing: BTreeSet<String>) {
        self.last_sent_ms = Some(now_ms);
        self.notified = firing;
        self.resolved.clear();
        self.sequence += 1;
    }

    /// Ends the episode after its resolve notification.
    pub fn closed(&mut self) {
        self.last_sent_ms = None;
        self.first_firing_ms = None;
        self.notified.clear();
        self.resolved.clear();
        self.sequence += 1;
    }
}

/// Decides what `group` does at `now_ms`, given the fingerprints of its active (firing,
/// not muted) alerts.
pub fn decide(group: &GroupState, active: &BTreeSet<String>, now_ms: i64, timing: Timing) -> Due {
    if active.is_empty() {
        // Nothing to announce as firing: resolve what was announced, once it all resolved.
        let announced_still_active = group.notified.iter().any(|fp| active.contains(fp));
        if !group.resolved.is_empty() && !announced_still_active {
            return Due::Resolved;
        }
        return Due::Nothing;
    }
    let due_ms = match group.last_sent_ms {
        None => group.first_firing_ms.unwrap_or(now_ms) + timing.group_wait_ms,
        Some(last) => {
            let changed =
                !group.resolved.is_empty() || active.iter().any(|fp| !group.notified.contains(fp));
            if changed {
                last + timing.group_interval_ms
            } else {
                last + timing.repeat_interval_ms
            }
        }
    };
    if now_ms >= due_ms {
        Due::Firing
    } else {
        Due::Nothing
    }
}

/// Whether [`decide`] can return anything but [`Due::Nothing`] for `group` at `now_ms`,
/// whatever its active alerts: false while its next timer is in the future and it has
/// neither resolved alerts to announce nor members left (an empty group is removed).
/// Lets a tick skip the groups that wait without computing their active alerts.
pub fn may_be_due(group: &GroupState, now_ms: i64, timing: Timing) -> bool {
    if !group.resolved.is_empty() || group.members.is_empty() {
        return true;
    }
    let earliest_ms = match group.last_sent_ms {
        None => group.first_firing_ms.unwrap_or(now_ms) + timing.group_wait_ms,
        Some(last) => last + timing.group_interval_ms.min(timing.repeat_interval_ms),
    };
    now_ms >= earliest_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        group_wait_ms: 100,
        group_interval_ms: 1_000,
        repeat_interval_ms: 10_000,
    };

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_message_waits_for_the_group_then_repeats_per_interval() {
        let mut group = GroupState::new("g".into(), "r".into(), BTreeMap::new());
        group.first_firing_ms = Some(1_000);
        let active = set(&["a", "b"]);
        assert_eq!(decide(&group, &active, 1_050, TIMING), Due::Nothing);
        assert_eq!(decide(&group, &active, 1_100, TIMING), Due::Firing);
        group.sent(1_100, active.clone());
        assert_eq!(decide(&group, &active, 5_000, TIMING), Due::Nothing);
        assert_eq!(decide(&group, &active, 11_100, TIMING), Due::Firing);
    }

    #[test]
    fn new_alerts_join_at_the_group_interval() {
        let mut group = GroupState::new("g".into(), "r".into(), BTreeMap::new());
        group.sent(0, set(&["a"]));
        let grown = set(&["a", "b"]);
        assert_eq!(decide(&group, &grown, 999, TIMING), Due::Nothing);
        assert_eq!(decide(&group, &grown, 1_000, TIMING), Due::Firing);
    }

    #[test]
    fn resolution_is_announced_once_everything_announced_resolved() {
        let mut group = GroupState::new("g".into(), "r".into(), BTreeMap::new());
        group.sent(0, set(&["a"]));
        assert_eq!(decide(&group, &set(&[]), 50, TIMING), Due::Nothing);
        group.resolved.push(crate::test_support::alert("a"));
        assert_eq!(decide(&group, &set(&[]), 50, TIMING), Due::Resolved);
        group.closed();
        assert_eq!(group.last_sent_ms, None);
        assert_eq!(decide(&group, &set(&[]), 60, TIMING), Due::Nothing);
    }

    fn group_strategy() -> impl Strategy<Value = (GroupState, BTreeSet<String>, i64)> {
        let fingerprints = || proptest::collection::btree_set("[a-d]", 0..4);
        (
            fingerprints(),
            fingerprints(),
            fingerprints(),
            proptest::option::of(0i64..5_000),
            proptest::option::of(0i64..5_000),
            0usize..2,
            0i64..20_000,
        )
            .prop_map(|(members, notified, active, first, last, resolved, now)| {
                let mut group = GroupState::new("g".into(), "r".into(), BTreeMap::new());
                group.members = members;
                group.notified = notified;
                group.first_firing_ms = first;
                group.last_sent_ms = last;
                for fingerprint in (0..resolved).map(|i| format!("r{i}")) {
                    group
                        .resolved
                        .push(crate::test_support::alert(&fingerprint));
                }
                (group, active, now)
            })
    }

    use proptest::prelude::*;

    proptest! {
        /// Skipping a group that is not [`may_be_due`] never skips a message.
        #[test]
        fn a_group_not_due_decides_nothing((group, active, now) in group_strategy()) {
            if !may_be_due(&group, now, TIMING) {
                prop_assert_eq!(decide(&group, &active, now, TIMING), Due::Nothing);
            }
        }
    }
}
