//! Node-exporter-like history for `bench/promql.sh`: `--hosts` hosts, each with CPU
//! (`--cpus` × 8 modes), memory, load, filesystem, disk and network series, one sample
//! every `--scrape` seconds over `--hours` hours ending at `--end-ms` (default: two
//! minutes ago). Writes the samples as OpenMetrics text (`--openmetrics FILE`, for
//! `promtool tsdb create-blocks-from openmetrics`) and/or remote-writes them, oldest
//! first and every series at one time before the next time (Prometheus' shape), to
//! `--url`. Values are deterministic functions of host, series and time.
//!
//! Prints one JSON line: series, samples, and the span (`start_ms`, `end_ms`).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::encode_write_request;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    #[arg(long, default_value_t = 2)]
    cpus: usize,
    /// Seconds between samples.
    #[arg(long, default_value_t = 60)]
    scrape: i64,
    /// Hours of history (fractions allowed).
    #[arg(long, default_value_t = 23.8)]
    hours: f64,
    /// End of the span, unix milliseconds (default: two minutes ago, on a scrape boundary).
    #[arg(long)]
    end_ms: Option<i64>,
    /// Write OpenMetrics text here.
    #[arg(long)]
    openmetrics: Option<std::path::PathBuf>,
    /// Remote write URL, e.g. http://127.0.0.1:8080/api/v1/write
    #[arg(long)]
    url: Option<String>,
    /// Samples per remote write request.
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
}

/// A series: its key and how its value grows (counter) or moves (gauge).
struct Series {
    key: SeriesKey,
    counter: bool,
    base: f64,
    rate: f64,
    phase: f64,
}

fn series(args: &Args) -> Vec<Series> {
    let mut out = Vec::new();
    for host in 0..args.hosts {
        let h = host as f64;
        let key = |name: &str| {
            SeriesKey::new(name)
                .with_label("instance", format!("host-{host:03}:9100"))
                .with_label("job", "node")
        };
        let mut add = |key: SeriesKey, counter: bool, base: f64, rate: f64| {
            let phase = (out.len() % 97) as f64 * 0.37;
            out.push(Series {
                key,
                counter,
                base,
                rate,
                phase,
            });
        };
        let modes = [
            "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
        ];
        let shares = [0.62, 0.2, 0.08, 0.04, 0.01, 0.02, 0.005, 0.025];
        for cpu in 0..args.cpus {
            for (mode, share) in modes.iter().zip(shares) {
                add(
                    key("node_cpu_seconds_total")
                        .with_label("cpu", cpu.to_string())
                        .with_label("mode", *mode),
                    true,
                    1e5 * (1.0 + h / 10.0),
                    share,
                );
            }
        }
        let total = 8e9 * (1 + host % 4) as f64;
        add(key("node_memory_MemTotal_bytes"), false, total, 0.0);
        add(
            key("node_memory_MemAvailable_bytes"),
            false,
            total * 0.5,
            total * 0.2,
        );
        add(
            key("node_memory_MemFree_bytes"),
            false,
            total * 0.2,
            total * 0.1,
        );
        add(
            key("node_memory_Cached_bytes"),
            false,
            total * 0.25,
            total * 0.05,
        );
        add(
            key("node_memory_Buffers_bytes"),
            false,
            total * 0.03,
            total * 0.01,
        );
        for (name, level) in [
            ("node_load1", 1.0),
            ("node_load5", 0.9),
            ("node_load15", 0.8),
        ] {
            add(key(name), false, level * (1.0 + h / 50.0), 0.5);
        }
        for (mountpoint, device, size) in [("/", "sda1", 5e10), ("/home", "sdb1", 2e11)] {
            let fs = |name: &str| {
                key(name)
                    .with_label("mountpoint", mountpoint)
                    .with_label("device", device)
                    .with_label("fstype", "ext4")
            };
            add(fs("node_filesystem_size_bytes"), false, size, 0.0);
            add(
                fs("node_filesystem_avail_bytes"),
                false,
                size * 0.6,
                size * 0.05,
            );
        }
        for device in ["sda", "sdb"] {
            let disk = |name: &str| key(name).with_label("device", device);
            add(
                disk("node_disk_read_bytes_total"),
                true,
                1e9,
                2e5 * (1.0 + h / 20.0),
            );
            add(
                disk("node_disk_written_bytes_total"),
                true,
                2e9,
                5e5 * (1.0 + h / 30.0),
            );
            add(disk("node_disk_io_time_seconds_total"), true, 1e4, 0.05);
        }
        for device in ["eth0", "lo"] {
            let net = |name: &str| key(name).with_label("device", device);
            add(
                net("node_network_receive_bytes_total"),
                true,
                1e10,
                1e6 * (1.0 + h / 10.0),
            );
            add(
                net("node_network_transmit_bytes_total"),
                true,
                5e9,
                4e5 * (1.0 + h / 15.0),
            );
        }
        add(key("up"), false, 1.0, 0.0);
    }
    out
}

/// The value of a series `elapsed_s` seconds into the span.
fn value(s: &Series, elapsed_s: f64) -> f64 {
    let wave = (elapsed_s / 3600.0 + s.phase).sin();
    if s.counter {
        // A counter growing at `rate` per second ± 30 %, integrated exactly.
        let drift =
            0.3 * s.rate * 3600.0 * ((s.phase).cos() - (elapsed_s / 3600.0 + s.phase).cos());
        (s.base + s.rate * elapsed_s + drift).round()
    } else if s.rate == 0.0 {
        s.base
    } else {
        (s.base + s.rate * wave).max(0.0)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let step_ms = args.scrape * 1000;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let end = args.end_ms.unwrap_or((now - 120_000) / step_ms * step_ms);
    let steps = (args.hours * 3600.0 / args.scrape as f64) as i64;
    let start = end - (steps - 1) * step_ms;
    let all = series(&args);
    if let Some(path) = &args.openmetrics {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.sort_by(|a, b| all[*a].key.name.cmp(&all[*b].key.name));
        for index in order {
            let s = &all[index];
            let labels: Vec<String> = s
                .key
                .labels
                .iter()
                .map(|(n, v)| format!("{n}=\"{v}\""))
                .collect();
            let prefix = format!("{}{{{}}} ", s.key.name, labels.join(","));
            for step in 0..steps {
                let t = start + step * step_ms;
                writeln!(
                    out,
                    "{prefix}{} {}",
                    value(s, (t - start) as f64 / 1000.0),
                    t / 1000
                )?;
            }
        }
        out.write_all(b"# EOF\n")?;
        out.flush()?;
    }
    if let Some(url) = &args.url {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?;
            let mut batch = Vec::with_capacity(args.batch);
            let send = |batch: Vec<Sample>| {
                let client = client.clone();
                let url = url.clone();
                async move {
                    let body = encode_write_request(&batch);
                    loop {
                        let response = client.post(&url).body(body.clone()).send().await?;
                        match response.status().as_u16() {
                            200..=299 => return Ok::<(), Box<dyn std::error::Error>>(()),
                            429 | 503 => tokio::time::sleep(Duration::from_millis(50)).await,
                            status => {
                                return Err(format!("{status}: {}", response.text().await?).into())
                            }
                        }
                    }
                }
            };
            for step in 0..steps {
                let t = start + step * step_ms;
                for s in &all {
                    batch.push(Sample {
                        key: s.key.clone(),
                        timestamp_ms: t,
                        value: value(s, (t - start) as f64 / 1000.0),
                    });
                    if batch.len() == args.batch {
                        send(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(args.batch),
                        ))
                        .await?;
                    }
                }
            }
            if !batch.is_empty() {
                send(batch).await?;
            }
            Ok::<(), Box<dyn std::error::Error>>(())
        })?;
    }
    println!(
        "{{\"series\":{},\"samples\":{},\"start_ms\":{start},\"end_ms\":{end}}}",
        all.len(),
        all.len() as i64 * steps
    );
    Ok(())
}
