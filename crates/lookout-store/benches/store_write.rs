//! Write throughput of the store: samples per second for batches of 1,000 and 10,000
//! samples spread over 10,000 series, each batch a scrape of that many series at one
//! timestamp. `submit_wait` commits one batch at a time; `pipelined_x8` keeps eight
//! batches in flight, as the server does with many concurrent ingest requests.
//!
//! Run: `cargo bench -p lookout-store --bench store_write`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use lookout_model::{SeriesId, SeriesKey};
use lookout_store::{SampleVerdict, Store, StoreConfig, WriteBatch};

const SERIES: usize = 10_000;
const EPOCH: i64 = 1_704_067_200_000;

struct Feed {
    ids: Vec<SeriesId>,
    cursor: usize,
    ts: i64,
    step: u64,
}

impl Feed {
    /// The next `size` samples: series in round-robin order, one second per full round.
    fn batch(&mut self, size: usize) -> WriteBatch {
        let mut batch = WriteBatch::with_capacity(size);
        for _ in 0..size {
            self.step = self
                .step
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let value = (self.step >> 40) as f64 / 1000.0;
            batch.samples.push(lookout_store::SampleRow {
                series: self.ids[self.cursor],
                ts_ms: self.ts,
                value,
                verdict: Some(SampleVerdict {
                    score: (self.step >> 54) as f64 / 1024.0,
                    is_anomaly: false,
                    lower: value - 1.5,
                    upper: value + 1.5,
                }),
            });
            self.cursor += 1;
            if self.cursor == self.ids.len() {
                self.cursor = 0;
                self.ts += 1000;
            }
        }
        batch
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn store_write(c: &mut Criterion) {
    let dir = temp_dir();
    let store = Store::open(&dir, StoreConfig::default()).expect("open bench store");
    let ids = (0..SERIES)
        .map(|i| {
            store.series_id(&SeriesKey::new("bench_metric").with_label("series", i.to_string()))
        })
        .collect();
    store.flush().expect("commit series");
    let mut feed = Feed {
        ids,
        cursor: 0,
        ts: EPOCH,
        step: 42,
    };
    let mut group = c.benchmark_group("store_write");
    group.sample_size(20);
    for size in [1_000usize, 10_000] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(BenchmarkId::new("submit_wait", size), |b| {
            b.iter_batched(
                || feed.batch(size),
                |batch| store.write(batch).expect("write"),
                BatchSize::SmallInput,
            )
        });
        group.throughput(Throughput::Elements(8 * size as u64));
        group.bench_function(BenchmarkId::new("pipelined_x8", size), |b| {
            b.iter_batched(
                || (0..8).map(|_| feed.batch(size)).collect::<Vec<_>>(),
                |batches| {
                    let tickets: Vec<_> = batches
                        .into_iter()
                        .map(|batch| store.submit(batch).expect("submit"))
                        .collect();
                    for ticket in tickets {
                        ticket.wait().expect("commit");
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, store_write);
criterion_main!(benches);
