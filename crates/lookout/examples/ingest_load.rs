//! Remote-write load generator for `bench/ingest.sh`.
//!
//! Pushes Prometheus remote-write requests (snappy protobuf) at `--url` from
//! `--concurrency` connections for `--duration` seconds: `--series` series, each request
//! `--batch` samples (one sample of each of `--batch` consecutive series, the shape
//! Prometheus sends). Once every series has a sample at time t, t advances by one second,
//! starting an hour ago. A 429/503 is retried after a short pause and counted.
//!
//! Prints one JSON line: sustained samples/s (acknowledged), requests, retries, and
//! latency percentiles of acknowledged requests; then the same for the steady state
//! (`steady_*`): the requests after the first round, once every series exists (the
//! first round registers all of them, which is a one-time cost). lookout acknowledges a write only after
//! it is scored and committed, when it is queryable, so that latency is the time from a
//! sample's arrival to its verdict being queryable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;

#[derive(Debug, Parser)]
struct Args {
    /// Remote write URL, e.g. http://127.0.0.1:8080/api/v1/write
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 100_000)]
    series: u64,
    #[arg(long, default_value_t = 5_000)]
    batch: u64,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Rounds (every series once) per second; 0 sends as fast as the server answers.
    /// Paced, timestamps start now and advance 1 s / rate per round (a soak run);
    /// unpaced, they start an hour ago and advance 1 s per round.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
}

fn series_key(index: u64) -> SeriesKey {
    SeriesKey::new(format!("bench_metric_{}", index % 100))
        .with_label("instance", format!("host-{}:9100", index / 100))
        .with_label("job", "bench")
}

/// The samples of request number `request`.
fn request_samples(request: u64, args: &Args, start_ms: i64, keys: &[SeriesKey]) -> Vec<Sample> {
    let per_round = args.series.div_ceil(args.batch);
    let round = request / per_round;
    let first = (request % per_round) * args.batch;
    let last = (first + args.batch).min(args.series);
    let step_ms = if args.rate > 0.0 {
        1000.0 / args.rate
    } else {
        1000.0
    };
    let timestamp_ms = start_ms + (round as f64 * step_ms) as i64;
    (first..last)
        .map(|index| {
            let wave = ((round as f64 / 30.0) + index as f64).sin();
            Sample {
                key: keys[index as usize].clone(),
                timestamp_ms,
                value: 50.0 + 10.0 * wave,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    let keys: Arc<Vec<SeriesKey>> = Arc::new((0..args.series).map(series_key).collect());
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let start_ms = if args.rate > 0.0 {
        now_ms
    } else {
        now_ms - 3_600_000
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let next_request = Arc::new(AtomicU64::new(0));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let steady_samples = Arc::new(AtomicU64::new(0));
    // Microseconds from the start to the first request of the second round.
    let steady_from = Arc::new(AtomicU64::new(u64::MAX));
    // (round, latency) of every acknowledged request.
    let latencies = Arc::new(Mutex::new(Vec::<(u64, Duration)>::new()));
    let per_round = args.series.div_ceil(args.batch);
    let began = Instant::now();
    let deadline = began + Duration::from_secs(args.duration);
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (args, keys, client) = (Arc::clone(&args), Arc::clone(&keys), client.clone());
        let (next_request, acknowledged, retries, latencies) = (
            Arc::clone(&next_request),
            Arc::clone(&acknowledged),
            Arc::clone(&retries),
            Arc::clone(&latencies),
        );
        let (steady_samples, steady_from) = (Arc::clone(&steady_samples), Arc::clone(&steady_from));
        workers.push(tokio::spawn(async move {
            let mut local = Vec::new();
            while Instant::now() < deadline {
                let request = next_request.fetch_add(1, Ordering::Relaxed);
                if args.rate > 0.0 {
                    let due =
                        began + Duration::from_secs_f64((request / per_round) as f64 / args.rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let samples = request_samples(request, &args, start_ms, &keys);
                let count = samples.len() as u64;
                let body = encode_write_request(&samples);
                loop {
                    let sent = Instant::now();
                    let response = client
                        .post(&args.url)
                        .header("Content-Encoding", "snappy")
                        .header("Content-Type", "application/x-protobuf")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .body(body.clone())
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status().is_success() => {
                            local.push((request / per_round, sent.elapsed()));
                            acknowledged.fetch_add(count, Ordering::Relaxed);
                            if request / per_round >= 1 {
                                steady_samples.fetch_add(count, Ordering::Relaxed);
                                let since = sent.duration_since(began).as_micros() as u64;
                                steady_from.fetch_min(since, Ordering::Relaxed);
                            }
                            break;
                        }
                        Ok(response) if matches!(response.status().as_u16(), 429 | 503) => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Ok(response) => {
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            panic!("request {request} refused: {status} {text}");
                        }
                        Err(error) => panic!("request {request} failed: {error}"),
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
            latencies.lock().expect("latency lock").extend(local);
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let all = std::mem::take(&mut *latencies.lock().expect("latency lock"));
    let mut latencies: Vec<Duration> = all.iter().map(|(_, latency)| *latency).collect();
    let mut steady: Vec<Duration> = all
        .iter()
        .filter(|(round, _)| *round >= 1)
        .map(|(_, latency)| *latency)
        .collect();
    latencies.sort();
    steady.sort();
    let percentile = |sorted: &[Duration], p: f64| -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    };
    let samples = acknowledged.load(Ordering::Relaxed);
    // No request of the second round acknowledged: no steady state to report.
    let steady_rate = match steady_from.load(Ordering::Relaxed) {
        u64::MAX => 0.0,
        from_micros => {
            steady_samples.load(Ordering::Relaxed) as f64 / (elapsed - from_micros as f64 / 1e6)
        }
    };
    println!(
        "{{\"samples_per_second\":{:.0},\"samples\":{samples},\"seconds\":{elapsed:.1},\"requests\":{},\"retries\":{},\
         \"latency_ms_p50\":{:.1},\"latency_ms_p99\":{:.1},\"latency_ms_max\":{:.1},\
         \"steady_samples_per_second\":{steady_rate:.0},\"steady_requests\":{},\
         \"steady_latency_ms_p50\":{:.1},\"steady_latency_ms_p99\":{:.1},\"steady_latency_ms_max\":{:.1}}}",
        samples as f64 / elapsed,
        latencies.len(),
        retries.load(Ordering::Relaxed),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        steady.len(),
        percentile(&steady, 0.5),
        percentile(&steady, 0.99),
        percentile(&steady, 1.0)
    );
    Ok(())
}
