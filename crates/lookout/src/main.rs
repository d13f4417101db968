//! The `lookout` binary: wires the crates together behind one CLI.
//!
//! Library crates return typed errors; this binary reports them with context
//! (`anyhow`) as one clear line and a non-zero exit code.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lookout: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
