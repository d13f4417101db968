//! `lookout model list | show | push | pull | rollback`: the trained models and detector
//! snapshots of the object store (`[object_store]`), each with its versions.
//!
//! Names are object names as `list` prints them: `models/traffic/<name>` (trained
//! traffic models: `lookout train traffic`, `POST /api/v1/predict/network`) and
//! `snapshots/detectors` (written by `serve` when it stops). A VERSION is a version's
//! number (1 the oldest) or the store's id (S3's `VersionId`). `push` stores a traffic
//! model file as a new version after reading it as one; `pull` writes a version's
//! payload (a model file, or a snapshot) to a file; `rollback` makes an old version
//! current by writing it again as the newest, after checking it.

use std::path::PathBuf;

use anyhow::Context;
use lookout_objstore::ObjectStore;
use lookout_server::predict::models::TRAFFIC_FORMAT;
use lookout_traffic_model::TrafficModel;

#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
    /// Data directory (overrides the configuration and LOOKOUT_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Configuration file (for `[object_store]` and the data directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum ModelCommand {
    /// Every stored object: name, versions, current version, when it was written.
    List,
    /// An object's versions, and the header (format, checksum) of one (default: current).
    Show {
        name: String,
        version: Option<String>,
    },
    /// Store a traffic model file as the newest version of `models/traffic/<name>`.
    Push { name: String, file: PathBuf },
    /// Write a version's payload (default: the current one) to OUT.
    Pull {
        name: String,
        out: PathBuf,
        #[arg(long)]
        version: Option<String>,
    },
    /// Make VERSION the current one (written again as the newest version).
    Rollback { name: String, version: String },
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    let store = super::objects::store_for(args.data_dir, args.config.as_deref())?;
    let store: &dyn ObjectStore = &*store;
    match args.command {
        ModelCommand::List => list(store),
        ModelCommand::Show { name, version } => show(store, &name, version.as_deref()),
        ModelCommand::Push { name, file } => push(store, &name, &file),
        ModelCommand::Pull { name, out, version } => {
            let object = store.get_any(&name, version.as_deref())?;
            write_atomically(&out, &object.payload)?;
            println!(
                "{name} version {} ({}, {} bytes) written to {}",
                object.version.number,
                format_of(&object.header),
                object.payload.len(),
                out.display()
            );
            Ok(())
        }
        ModelCommand::Rollback { name, version } => {
            let old = store.resolve(&name, Some(&version))?;
            let new = store.rollback(&name, &version)?;
            println!(
                "{name}: version {} is current again, written as version {}",
                old.number, new.number
            );
            Ok(())
        }
    }
}

fn list(store: &dyn ObjectStore) -> anyhow::Result<()> {
    let names = store.list("")?;
    if names.is_empty() {
        println!("no objects in {}", store.describe());
        return Ok(());
    }
    println!("{:<40} {:>8} {:>8}  written", "name", "versions", "current");
    for name in names {
        let versions = store.versions(&name)?;
        let Some(current) = versions.last() else {
            continue;
        };
        println!(
            "{name:<40} {:>8} {:>8}  {}",
            versions.len(),
            current.number,
            when(current.written_ms)
        );
    }
    Ok(())
}

fn show(store: &dyn ObjectStore, name: &str, version: Option<&str>) -> anyhow::Result<()> {
    let chosen = store.get_any(name, version)?;
    println!("{name} in {}", store.describe());
    println!("{:>8}  {:<36} {:>12}  written", "version", "id", "bytes");
    let versions = store.versions(name)?;
    let current = versions.last().map(|v| v.number);
    for v in &versions {
        println!(
            "{:>8}  {:<36} {:>12}  {}{}",
            v.number,
            v.id,
            v.size,
            when(v.written_ms),
            if Some(v.number) == current {
                "  (current)"
            } else {
                ""
            }
        );
    }
    let header = &chosen.header;
    println!(
        "version {}: {}, {} bytes, sha256 {}, created {}",
        chosen.version.number,
        format_of(header),
        header.bytes,
        header.sha256,
        when(header.created_ms)
    );
    if header.format == TRAFFIC_FORMAT.name {
        if let Ok(model) = TrafficModel::from_bytes(&chosen.payload) {
            println!(
                "traffic model: {} classifier, threshold {:.3}, trained on {} records ({} attacks){}",
                model.kind.name(),
                model.threshold,
                model.summary.records,
                model.summary.attacks,
                if model.novelty.is_some() {
                    ", with the novelty profile"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

fn push(store: &dyn ObjectStore, name: &str, file: &PathBuf) -> anyhow::Result<()> {
    let Some(model_name) = name.strip_prefix("models/traffic/") else {
        anyhow::bail!(
            "{name:?}: `model push` stores traffic models, named models/traffic/<name> (detector snapshots are written by `serve`)"
        );
    };
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let model = TrafficModel::from_bytes(&bytes)
        .with_context(|| format!("{} is not a traffic model this build reads", file.display()))?;
    let version = lookout_server::predict::models::save(store, model_name, &model)?;
    println!(
        "{name}: {} stored as version {} in {}",
        file.display(),
        version.number,
        store.describe()
    );
    Ok(())
}

fn format_of(header: &lookout_objstore::Header) -> String {
    format!("{} format {}", header.format, header.format_version)
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn write_atomically(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("writing {}", path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
}
