//! `lookout bench nab`: NAB's protocol exactly: each file is scored online from its
//! first row, one score per row; NAB's scorer then optimises one threshold per profile
//! over the whole corpus. No detector parameter sees labels or future points.

use anyhow::Context;
use lookout_detect::pipeline::{PipelineConfig, SeriesPipeline};
use lookout_eval::nab::{
    load_results_dir, write_results_dir, NabCorpus, NabFile, NabReport, NabScorer,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct NabArgs {
    /// NAB corpus directory (data/, labels/combined_windows.json, config/profiles.json).
    #[arg(long)]
    data: PathBuf,
    /// Profile or detector to run.
    #[arg(long, default_value = "default")]
    detector: String,
    /// Score this existing NAB results directory instead of running a detector.
    #[arg(long)]
    score_dir: Option<PathBuf>,
    /// Also write our per-row scores in NAB's results layout here.
    #[arg(long)]
    write_results: Option<PathBuf>,
    /// Pipeline configuration as JSON (overrides --detector), e.g. from `lookout detect --print-pipeline`.
    #[arg(long)]
    pipeline: Option<String>,
    /// Print the pipeline configuration as JSON and exit.
    #[arg(long)]
    show_pipeline: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(args: NabArgs) -> anyhow::Result<()> {
    if args.show_pipeline {
        println!(
            "{}",
            serde_json::to_string_pretty(&PipelineConfig::named(&args.detector)?)?
        );
        return Ok(());
    }
    let corpus = NabCorpus::load(&args.data)?;
    let (detector, scores, seconds) = match &args.score_dir {
        Some(dir) => {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, load_results_dir(&corpus, dir)?, 0.0)
        }
        None => {
            let config = match &args.pipeline {
                Some(json) => serde_json::from_str(json).context("parsing --pipeline JSON")?,
                None => PipelineConfig::named(&args.detector)?,
            };
            let started = Instant::now();
            let scores = score_corpus(&corpus, &config, args.seed)?;
            (
                args.detector.clone(),
                scores,
                started.elapsed().as_secs_f64(),
            )
        }
    };
    if let Some(dir) = &args.write_results {
        write_results_dir(&corpus, dir, &detector, &scores)
            .with_context(|| format!("writing NAB results to {}", dir.display()))?;
    }
    let report = NabScorer::new(&corpus).sweep(&scores)?;
    let points = corpus.files.iter().map(NabFile::len).sum::<usize>();
    print_report(&detector, &report, points, seconds, args.json);
    Ok(())
}

/// Scores every file with a fresh pipeline, files spread over the available cores.
pub fn score_corpus(
    corpus: &NabCorpus,
    config: &PipelineConfig,
    seed: u64,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut scored: Vec<(usize, anyhow::Result<Vec<f64>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = corpus.files.get(index) else {
                            break;
                        };
                        done.push((index, score_file(file, config, seed)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("NAB worker panicked"))
            .collect()
    });
    scored.sort_by_key(|(index, _)| *index);
    scored
        .into_iter()
        .map(|(index, scores)| {
            scores.with_context(|| format!("scoring {}", corpus.files[index].name))
        })
        .collect()
}

fn score_file(file: &NabFile, config: &PipelineConfig, seed: u64) -> anyhow::Result<Vec<f64>> {
    let mut pipeline = SeriesPipeline::new(config, seed)?;
    Ok(file
        .timestamps_ms
        .iter()
        .zip(&file.values)
        .map(|(timestamp, value)| pipeline.update(*timestamp, *value).news)
        .collect())
}

fn print_report(detector: &str, report: &NabReport, points: usize, seconds: f64, json: bool) {
    let normalized = |name: &str| {
        report
            .profile(name)
            .map(|p| p.normalized)
            .unwrap_or(f64::NAN)
    };
    if json {
        let object = serde_json::json!({
            "detector": detector,
            "standard": normalized("standard"),
            "reward_low_fp": normalized("reward_low_FP_rate"),
            "reward_low_fn": normalized("reward_low_FN_rate"),
            "points": points,
            "seconds": seconds,
        });
        println!("{object}");
        return;
    }
    println!("detector: {detector}");
    println!(
        "{:<22} {:>10} {:>12} {:>8} {:>8}",
        "profile", "score", "threshold", "TP", "FP"
    );
    for profile in &report.profiles {
        println!(
            "{:<22} {:>10.2} {:>12.6} {:>8} {:>8}",
            profile.profile, profile.normalized, profile.threshold, profile.tp, profile.fp
        );
    }
    if seconds > 0.0 {
        println!(
            "{points} points in {seconds:.2} s: {:.0} points/s",
            points as f64 / seconds
        );
    }
}
