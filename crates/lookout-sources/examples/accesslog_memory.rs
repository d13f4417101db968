//! The access-log source's memory with many distinct clients and paths: writes an hour
//! of combined-format traffic from `--ips` distinct client addresses over `--paths`
//! distinct paths (half of them numeric ids folded into one route, half words that each
//! make a route of their own until the route limit sends them to `other`), then runs
//! the `access_log` source's collector over the file, as `serve` does, and prints the
//! process's peak resident memory (`VmHWM`) before and after.
//!
//! Usage: `cargo run --release -p lookout-sources --example accesslog_memory -- [LINES]
//! [IPS] [PATHS]` (defaults: 3,600,000 lines = 1,000 requests/s for an hour, 1,000,000
//! addresses, 100,000 paths). `bench/accesslog_memory.sh` runs it.

use std::io::Write;
use std::time::Instant;

use lookout_config::{Config, SourceConfig};
use lookout_sources::access_log::AccessLogCollector;
use lookout_sources::Collector;

const START_MS: i64 = 1_764_000_000_000;
const HOUR_MS: i64 = 3_600_000;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A word of lowercase letters for `n` (never folded: no digits, short).
fn word(mut n: u64) -> String {
    let mut word = String::new();
    for _ in 0..4 {
        word.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    word
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<u64>());
    let lines = args.next().transpose()?.unwrap_or(3_600_000);
    let ips = args.next().transpose()?.unwrap_or(1_000_000).max(1);
    let paths = args.next().transpose()?.unwrap_or(100_000).max(2);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("access.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for n in 0..lines {
        // Every address appears (n mod ips), in a scrambled order.
        let ip = (n % ips).wrapping_mul(2_654_435_761) % ips.next_power_of_two();
        let target = n.wrapping_mul(40_503) % paths;
        let request = if target % 2 == 0 {
            format!("/api/items/{target}")
        } else {
            format!("/docs/{}", word(target / 2))
        };
        let time =
            lookout_accesslog::generate::time_local(START_MS + (n as i64 * HOUR_MS) / lines as i64);
        writeln!(
            file,
            "10.{}.{}.{} - - [{time}] \"GET {request} HTTP/1.1\" 200 512 \"-\" \"bench\"",
            ip >> 16 & 0xff,
            ip >> 8 & 0xff,
            ip & 0xff
        )?;
    }
    file.flush()?;
    drop(file);
    let text = format!(
        "[[source]]\ntype = \"access_log\"\npath = \"{}\"\nread_from = \"beginning\"\n",
        path.display()
    );
    let config = match Config::from_str_named(&text, "bench.toml")?
        .sources
        .remove(0)
    {
        SourceConfig::AccessLog(config) => config,
        other => return Err(format!("not an access_log source: {other:?}").into()),
    };
    let before = peak_rss_kib();
    let started = Instant::now();
    let mut collector =
        AccessLogCollector::new("access_log#1", &config)?.with_clock(|| START_MS + 2 * HOUR_MS);
    let (mut samples, mut events) = (0usize, 0usize);
    loop {
        let collected = collector.collect();
        samples += collected.samples.len();
        events += collected.events.len();
        if collector.stats().requests + collector.stats().bad_lines.iter().sum::<u64>() >= lines
            && collected.samples.is_empty()
        {
            break;
        }
    }
    let stats = collector.stats();
    println!(
        "lines={lines} distinct_ips={ips} distinct_paths={paths} requests={} bad_lines={} intervals={} samples={samples} events={events} seconds={:.1} peak_rss_before_kib={before} peak_rss_kib={}",
        stats.requests,
        stats.bad_lines.iter().sum::<u64>(),
        stats.intervals,
        started.elapsed().as_secs_f64(),
        peak_rss_kib()
    );
    Ok(())
}
