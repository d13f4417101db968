//! Scrape benchmark: N loopback targets × M series each, scraped by the
//! `prometheus_scrape` source and ingested through the server's pipeline (engine +
//! store), cycle after cycle. Prints each cycle's scrape+parse+ingest time and whether
//! it fits in the interval.
//!
//! ```text
//! cargo run --release -p lookout --example scrape_bench -- [targets=100] [series=1000] [cycles=6] [interval_s=15]
//! ```
//!
//! Each target exposes half counters (`bench_requests_total{path="/pN"}`) and half
//! gauges (`bench_temperature{sensor="sN"}`), values changing at every request. The
//! targets run in this process on their own loopback ports (a small HTTP/1.1 responder).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_config::{PrometheusScrapeConfig, Scheme};
use lookout_detect::engine::{Engine, EngineConfig};
use lookout_server::{Server, ServerOptions, TimeCheck};
use lookout_sources::scrape::{ScrapeOptions, ScrapeSource};
use lookout_store::{Store, StoreConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn body(series: u64, request: u64) -> String {
    let mut text = String::with_capacity(series as usize * 48);
    text.push_str("# TYPE bench_requests_total counter\n");
    for i in 0..series / 2 {
        text.push_str(&format!(
            "bench_requests_total{{path=\"/p{i}\"}} {}\n",
            request * (i + 1) * 10
        ));
    }
    text.push_str("# TYPE bench_temperature gauge\n");
    for i in 0..series - series / 2 {
        text.push_str(&format!(
            "bench_temperature{{sensor=\"s{i}\"}} {}\n",
            20.0 + ((request + i) % 7) as f64
        ));
    }
    text
}

/// Serves `series` series on a loopback port; returns the port.
async fn target(series: u64) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicU64::new(1));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                loop {
                    let mut read = 0;
                    while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let text = body(series, requests.fetch_add(1, Ordering::Relaxed));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\n\r\n",
                        text.len()
                    );
                    if socket.write_all(head.as_bytes()).await.is_err()
                        || socket.write_all(text.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::main]
async fn main() {
    let (targets, series, cycles, interval_s) = (arg(1, 100), arg(2, 1000), arg(3, 6), arg(4, 15));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let engine = Engine::start(EngineConfig::default()).unwrap();
    let server = Server::new(ServerOptions::default(), Arc::new(store), Arc::new(engine));
    let mut addresses = Vec::new();
    for _ in 0..targets {
        addresses.push(format!("127.0.0.1:{}", target(series).await));
    }
    let config = PrometheusScrapeConfig {
        targets: addresses,
        interval: Duration::from_secs(interval_s),
        timeout: Duration::from_secs(10),
        metrics_path: "/metrics".into(),
        scheme: Scheme::Http,
        labels: Default::default(),
    };
    let mut source = ScrapeSource::new("bench", &config, ScrapeOptions::default()).unwrap();
    let (_trigger, mut shutdown) = lookout_sources::shutdown_channel();
    println!("{targets} targets × {series} series, interval {interval_s}s");
    for cycle in 0..cycles {
        let started = Instant::now();
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel::<lookout_sources::SourceBatch>(targets as usize + 1);
        let ingest_server = server.clone();
        let ingest = tokio::spawn(async move {
            let mut samples = 0;
            let mut pending = Vec::new();
            while let Some(batch) = receiver.recv().await {
                samples += batch.samples.len();
                let server = ingest_server.clone();
                pending.push(tokio::spawn(async move {
                    for _ in 0..50 {
                        match server
                            .pipeline()
                            .ingest(batch.samples.clone(), "prometheus_scrape", TimeCheck::Live)
                            .await
                        {
                            Ok(_) => return,
                            Err(error) if error.is_retryable() => {
                                tokio::time::sleep(Duration::from_millis(20)).await
                            }
                            Err(error) => panic!("ingest failed: {error}"),
                        }
                    }
                    panic!("ingest still overloaded after 50 attempts");
                }));
            }
            for task in pending {
                task.await.unwrap();
            }
            samples
        });
        let errors = source.cycle(&sender, &mut shutdown).await.unwrap();
        let scraped = started.elapsed();
        drop(sender);
        let samples = ingest.await.unwrap();
        let total = started.elapsed();
        println!(
            "cycle {cycle}: scrape+parse {:.0} ms, scrape+parse+ingest {:.0} ms, {samples} samples, {} errors, {}",
            scraped.as_secs_f64() * 1000.0,
            total.as_secs_f64() * 1000.0,
            errors.len(),
            if total.as_secs() < interval_s { "keeps up" } else { "FALLS BEHIND" }
        );
        if let Some(rest) = Duration::from_secs(interval_s).checked_sub(total) {
            tokio::time::sleep(rest.min(Duration::from_secs(2))).await;
        }
    }
}
