//! Command-line interface: one module per subcommand.

mod alert;
mod assembly;
mod bench;
mod check_config;
mod demo;
mod detect;
mod detection;
mod feed;
mod import;
mod pcap;
mod serve;
mod usage;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lookout",
    version,
    about = "Watches servers and cloud machines and says when something is wrong."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score a CSV file offline, row by row, as the live engine would.
    Detect(detect::DetectArgs),
    /// Benchmarks: NAB accuracy and throughput.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run the server: ingestion, detection, storage, query API and this host's metrics.
    Serve(serve::ServeArgs),
    /// Load a CSV file's history through the detection engine into the store.
    Import(import::ImportArgs),
    /// Validate a configuration file, reporting every error with its line.
    CheckConfig(check_config::CheckConfigArgs),
    /// Alerting tools: `alert test RULE` sends a sample alert through the rule's notifiers.
    #[command(subcommand)]
    Alert(alert::AlertCommand),
    /// Run the server with a simulated fleet and injected incidents.
    Demo(demo::DemoArgs),
    /// Analyse a pcap/pcapng capture: flood and scan events (JSON lines) and the
    /// per-second traffic series (CSV), as live capture would have produced them.
    Pcap(pcap::PcapArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Detect(args) => detect::run(args),
        Command::Bench(command) => bench::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Alert(command) => alert::run(command),
        Command::Demo(args) => demo::run(args),
        Command::Pcap(args) => pcap::run(args),
    }
}
