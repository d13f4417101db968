//! Measures bytes on disk per raw sample and per rollup row, for host-like metrics
//! sampled every second, and projects the disk use under the default retention.
//!
//! Run: `cargo run --release -p lookout-store --example disk_usage -- [hours] [series]`
//! (defaults: 6 hours of 100 series).

use std::time::Instant;

use lookout_model::SeriesKey;
use lookout_store::{SampleVerdict, Store, StoreConfig, WriteBatch, DATABASE_FILE};

const EPOCH: i64 = 1_704_067_200_000;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Host-like series: a third percentages with decimals, a third byte counters, a third
/// byte gauges (integers, which SQLite stores in fewer bytes than a float).
fn next_value(kind: usize, previous: f64, rng: &mut Rng) -> f64 {
    match kind {
        0 => ((previous + rng.next() * 4.0 - 2.0).clamp(0.0, 100.0) * 100.0).round() / 100.0,
        1 => previous + (rng.next() * 125_000.0).round(),
        _ => (4.0e9 + rng.next() * 1.0e8).round(),
    }
}

fn table_bytes(path: &std::path::Path) -> Vec<(String, i64, i64)> {
    let conn = rusqlite::Connection::open(path).expect("open for dbstat");
    let mut stmt = conn
        .prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY name")
        .expect("dbstat is compiled into the bundled SQLite");
    let sizes: Vec<(String, i64)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    sizes
        .into_iter()
        .map(|(name, bytes)| {
            let rows = if name == "sample_chunks" {
                // Raw rows, not chunks: one chunk holds many rows of a series.
                conn.query_row("SELECT coalesce(sum(rows), 0) FROM blocks", [], |row| {
                    row.get(0)
                })
                .unwrap_or(0)
            } else if name.starts_with("samples") || name == "series" {
                conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |row| {
                    row.get(0)
                })
                .unwrap_or(0)
            } else {
                0
            };
            (name, bytes, rows)
        })
        .collect()
}

fn per_row(sizes: &[(String, i64, i64)], table: &str) -> f64 {
    sizes
        .iter()
        .find(|(name, _, _)| name == table)
        .map_or(f64::NAN, |(_, bytes, rows)| {
            *bytes as f64 / (*rows).max(1) as f64
        })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let hours: i64 = args.next().map_or(6, |arg| arg.parse().expect("hours"));
    let series_count: usize = args.next().map_or(100, |arg| arg.parse().expect("series"));
    let dir = std::env::temp_dir().join(format!("lookout-store-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let store = Store::open(&dir, StoreConfig::default()).unwrap();
    let ids: Vec<_> = (0..series_count)
        .map(|i| {
            store.series_id(
                &SeriesKey::new(["cpu_percent", "net_bytes_total", "mem_used_bytes"][i % 3])
                    .with_label("host", "web-1")
                    .with_label("instance", i.to_string()),
            )
        })
        .collect();
    let mut rng = Rng(7);
    let mut values: Vec<f64> = (0..series_count).map(|_| 50.0).collect();
    let seconds = hours * 3600;
    let started = Instant::now();
    let mut batch = WriteBatch::with_capacity(60 * series_count);
    let mut tickets = Vec::new();
    for second in 0..seconds {
        let ts = EPOCH + second * 1000;
        for (i, id) in ids.iter().enumerate() {
            let value = next_value(i % 3, values[i], &mut rng);
            values[i] = value;
            let spread = value.abs() * 0.05 + 1.0;
            batch.samples.push(lookout_store::SampleRow {
                series: *id,
                ts_ms: ts,
                value,
                verdict: Some(SampleVerdict {
                    score: rng.next() * 0.3,
                    is_anomaly: false,
                    lower: value - spread * rng.next(),
                    upper: value + spread * rng.next(),
                }),
            });
        }
        if second % 60 == 59 {
            tickets.push(store.submit(std::mem::take(&mut batch)).unwrap());
            if tickets.len() > 8 {
                tickets.remove(0).wait().unwrap();
            }
        }
    }
    tickets.push(store.submit(batch).unwrap());
    for ticket in tickets {
        ticket.wait().unwrap();
    }
    let samples = seconds * series_count as i64;
    let elapsed = started.elapsed().as_secs_f64();
    store.close().unwrap();

    let path = dir.join(DATABASE_FILE);
    let raw_file = std::fs::metadata(&path).unwrap().len();
    let store = Store::open(&dir, StoreConfig::default()).unwrap();
    let report = store.compact(EPOCH + seconds * 1000 + 60_000).unwrap();
    store.close().unwrap();
    let sizes = table_bytes(&path);
    let file = std::fs::metadata(&path).unwrap().len();

    let raw = per_row(&sizes, "sample_chunks");
    let minute = per_row(&sizes, "samples_1m");
    let hour = per_row(&sizes, "samples_1h");
    println!("wrote {samples} samples ({series_count} series x {seconds} s) in {elapsed:.1} s: {:.0} samples/s", samples as f64 / elapsed);
    println!(
        "file after raw writes: {raw_file} bytes = {:.1} bytes/sample",
        raw_file as f64 / samples as f64
    );
    println!(
        "rollups built: {} minute rows, {} hour rows",
        report.rollup_1m_rows, report.rollup_1h_rows
    );
    for (name, bytes, rows) in &sizes {
        println!("  {name:<28} {bytes:>12} bytes {rows:>10} rows");
    }
    println!("file with rollups: {file} bytes");
    println!("bytes per raw sample: {raw:.1}; per 1m rollup row: {minute:.1}; per 1h rollup row: {hour:.1}");
    let raw_kept = 3.0 * 86_400.0 * raw;
    let minute_month = 30.0 * 1440.0 * minute;
    let hour_month = 30.0 * 24.0 * hour;
    let steady = raw_kept + 90.0 * 1440.0 * minute + 730.0 * 24.0 * hour;
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    println!("one 1-second series under the default retention (3 d raw, 90 d 1m, 730 d 1h):");
    println!("  raw days kept at any time: {:.1} MiB", mib(raw_kept));
    println!(
        "  each month adds {:.2} MiB of 1m rollups and {:.3} MiB of 1h rollups",
        mib(minute_month),
        mib(hour_month)
    );
    println!(
        "  steady state after two years: {:.1} MiB per series, {:.2} GiB for {series_count} series",
        mib(steady),
        mib(steady) * series_count as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
