//! Command-line interface: one module per subcommand.

mod bench;
mod detect;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "lookout", version, about = "Watches servers and cloud machines and says when something is wrong.")]
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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Detect(args) => detect::run(args),
        Command::Bench(command) => bench::run(command),
    }
}
