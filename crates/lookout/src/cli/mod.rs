//! Command-line interface: one module per subcommand.

mod alert;
mod assembly;
mod bench;
mod check_config;
mod cluster;
mod demo;
mod detect;
mod detection;
mod feed;
mod import;
mod listen;
mod logs;
mod model;
mod objects;
mod pcap;
mod scan;
mod serve;
mod token;
mod traffic;
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
    /// Offline scans with the live code: `scan auth-log FILE`, `scan requests PATH...`.
    #[command(subcommand)]
    Scan(scan::ScanCommand),
    /// Train models: `train traffic` fits a connection-record classifier.
    #[command(subcommand)]
    Train(traffic::TrainCommand),
    /// Stored models and detector snapshots, with their versions: `model list`,
    /// `show NAME [VERSION]`, `push NAME FILE`, `pull NAME [--version V] OUT`,
    /// `rollback NAME VERSION`.
    Model(model::ModelArgs),
    /// Score records with a trained model: `score traffic` writes `label,score` per row.
    #[command(subcommand)]
    Score(traffic::ScoreCommand),
    /// Logs offline: `logs derive FILE` prints the derived series of an access log as
    /// CSV, `logs patterns FILE` the pattern of each line of any log.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Analyse a pcap/pcapng capture: flood and scan events (JSON lines) and the
    /// per-second traffic series (CSV), as live capture would have produced them.
    Pcap(pcap::PcapArgs),
    /// API tokens: `token create --name NAME --role ROLE [--file PATH]`.
    #[command(subcommand)]
    Token(token::TokenCommand),
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
        Command::Scan(command) => scan::run(command),
        Command::Train(command) => traffic::run_train(command),
        Command::Score(command) => traffic::run_score(command),
        Command::Model(args) => model::run(args),
        Command::Logs(command) => logs::run(command),
        Command::Pcap(args) => pcap::run(args),
        Command::Token(command) => token::run(command),
    }
}
