//! The `host` source: this machine's CPU, memory, disks, network and load.
//!
//! Reads Linux `/proc/stat`, `/proc/meminfo`, `/proc/loadavg`, `/proc/mounts` (+ `statvfs`
//! per mount), `/proc/diskstats` and `/proc/net/dev` at every tick. Gauges (memory, disk
//! usage, load) are reported from the first tick; rates and CPU percentages need two
//! snapshots, so the first tick only primes them. A counter that goes backwards is a
//! reset (or an unwrapped 32-bit wrap, see [`rates`]) and yields no rate for that interval.
//!
//! Every series carries `host="<hostname>"` and `source="host"` (plus the source's
//! configured `labels`) and its own labels (`cpu`, `mode`, `mount`, `device`, `fstype`,
//! `interface`). The full list, with units, is in `HOST_METRICS.md`:
//!
//! | Series | Unit | Own labels |
//! |---|---|---|
//! | `host_cpu_utilization_percent` | % of all CPUs | — |
//! | `host_cpu_mode_percent` | % | `mode` = user, system, iowait, steal, idle |
//! | `host_cpu_core_utilization_percent` | % of one core | `cpu` |
//! | `host_memory_{total,available,used}_bytes`, `host_memory_used_percent` | bytes, % | — |
//! | `host_swap_used_bytes`, `host_swap_used_percent` | bytes, % (only with swap) | — |
//! | `host_disk_{total,used,free}_bytes`, `host_disk_used_percent`, `host_disk_inodes_used_percent` | bytes, % | `mount`, `device`, `fstype` |
//! | `host_disk_{read,write}_bytes_per_second`, `host_disk_{reads,writes}_per_second`, `host_disk_io_utilization_percent` | bytes/s, ops/s, % | `device` |
//! | `host_network_{receive,transmit}_{bytes,packets,errors,drops}_per_second` | per second | `interface` |
//! | `host_load1`, `host_load5`, `host_load15` | runnable tasks | — |
//!
//! Cost: a handful of small file reads and one `statvfs` per real filesystem per tick;
//! memory is one snapshot of counters per CPU, disk and interface.
//!
//! What it misses: per-process figures, hardware sensors, non-Linux hosts (every read
//! fails with a message naming the file, and the source backs off).

pub mod files;
mod metrics;
pub mod procfs;
pub mod rates;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lookout_config::HostSourceConfig;
use lookout_model::clock::now_ms;
use lookout_model::Labels;

pub use files::{FsUsage, HostFiles, LinuxHost};
pub use metrics::{cpu_shares, CpuShares};

use crate::{Collected, Collector, PollingSource};
use metrics::Emitter;
use procfs::{CpuStat, DiskCounters, NetCounters};

/// The host source for a `[[source]] type = "host"` table, reading this machine.
pub fn host_source(config: &HostSourceConfig) -> PollingSource<HostCollector<LinuxHost>> {
    PollingSource::new(
        "host",
        config.interval,
        HostCollector::new(LinuxHost::default(), config),
    )
}

impl crate::registry::BuildSource for HostSourceConfig {
    fn build_source(
        &self,
        _index: usize,
    ) -> Result<(Box<dyn crate::Source>, crate::Delivery), String> {
        Ok((Box::new(host_source(self)), crate::Delivery::Live))
    }
}

/// Counters kept from the previous tick to compute rates.
#[derive(Debug, Default)]
struct Snapshot {
    at: Duration,
    cpu: Option<CpuStat>,
    disks: Option<BTreeMap<String, DiskCounters>>,
    interfaces: Option<BTreeMap<String, NetCounters>>,
}

/// Collects the host metrics from a [`HostFiles`]; see the module documentation.
pub struct HostCollector<F: HostFiles> {
    files: F,
    config: HostSourceConfig,
    common_labels: Labels,
    previous: Option<Snapshot>,
    started: Instant,
    /// Whole-disk answers per device name, cached (devices rarely change).
    whole_disk: BTreeMap<String, Option<bool>>,
}

impl<F: HostFiles> HostCollector<F> {
    pub fn new(files: F, config: &HostSourceConfig) -> Self {
        let hostname = config
            .hostname
            .clone()
            .unwrap_or_else(|| read_hostname(&files));
        let mut common_labels = config.labels.clone();
        common_labels.insert("host".to_string(), hostname);
        common_labels.insert("source".to_string(), "host".to_string());
        HostCollector {
            files,
            config: config.clone(),
            common_labels,
            previous: None,
            started: Instant::now(),
            whole_disk: BTreeMap::new(),
        }
    }

    /// The `host` label of every series.
    pub fn hostname(&self) -> &str {
        &self.common_labels["host"]
    }

    /// Collects once. `timestamp_ms` stamps the samples; `monotonic` (time since any
    /// fixed origin) measures the interval between snapshots for rates.
    pub fn collect_at(&mut self, timestamp_ms: i64, monotonic: Duration) -> Collected {
        let mut out = Emitter::new(timestamp_ms, &self.common_labels);
        let mut errors = Vec::new();
        let previous = self.previous.take().unwrap_or_default();
        let elapsed = monotonic.saturating_sub(previous.at);
        let mut current = Snapshot {
            at: monotonic,
            ..Snapshot::default()
        };

        let files = &self.files;
        let stat = load(files, "stat", procfs::parse_stat, &mut errors);
        let memory = load(files, "meminfo", procfs::parse_meminfo, &mut errors);
        let load_average = load(files, "loadavg", procfs::parse_loadavg, &mut errors);
        let mounts = load(files, "mounts", procfs::parse_mounts, &mut errors);
        let disks = load(files, "diskstats", procfs::parse_diskstats, &mut errors);
        let interfaces = load(files, "net/dev", procfs::parse_net_dev, &mut errors);

        if let Some(stat) = stat {
            if let Some(before) = &previous.cpu {
                metrics::emit_cpu(&mut out, before, &stat, self.config.per_cpu);
            }
            current.cpu = Some(stat);
        }
        if let Some(memory) = memory {
            metrics::emit_memory(&mut out, &memory);
        }
        if let Some(load_average) = load_average {
            metrics::emit_load(&mut out, &load_average);
        }
        if let Some(mounts) = mounts {
            for mount in metrics::select_mounts(&mounts, &self.config.mounts) {
                match files.filesystem_usage(&mount.mount_point) {
                    Ok(usage) => metrics::emit_filesystem(&mut out, mount, &usage),
                    Err(message) => errors.push(message),
                }
            }
        }
        if let Some(disks) = disks {
            if let Some(before) = &previous.disks {
                let filter = &self.config.devices;
                let whole_disk = &mut self.whole_disk;
                let include = |device: &str| {
                    let whole = *whole_disk
                        .entry(device.to_string())
                        .or_insert_with(|| files.is_whole_disk(device));
                    filter.allows(device) && whole != Some(false)
                };
                metrics::emit_disk_io(&mut out, before, &disks, elapsed, include);
            }
            current.disks = Some(disks);
        }
        if let Some(interfaces) = interfaces {
            if let Some(before) = &previous.interfaces {
                metrics::emit_network(
                    &mut out,
                    before,
                    &interfaces,
                    elapsed,
                    &self.config.interfaces,
                );
            }
            current.interfaces = Some(interfaces);
        }
        let samples = out.samples;
        self.previous = Some(current);
        Collected {
            samples,
            errors,
            ..Collected::default()
        }
    }
}

impl<F: HostFiles> Collector for HostCollector<F> {
    fn collect(&mut self) -> Collected {
        let timestamp_ms = now_ms();
        let monotonic = self.started.elapsed();
        self.collect_at(timestamp_ms, monotonic)
    }
}

/// Reads and parses one `/proc` file; failures become messages naming the file.
fn load<T>(
    files: &impl HostFiles,
    relative: &str,
    parse: fn(&str) -> Result<T, procfs::ParseError>,
    errors: &mut Vec<String>,
) -> Option<T> {
    let text = files
        .read_proc(relative)
        .map_err(|message| errors.push(message))
        .ok()?;
    parse(&text)
        .map_err(|error| {
            errors.push(format!(
                "cannot parse {}: {error}",
                files.proc_path(relative)
            ))
        })
        .ok()
}

/// The kernel's hostname, else `$HOSTNAME`, else `localhost`.
fn read_hostname(files: &impl HostFiles) -> String {
    files
        .read_proc("sys/kernel/hostname")
        .ok()
        .map(|text| text.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_string())
}
