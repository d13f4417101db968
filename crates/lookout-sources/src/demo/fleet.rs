//! The synthetic fleet: machines, their series, and the value of every series at any time.
//!
//! Values are a pure function of `(seed, machine, metric, time)`: a daily pattern (UTC,
//! quiet at 03:00, busiest at 15:00 for web machines, a job window peaking at 03:00
//! for batch machines), a weekend dip, a slow wander (smooth noise with 30-minute knots)
//! and white noise. Nothing is stateful, so history can be generated as fast as it is
//! ingested and any point can be recomputed by a test.

use lookout_model::{Sample, SeriesKey};

use super::schedule::Schedule;

/// What a machine does; it shapes its daily pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Web,
    Db,
    Batch,
    /// A web machine with little traffic (a right-sizing candidate: downsize).
    Underused,
    /// A forgotten machine doing nothing (a right-sizing candidate: stop).
    Idle,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Machine {
    pub name: String,
    pub role: Role,
}

/// The series every machine has, in emission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Cpu,
    Memory,
    Disk,
    NetworkReceive,
    NetworkTransmit,
    StatusCheck,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Cpu,
        Metric::Memory,
        Metric::Disk,
        Metric::NetworkReceive,
        Metric::NetworkTransmit,
        Metric::StatusCheck,
    ];

    /// The series name; the same names as the host source, so dashboards and usage
    /// states treat demo machines like real ones.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "host_cpu_utilization_percent",
            Metric::Memory => "host_memory_used_percent",
            Metric::Disk => "host_disk_used_percent",
            Metric::NetworkReceive => "host_network_receive_bytes_per_second",
            Metric::NetworkTransmit => "host_network_transmit_bytes_per_second",
            Metric::StatusCheck => "status_check_failed",
        }
    }

    fn extra_label(self) -> Option<(&'static str, &'static str)> {
        match self {
            Metric::Disk => Some(("mount", "/")),
            Metric::NetworkReceive | Metric::NetworkTransmit => Some(("interface", "eth0")),
            _ => None,
        }
    }

    fn index(self) -> u64 {
        Metric::ALL.iter().position(|m| *m == self).unwrap_or(0) as u64
    }
}

/// The series key of a machine's metric.
pub fn series_key(machine: &str, metric: Metric) -> SeriesKey {
    let mut key = SeriesKey::new(metric.name())
        .with_label("host", machine)
        .with_label("source", "demo");
    if let Some((name, value)) = metric.extra_label() {
        key = key.with_label(name, value);
    }
    key
}

/// A fleet of machines with a seed.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub machines: Vec<Machine>,
    seed: u64,
}

impl Fleet {
    /// The standard twelve machines: five web, three databases, two batch, one
    /// underused web machine and one idle machine.
    pub fn standard(seed: u64) -> Fleet {
        let mut machines = Vec::new();
        let mut add = |prefix: &str, count: usize, role: Role, first: usize| {
            for number in first..first + count {
                machines.push(Machine {
                    name: format!("{prefix}-{number}"),
                    role,
                });
            }
        };
        add("web", 4, Role::Web, 1);
        add("web", 1, Role::Underused, 5);
        add("db", 3, Role::Db, 1);
        add("batch", 3, Role::Batch, 1);
        add("batch", 1, Role::Idle, 4);
        Fleet { machines, seed }
    }

    /// Every series of every machine at `timestamp_ms`, incidents of `schedule` applied.
    pub fn samples_at(&self, timestamp_ms: i64, schedule: &Schedule) -> Vec<Sample> {
        let mut samples = Vec::with_capacity(self.machines.len() * Metric::ALL.len());
        for (index, machine) in self.machines.iter().enumerate() {
            for metric in Metric::ALL {
                let normal = self.normal_value(index, machine.role, metric, timestamp_ms);
                let value = schedule.apply(&machine.name, metric, timestamp_ms, normal, |salt| {
                    self.noise(index, metric, timestamp_ms, salt)
                });
                samples.push(Sample {
                    key: series_key(&machine.name, metric),
                    timestamp_ms,
                    value,
                });
            }
        }
        samples
    }

    /// The value without incidents.
    pub fn normal_value(&self, index: usize, role: Role, metric: Metric, t: i64) -> f64 {
        let day = daily(t);
        let busy = day * weekly(t);
        let night = night_window(t);
        let white = |sigma: f64| sigma * self.noise(index, metric, t, 0);
        let wander = |sigma: f64| sigma * self.wander(index, metric, t);
        let spread = (index % 5) as f64;
        let value = match (metric, role) {
            (Metric::Cpu, Role::Web) => 15.0 + spread + 45.0 * busy + wander(2.0) + white(2.0),
            (Metric::Cpu, Role::Db) => 30.0 + spread + 15.0 * day + wander(1.5) + white(1.5),
            (Metric::Cpu, Role::Batch) => 10.0 + 50.0 * night + wander(1.0) + white(2.0),
            (Metric::Cpu, Role::Underused) => 6.0 + 8.0 * busy + white(1.0),
            (Metric::Cpu, Role::Idle) => 0.3 + white(0.1).abs(),
            (Metric::Memory, Role::Db) => 70.0 + spread + 3.0 * day + wander(0.5) + white(0.3),
            (Metric::Memory, Role::Idle) => 12.0 + white(0.2),
            (Metric::Memory, _) => 40.0 + spread + 5.0 * (day + night) + wander(0.5) + white(0.3),
            (Metric::Disk, _) => 30.0 + 5.0 * (index % 7) as f64 + wander(0.1) + white(0.05),
            (Metric::NetworkReceive | Metric::NetworkTransmit, role) => {
                let scale = if metric == Metric::NetworkReceive {
                    1.0
                } else {
                    0.6
                };
                let level = match role {
                    Role::Web => 3.0e6 * (0.2 + busy),
                    Role::Db => 1.0e6 * (0.5 + 0.5 * day),
                    Role::Batch => 4.0e5 + 2.0e6 * night,
                    Role::Underused => 2.0e5 * (0.3 + busy),
                    Role::Idle => 2.0e3,
                };
                scale * level * (1.0 + white(0.05) + wander(0.05))
            }
            (Metric::StatusCheck, _) => 0.0,
        };
        match metric {
            Metric::Cpu | Metric::Memory | Metric::Disk => value.clamp(0.0, 100.0),
            Metric::StatusCheck => value,
            _ => value.max(0.0),
        }
    }

    /// Standard normal noise, a pure function of its arguments.
    pub fn noise(&self, index: usize, metric: Metric, t: i64, salt: u64) -> f64 {
        let base = self.seed
            ^ (index as u64) << 48
            ^ metric.index() << 40
            ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        gaussian(base ^ t as u64)
    }

    /// Smooth noise: standard normal values at 30-minute knots, interpolated (cosine).
    fn wander(&self, index: usize, metric: Metric, t: i64) -> f64 {
        const KNOT_MS: i64 = 30 * 60_000;
        let knot = t.div_euclid(KNOT_MS);
        let fraction = t.rem_euclid(KNOT_MS) as f64 / KNOT_MS as f64;
        let at = |k: i64| self.noise(index, metric, k, 0x5eed);
        let weight = (1.0 - (std::f64::consts::PI * fraction).cos()) / 2.0;
        at(knot) * (1.0 - weight) + at(knot + 1) * weight
    }
}

/// 0 at 03:00 UTC, 1 at 15:00 UTC.
pub fn daily(t: i64) -> f64 {
    let hour = t.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    0.5 - 0.5 * (2.0 * std::f64::consts::PI * (hour - 3.0) / 24.0).cos()
}

/// 0.8 on Saturdays and Sundays (UTC), 1 otherwise.
pub fn weekly(t: i64) -> f64 {
    // 1970-01-01 was a Thursday: day 0 → weekday 3 (Monday = 0).
    let weekday = (t.div_euclid(86_400_000) + 3).rem_euclid(7);
    if weekday >= 5 {
        0.8
    } else {
        1.0
    }
}

/// The batch job window: a bell from 01:00 to 05:00 UTC peaking at 03:00 (raised
/// cosine), 0 otherwise.
pub fn night_window(t: i64) -> f64 {
    let hour = t.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    if !(1.0..5.0).contains(&hour) {
        return 0.0;
    }
    (1.0 - (2.0 * std::f64::consts::PI * (hour - 1.0) / 4.0).cos()) / 2.0
}

/// A standard normal value from a 64-bit key (splitmix64 then Box–Muller).
fn gaussian(key: u64) -> f64 {
    let first = splitmix64(key);
    let second = splitmix64(first);
    let u1 = ((first >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = (second >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_standard_normal_and_deterministic() {
        let fleet = Fleet::standard(7);
        let values: Vec<f64> = (0..20_000)
            .map(|i| fleet.noise(1, Metric::Cpu, i * 60_000, 0))
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((variance - 1.0).abs() < 0.05, "{variance}");
        assert_eq!(
            fleet.noise(1, Metric::Cpu, 5, 0),
            fleet.noise(1, Metric::Cpu, 5, 0)
        );
        assert_ne!(
            fleet.noise(1, Metric::Cpu, 5, 0),
            fleet.noise(2, Metric::Cpu, 5, 0)
        );
    }

    #[test]
    fn patterns_follow_the_clock() {
        assert!(daily(3 * 3_600_000) < 1e-9);
        assert!((daily(15 * 3_600_000) - 1.0).abs() < 1e-9);
        assert_eq!(night_window(3 * 3_600_000), 1.0);
        assert_eq!(night_window(12 * 3_600_000), 0.0);
        // 1970-01-03 was a Saturday.
        assert_eq!(weekly(2 * 86_400_000 + 1), 0.8);
        assert_eq!(weekly(1), 1.0);
    }

    #[test]
    fn roles_have_their_levels() {
        let fleet = Fleet::standard(1);
        let schedule = Schedule::empty();
        let afternoon = 15 * 3_600_000 + 86_400_000 * 5;
        let cpu = |name: &str| {
            fleet
                .samples_at(afternoon, &schedule)
                .into_iter()
                .find(|s| s.key.name == Metric::Cpu.name() && s.key.labels["host"] == name)
                .unwrap()
                .value
        };
        assert!(cpu("web-1") > 45.0, "{}", cpu("web-1"));
        assert!(cpu("web-5") < 30.0);
        assert!(cpu("batch-4") <= 1.0);
        assert_eq!(fleet.machines.len(), 12);
        assert_eq!(fleet.samples_at(0, &schedule).len(), 12 * Metric::ALL.len());
    }
}
