//! Parsers for the Linux `/proc` files the host source reads. Pure functions of the
//! file text, so they are tested with fixtures. Lines the parser does not need are
//! ignored; a line it needs but cannot read is an error naming the line.

use std::collections::BTreeMap;

/// Why a `/proc` text could not be parsed: the 1-based line and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

fn error(line_index: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        line: line_index + 1,
        reason: reason.into(),
    }
}

fn number<T: std::str::FromStr>(
    line_index: usize,
    field: &str,
    what: &str,
) -> Result<T, ParseError> {
    field
        .parse()
        .map_err(|_| error(line_index, format!("{what} {field:?} is not a number")))
}

/// Cumulative CPU time of one CPU (or all), in clock ticks, from `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// Every tick counted (guest time is already part of user and nice).
    pub fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

/// `/proc/stat`: the aggregate `cpu` line and each `cpuN` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuStat {
    pub total: CpuTimes,
    /// Per core, keyed by the core number.
    pub cores: BTreeMap<u32, CpuTimes>,
}

pub fn parse_stat(text: &str) -> Result<CpuStat, ParseError> {
    let mut stat = CpuStat::default();
    let mut found_total = false;
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let Some(label) = fields.next() else { continue };
        let Some(core) = label.strip_prefix("cpu") else {
            continue;
        };
        let values: Vec<u64> = fields
            .map(|field| number(index, field, "cpu time"))
            .collect::<Result<_, _>>()?;
        if values.len() < 4 {
            return Err(error(
                index,
                format!("{label} has {} values, expected at least 4", values.len()),
            ));
        }
        let value = |position: usize| values.get(position).copied().unwrap_or(0);
        let times = CpuTimes {
            user: value(0),
            nice: value(1),
            system: value(2),
            idle: value(3),
            iowait: value(4),
            irq: value(5),
            softirq: value(6),
            steal: value(7),
        };
        if core.is_empty() {
            stat.total = times;
            found_total = true;
        } else {
            stat.cores.insert(number(index, core, "cpu number")?, times);
        }
    }
    if !found_total {
        return Err(ParseError {
            line: 1,
            reason: "no aggregate \"cpu\" line".into(),
        });
    }
    Ok(stat)
}

/// `/proc/meminfo` values needed for memory and swap, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    /// `MemAvailable`, or `MemFree + Buffers + Cached` on kernels older than 3.14.
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

pub fn parse_meminfo(text: &str) -> Result<MemInfo, ParseError> {
    let mut values: BTreeMap<&str, u64> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let Some(amount) = fields.next() else {
            continue;
        };
        let amount: u64 = number(index, amount, name)?;
        let bytes = match fields.next() {
            Some("kB") => amount.saturating_mul(1024),
            None => amount,
            Some(unit) => return Err(error(index, format!("{name} has unknown unit {unit:?}"))),
        };
        values.insert(name.trim(), bytes);
    }
    let get = |name: &str| values.get(name).copied();
    let total = get("MemTotal").ok_or_else(|| ParseError {
        line: 1,
        reason: "no MemTotal".into(),
    })?;
    let available = match get("MemAvailable") {
        Some(available) => available,
        None => {
            get("MemFree").unwrap_or(0) + get("Buffers").unwrap_or(0) + get("Cached").unwrap_or(0)
        }
    };
    Ok(MemInfo {
        total,
        available: available.min(total),
        swap_total: get("SwapTotal").unwrap_or(0),
        swap_free: get("SwapFree").unwrap_or(0),
    })
}

/// Cumulative IO counters of one block device from `/proc/diskstats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskCounters {
    pub reads: u64,
    pub sectors_read: u64,
    pub writes: u64,
    pub sectors_written: u64,
    /// Milliseconds the device had IO in flight.
    pub io_ms: u64,
}

/// Bytes per `/proc/diskstats` sector: always 512, whatever the device's sector size.
pub const SECTOR_BYTES: u64 = 512;

/// Devices by name.
pub fn parse_diskstats(text: &str) -> Result<BTreeMap<String, DiskCounters>, ParseError> {
    let mut disks = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < 14 {
            return Err(error(
                index,
                format!("{} fields, expected at least 14", fields.len()),
            ));
        }
        let value = |position: usize| number::<u64>(index, fields[position], "counter");
        let counters = DiskCounters {
            reads: value(3)?,
            sectors_read: value(5)?,
            writes: value(7)?,
            sectors_written: value(9)?,
            io_ms: value(12)?,
        };
        disks.insert(fields[2].to_string(), counters);
    }
    Ok(disks)
}

/// Cumulative counters of one network interface from `/proc/net/dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

/// Interfaces by name.
pub fn parse_net_dev(text: &str) -> Result<BTreeMap<String, NetCounters>, ParseError> {
    let mut interfaces = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        // The two header lines contain '|' and no ':' before it.
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.contains('|') {
            continue;
        }
        let values: Vec<u64> = rest
            .split_whitespace()
            .map(|field| number(index, field, "counter"))
            .collect::<Result<_, _>>()?;
        if values.len() < 16 {
            return Err(error(
                index,
                format!("{} counters, expected 16", values.len()),
            ));
        }
        let counters = NetCounters {
            rx_bytes: values[0],
            rx_packets: values[1],
            rx_errors: values[2],
            rx_drops: values[3],
            tx_bytes: values[8],
            tx_packets: values[9],
            tx_errors: values[10],
            tx_drops: values[11],
        };
        interfaces.insert(name.trim().to_string(), counters);
    }
    Ok(interfaces)
}

/// `/proc/loadavg`: run-queue averages over 1, 5 and 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

pub fn parse_loadavg(text: &str) -> Result<LoadAverage, ParseError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() < 3 {
        return Err(error(
            0,
            format!("{} fields, expected at least 3", fields.len()),
        ));
    }
    let value = |position: usize| number::<f64>(0, fields[position], "load average");
    Ok(LoadAverage {
        one: value(0)?,
        five: value(1)?,
        fifteen: value(2)?,
    })
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
}

pub fn parse_mounts(text: &str) -> Result<Vec<Mount>, ParseError> {
    let mut mounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() < 3 {
            return Err(error(
                index,
                format!("{} fields, expected at least 3", fields.len()),
            ));
        }
        mounts.push(Mount {
            device: unescape_octal(fields[0]),
            mount_point: unescape_octal(fields[1]),
            fs_type: fields[2].to_string(),
        });
    }
    Ok(mounts)
}

/// `/proc/mounts` writes space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        let escape = bytes.get(position + 1..position + 4).filter(|digits| {
            bytes[position] == b'\\' && digits.iter().all(|digit| (b'0'..=b'7').contains(digit))
        });
        match escape {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, digit| acc * 8 + u32::from(digit - b'0'));
                out.push(value as u8);
                position += 4;
            }
            None => {
                out.push(bytes[position]);
                position += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Filesystem types that hold no user data (kernel interfaces, memory-backed, container
/// layers); the host source never reports their usage.
pub const PSEUDO_FILESYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "aufs",
    "shm",
];

pub fn is_pseudo_filesystem(fs_type: &str) -> bool {
    PSEUDO_FILESYSTEMS.contains(&fs_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mount_point_spaces() {
        assert_eq!(unescape_octal(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_octal(r"a\134b"), r"a\b");
        assert_eq!(unescape_octal(r"trailing\04"), r"trailing\04");
    }

    #[test]
    fn missing_cpu_line_is_an_error() {
        assert!(parse_stat("intr 1 2 3\n").is_err());
        let error = parse_stat("cpu 1 2 x 4\n").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("\"x\""));
    }
}
