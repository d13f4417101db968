//! What part of a machine a series describes, and a machine's usage state.

use serde::{Deserialize, Serialize};

/// The domain of a series; alert rules and the dashboard group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Cpu,
    Memory,
    Network,
    Storage,
    Login,
    Content,
    Traffic,
    /// Application logs read as text (log patterns and their rates).
    Log,
    Other,
}

impl Domain {
    /// Every domain, in declaration order.
    pub const ALL: &'static [Domain] = &[
        Domain::Cpu,
        Domain::Memory,
        Domain::Network,
        Domain::Storage,
        Domain::Login,
        Domain::Content,
        Domain::Traffic,
        Domain::Log,
        Domain::Other,
    ];

    /// The domain named `name` (`cpu`, `login`, ...), if there is one.
    pub fn parse(name: &str) -> Option<Domain> {
        Domain::ALL
            .iter()
            .copied()
            .find(|domain| domain.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Cpu => "cpu",
            Domain::Memory => "memory",
            Domain::Network => "network",
            Domain::Storage => "storage",
            Domain::Login => "login",
            Domain::Content => "content",
            Domain::Traffic => "traffic",
            Domain::Log => "log",
            Domain::Other => "other",
        }
    }

    /// Guesses the domain from a metric name (`node_cpu_seconds_total` → cpu).
    pub fn infer(metric_name: &str) -> Domain {
        let name = metric_name.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|word| name.contains(word));
        if has(&["cpu", "load"]) {
            Domain::Cpu
        } else if has(&["mem", "swap"]) {
            Domain::Memory
        } else if has(&["disk", "filesystem", "storage", "volume"]) {
            Domain::Storage
        } else if has(&[
            "net",
            "packet",
            "bytes_in",
            "bytes_out",
            "syn",
            "udp",
            "tcp",
        ]) {
            Domain::Network
        } else if has(&["login", "auth", "ssh"]) {
            Domain::Login
        } else if has(&["request", "http", "traffic"]) {
            Domain::Traffic
        } else if name.starts_with("log_") {
            Domain::Log
        } else {
            Domain::Other
        }
    }
}

/// How a machine is being used, from the usage rules of the detection engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UsageState {
    #[default]
    Normal,
    Idle,
    Underused,
    Surge,
    SharpDrop,
}

impl UsageState {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageState::Normal => "normal",
            UsageState::Idle => "idle",
            UsageState::Underused => "underused",
            UsageState::Surge => "surge",
            UsageState::SharpDrop => "sharp_drop",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_domains_from_common_names() {
        assert_eq!(Domain::infer("node_cpu_seconds_total"), Domain::Cpu);
        assert_eq!(Domain::infer("CPUUtilization"), Domain::Cpu);
        assert_eq!(Domain::infer("mem_used_percent"), Domain::Memory);
        assert_eq!(
            Domain::infer("node_filesystem_avail_bytes"),
            Domain::Storage
        );
        assert_eq!(Domain::infer("NetworkIn"), Domain::Network);
        assert_eq!(Domain::infer("temperature"), Domain::Other);
    }

    #[test]
    fn every_domain_parses_from_its_name() {
        for domain in Domain::ALL {
            assert_eq!(Domain::parse(domain.as_str()), Some(*domain));
        }
        assert_eq!(Domain::parse("nope"), None);
    }
}
