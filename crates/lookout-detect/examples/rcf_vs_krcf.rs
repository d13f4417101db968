//! Side-by-side comparison of lookout's Random Cut Forest with the `krcf` crate (a
//! Rust port of AWS's reference implementation) on NAB series and synthetic data.
//!
//! For each series it prints the Spearman rank correlation between the two detectors'
//! scores (after both have warmed up) and both throughputs in points per second
//! (score then update of every point, median of several runs).
//!
//! Usage: `cargo run --release -p lookout-detect --example rcf_vs_krcf [NAB_DATA_DIR] [RUNS]`
//! (default directory `/work/shared/datasets/nab/data`, default 3 runs).

use std::path::{Path, PathBuf};
use std::time::Instant;

use krcf::{RandomCutForest as Krcf, RandomCutForestOptions};
use lookout_detect::detectors::rcf::{RandomCutForest, RandomCutForestConfig};
use lookout_detect::Detector;

const SHINGLE: usize = 4;
const TREES: usize = 50;
const SAMPLE: usize = 256;
const OUTPUT_AFTER: usize = 64;
const SEED: u64 = 42;

const NAB_SERIES: [&str; 5] = [
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
    "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
];

fn load_nab(path: &Path) -> Result<Vec<f64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let field = line.rsplit(',').next().unwrap_or("");
            field
                .trim()
                .parse::<f64>()
                .map_err(|e| format!("{}:{}: value {field:?}: {e}", path.display(), n + 1))
        })
        .collect()
}

/// A sine with noise, a level shift and a few spikes (deterministic).
fn synthetic(n: usize) -> Vec<f64> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..n)
        .map(|i| {
            let mut v =
                100.0 + 20.0 * (i as f64 * std::f64::consts::TAU / 96.0).sin() + 4.0 * noise();
            if i > n * 2 / 3 {
                v += 15.0;
            }
            if i % 1500 == 1000 {
                v += 60.0;
            }
            v
        })
        .collect()
}

fn ours(values: &[f64], normalize: bool) -> Vec<f64> {
    let config = RandomCutForestConfig {
        num_trees: TREES,
        sample_size: SAMPLE,
        shingle_size: SHINGLE,
        output_after: Some(OUTPUT_AFTER),
        normalize,
        ..Default::default()
    };
    let mut rcf = RandomCutForest::new(config, SEED).expect("valid config");
    values
        .iter()
        .enumerate()
        .map(|(i, v)| rcf.update(i as i64, *v).raw)
        .collect()
}

fn theirs(values: &[f64]) -> Vec<f64> {
    let options = RandomCutForestOptions {
        dimensions: 1,
        shingle_size: SHINGLE,
        num_trees: Some(TREES),
        sample_size: Some(SAMPLE),
        output_after: Some(OUTPUT_AFTER),
        random_seed: Some(SEED),
        lambda: Some(1.0 / (10.0 * SAMPLE as f64)),
        ..Default::default()
    };
    let mut rcf = Krcf::new(options).expect("valid krcf options");
    values
        .iter()
        .map(|v| {
            let point = [*v as f32];
            let score = rcf.score(&point).unwrap_or(0.0);
            rcf.update(&point).expect("krcf update");
            score
        })
        .collect()
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[order[k]] = average;
        }
        i = j + 1;
    }
    ranks
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    cov / (va * vb).sqrt()
}

fn median_rate(values: &[f64], runs: usize, run: impl Fn(&[f64]) -> Vec<f64>) -> (f64, Vec<f64>) {
    let mut rates = Vec::new();
    let mut scores = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        scores = run(values);
        rates.push(values.len() as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], scores)
}

fn compare(name: &str, values: &[f64], runs: usize) {
    let (our_rate, our_scores) = median_rate(values, runs, |v| ours(v, false));
    let (their_rate, their_scores) = median_rate(values, runs, theirs);
    let normalized = ours(values, true);
    let skip = OUTPUT_AFTER + 2 * SHINGLE;
    if values.len() <= skip + 10 {
        println!("{name}: too short ({} points)", values.len());
        return;
    }
    let rho = spearman(&our_scores[skip..], &their_scores[skip..]);
    let rho_normalized = spearman(&normalized[skip..], &their_scores[skip..]);
    println!(
        "| {name} | {} | {rho:.3} | {rho_normalized:.3} | {our_rate:.0} | {their_rate:.0} | {:.2} |",
        values.len(),
        our_rate / their_rate
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/work/shared/datasets/nab/data".to_string()),
    );
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3).max(1);
    println!("Random Cut Forest: lookout vs krcf 0.4 ({TREES} trees, sample {SAMPLE}, shingle {SHINGLE}, {runs} runs)");
    println!("| series | points | spearman (normalize=false) | spearman (normalize=true) | lookout pts/s | krcf pts/s | speed ratio |");
    println!("|---|---|---|---|---|---|---|");
    compare("synthetic sine+shift+spikes", &synthetic(10_000), runs);
    if !dir.is_dir() {
        println!(
            "NAB data not found at {}: skipping NAB series",
            dir.display()
        );
        return;
    }
    for series in NAB_SERIES {
        match load_nab(&dir.join(series)) {
            Ok(values) => compare(series, &values, runs),
            Err(error) => println!("skipping {series}: {error}"),
        }
    }
}
