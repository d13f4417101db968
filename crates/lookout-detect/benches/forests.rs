//! Throughput of the forest detectors, and of lookout's Random Cut Forest against the
//! `krcf` crate on the same stream (score then update per point, shingle 4, 50 trees,
//! sample 256).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use krcf::{RandomCutForest as Krcf, RandomCutForestOptions};
use lookout_detect::detectors::hst::{HalfSpaceTrees, HstConfig};
use lookout_detect::detectors::iforest::{
    IsolationForest, IsolationForestConfig, StreamingIsolationForest,
    StreamingIsolationForestConfig,
};
use lookout_detect::detectors::rcf::{RandomCutForest, RandomCutForestConfig};
use lookout_detect::Detector;

const POINTS: usize = 4000;

fn stream() -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..POINTS)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            50.0 + 10.0 * (i as f64 / 15.0).sin() + noise + if i % 997 == 500 { 40.0 } else { 0.0 }
        })
        .collect()
}

fn rcf_vs_krcf(c: &mut Criterion) {
    let values = stream();
    let mut group = c.benchmark_group("rcf_stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("lookout", |b| {
        b.iter_batched(
            || RandomCutForest::new(RandomCutForestConfig::default(), 7).unwrap(),
            |mut rcf| {
                let mut total = 0.0;
                for (i, v) in values.iter().enumerate() {
                    total += rcf.update(i as i64, *v).raw;
                }
                total
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("krcf", |b| {
        b.iter_batched(
            || {
                Krcf::new(RandomCutForestOptions {
                    dimensions: 1,
                    shingle_size: 4,
                    num_trees: Some(50),
                    sample_size: Some(256),
                    output_after: Some(64),
                    random_seed: Some(7),
                    lambda: Some(1.0 / 2560.0),
                    ..Default::default()
                })
                .unwrap()
            },
            |mut rcf| {
                let mut total = 0.0;
                for v in &values {
                    let point = [*v as f32];
                    total += rcf.score(&point).unwrap_or(0.0);
                    rcf.update(&point).unwrap();
                }
                total
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn other_forests(c: &mut Criterion) {
    let values = stream();
    let mut group = c.benchmark_group("forest_stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("hst", |b| {
        b.iter_batched(
            || HalfSpaceTrees::new(HstConfig::default(), 7).unwrap(),
            |mut hst| {
                let mut total = 0.0;
                for (i, v) in values.iter().enumerate() {
                    total += Detector::update(&mut hst, i as i64, *v).raw;
                }
                total
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("streaming_iforest", |b| {
        b.iter_batched(
            || StreamingIsolationForest::new(StreamingIsolationForestConfig::default(), 7).unwrap(),
            |mut forest| {
                let mut total = 0.0;
                for (i, v) in values.iter().enumerate() {
                    total += Detector::update(&mut forest, i as i64, *v).raw;
                }
                total
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let rows: Vec<f64> = values.windows(4).flatten().copied().collect();
    let config = IsolationForestConfig::default();
    let mut group = c.benchmark_group("iforest_batch");
    group.sample_size(10);
    group.bench_function("fit_4k_x4", |b| {
        b.iter(|| IsolationForest::fit(&rows, 4, &config, 1).unwrap())
    });
    let model = IsolationForest::fit(&rows, 4, &config, 1).unwrap();
    group.throughput(Throughput::Elements((rows.len() / 4) as u64));
    group.bench_function("score_4k_x4", |b| b.iter(|| model.score_many(&rows)));
    group.finish();
}

criterion_group!(benches, rcf_vs_krcf, other_forests);
criterion_main!(benches);
