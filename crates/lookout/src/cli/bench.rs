//! `lookout bench`: NAB accuracy and engine throughput.

mod nab;
mod throughput;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Run a detector over the NAB corpus (or score a results directory) the way NAB does.
    Nab(nab::NabArgs),
    /// Points per second and bytes of state per series, per detector and profile.
    Throughput(throughput::ThroughputArgs),
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Nab(args) => nab::run(args),
        BenchCommand::Throughput(args) => throughput::run(args),
    }
}
