//! Decode throughput in samples per second for every ingestion format.
//!
//! The server must ingest at least 300,000 samples/s on 2 cores in total, so each
//! decoder should sit well above that. Run with `cargo bench -p lookout-protocol`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::exposition::parse_exposition;
use lookout_protocol::influx::{parse_lines, Precision};
use lookout_protocol::json_samples::parse_json_samples;
use lookout_protocol::remote_write::{decode_write_request, encode_write_request};
use lookout_protocol::SampleLimits;
use std::hint::black_box;

const NOW_MS: i64 = 1_700_000_000_000;

/// node_exporter-like series: 5 labels besides the name, one sample each (what Prometheus sends).
fn remote_write_samples(series: usize) -> Vec<Sample> {
    (0..series)
        .map(|index| {
            let key = SeriesKey::new("node_cpu_seconds_total")
                .with_label(
                    "instance",
                    format!("10.0.{}.{}:9100", index / 250, index % 250),
                )
                .with_label("job", "node")
                .with_label("cpu", (index % 16).to_string())
                .with_label("mode", ["user", "system", "idle", "iowait"][index % 4])
                .with_label("region", "eu-west-1");
            Sample {
                key,
                timestamp_ms: NOW_MS + index as i64,
                value: index as f64 * 0.25,
            }
        })
        .collect()
}

/// Telegraf's cpu plugin: 2 tags, 5 float fields per line.
fn influx_body(lines: usize) -> String {
    let mut body = String::new();
    for index in 0..lines {
        body.push_str(&format!(
            "cpu,cpu=cpu{},host=web-{} usage_user={}.5,usage_system=0.5,usage_idle=97.25,usage_iowait=0.125,usage_steal=0 {}\n",
            index % 16,
            index / 16,
            index % 7,
            (NOW_MS + index as i64) * 1_000_000
        ));
    }
    body
}

fn json_body(samples: usize) -> String {
    let elements: Vec<String> = (0..samples)
        .map(|index| {
            format!(
                r#"{{"name":"cpu_utilization","labels":{{"host":"web-{}","source":"script"}},"timestamp":{},"value":{}.5}}"#,
                index % 100,
                NOW_MS + index as i64,
                index % 100
            )
        })
        .collect();
    format!("[{}]", elements.join(","))
}

fn exposition_body(series: usize) -> String {
    let mut body = String::from("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n# TYPE node_cpu_seconds_total counter\n");
    for index in 0..series {
        body.push_str(&format!(
            "node_cpu_seconds_total{{cpu=\"{}\",mode=\"{}\"}} {}.25\n",
            index / 4,
            ["user", "system", "idle", "iowait"][index % 4],
            index * 31
        ));
    }
    body
}

fn decode(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("decode");
    for series in [100usize, 2_000] {
        let samples = remote_write_samples(series);
        let body = encode_write_request(&samples);
        group.throughput(Throughput::Elements(series as u64));
        group.bench_with_input(
            BenchmarkId::new("remote_write", series),
            &body,
            |b, body| b.iter(|| decode_write_request(black_box(body)).unwrap()),
        );
        // The floor every decoder shares: allocating the same series keys (a clone of the samples).
        group.bench_with_input(
            BenchmarkId::new("baseline_clone_samples", series),
            &samples,
            |b, samples| b.iter(|| black_box(samples).clone()),
        );
        group.bench_with_input(
            BenchmarkId::new("remote_write_and_limits", series),
            &body,
            |b, body| {
                b.iter(|| {
                    let mut batch = decode_write_request(black_box(body)).unwrap();
                    SampleLimits::default().apply(&mut batch, NOW_MS);
                    batch
                })
            },
        );
    }
    for lines in [100usize, 2_000] {
        let body = influx_body(lines);
        group.throughput(Throughput::Elements(lines as u64 * 5));
        group.bench_with_input(BenchmarkId::new("influx", lines * 5), &body, |b, body| {
            b.iter(|| {
                parse_lines(black_box(body.as_bytes()), Precision::Nanoseconds, NOW_MS).unwrap()
            })
        });
    }
    let body = json_body(2_000);
    group.throughput(Throughput::Elements(2_000));
    group.bench_with_input(BenchmarkId::new("json", 2_000), &body, |b, body| {
        b.iter(|| parse_json_samples(black_box(body.as_bytes()), NOW_MS).unwrap())
    });
    let body = exposition_body(2_000);
    group.bench_with_input(BenchmarkId::new("exposition", 2_000), &body, |b, body| {
        b.iter(|| parse_exposition(black_box(body.as_bytes()), NOW_MS).unwrap())
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
