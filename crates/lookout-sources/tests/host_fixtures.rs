//! The host collector over two ticks of fixture files: priming, rates, wraps, resets,
//! filters and error reporting.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lookout_config::{Config, HostSourceConfig, SourceConfig};
use lookout_sources::host::{FsUsage, HostCollector, HostFiles};

/// A host whose `/proc` files are fixtures, switchable between two ticks.
#[derive(Clone)]
struct FixtureHost {
    tick: Arc<Mutex<usize>>,
    missing: Arc<Mutex<Vec<&'static str>>>,
}

impl FixtureHost {
    fn new() -> Self {
        FixtureHost {
            tick: Arc::new(Mutex::new(0)),
            missing: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl HostFiles for FixtureHost {
    fn read_proc(&self, relative: &str) -> Result<String, String> {
        if self.missing.lock().unwrap().contains(&relative) {
            return Err(format!(
                "cannot read /proc/{relative}: Permission denied (os error 13)"
            ));
        }
        let second = *self.tick.lock().unwrap() > 0;
        let text = match (relative, second) {
            ("stat", false) => include_str!("fixtures/stat_1"),
            ("stat", true) => include_str!("fixtures/stat_2"),
            ("meminfo", _) => include_str!("fixtures/meminfo"),
            ("loadavg", _) => include_str!("fixtures/loadavg"),
            ("mounts", _) => include_str!("fixtures/mounts"),
            ("diskstats", false) => include_str!("fixtures/diskstats_1"),
            ("diskstats", true) => include_str!("fixtures/diskstats_2"),
            ("net/dev", false) => include_str!("fixtures/net_dev_1"),
            ("net/dev", true) => include_str!("fixtures/net_dev_2"),
            ("sys/kernel/hostname", _) => "fixture-host\n",
            _ => {
                return Err(format!(
                    "cannot read /proc/{relative}: No such file or directory (os error 2)"
                ))
            }
        };
        Ok(text.to_string())
    }

    fn proc_path(&self, relative: &str) -> String {
        format!("/proc/{relative}")
    }

    fn filesystem_usage(&self, mount_point: &str) -> Result<FsUsage, String> {
        const GB: u64 = 1_000_000_000;
        match mount_point {
            "/" => Ok(FsUsage {
                total_bytes: 100 * GB,
                free_bytes: 40 * GB,
                available_bytes: 35 * GB,
                total_inodes: 1_000,
                free_inodes: 250,
            }),
            other => Err(format!(
                "statvfs({other}) failed: Permission denied (os error 13)"
            )),
        }
    }

    fn is_whole_disk(&self, device: &str) -> Option<bool> {
        Some(
            !device.ends_with(char::is_numeric)
                || device.starts_with("loop")
                || device.starts_with("zram"),
        )
    }
}

fn default_host_config() -> HostSourceConfig {
    match &Config::default().sources[0] {
        SourceConfig::Host(host) => host.clone(),
        other => panic!("unexpected default source {other:?}"),
    }
}

/// Series rendered as `name{labels}` (without the common labels) → value.
fn by_series(samples: &[lookout_model::Sample]) -> BTreeMap<String, f64> {
    samples
        .iter()
        .map(|sample| {
            let mut key = sample.key.clone();
            assert_eq!(
                key.labels.remove("host").as_deref(),
                Some("fixture-host"),
                "{}",
                sample.key
            );
            assert_eq!(
                key.labels.remove("source").as_deref(),
                Some("host"),
                "{}",
                sample.key
            );
            (key.to_string(), sample.value)
        })
        .collect()
}

fn assert_close(series: &BTreeMap<String, f64>, name: &str, expected: f64) {
    let Some(value) = series.get(name) else {
        panic!(
            "missing series {name}; have {:#?}",
            series.keys().collect::<Vec<_>>()
        );
    };
    assert!(
        (value - expected).abs() < 1e-6,
        "{name} = {value}, expected {expected}"
    );
}

fn two_ticks(
    config: &HostSourceConfig,
) -> (
    FixtureHost,
    lookout_sources::Collected,
    lookout_sources::Collected,
) {
    let host = FixtureHost::new();
    let mut collector = HostCollector::new(host.clone(), config);
    assert_eq!(collector.hostname(), "fixture-host");
    let first = collector.collect_at(1_000, Duration::from_secs(10));
    *host.tick.lock().unwrap() = 1;
    let second = collector.collect_at(3_000, Duration::from_secs(12));
    (host, first, second)
}

#[test]
fn the_first_tick_reports_gauges_only() {
    let (_, first, _) = two_ticks(&default_host_config());
    let series = by_series(&first.samples);
    assert_close(&series, "host_memory_used_percent", 25.0);
    assert_close(&series, "host_load1", 6.73);
    assert!(
        series
            .keys()
            .all(|name| !name.contains("per_second") && !name.starts_with("host_cpu")),
        "{series:#?}"
    );
    assert!(first
        .samples
        .iter()
        .all(|sample| sample.timestamp_ms == 1_000));
}

#[test]
fn cpu_utilization_from_two_snapshots() {
    let (_, _, second) = two_ticks(&default_host_config());
    let series = by_series(&second.samples);
    assert_close(&series, "host_cpu_utilization_percent", 50.0);
    assert_close(&series, r#"host_cpu_mode_percent{mode="user"}"#, 30.0);
    assert_close(&series, r#"host_cpu_mode_percent{mode="system"}"#, 20.0);
    assert_close(&series, r#"host_cpu_mode_percent{mode="iowait"}"#, 10.0);
    assert_close(&series, r#"host_cpu_mode_percent{mode="idle"}"#, 40.0);
    assert_close(&series, r#"host_cpu_mode_percent{mode="steal"}"#, 0.0);
    assert_close(
        &series,
        r#"host_cpu_core_utilization_percent{cpu="0"}"#,
        60.0,
    );
    assert_close(
        &series,
        r#"host_cpu_core_utilization_percent{cpu="1"}"#,
        40.0,
    );
}

#[test]
fn memory_swap_and_load() {
    let (_, _, second) = two_ticks(&default_host_config());
    let series = by_series(&second.samples);
    assert_close(&series, "host_memory_total_bytes", 16_000_000.0 * 1024.0);
    assert_close(
        &series,
        "host_memory_available_bytes",
        12_000_000.0 * 1024.0,
    );
    assert_close(&series, "host_memory_used_bytes", 4_000_000.0 * 1024.0);
    assert_close(&series, "host_swap_used_bytes", 1_000_000.0 * 1024.0);
    assert_close(&series, "host_swap_used_percent", 25.0);
    assert_close(&series, "host_load5", 5.67);
    assert_close(&series, "host_load15", 3.28);
}

#[test]
fn disk_usage_of_real_filesystems_and_errors_for_the_rest() {
    let (_, _, second) = two_ticks(&default_host_config());
    let series = by_series(&second.samples);
    let root = r#"{device="/dev/vda1",fstype="ext4",mount="/"}"#;
    assert_close(&series, &format!("host_disk_total_bytes{root}"), 100e9);
    assert_close(&series, &format!("host_disk_used_bytes{root}"), 60e9);
    assert_close(&series, &format!("host_disk_free_bytes{root}"), 35e9);
    assert_close(
        &series,
        &format!("host_disk_used_percent{root}"),
        60.0 / 95.0 * 100.0,
    );
    assert_close(
        &series,
        &format!("host_disk_inodes_used_percent{root}"),
        75.0,
    );
    // Pseudo filesystems and the second mount of /dev/vda1 are skipped.
    assert!(!series
        .keys()
        .any(|k| k.contains("tmpfs") || k.contains("/etc/hosts") || k.contains("overlay")));
    assert_eq!(
        second.errors,
        ["statvfs(/mnt/backup disk) failed: Permission denied (os error 13)"]
    );
}

#[test]
fn disk_io_rates_of_whole_disks() {
    let (_, _, second) = two_ticks(&default_host_config());
    let series = by_series(&second.samples);
    let vda = r#"{device="vda"}"#;
    assert_close(&series, &format!("host_disk_reads_per_second{vda}"), 50.0);
    assert_close(&series, &format!("host_disk_writes_per_second{vda}"), 200.0);
    assert_close(
        &series,
        &format!("host_disk_read_bytes_per_second{vda}"),
        20_480.0 * 512.0 / 2.0,
    );
    assert_close(
        &series,
        &format!("host_disk_write_bytes_per_second{vda}"),
        41_040.0 * 512.0 / 2.0,
    );
    assert_close(
        &series,
        &format!("host_disk_io_utilization_percent{vda}"),
        12.5,
    );
    // Partitions, loop and zram devices are excluded by default.
    let io_devices: Vec<&String> = series
        .keys()
        .filter(|k| k.starts_with("host_disk_") && !k.contains("mount="))
        .collect();
    assert_eq!(io_devices.len(), 5, "{io_devices:#?}");
    assert!(
        io_devices.iter().all(|k| k.ends_with(r#"{device="vda"}"#)),
        "{io_devices:#?}"
    );
}

#[test]
fn network_rates_unwrap_32_bit_counters_and_skip_resets() {
    let (_, _, second) = two_ticks(&default_host_config());
    let series = by_series(&second.samples);
    let eth0 = r#"{interface="eth0"}"#;
    // rx_bytes went from 2^32 - 296 to 704: a 32-bit wrap of 1000 bytes in 2 s.
    assert_close(
        &series,
        &format!("host_network_receive_bytes_per_second{eth0}"),
        500.0,
    );
    assert_close(
        &series,
        &format!("host_network_transmit_bytes_per_second{eth0}"),
        100_000.0,
    );
    assert_close(
        &series,
        &format!("host_network_receive_packets_per_second{eth0}"),
        500.0,
    );
    assert_close(
        &series,
        &format!("host_network_transmit_packets_per_second{eth0}"),
        500.0,
    );
    assert_close(
        &series,
        &format!("host_network_receive_errors_per_second{eth0}"),
        1.0,
    );
    assert_close(
        &series,
        &format!("host_network_transmit_errors_per_second{eth0}"),
        0.0,
    );
    assert_close(
        &series,
        &format!("host_network_receive_drops_per_second{eth0}"),
        0.0,
    );
    assert_close(
        &series,
        &format!("host_network_transmit_drops_per_second{eth0}"),
        0.5,
    );
    // wlan0's receive counters were reset: no rate this interval, transmit still reported.
    assert!(!series.contains_key(r#"host_network_receive_bytes_per_second{interface="wlan0"}"#));
    assert_close(
        &series,
        r#"host_network_transmit_bytes_per_second{interface="wlan0"}"#,
        0.0,
    );
    // lo is excluded by default.
    assert!(!series.keys().any(|k| k.contains(r#"interface="lo""#)));
}

#[test]
fn filters_and_options_from_the_configuration() {
    let text = r#"
[[source]]
type = "host"
per_cpu = false
hostname = "fixture-host"
interfaces_include = ["wlan*"]
devices_exclude = ["vda"]
mounts_exclude = ["/"]
labels = { team = "ops" }
"#;
    let config = Config::from_str_named(text, "t.toml").unwrap();
    let SourceConfig::Host(host_config) = config.sources[0].clone() else {
        panic!("not host")
    };
    let (_, _, second) = two_ticks(&host_config);
    assert!(second
        .samples
        .iter()
        .all(|sample| sample.key.labels.get("team").map(String::as_str) == Some("ops")));
    let series = by_series(&second.samples);
    let mut names: Vec<&str> = series.keys().map(String::as_str).collect();
    names.retain(|name| {
        name.contains("core")
            || name.contains("eth0")
            || name.contains("vda")
            || name.contains(r#"mount="/""#)
    });
    // per_cpu = false, eth0 not included, vda and "/" excluded.
    assert!(names.is_empty(), "{names:#?}");
    assert!(series.keys().any(|name| name.contains("wlan0")));
}

#[test]
fn unreadable_files_are_reported_by_name_and_the_rest_is_collected() {
    let host = FixtureHost::new();
    host.missing.lock().unwrap().push("diskstats");
    let mut collector = HostCollector::new(host.clone(), &default_host_config());
    let first = collector.collect_at(0, Duration::from_secs(1));
    assert!(first
        .errors
        .contains(&"cannot read /proc/diskstats: Permission denied (os error 13)".to_string()));
    assert!(first
        .samples
        .iter()
        .any(|s| s.key.name == "host_memory_used_percent"));
    // The file comes back: its rates start after one more priming tick, others keep going.
    host.missing.lock().unwrap().clear();
    *host.tick.lock().unwrap() = 1;
    let second = collector.collect_at(2_000, Duration::from_secs(3));
    assert!(second
        .samples
        .iter()
        .any(|s| s.key.name == "host_cpu_utilization_percent"));
    assert!(!second
        .samples
        .iter()
        .any(|s| s.key.name == "host_disk_reads_per_second"));
}

#[test]
fn garbled_files_are_reported_with_path_and_line() {
    struct Garbled;
    impl HostFiles for Garbled {
        fn read_proc(&self, relative: &str) -> Result<String, String> {
            match relative {
                "loadavg" => Ok("not a load average".into()),
                "meminfo" => Ok("MemTotal: 100 kB\n".into()),
                _ => Err(format!(
                    "cannot read /proc/{relative}: No such file or directory (os error 2)"
                )),
            }
        }
        fn proc_path(&self, relative: &str) -> String {
            format!("/proc/{relative}")
        }
        fn filesystem_usage(&self, _: &str) -> Result<FsUsage, String> {
            Err("unused".into())
        }
        fn is_whole_disk(&self, _: &str) -> Option<bool> {
            None
        }
    }
    let mut collector = HostCollector::new(Garbled, &default_host_config());
    let collected = collector.collect_at(0, Duration::ZERO);
    assert!(
        collected
            .errors
            .iter()
            .any(|e| e.starts_with("cannot parse /proc/loadavg: line 1: load average \"not\"")),
        "{:#?}",
        collected.errors
    );
    assert!(collected
        .samples
        .iter()
        .any(|s| s.key.name == "host_memory_total_bytes"));
}
