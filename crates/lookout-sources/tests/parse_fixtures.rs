//! The `/proc` parsers against fixture files.

use lookout_sources::host::procfs::*;

const STAT: &str = include_str!("fixtures/stat_1");
const MEMINFO: &str = include_str!("fixtures/meminfo");
const MEMINFO_OLD: &str = include_str!("fixtures/meminfo_old_kernel");
const DISKSTATS: &str = include_str!("fixtures/diskstats_1");
const NET_DEV: &str = include_str!("fixtures/net_dev_1");
const LOADAVG: &str = include_str!("fixtures/loadavg");
const MOUNTS: &str = include_str!("fixtures/mounts");

#[test]
fn stat_has_the_total_and_each_core() {
    let stat = parse_stat(STAT).unwrap();
    assert_eq!(
        stat.total,
        CpuTimes {
            user: 10_000,
            nice: 500,
            system: 3_000,
            idle: 80_000,
            iowait: 1_000,
            irq: 100,
            softirq: 400,
            steal: 0
        }
    );
    assert_eq!(stat.total.total(), 95_000);
    assert_eq!(stat.cores.keys().copied().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(stat.cores[&1].idle, 40_000);
}

#[test]
fn stat_of_old_kernels_with_four_columns_parses() {
    let stat = parse_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n").unwrap();
    assert_eq!(stat.total.idle, 4);
    assert_eq!(stat.total.iowait, 0);
}

#[test]
fn meminfo_converts_kilobytes() {
    let memory = parse_meminfo(MEMINFO).unwrap();
    assert_eq!(memory.total, 16_000_000 * 1024);
    assert_eq!(memory.available, 12_000_000 * 1024);
    assert_eq!(memory.swap_total, 4_000_000 * 1024);
    assert_eq!(memory.swap_free, 3_000_000 * 1024);
}

#[test]
fn meminfo_without_memavailable_estimates_it() {
    let memory = parse_meminfo(MEMINFO_OLD).unwrap();
    assert_eq!(memory.available, (200 + 100 + 300) * 1024);
    assert_eq!(memory.swap_total, 0);
}

#[test]
fn meminfo_errors_name_the_line() {
    let error = parse_meminfo("MemTotal: 10 kB\nMemFree: lots kB\n").unwrap_err();
    assert_eq!(error.line, 2);
    assert!(parse_meminfo("MemFree: 10 kB\n")
        .unwrap_err()
        .reason
        .contains("MemTotal"));
}

#[test]
fn diskstats_reads_every_device() {
    let disks = parse_diskstats(DISKSTATS).unwrap();
    assert_eq!(
        disks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["loop0", "vda", "vda1", "zram0"]
    );
    assert_eq!(
        disks["vda"],
        DiskCounters {
            reads: 1_000,
            sectors_read: 80_000,
            writes: 2_000,
            sectors_written: 160_000,
            io_ms: 1_500
        }
    );
    // The 14-field format of kernels before 4.18 (partitions on old kernels) parses too.
    assert_eq!(disks["vda1"].io_ms, 1_400);
    assert_eq!(parse_diskstats("8 0 sda 1 2 3\n").unwrap_err().line, 1);
}

#[test]
fn net_dev_skips_headers_and_reads_both_directions() {
    let interfaces = parse_net_dev(NET_DEV).unwrap();
    assert_eq!(
        interfaces.keys().map(String::as_str).collect::<Vec<_>>(),
        ["eth0", "lo", "wlan0"]
    );
    let eth0 = interfaces["eth0"];
    assert_eq!(eth0.rx_bytes, 4_294_967_000);
    assert_eq!(
        (eth0.rx_packets, eth0.rx_errors, eth0.rx_drops),
        (9_563, 1, 2)
    );
    assert_eq!((eth0.tx_bytes, eth0.tx_packets), (566_594, 5_628));
    assert!(parse_net_dev("  eth0: 1 2 3\n").is_err());
}

#[test]
fn loadavg_has_three_averages() {
    let load = parse_loadavg(LOADAVG).unwrap();
    assert_eq!((load.one, load.five, load.fifteen), (6.73, 5.67, 3.28));
    assert!(parse_loadavg("1.0 x 2.0").is_err());
    assert!(parse_loadavg("").is_err());
}

#[test]
fn mounts_are_unescaped_and_typed() {
    let mounts = parse_mounts(MOUNTS).unwrap();
    assert_eq!(mounts.len(), 9);
    let backup = &mounts[7];
    assert_eq!(backup.mount_point, "/mnt/backup disk");
    assert_eq!(backup.device, "/dev/sdb1");
    assert_eq!(backup.fs_type, "xfs");
    let real: Vec<_> = mounts
        .iter()
        .filter(|m| !is_pseudo_filesystem(&m.fs_type))
        .map(|m| m.mount_point.as_str())
        .collect();
    assert_eq!(real, ["/", "/etc/hosts", "/mnt/backup disk"]);
}
