//! Development harness for the multivariate detectors on the Server Machine Dataset:
//! feeds each machine's train then test rows as one stream and prints the best F1
//! (no point adjustment) of several score variants on the test rows.
//!
//! Usage: `cargo run --release -p lookout-detect --example smd_eval -- SMD_DIR [MACHINE...]`
//! with `PCA_JSON` (a `PcaConfig`) and `LIK_JSON` (a `LikelihoodConfig`) optional.

use lookout_detect::combiner::{Likelihood, LikelihoodConfig};
use lookout_detect::detectors::pca::{PcaConfig, StreamingPca};
use lookout_detect::multi::MultiPipeline;
use lookout_detect::MultiDetector;

const MACHINES: [&str; 14] = [
    "1-3", "1-4", "1-5", "1-7", "1-8", "2-2", "2-3", "2-4", "2-5", "2-7", "2-8", "3-3", "3-4",
    "3-5",
];

fn rows(path: &str) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect()
}

fn best_f1(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0f64);
    for (i, &index) in order.iter().enumerate() {
        if labels[index] {
            tp += 1.0
        } else {
            fp += 1.0
        }
        let last_of_tie = i + 1 == order.len() || scores[order[i + 1]] != scores[index];
        if last_of_tie {
            best = best.max(2.0 * tp / (tp + fp + positives));
        }
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = &args[0];
    let machines: Vec<String> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        MACHINES.iter().map(|s| s.to_string()).collect()
    };
    let pca_config: PcaConfig = std::env::var("PCA_JSON")
        .map(|j| serde_json::from_str(&j).unwrap())
        .unwrap_or_default();
    let lik_config: LikelihoodConfig = std::env::var("LIK_JSON")
        .map(|j| serde_json::from_str(&j).unwrap())
        .unwrap_or_default();
    let pipeline_name = std::env::var("PIPELINE").ok();
    let mut sums = [0.0; 4];
    println!("machine  raw    lik    lik_norec pipeline");
    for m in &machines {
        let train = rows(&format!("{dir}/train/machine-{m}.txt"));
        let test = rows(&format!("{dir}/test/machine-{m}.txt"));
        let labels: Vec<bool> = std::fs::read_to_string(format!("{dir}/test_label/machine-{m}.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim() != "0")
            .collect();
        let d = train[0].len();
        let mut pca = StreamingPca::new(pca_config.clone(), d).unwrap();
        let mut lik = Likelihood::new(lik_config);
        let mut norec = Likelihood::new(LikelihoodConfig {
            record_memory: 0,
            ..lik_config
        });
        let mut pipe = pipeline_name
            .as_deref()
            .map(|n| MultiPipeline::named(n, d, 42).unwrap());
        let mut forest = lookout_detect::detectors::iforest::StreamingIsolationForest::new_multivariate(
            Default::default(),
            d,
            42,
        )
        .unwrap();
        let mut flik = Likelihood::new(LikelihoodConfig {
            record_memory: 0,
            ..lik_config
        });
        let with_forest = std::env::var("FOREST").is_ok();
        let second: Option<PcaConfig> = std::env::var("PCA2_JSON")
            .ok()
            .map(|j| serde_json::from_str(&j).unwrap());
        let mut pca2 = second.map(|c| StreamingPca::new(c, d).unwrap());
        let roll: usize = std::env::var("ROLL").map_or(0, |v| v.parse().unwrap());
        let mut window: std::collections::VecDeque<f64> = Default::default();
        let mut out: [Vec<f64>; 4] = Default::default();
        for (t, row) in train.iter().chain(&test).enumerate() {
            let s = pca.update(t as i64 * 60_000, row);
            let a = lik.update(s.raw);
            let b = norec.update(s.raw);
            let mut c = pipe
                .as_mut()
                .map_or(0.0, |p| p.update(t as i64 * 60_000, row).score);
            if with_forest {
                let f = match &mut pca2 {
                    Some(p) => flik.update(p.update(t as i64 * 60_000, row).raw),
                    None => flik.update(forest.update(t as i64 * 60_000, row).raw),
                };
                c = match std::env::var("FOREST").unwrap().as_str() {
                    "alone" => f,
                    "max" => f.max(b),
                    _ => 0.5 * (f + b),
                };
            }
            if roll > 0 {
                window.push_back(b);
                if window.len() > roll {
                    window.pop_front();
                }
                c = window.iter().copied().fold(0.0, f64::max);
            }
            if t >= train.len() {
                out[0].push(s.raw);
                out[1].push(a);
                out[2].push(b);
                out[3].push(c);
            }
        }
        let f: Vec<f64> = out.iter().map(|o| best_f1(o, &labels)).collect();
        for (s, x) in sums.iter_mut().zip(&f) {
            *s += x;
        }
        println!(
            "{m:8} {:.3}  {:.3}  {:.3}     {:.3}   (k={})",
            f[0],
            f[1],
            f[2],
            f[3],
            pca.components()
        );
    }
    let n = machines.len() as f64;
    println!(
        "mean     {:.3}  {:.3}  {:.3}     {:.3}",
        sums[0] / n,
        sums[1] / n,
        sums[2] / n,
        sums[3] / n
    );
}
