//! Per-point cost of each streaming detector and of whole pipelines (single series,
//! cache-hot), and of the sharded engine over 10,000 series. `lookout bench
//! throughput` reports the same engine figure from the command line.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lookout_detect::engine::{Engine, EngineConfig, Point};
use lookout_detect::pipeline::{PipelineConfig, SeriesPipeline};
use lookout_model::SeriesId;

const POINTS: usize = 5000;

fn stream(seed: u64, points: usize) -> Vec<f64> {
    let mut state = seed | 1;
    (0..points)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            50.0 + 10.0 * (i as f64 / 48.0).sin() + 3.0 * noise
        })
        .collect()
}

fn pipelines(c: &mut Criterion) {
    let values = stream(7, POINTS);
    let mut group = c.benchmark_group("pipeline_per_point");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.sample_size(10);
    for name in [
        "default",
        "ewma",
        "robust_z",
        "seasonal",
        "changepoint",
        "knn",
        "usage",
    ] {
        let config = PipelineConfig::named(name).unwrap();
        group.bench_function(name, |b| {
            b.iter_batched(
                || SeriesPipeline::new(&config, 1).unwrap(),
                |mut pipeline| {
                    let mut total = 0.0;
                    for (i, value) in values.iter().enumerate() {
                        total += pipeline.update(i as i64 * 60_000, *value).score;
                    }
                    total
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    const SERIES: usize = 10_000;
    const STEPS: usize = 20;
    let batches: Vec<Vec<Point>> = (0..STEPS)
        .map(|step| {
            (0..SERIES)
                .map(|i| Point {
                    series: SeriesId(i as i64),
                    timestamp_ms: step as i64 * 1000,
                    value: 50.0 + ((i + step) % 17) as f64,
                })
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("engine_10k_series");
    group.throughput(Throughput::Elements((SERIES * STEPS) as u64));
    group.sample_size(10);
    group.bench_function("default", |b| {
        b.iter_batched(
            || {
                let engine = Engine::start(EngineConfig::default()).unwrap();
                (engine, batches.clone())
            },
            |(engine, batches)| {
                for batch in batches {
                    engine.score_blocking(batch).unwrap();
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, pipelines, engine);
criterion_main!(benches);
