//! `lookout train traffic` and `lookout score traffic`: the connection-record classifier
//! of `lookout-traffic-model`, trained from and applied to NSL-KDD-format CSV files.

mod score;
mod train;

use std::path::{Path, PathBuf};

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

/// The traffic models directory of the data directory: the flag, else the
/// configuration's (file, environment, default).
fn models_dir(flag: Option<PathBuf>, config: Option<&Path>) -> anyhow::Result<PathBuf> {
    let data_dir = match flag {
        Some(dir) => dir,
        None => super::assembly::load_config(config)?.server.data_dir,
    };
    Ok(lookout_server::predict::models::traffic_models_dir(
        &data_dir,
    ))
}
