//! The `lookout` binary: wires the crates together behind one CLI.
//!
//! Library crates return typed errors; this binary reports them with context
//! (`anyhow`) as one clear line and a non-zero exit code.

mod cli;

/// mimalloc instead of the system allocator: samples are decoded on one thread and
/// freed on another (engine workers, the store writer), a pattern where glibc's
/// allocator contends on its arenas; mimalloc's per-thread free lists do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
