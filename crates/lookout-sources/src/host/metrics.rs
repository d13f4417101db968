//! From parsed `/proc` snapshots to series values. Pure: no IO, no clock.
//!
//! Every function pushes `(name, labels, value)` into an [`Emitter`], which adds the
//! source's common labels (`host`, `source`, configured labels) and the timestamp.

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_config::NameFilter;
use lookout_model::{Labels, Sample, SeriesKey};

use super::files::FsUsage;
use super::procfs::{
    CpuStat, CpuTimes, DiskCounters, LoadAverage, MemInfo, Mount, NetCounters, SECTOR_BYTES,
};
use super::rates::{counter_delta, per_second};

/// Collects samples that share a timestamp and common labels.
pub struct Emitter<'a> {
    pub timestamp_ms: i64,
    pub common: &'a Labels,
    pub samples: Vec<Sample>,
}

impl<'a> Emitter<'a> {
    pub fn new(timestamp_ms: i64, common: &'a Labels) -> Self {
        Emitter {
            timestamp_ms,
            common,
            samples: Vec::new(),
        }
    }

    /// Adds a sample; non-finite values are dropped (they carry no information).
    pub fn emit(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        let mut key = SeriesKey {
            name: name.to_string(),
            labels: self.common.clone(),
        };
        for (label, label_value) in labels {
            key.labels
                .insert((*label).to_string(), (*label_value).to_string());
        }
        self.samples.push(Sample {
            key,
            timestamp_ms: self.timestamp_ms,
            value,
        });
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        return 0.0;
    }
    (part / whole * 100.0).clamp(0.0, 100.0)
}

/// Utilisation and mode split of one CPU between two readings; `None` after a reset or
/// when no tick elapsed.
pub fn cpu_shares(previous: &CpuTimes, current: &CpuTimes) -> Option<CpuShares> {
    let total = counter_delta(previous.total(), current.total())? as f64;
    if total <= 0.0 {
        return None;
    }
    let delta = |before: u64, after: u64| counter_delta(before, after).unwrap_or(0) as f64;
    let idle = delta(previous.idle, current.idle);
    let iowait = delta(previous.iowait, current.iowait);
    let user = delta(previous.user, current.user) + delta(previous.nice, current.nice);
    let system = delta(previous.system, current.system)
        + delta(previous.irq, current.irq)
        + delta(previous.softirq, current.softirq);
    let steal = delta(previous.steal, current.steal);
    Some(CpuShares {
        utilization: percent(total - idle - iowait, total),
        user: percent(user, total),
        system: percent(system, total),
        iowait: percent(iowait, total),
        steal: percent(steal, total),
        idle: percent(idle, total),
    })
}

/// Percentages of CPU time, each in `[0, 100]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuShares {
    /// Everything but idle and iowait.
    pub utilization: f64,
    /// user + nice
    pub user: f64,
    /// system + irq + softirq
    pub system: f64,
    pub iowait: f64,
    pub steal: f64,
    pub idle: f64,
}

pub fn emit_cpu(out: &mut Emitter<'_>, previous: &CpuStat, current: &CpuStat, per_cpu: bool) {
    if let Some(shares) = cpu_shares(&previous.total, &current.total) {
        out.emit("host_cpu_utilization_percent", &[], shares.utilization);
        for (mode, value) in [
            ("user", shares.user),
            ("system", shares.system),
            ("iowait", shares.iowait),
            ("steal", shares.steal),
            ("idle", shares.idle),
        ] {
            out.emit("host_cpu_mode_percent", &[("mode", mode)], value);
        }
    }
    if !per_cpu {
        return;
    }
    for (core, times) in &current.cores {
        let Some(before) = previous.cores.get(core) else {
            continue;
        };
        if let Some(shares) = cpu_shares(before, times) {
            out.emit(
                "host_cpu_core_utilization_percent",
                &[("cpu", &core.to_string())],
                shares.utilization,
            );
        }
    }
}

pub fn emit_memory(out: &mut Emitter<'_>, memory: &MemInfo) {
    let total = memory.total as f64;
    let used = memory.total.saturating_sub(memory.available) as f64;
    out.emit("host_memory_total_bytes", &[], total);
    out.emit("host_memory_available_bytes", &[], memory.available as f64);
    out.emit("host_memory_used_bytes", &[], used);
    out.emit("host_memory_used_percent", &[], percent(used, total));
    if memory.swap_total > 0 {
        let swap_used = memory.swap_total.saturating_sub(memory.swap_free) as f64;
        out.emit("host_swap_used_bytes", &[], swap_used);
        out.emit(
            "host_swap_used_percent",
            &[],
            percent(swap_used, memory.swap_total as f64),
        );
    }
}

pub fn emit_load(out: &mut Emitter<'_>, load: &LoadAverage) {
    out.emit("host_load1", &[], load.one);
    out.emit("host_load5", &[], load.five);
    out.emit("host_load15", &[], load.fifteen);
}

/// The mounts to report: real filesystems allowed by the filter, one per device (the
/// first mount of a device wins, so bind mounts are not counted twice).
pub fn select_mounts<'m>(mounts: &'m [Mount], filter: &NameFilter) -> Vec<&'m Mount> {
    let mut seen_devices = std::collections::BTreeSet::new();
    mounts
        .iter()
        .filter(|mount| !super::procfs::is_pseudo_filesystem(&mount.fs_type))
        .filter(|mount| filter.allows(&mount.mount_point))
        .filter(|mount| seen_devices.insert(mount.device.as_str()))
        .collect()
}

pub fn emit_filesystem(out: &mut Emitter<'_>, mount: &Mount, usage: &FsUsage) {
    if usage.total_bytes == 0 {
        return;
    }
    let labels = [
        ("mount", mount.mount_point.as_str()),
        ("device", mount.device.as_str()),
        ("fstype", mount.fs_type.as_str()),
    ];
    let used = usage.total_bytes.saturating_sub(usage.free_bytes) as f64;
    out.emit("host_disk_total_bytes", &labels, usage.total_bytes as f64);
    out.emit("host_disk_used_bytes", &labels, used);
    out.emit(
        "host_disk_free_bytes",
        &labels,
        usage.available_bytes as f64,
    );
    // As df: used over the space usable by unprivileged users (reserved blocks excluded).
    out.emit(
        "host_disk_used_percent",
        &labels,
        percent(used, used + usage.available_bytes as f64),
    );
    if usage.total_inodes > 0 {
        let inodes_used = usage.total_inodes.saturating_sub(usage.free_inodes) as f64;
        out.emit(
            "host_disk_inodes_used_percent",
            &labels,
            percent(inodes_used, usage.total_inodes as f64),
        );
    }
}

pub fn emit_disk_io(
    out: &mut Emitter<'_>,
    previous: &BTreeMap<String, DiskCounters>,
    current: &BTreeMap<String, DiskCounters>,
    elapsed: Duration,
    mut include: impl FnMut(&str) -> bool,
) {
    for (device, now) in current {
        let Some(before) = previous.get(device) else {
            continue;
        };
        if !include(device) {
            continue;
        }
        let labels = [("device", device.as_str())];
        let rate = |a: u64, b: u64| per_second(a, b, elapsed);
        if let Some(value) = rate(before.sectors_read, now.sectors_read) {
            out.emit(
                "host_disk_read_bytes_per_second",
                &labels,
                value * SECTOR_BYTES as f64,
            );
        }
        if let Some(value) = rate(before.sectors_written, now.sectors_written) {
            out.emit(
                "host_disk_write_bytes_per_second",
                &labels,
                value * SECTOR_BYTES as f64,
            );
        }
        if let Some(value) = rate(before.reads, now.reads) {
            out.emit("host_disk_reads_per_second", &labels, value);
        }
        if let Some(value) = rate(before.writes, now.writes) {
            out.emit("host_disk_writes_per_second", &labels, value);
        }
        if let Some(busy_ms) = counter_delta(before.io_ms, now.io_ms) {
            let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
            if elapsed_ms > 0.0 {
                out.emit(
                    "host_disk_io_utilization_percent",
                    &labels,
                    percent(busy_ms as f64, elapsed_ms),
                );
            }
        }
    }
}

pub fn emit_network(
    out: &mut Emitter<'_>,
    previous: &BTreeMap<String, NetCounters>,
    current: &BTreeMap<String, NetCounters>,
    elapsed: Duration,
    filter: &NameFilter,
) {
    for (interface, now) in current {
        let Some(before) = previous.get(interface) else {
            continue;
        };
        if !filter.allows(interface) {
            continue;
        }
        let labels = [("interface", interface.as_str())];
        let pairs = [
            (
                "host_network_receive_bytes_per_second",
                before.rx_bytes,
                now.rx_bytes,
            ),
            (
                "host_network_transmit_bytes_per_second",
                before.tx_bytes,
                now.tx_bytes,
            ),
            (
                "host_network_receive_packets_per_second",
                before.rx_packets,
                now.rx_packets,
            ),
            (
                "host_network_transmit_packets_per_second",
                before.tx_packets,
                now.tx_packets,
            ),
            (
                "host_network_receive_errors_per_second",
                before.rx_errors,
                now.rx_errors,
            ),
            (
                "host_network_transmit_errors_per_second",
                before.tx_errors,
                now.tx_errors,
            ),
            (
                "host_network_receive_drops_per_second",
                before.rx_drops,
                now.rx_drops,
            ),
            (
                "host_network_transmit_drops_per_second",
                before.tx_drops,
                now.tx_drops,
            ),
        ];
        for (name, a, b) in pairs {
            if let Some(value) = per_second(a, b, elapsed) {
                out.emit(name, &labels, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(user: u64, system: u64, idle: u64, iowait: u64) -> CpuTimes {
        CpuTimes {
            user,
            system,
            idle,
            iowait,
            ..CpuTimes::default()
        }
    }

    #[test]
    fn cpu_shares_split_the_elapsed_ticks() {
        let shares = cpu_shares(&times(100, 50, 800, 50), &times(160, 70, 900, 70)).unwrap();
        // 200 ticks: user 60, system 20, idle 100, iowait 20.
        assert_eq!(shares.utilization, 40.0);
        assert_eq!(shares.user, 30.0);
        assert_eq!(shares.system, 10.0);
        assert_eq!(shares.idle, 50.0);
        assert_eq!(shares.iowait, 10.0);
    }

    #[test]
    fn cpu_shares_skip_resets_and_empty_intervals() {
        assert_eq!(
            cpu_shares(&times(10, 10, 10, 10), &times(10, 10, 10, 10)),
            None
        );
        assert_eq!(
            cpu_shares(&times(10_000_000_000, 0, 0, 0), &times(5, 0, 0, 0)),
            None
        );
    }

    #[test]
    fn emitted_samples_carry_common_and_own_labels() {
        let common: Labels = [
            ("host".to_string(), "web-1".to_string()),
            ("source".to_string(), "host".to_string()),
        ]
        .into();
        let mut out = Emitter::new(42, &common);
        out.emit("host_load1", &[], 0.5);
        out.emit("host_disk_used_percent", &[("mount", "/")], 10.0);
        out.emit("host_load5", &[], f64::NAN);
        assert_eq!(out.samples.len(), 2);
        assert_eq!(
            out.samples[1].key.to_string(),
            r#"host_disk_used_percent{host="web-1",mount="/",source="host"}"#
        );
        assert_eq!(out.samples[1].timestamp_ms, 42);
    }
}
