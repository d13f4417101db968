//! `lookout logs`: access logs offline.
//!
//! - `lookout logs derive FILE`: parses and aggregates an access log as the
//!   `access_log` source does, writes the derived series as CSV
//!   (`timestamp_ms,series,labels,value`, labels as `name=value;...`) and reports on
//!   stderr the lines read, refused by reason, the lines the content-injection check
//!   classified and flagged, and the parse+derive throughput; `--events PATH` writes
//!   the `content_injection` events (one per client incident opened and closed) as
//!   JSON lines; `--no-injection` turns the check off.
//! - `lookout logs patterns FILE`: mines the log patterns of any log file online, as
//!   the `log` source would (`lookout-logpattern`), and writes CSV
//!   `line,pattern_id,template`, one row per input line in order; a line's id depends
//!   only on the lines before it. Reports lines, patterns and lines/s on stderr.
//! - `lookout logs source FILE`: runs the `log` source's collector over a file read
//!   from its beginning and reports lines, refusals by reason, patterns, events,
//!   lines/s and peak memory (see `logs_source.rs`).
//! - `lookout logs generate`: writes synthetic traffic in the `combined` format (for
//!   benchmarks and tests), deterministic from its seed.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
#[path = "logs_patterns.rs"]
mod patterns;
#[path = "logs_source.rs"]
mod source;

use lookout_accesslog::generate::{generate, TrafficSpec};
use lookout_accesslog::{
    series, AggregatorConfig, InjectionConfig, LogDeriver, LogFormat, ParserConfig,
};

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Derive the request series of an access log and print them as CSV.
    Derive(DeriveArgs),
    /// Write synthetic combined-format traffic.
    Generate(GenerateArgs),
    /// Mine the log patterns of a log file: CSV `line,pattern_id,template`.
    Patterns(patterns::PatternsArgs),
    /// Run the `log` source over a file: throughput, memory, patterns and events.
    Source(source::SourceArgs),
}

#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// The access log (one request per line).
    pub file: PathBuf,
    /// `combined`, `common`, `json` or an nginx `log_format` string.
    #[arg(long, default_value = "combined")]
    pub format: String,
    /// Length of one interval of derived series.
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Where the CSV goes (default standard output); `-` is standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Write the `content_injection` events here, one JSON object per line.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Do not check request lines for injection attempts.
    #[arg(long)]
    pub no_injection: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Minutes of traffic.
    #[arg(long, default_value_t = 10)]
    pub minutes: u32,
    /// Mean requests per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start (unix ms); default 2026-12-02T06:00:00Z.
    #[arg(long, default_value_t = 1_796_191_200_000)]
    pub start_ms: i64,
    /// Append ` $request_time` to each line.
    #[arg(long)]
    pub timed: bool,
}

pub fn run(command: LogsCommand) -> anyhow::Result<()> {
    match command {
        LogsCommand::Derive(args) => derive(args),
        LogsCommand::Generate(args) => generate_lines(args),
        LogsCommand::Patterns(args) => patterns::run(args),
        LogsCommand::Source(args) => source::run(args),
    }
}

/// Bytes read from the file at a time.
const CHUNK: usize = 1 << 20;

fn derive(args: DeriveArgs) -> anyhow::Result<()> {
    let format = LogFormat::from_name(&args.format).context("--format")?;
    let interval = lookout_config::values::parse_duration(&args.interval)
        .map_err(|error| anyhow::anyhow!("--interval: {error}"))?;
    if interval.as_millis() < 1000 {
        bail!("--interval: {} is shorter than 1s", args.interval);
    }
    let aggregator = AggregatorConfig {
        interval_ms: interval.as_millis() as i64,
        ..AggregatorConfig::default()
    };
    let labels: lookout_model::Labels =
        [("log".to_string(), args.file.display().to_string())].into();
    let injection = InjectionConfig {
        enabled: !args.no_injection,
        ..InjectionConfig::default()
    };
    let mut deriver = LogDeriver::new(&ParserConfig::new(format), aggregator)
        .context("--format")?
        .with_injection(&injection, labels.clone());
    let mut events_out = match &args.events {
        Some(path) => Some(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let mut events = Vec::new();
    let mut write_events = |deriver: &mut LogDeriver| -> anyhow::Result<()> {
        deriver.take_events(&mut events);
        if let Some(out) = events_out.as_mut() {
            for event in events.drain(..) {
                serde_json::to_writer(&mut *out, &event)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        events.clear();
        Ok(())
    };
    let mut file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) if path.as_os_str() != "-" => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        _ => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    writeln!(output, "timestamp_ms,series,labels,value")?;
    let started = Instant::now();
    let arrival = lookout_model::clock::now_ms();
    let mut buffer = vec![0u8; CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    let mut closed = Vec::new();
    let mut lines = 0u64;
    let mut samples = 0u64;
    let mut write_closed = |closed: &mut Vec<lookout_accesslog::IntervalSummary>,
                            output: &mut Box<dyn Write>|
     -> anyhow::Result<()> {
        for summary in closed.drain(..) {
            for sample in series::samples(&summary, &labels) {
                let labels: Vec<String> = sample
                    .key
                    .labels
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect();
                let labels = labels.join(";").replace('"', "\"\"");
                writeln!(
                    output,
                    "{},{},\"{labels}\",{}",
                    sample.timestamp_ms, sample.key.name, sample.value
                )?;
                samples += 1;
            }
        }
        Ok(())
    };
    loop {
        let read = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        if read == 0 {
            break;
        }
        let mut chunk = &buffer[..read];
        if !carry.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(newline) => {
                    carry.extend_from_slice(&chunk[..newline]);
                    deriver.line(&carry, arrival, &mut closed);
                    lines += 1;
                    carry.clear();
                    chunk = &chunk[newline + 1..];
                }
                None => {
                    carry.extend_from_slice(chunk);
                    continue;
                }
            }
        }
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', chunk) {
            deriver.line(&chunk[start..newline], arrival, &mut closed);
            lines += 1;
            start = newline + 1;
        }
        carry.extend_from_slice(&chunk[start..]);
        write_closed(&mut closed, &mut output)?;
        write_events(&mut deriver)?;
    }
    if !carry.is_empty() {
        deriver.line(&carry, arrival, &mut closed);
        lines += 1;
    }
    deriver.finish(&mut closed);
    write_closed(&mut closed, &mut output)?;
    write_events(&mut deriver)?;
    output.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    let bad: Vec<String> = deriver
        .bad_lines()
        .iter()
        .map(|(reason, count)| format!("{reason}={count}"))
        .collect();
    let injection = match deriver.injection_stats() {
        Some(stats) => format!(
            " classified={} flagged={} incidents={}",
            stats.classified,
            stats.flagged_total(),
            stats.incidents.opened
        ),
        None => String::new(),
    };
    eprintln!(
        "lines={lines} requests={} bad: {}{injection} samples={samples} seconds={seconds:.3} lines_per_second={:.0}",
        deriver.requests(),
        bad.join(" "),
        lines as f64 / seconds.max(1e-9)
    );
    Ok(())
}

fn generate_lines(args: GenerateArgs) -> anyhow::Result<()> {
    if !(args.rate > 0.0 && args.rate <= 1e6) {
        bail!("--rate must be in (0, 1000000], not {}", args.rate);
    }
    let spec = TrafficSpec {
        start_ms: args.start_ms,
        duration_ms: i64::from(args.minutes) * 60_000,
        rate: args.rate,
        daily_amplitude: 0.3,
        seed: args.seed,
        timed: args.timed,
        incidents: Vec::new(),
    };
    let mut output = BufWriter::new(std::io::stdout().lock());
    let mut failed = None;
    generate(&spec, |_, line| {
        if failed.is_none() {
            if let Err(error) = writeln!(output, "{line}") {
                failed = Some(error);
            }
        }
    });
    if let Some(error) = failed {
        return Err(error).context("cannot write to standard output");
    }
    output.flush()?;
    Ok(())
}
