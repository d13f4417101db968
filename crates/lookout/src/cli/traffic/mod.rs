//! `lookout train traffic` and `lookout score traffic`: the connection-record classifier
//! of `lookout-traffic-model`, trained from and applied to NSL-KDD-format CSV files.

mod score;
mod train;

#[derive(Debug, clap::Subcommand)]
pub enum TrainCommand {
    /// Train a connection-record classifier (normal vs attack) on NSL-KDD-format records.
    Traffic(train::TrainTrafficArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum ScoreCommand {
    /// Score connection records with a trained model: `label,score` per row.
    Traffic(score::ScoreTrafficArgs),
}

pub fn run_train(command: TrainCommand) -> anyhow::Result<()> {
    match command {
        TrainCommand::Traffic(args) => train::run(args),
    }
}

pub fn run_score(command: ScoreCommand) -> anyhow::Result<()> {
    match command {
        ScoreCommand::Traffic(args) => score::run(args),
    }
}
