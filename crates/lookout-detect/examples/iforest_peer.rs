//! Fits lookout's Isolation Forest on a labelled CSV, scores it, and prints one JSON
//! line `{fit_seconds, score_seconds, parallel_score_seconds, threads, auc, ...}`
//! (medians over repeats), for the peer comparison with scikit-learn in
//! `bench/peers/run.sh`. `score_seconds` is `score_many` on one thread;
//! `parallel_score_seconds` is `score_many_parallel` over every available core (its
//! scores are checked to be identical).
//!
//! The CSV has a header; every column but the last is a feature, the last is the label
//! (1 = anomaly, 0 = normal). Fitting includes the training-set pass that sets the
//! contamination threshold, as scikit-learn's `fit` does with a numeric contamination.
//!
//! Usage: `cargo run --release -p lookout-detect --example iforest_peer -- DATA.csv [REPEATS] [SEED]`

use std::time::Instant;

use lookout_detect::detectors::iforest::{IsolationForest, IsolationForestConfig};

fn load(path: &str) -> Result<(Vec<f64>, usize, Vec<bool>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| format!("{path}: empty file"))?;
    let columns = header.split(',').count();
    if columns < 2 {
        return Err(format!(
            "{path}:1: need at least one feature and a label column"
        ));
    }
    let features = columns - 1;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != columns {
            return Err(format!(
                "{path}:{}: {} fields, expected {columns}",
                n + 2,
                fields.len()
            ));
        }
        for field in &fields[..features] {
            let v: f64 = field
                .trim()
                .parse()
                .map_err(|e| format!("{path}:{}: value {field:?}: {e}", n + 2))?;
            rows.push(v);
        }
        labels.push(fields[features].trim() != "0");
    }
    Ok((rows, features, labels))
}

fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average_rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: iforest_peer DATA.csv [REPEATS] [SEED]");
        std::process::exit(2);
    };
    let repeats: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5).max(1);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (rows, features, labels) = match load(path) {
        Ok(data) => data,
        Err(error) => {
            eprintln!("iforest_peer: {error}");
            std::process::exit(1);
        }
    };
    let config = IsolationForestConfig::default();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (mut fit_times, mut score_times, mut aucs) = (Vec::new(), Vec::new(), Vec::new());
    let mut parallel_times = Vec::new();
    for repeat in 0..repeats {
        let start = Instant::now();
        let model = match IsolationForest::fit(&rows, features, &config, seed + repeat as u64) {
            Ok(model) => model,
            Err(error) => {
                eprintln!("iforest_peer: {path}: {error}");
                std::process::exit(1);
            }
        };
        fit_times.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let scores = model.score_many(&rows);
        score_times.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let parallel = model.score_many_parallel(&rows, threads);
        parallel_times.push(start.elapsed().as_secs_f64());
        if parallel != scores {
            eprintln!("iforest_peer: {path}: parallel scores differ from single-threaded ones");
            std::process::exit(1);
        }
        aucs.push(auc(&scores, &labels));
    }
    let summary = serde_json::json!({
        "rows": labels.len(),
        "features": features,
        "repeats": repeats,
        "fit_seconds": median(fit_times),
        "score_seconds": median(score_times),
        "parallel_score_seconds": median(parallel_times),
        "threads": threads,
        "auc": median(aucs),
    });
    println!("{summary}");
}
