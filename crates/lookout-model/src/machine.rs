//! Which machine a series belongs to: one rule for every part of lookout.
//!
//! The usage states, the dashboard's overview of machines and the text of alerts all
//! need to say which machine a series is about. They ask a [`MachineIdentity`]: the
//! first of its label names that a series carries names the machine. The list is
//! configured once (`[usage] machine_labels`); its default, [`DEFAULT_MACHINE_LABELS`],
//! covers CloudWatch (`instance_id`), the host source and Influx agents (`host`), and
//! Prometheus scrapes (`instance`). A series with none of them belongs to no machine.

use crate::key::Labels;

/// The default label names, in order of preference.
pub const DEFAULT_MACHINE_LABELS: &[&str] = &["instance_id", "host", "instance"];

/// The label names that name a machine, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineIdentity {
    labels: Vec<String>,
}

impl Default for MachineIdentity {
    fn default() -> Self {
        MachineIdentity::new(DEFAULT_MACHINE_LABELS.iter().map(|name| name.to_string()))
    }
}

impl MachineIdentity {
    pub fn new(labels: impl IntoIterator<Item = String>) -> Self {
        MachineIdentity {
            labels: labels.into_iter().collect(),
        }
    }

    /// The label names, in order of preference.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The machine of a series with these labels: the value of the first machine label
    /// it carries.
    pub fn machine<'a>(&self, labels: &'a Labels) -> Option<&'a str> {
        self.machine_label(labels).map(|(_, value)| value)
    }

    /// The first machine label a series carries, as (name, value).
    pub fn machine_label<'a, 'b>(&'a self, labels: &'b Labels) -> Option<(&'a str, &'b str)> {
        self.labels.iter().find_map(|name| {
            labels
                .get(name)
                .map(|value| (name.as_str(), value.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn the_first_configured_label_wins() {
        let identity = MachineIdentity::default();
        let both = labels(&[("host", "web-1"), ("instance_id", "i-0abc")]);
        assert_eq!(identity.machine(&both), Some("i-0abc"));
        assert_eq!(
            identity.machine_label(&labels(&[("instance", "10.0.0.5:9100")])),
            Some(("instance", "10.0.0.5:9100"))
        );
        assert_eq!(identity.machine(&labels(&[("job", "node")])), None);
    }

    #[test]
    fn a_configured_list_replaces_the_default() {
        let identity = MachineIdentity::new(["node".to_string()]);
        assert_eq!(
            identity.machine(&labels(&[("node", "n1"), ("host", "h")])),
            Some("n1")
        );
        assert_eq!(identity.machine(&labels(&[("host", "h")])), None);
    }
}
