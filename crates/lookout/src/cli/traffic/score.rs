//! `lookout score traffic --model NAME FILE`: `label,score` per record, in file order.
//!
//! Rows hold the 41 features, or all 43 columns (label and difficulty ignored). The
//! output starts with the header `label,score`; `label` is `normal` or `attack`, `score`
//! the attack score in 0..1. Blank lines and a header line (first field `duration`) are
//! not records and get no output row. Records stream through: memory does not grow with the file.
//! A bad row stops the run with its line and column; rows before it were written.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use lookout_traffic_model::record::parse_line;

#[derive(Debug, clap::Args)]
pub struct ScoreTrafficArgs {
    /// NSL-KDD-format CSV to score.
    file: PathBuf,
    /// Name of a model trained with `lookout train traffic`.
    #[arg(long)]
    model: String,
    /// A stored version of the model (its number or id) instead of the current one.
    #[arg(long)]
    version: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Data directory (overrides the configuration and LOOKOUT_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Configuration file (for the data directory and `[object_store]`).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: ScoreTrafficArgs) -> anyhow::Result<()> {
    let store = crate::cli::objects::store_for(args.data_dir, args.config.as_deref())?;
    let (_, model) =
        lookout_server::predict::models::load(&*store, &args.model, args.version.as_deref())?;
    let input = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut output = BufWriter::new(output);
    writeln!(output, "label,score")?;
    let mut row = vec![0.0f32; model.encoder.width()];
    for (index, line) in BufReader::new(input).lines().enumerate() {
        let line =
            line.with_context(|| format!("{}: reading line {}", args.file.display(), index + 1))?;
        let Some(record) = parse_line(&line, index + 1)
            .with_context(|| format!("scoring {}", args.file.display()))?
        else {
            continue;
        };
        model.encoder.encode_into(&record.record, &mut row);
        let score = model.score_encoded(&row);
        let label = if score >= model.threshold {
            "attack"
        } else {
            "normal"
        };
        writeln!(output, "{label},{score:.6}")?;
    }
    output.flush().context("writing the scores")?;
    Ok(())
}
