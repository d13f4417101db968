//! `lookout pcap FILE`: analyses a pcap or pcapng capture after the fact, exactly as
//! the live `packet_capture` source would have analysed the traffic (the same
//! `lookout_net::Analyzer`, time taken from the packets).
//!
//! Events go to stdout as JSON lines, one per event; the derived series go to `--series`
//! as CSV (`timestamp_ms,series,value`, the series in Prometheus notation); a summary of
//! what was read, skipped (by reason) and raised goes to stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookout_model::Labels;
use lookout_net::{read_capture, Analyzer, FeatureConfig, FloodConfig, SecondOutput};

#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// The capture: pcap (micro- or nanosecond) or pcapng.
    input: PathBuf,
    /// Write the per-second series here as CSV (`-` for stdout, after the events).
    #[arg(long)]
    series: Option<PathBuf>,
    /// Print no summary on stderr.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: PcapArgs) -> anyhow::Result<()> {
    let file = File::open(&args.input)
        .with_context(|| format!("opening capture {}", args.input.display()))?;
    let mut series_out: Option<Box<dyn Write>> = match &args.series {
        None => None,
        Some(path) if path.as_os_str() == "-" => Some(Box::new(BufWriter::new(std::io::stdout()))),
        Some(path) => Some(Box::new(BufWriter::new(
            File::create(path)
                .with_context(|| format!("creating series file {}", path.display()))?,
        ))),
    };
    if let Some(out) = series_out.as_mut() {
        writeln!(out, "timestamp_ms,series,value")?;
    }
    let stdout = std::io::stdout();
    let mut events_out = BufWriter::new(stdout.lock());
    let mut labels = Labels::new();
    labels.insert("capture".into(), file_label(&args.input));
    let mut analyzer = Analyzer::new(FeatureConfig::default(), FloodConfig::default(), labels);
    let started = Instant::now();
    let mut failure: Option<anyhow::Error> = None;
    let mut emit = |output: SecondOutput, failure: &mut Option<anyhow::Error>| {
        if failure.is_some() {
            return;
        }
        if let Err(error) = write_second(&output, &mut events_out, series_out.as_mut()) {
            *failure = Some(error);
        }
    };
    let capture = read_capture(file, |frame| {
        if let Some(output) = analyzer.frame(&frame) {
            emit(output, &mut failure);
        }
    })
    .with_context(|| format!("reading capture {}", args.input.display()))?;
    if let Some(output) = analyzer.finish() {
        emit(output, &mut failure);
    }
    if let Some(error) = failure {
        return Err(error);
    }
    events_out.flush()?;
    drop(events_out);
    if let Some(mut out) = series_out {
        out.flush()?;
    }
    if !args.quiet {
        let elapsed = started.elapsed().as_secs_f64();
        let stats = analyzer.stats();
        let undecoded: Vec<String> = stats
            .undecoded
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        eprintln!(
            "{}: {} frames, {} packets decoded, {} seconds, {} events in {:.2} s ({:.0} packets/s); undecoded: {}; unknown link type: {}, unknown interface: {}{}{}",
            args.input.display(),
            capture.frames,
            stats.packets,
            stats.seconds,
            stats.events,
            elapsed,
            capture.frames as f64 / elapsed.max(1e-9),
            if undecoded.is_empty() { "none".to_string() } else { undecoded.join(" ") },
            capture.unknown_link_type,
            capture.unknown_interface,
            if capture.truncated_file { "; the file ends inside a record (the rest is lost)" } else { "" },
            if capture.corrupt_block { "; a corrupt block stopped the reading" } else { "" },
        );
    }
    Ok(())
}

fn write_second(
    output: &SecondOutput,
    events: &mut impl Write,
    series: Option<&mut Box<dyn Write>>,
) -> anyhow::Result<()> {
    for event in &output.events {
        serde_json::to_writer(&mut *events, event)?;
        events.write_all(b"\n")?;
    }
    if let Some(out) = series {
        for sample in &output.samples {
            let key = sample.key.to_string().replace('"', "\"\"");
            writeln!(out, "{},\"{}\",{}", sample.timestamp_ms, key, sample.value)?;
        }
    }
    Ok(())
}

fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
