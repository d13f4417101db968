//! `lookout pcap FILE`: analyses a pcap or pcapng capture after the fact, exactly as
//! the live `packet_capture` source would have analysed the traffic (the same
//! `lookout_net::Analyzer`, time taken from the packets).
//!
//! Events go to stdout as JSON lines, one per event; the derived series go to `--series`
//! as CSV (`timestamp_ms,series,value`, the series in Prometheus notation); a summary of
//! what was read, skipped (by reason) and raised goes to stderr. The file is read and
//! decoded on a second thread (`lookout_net::pipeline`), with the same output.
//!
//! `--connections OUT.csv` writes the NSL-KDD connection records the capture derives
//! (`lookout_net::connections`: a header line, then the 41 features of each connection in
//! the dataset's column order, in the order the connections ended), the format
//! `lookout score traffic` reads. `--model NAME` scores each record with a stored traffic
//! model and prints a `connection_attack` event (a JSON line like the flood events) for
//! each one scored `attack`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookout_model::Labels;
use lookout_net::{
    analyze_capture, Analyzer, ConnectionConfig, ConnectionScorer, FeatureConfig, FloodConfig,
    SecondOutput,
};

#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// The capture: pcap (micro- or nanosecond) or pcapng.
    input: PathBuf,
    /// Write the per-second series here as CSV (`-` for stdout, after the events).
    #[arg(long)]
    series: Option<PathBuf>,
    /// Write the connection records here as NSL-KDD CSV (41 features per line).
    #[arg(long)]
    connections: Option<PathBuf>,
    /// Score each connection record with this trained traffic model; records scored
    /// `attack` are printed as `connection_attack` events.
    #[arg(long)]
    model: Option<String>,
    /// Data directory of the model (overrides the configuration and LOOKOUT_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Configuration file (for the data directory).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print no summary on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Where the connection records go: the CSV file and the model.
struct RecordSinks {
    csv: Option<BufWriter<File>>,
    scorer: Option<ConnectionScorer>,
    records: u64,
    attacks: u64,
}

impl RecordSinks {
    fn take(&mut self, analyzer: &mut Analyzer, events: &mut impl Write) -> anyhow::Result<()> {
        let Some(connections) = analyzer.connections() else {
            return Ok(());
        };
        if connections.pending() == 0 {
            return Ok(());
        }
        for end in connections.drain() {
            self.records += 1;
            if let Some(csv) = self.csv.as_mut() {
                writeln!(csv, "{}", end.record.to_csv())?;
            }
            if let Some(scorer) = self.scorer.as_mut() {
                let (attack, score) = scorer.score(&end);
                if attack {
                    self.attacks += 1;
                    serde_json::to_writer(
                        &mut *events,
                        &scorer.event(&end, score, &Labels::new()),
                    )?;
                    events.write_all(b"\n")?;
                }
            }
        }
        Ok(())
    }
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
    let mut sinks = RecordSinks {
        csv: match &args.connections {
            None => None,
            Some(path) => {
                let mut out =
                    BufWriter::new(File::create(path).with_context(|| {
                        format!("creating connections file {}", path.display())
                    })?);
                writeln!(out, "{}", lookout_traffic_model::FEATURE_NAMES.join(","))?;
                Some(out)
            }
        },
        scorer: match &args.model {
            None => None,
            Some(name) => {
                let store =
                    super::objects::store_for(args.data_dir.clone(), args.config.as_deref())?;
                let (_, model) = lookout_server::predict::models::load(&*store, name, None)?;
                Some(ConnectionScorer::new(
                    name.clone(),
                    std::sync::Arc::new(model),
                ))
            }
        },
        records: 0,
        attacks: 0,
    };
    let mut analyzer = Analyzer::new(
        FeatureConfig::default(),
        FloodConfig::default(),
        labels.clone(),
    );
    if sinks.csv.is_some() || sinks.scorer.is_some() {
        analyzer = analyzer.with_connections(ConnectionConfig::default());
    }
    let started = Instant::now();
    let mut failure: Option<anyhow::Error> = None;
    // Reading and decoding on one thread, the analysis on this one.
    let capture = analyze_capture(file, &mut analyzer, |analyzer, closed| {
        if failure.is_some() {
            return;
        }
        let mut result = Ok(());
        if let Some(output) = closed {
            result = write_second(&output, &mut events_out, series_out.as_mut());
        }
        if result.is_ok() {
            result = sinks.take(analyzer, &mut events_out);
        }
        if let Err(error) = result {
            failure = Some(error);
        }
    })
    .with_context(|| format!("reading capture {}", args.input.display()))?;
    if let Some(error) = failure {
        return Err(error);
    }
    if let Some(output) = analyzer.finish() {
        write_second(&output, &mut events_out, series_out.as_mut())?;
    }
    let last_frame_ns = analyzer.stats().last_frame_ns;
    if let Some(connections) = analyzer.connections() {
        connections.finish(last_frame_ns);
    }
    sinks.take(&mut analyzer, &mut events_out)?;
    if let Some(csv) = sinks.csv.as_mut() {
        csv.flush().context("writing the connection records")?;
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
        if let Some(connections) = analyzer.connections() {
            let stats = connections.stats();
            eprintln!(
                "{}: {} connection records ({} ended early by a full table, {} lost), {} scored attack",
                args.input.display(),
                stats.records,
                stats.evicted,
                stats.dropped,
                sinks.attacks,
            );
        }
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
