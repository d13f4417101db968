//! `lookout logs source FILE`: runs the `log` source's collector over a file, offline,
//! and reports its throughput and memory.
//!
//! The file is read from its beginning by the same [`LogCollector`] `serve` runs (the
//! file follower, header split, bad-line checks, miner, per-interval series and events),
//! one interval per poll of at most `MAX_LINES_PER_TICK` lines. Prints on stderr the
//! lines mined and refused, patterns, intervals, samples and events, lines/s and the
//! peak resident memory of the process (`VmHWM`); `--events PATH` writes the events as
//! JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use lookout_config::{Config, SourceConfig};
use lookout_sources::log::LogCollector;

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The log file.
    pub file: PathBuf,
    /// Warm-up, in lines (patterns first seen before are not news).
    #[arg(long, default_value_t = 10_000)]
    pub warmup_lines: u64,
    /// Write the events here, one JSON object per line.
    #[arg(long)]
    pub events: Option<PathBuf>,
}

/// Peak resident memory of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(args: SourceArgs) -> anyhow::Result<()> {
    let path = args.file.display().to_string();
    if path.contains(['"', '\\', '*', '?', '[']) {
        bail!("{path}: name the file without quotes, backslashes or glob characters");
    }
    let text = format!(
        "[[source]]\ntype = \"log\"\npath = \"{path}\"\nread_from = \"beginning\"\nwarmup = {}\n",
        args.warmup_lines
    );
    let config =
        Config::from_str_named(&text, "logs source").map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(SourceConfig::Log(config)) = config.sources.into_iter().next() else {
        bail!("no log source configured");
    };
    let mut collector = LogCollector::new("log#1", &config).map_err(|e| anyhow::anyhow!(e))?;
    let mut events_out = match &args.events {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let started = Instant::now();
    let (mut intervals, mut samples, mut events) = (0u64, 0usize, 0usize);
    loop {
        let before = (collector.lines(), collector.bad_lines().iter().sum::<u64>());
        let mut errors = Vec::new();
        let (new_samples, new_events) = collector.poll(&mut errors);
        intervals += 1;
        samples += new_samples.len();
        events += new_events.len();
        if let Some(out) = &mut events_out {
            for event in &new_events {
                serde_json::to_writer(&mut *out, event)?;
                out.write_all(b"\n")?;
            }
        }
        if (collector.lines(), collector.bad_lines().iter().sum::<u64>()) == before {
            break;
        }
    }
    if let Some(mut out) = events_out {
        out.flush().context("cannot write the events")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let bad = collector.bad_lines();
    let read = collector.lines() + bad.iter().sum::<u64>();
    eprintln!(
        "lines={} refused={} (invalid_utf8={} too_long={} binary={} no_match={}) patterns={} intervals={intervals} samples={samples} events={events} seconds={seconds:.3} lines_per_second={:.0} peak_rss_kib={}",
        collector.lines(),
        bad.iter().sum::<u64>(),
        bad[0],
        bad[1],
        bad[2],
        bad[3],
        collector.patterns(),
        read as f64 / seconds.max(1e-9),
        peak_rss_kib().map_or_else(|| "?".to_string(), |kib| kib.to_string()),
    );
    Ok(())
}
