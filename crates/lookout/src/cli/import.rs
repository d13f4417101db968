//! `lookout import FILE.csv`: loads history through the detection engine into the store.
//!
//! The CSV shape is the one `lookout detect` reads: a header, the first column a
//! timestamp (unix seconds/milliseconds or RFC 3339-like), every other column numeric.
//! Each value column becomes one series: named after the column (sanitised to a
//! Prometheus name), or with `--name METRIC` named `METRIC` with a `column` label. Rows
//! are scored in file order and stored with their verdicts; anomalies are recorded.
//! Timestamps are not limited to the live window (history is the point).
//!
//! The store has one writer: while `lookout serve` runs on the same data directory,
//! import refuses to start (and says which process holds it).

use std::path::PathBuf;

use anyhow::{bail, Context};
use lookout_eval::table::TableReader;
use lookout_model::{Labels, Sample, SeriesKey};
use lookout_server::TimeCheck;

/// Samples per batch handed to the engine and the store.
const BATCH_SAMPLES: usize = 20_000;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// CSV with a header; first column a timestamp, the others numbers.
    file: PathBuf,
    /// Data directory (overrides the configuration and LOOKOUT_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Metric name for every column (each gets a `column` label); default: the column names.
    #[arg(long)]
    name: Option<String>,
    /// Configuration file (for detection settings and the data directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// `cpu usage %` → `cpu_usage__`; a leading digit gets a `_` prefix.
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn series_keys(columns: &[String], name: Option<&str>) -> anyhow::Result<Vec<SeriesKey>> {
    columns
        .iter()
        .map(|column| {
            let key = match name {
                Some(name) => SeriesKey::validated(
                    name,
                    Labels::from([("column".to_string(), column.clone())]),
                ),
                None => SeriesKey::validated(sanitize(column), Labels::new()),
            };
            key.with_context(|| format!("column {column:?}"))
        })
        .collect()
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    super::assembly::init_logging();
    let mut config = super::assembly::load_config(args.config.as_deref())?;
    if let Some(data_dir) = args.data_dir.clone() {
        config.server.data_dir = data_dir;
    }
    let reader = TableReader::open(&args.file)?;
    let keys = series_keys(reader.columns(), args.name.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let server = super::assembly::open_server(&config)?;
    let (rows, stored, scored) = runtime.block_on(async {
        let mut batch = Vec::with_capacity(BATCH_SAMPLES);
        let (mut rows, mut stored, mut scored) = (0usize, 0usize, 0usize);
        for row in reader {
            let row = row?;
            rows += 1;
            for (key, value) in keys.iter().zip(&row.values) {
                if !value.is_finite() {
                    bail!(
                        "{}:{}: column {:?} is not a finite number",
                        args.file.display(),
                        row.line,
                        key.to_string()
                    );
                }
                batch.push(Sample {
                    key: key.clone(),
                    timestamp_ms: row.timestamp_ms,
                    value: *value,
                });
            }
            if batch.len() >= BATCH_SAMPLES {
                let report = ingest(&server, std::mem::take(&mut batch)).await?;
                stored += report.accepted;
                scored += report.scored;
            }
        }
        if !batch.is_empty() {
            let report = ingest(&server, batch).await?;
            stored += report.accepted;
            scored += report.scored;
        }
        server.stop().await.context("flushing the store")?;
        Ok::<_, anyhow::Error>((rows, stored, scored))
    })?;
    if rows == 0 {
        bail!(
            "{}: the file has a header but no data rows",
            args.file.display()
        );
    }
    println!(
        "imported {} rows of {} series from {} into {}: {stored} samples stored, {scored} scored",
        rows,
        keys.len(),
        args.file.display(),
        config.server.data_dir.display()
    );
    Ok(())
}

/// Ingests one batch, waiting and retrying while the engine or store is busy.
async fn ingest(
    server: &lookout_server::Server,
    samples: Vec<Sample>,
) -> anyhow::Result<lookout_server::IngestReport> {
    loop {
        match server
            .pipeline()
            .ingest(samples.clone(), "import", TimeCheck::History)
            .await
        {
            Ok(report) => return Ok(report),
            Err(error) if error.is_retryable() => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(error) => bail!("importing failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_become_metric_names() {
        assert_eq!(sanitize("cpu usage %"), "cpu_usage__");
        assert_eq!(sanitize("5xx"), "_5xx");
        let keys = series_keys(&["value".into()], None).unwrap();
        assert_eq!(keys[0].to_string(), "value");
        let keys = series_keys(&["a".into(), "b c".into()], Some("temperature")).unwrap();
        assert_eq!(keys[1].to_string(), "temperature{column=\"b c\"}");
        assert!(series_keys(&["a".into()], Some("1bad")).is_err());
    }
}
