//! Side-by-side evaluation of every model kind on an NSL-KDD-format file:
//! k-fold cross-validation, the leave-attack-families-out split, time to train on the
//! whole file and scoring throughput.
//!
//! `cargo run --release -p lookout-traffic-model --example evaluate -- FILE [--folds N]
//! [--test-limit N] [--kinds knn,svm,forest] [--quantile Q] [--prototypes N] [--lfo-only] [--timing-runs N]`; `NOVELTY=0`
//! trains the classifiers without the novelty profile; `--timing-runs N` only times
//! training on the whole file and scoring its first 20 000 records, N times (medians).
//!
//! `--test-limit` caps the records scored per fold (a seeded sample; k-NN scans the whole
//! training set per record). Runs on one thread.

use std::io::BufReader;
use std::time::Instant;

use lookout_traffic_model::eval::{evaluate, k_fold, leave_families_out, select, Confusion};
use lookout_traffic_model::{read_records, ModelKind, TrafficModel, TrainParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut folds = 5;
    let mut limit = usize::MAX;
    let mut kinds: Vec<ModelKind> = ModelKind::ALL.to_vec();
    let mut quantile = None;
    let mut lfo_only = false;
    let mut prototypes = None;
    let mut timing_runs = 0usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--folds" => folds = args.next().expect("--folds N").parse().expect("--folds N"),
            "--test-limit" => limit = args.next().expect("--test-limit N").parse().expect("N"),
            "--kinds" => {
                kinds = args
                    .next()
                    .expect("--kinds a,b")
                    .split(',')
                    .map(|k| ModelKind::parse(k).expect("kind"))
                    .collect()
            }
            "--quantile" => {
                quantile = Some(
                    args.next()
                        .expect("--quantile Q")
                        .parse::<f64>()
                        .expect("Q"),
                )
            }
            "--lfo-only" => lfo_only = true,
            "--prototypes" => {
                prototypes = Some(
                    args.next()
                        .expect("--prototypes N")
                        .parse::<usize>()
                        .expect("N"),
                )
            }
            "--timing-runs" => {
                timing_runs = args.next().expect("--timing-runs N").parse().expect("N")
            }
            _ => file = Some(arg),
        }
    }
    let file = file.expect("usage: evaluate FILE [--folds N] [--test-limit N] [--kinds ...]");
    let reader = BufReader::new(std::fs::File::open(&file).expect("open"));
    let records = read_records(reader).unwrap_or_else(|e| panic!("{file}: {e}"));
    let novelty = !std::env::var("NOVELTY").is_ok_and(|v| v == "0");
    let mut params = TrainParams::default();
    if !novelty {
        params.novelty = None;
    }
    if let (Some(q), Some(config)) = (quantile, params.novelty.as_mut()) {
        config.quantile = q;
    }
    if let (Some(n), Some(config)) = (prototypes, params.novelty.as_mut()) {
        config.prototypes = n;
    }
    println!(
        "{} records from {file}; {folds}-fold CV, test limit {limit}",
        records.len()
    );
    println!("| model | CV accuracy | CV precision | CV recall | LFO accuracy | LFO recall (unseen attacks) | LFO false-positive rate | train s (whole file) | score records/s |");
    println!("|---|---|---|---|---|---|---|---|---|");
    if timing_runs > 0 {
        println!("| model | train s (whole file, median of {timing_runs}) | score records/s (median of {timing_runs}) |");
        println!("|---|---|---|");
        for kind in kinds {
            let (mut train, mut score) = (Vec::new(), Vec::new());
            for _ in 0..timing_runs {
                let started = Instant::now();
                let model = TrafficModel::train(kind, &params, &records).expect("train");
                train.push(started.elapsed().as_secs_f64());
                let probe = &records[..records.len().min(20_000)];
                let started = Instant::now();
                let attacks: usize = probe
                    .iter()
                    .map(|r| usize::from(model.predict(&r.record).attack))
                    .sum();
                std::hint::black_box(attacks);
                score.push(probe.len() as f64 / started.elapsed().as_secs_f64());
            }
            println!(
                "| {} | {:.2} | {:.0} |",
                kind.name(),
                median(&mut train),
                median(&mut score)
            );
        }
        return;
    }
    for kind in kinds {
        let mut cv = Confusion::default();
        let folds_run = if lfo_only {
            Vec::new()
        } else {
            k_fold(records.len(), folds, 42)
        };
        for (fold, split) in folds_run.into_iter().enumerate() {
            let split = split.limit_test(limit, fold as u64);
            let model =
                TrafficModel::train(kind, &params, &select(&records, &split.train)).expect("train");
            cv.merge(&evaluate(&model, split.test.iter().map(|&i| &records[i])));
        }
        let split = leave_families_out(&records, 42).limit_test(limit, 99);
        let model =
            TrafficModel::train(kind, &params, &select(&records, &split.train)).expect("train");
        let lfo = evaluate(&model, split.test.iter().map(|&i| &records[i]));
        if lfo_only {
            println!(
                "| {} | LFO accuracy {:.2} % | recall {:.2} % | false-positive rate {:.2} % |",
                kind.name(),
                100.0 * lfo.accuracy(),
                100.0 * lfo.recall(),
                100.0 * lfo.false_positive_rate()
            );
            continue;
        }
        let started = Instant::now();
        let model = TrafficModel::train(kind, &params, &records).expect("train");
        let train_secs = started.elapsed().as_secs_f64();
        let probe: Vec<_> = records.iter().take(limit.min(20_000)).collect();
        let started = Instant::now();
        let mut attacks = 0;
        for record in &probe {
            attacks += usize::from(model.predict(&record.record).attack);
        }
        let rate = probe.len() as f64 / started.elapsed().as_secs_f64();
        std::hint::black_box(attacks);
        println!(
            "| {} | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} | {:.0} |",
            kind.name(),
            100.0 * cv.accuracy(),
            100.0 * cv.precision(),
            100.0 * cv.recall(),
            100.0 * lfo.accuracy(),
            100.0 * lfo.recall(),
            100.0 * lfo.false_positive_rate(),
            train_secs,
            rate
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
