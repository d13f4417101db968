//! `lookout train traffic --data FILE --name NAME`: trains a traffic model and stores it
//! as a new version of `models/traffic/NAME` in the object store.

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use lookout_server::predict::models;
use lookout_traffic_model::{read_records, ModelKind, TrafficModel, TrainParams};

#[derive(Debug, clap::Args)]
pub struct TrainTrafficArgs {
    /// NSL-KDD-format CSV: 41 features, the label, optionally the difficulty.
    #[arg(long)]
    data: PathBuf,
    /// Name the model is stored and later scored under.
    #[arg(long)]
    name: String,
    /// Classifier: forest (default), svm or knn.
    #[arg(long, default_value = "forest")]
    kind: String,
    /// Classifier alone, without the novelty profile against normal traffic.
    #[arg(long)]
    no_novelty: bool,
    /// Data directory (overrides the configuration and LOOKOUT_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Configuration file (for the data directory and `[object_store]`).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: TrainTrafficArgs) -> anyhow::Result<()> {
    let kind = ModelKind::parse(&args.kind)?;
    models::check_name(&args.name)?;
    let store = crate::cli::objects::store_for(args.data_dir, args.config.as_deref())?;
    let file = std::fs::File::open(&args.data)
        .with_context(|| format!("opening {}", args.data.display()))?;
    let records = read_records(BufReader::new(file))
        .with_context(|| format!("reading {}", args.data.display()))?;
    let mut params = TrainParams::default();
    if args.no_novelty {
        params.novelty = None;
    }
    let started = Instant::now();
    let model = TrafficModel::train(kind, &params, &records)
        .with_context(|| format!("training on {}", args.data.display()))?;
    let elapsed = started.elapsed();
    let version = models::save(&*store, &args.name, &model)?;
    println!(
        "trained {} model {:?} on {} records ({} attacks) in {:.1}s{}; stored as {} version {} in {}",
        kind.name(),
        args.name,
        model.summary.records,
        model.summary.attacks,
        elapsed.as_secs_f64(),
        if model.novelty.is_some() {
            ", with the novelty profile"
        } else {
            ""
        },
        models::object_name(&args.name)?,
        version.number,
        store.describe()
    );
    Ok(())
}
