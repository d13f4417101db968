//! `lookout detect INPUT.csv`: scores every numeric column of a CSV file online.
//!
//! Rows are read and scored one at a time, so output row k depends only on input rows
//! 1..k, exactly as in the live engine. Every row is scored in file order (a file's
//! order is its truth; the live engine's out-of-order policy does not apply here).

use anyhow::{bail, Context};
use lookout_detect::multi::MultiPipeline;
use lookout_detect::pipeline::{PipelineConfig, SeriesPipeline};
use lookout_eval::table::TableReader;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// CSV with a header; first column a timestamp, the others numbers.
    #[arg(required_unless_present = "print_pipeline")]
    input: Option<PathBuf>,
    /// Profile (default, thorough) or single detector (robust_z, ewma, seasonal,
    /// changepoint, rcf, hst, iforest, knn, discord, usage). With `--multivariate`:
    /// pca (what `default` means there), iforest or hst.
    #[arg(long, default_value = "default")]
    detector: String,
    /// Write the output CSV here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Score each row's vector of values as one multivariate observation.
    #[arg(long)]
    multivariate: bool,
    /// Seed of the randomised detectors.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print the pipeline of `--detector` as JSON (every detector's parameters, as
    /// `[detection] params` and `lookout bench nab --pipeline` take them) and exit.
    #[arg(long)]
    print_pipeline: bool,
}

pub fn run(args: DetectArgs) -> anyhow::Result<()> {
    if args.print_pipeline {
        let config = PipelineConfig::named(&args.detector)?;
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    let Some(input) = args.input.clone() else {
        bail!("an INPUT file is needed (or --print-pipeline)");
    };
    let reader = TableReader::open(&input)?;
    let columns = reader.columns().to_vec();
    let output: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut output = std::io::BufWriter::new(output);
    let rows = if args.multivariate {
        detect_multivariate(reader, &columns, &args, &mut output)?
    } else {
        detect_univariate(reader, &columns, &args, &mut output)?
    };
    output.flush().context("writing the output")?;
    if rows == 0 {
        bail!(
            "{}: the file has a header but no data rows",
            input.display()
        );
    }
    Ok(())
}

fn detect_univariate(
    reader: TableReader,
    columns: &[String],
    args: &DetectArgs,
    output: &mut impl Write,
) -> anyhow::Result<usize> {
    let config = PipelineConfig::named(&args.detector)?;
    let mut pipelines = columns
        .iter()
        .enumerate()
        .map(|(index, _)| SeriesPipeline::new(&config, args.seed.wrapping_add(index as u64)))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = [
        "value",
        "score",
        "is_anomaly",
        "expected_lower",
        "expected_upper",
    ];
    let mut header = vec!["timestamp".to_string()];
    for column in columns {
        for field in fields {
            header.push(if columns.len() == 1 {
                field.to_string()
            } else {
                format!("{column}_{field}")
            });
        }
    }
    writeln!(output, "{}", header.join(","))?;
    let mut rows = 0;
    for row in reader {
        let row = row?;
        check_finite(args, columns, row.line, &row.values)?;
        write!(output, "{}", csv_field(&row.timestamp))?;
        for (pipeline, value) in pipelines.iter_mut().zip(&row.values) {
            let verdict = pipeline.verdict(row.timestamp_ms, *value);
            write!(
                output,
                ",{},{:.6},{},{},{}",
                value,
                verdict.score,
                u8::from(verdict.is_anomaly),
                verdict.expected_lower,
                verdict.expected_upper
            )?;
        }
        writeln!(output)?;
        rows += 1;
    }
    Ok(rows)
}

fn detect_multivariate(
    reader: TableReader,
    columns: &[String],
    args: &DetectArgs,
    output: &mut impl Write,
) -> anyhow::Result<usize> {
    let detector = if args.detector == "default" {
        lookout_detect::multi::MULTIVARIATE_DETECTORS[0]
    } else {
        args.detector.as_str()
    };
    let mut pipeline = MultiPipeline::named(detector, columns.len(), args.seed)?;
    let mut header = vec!["timestamp".to_string()];
    header.extend(columns.iter().cloned());
    header.extend(["score", "is_anomaly"].map(String::from));
    header.extend(columns.iter().map(|c| format!("{c}_contribution")));
    writeln!(output, "{}", header.join(","))?;
    let mut rows = 0;
    for row in reader {
        let row = row?;
        check_finite(args, columns, row.line, &row.values)?;
        let outcome = pipeline.update(row.timestamp_ms, &row.values);
        write!(output, "{}", csv_field(&row.timestamp))?;
        for value in &row.values {
            write!(output, ",{value}")?;
        }
        write!(
            output,
            ",{:.6},{}",
            outcome.score,
            u8::from(outcome.is_anomaly)
        )?;
        for share in &outcome.contributions {
            write!(output, ",{share:.4}")?;
        }
        writeln!(output)?;
        rows += 1;
    }
    Ok(rows)
}

fn check_finite(
    args: &DetectArgs,
    columns: &[String],
    line: u64,
    values: &[f64],
) -> anyhow::Result<()> {
    match values.iter().position(|value| !value.is_finite()) {
        None => Ok(()),
        Some(index) => bail!(
            "{}:{line}: column {:?}: {} is not a finite number",
            args.input
                .as_deref()
                .unwrap_or(std::path::Path::new("-"))
                .display(),
            columns[index],
            values[index]
        ),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
