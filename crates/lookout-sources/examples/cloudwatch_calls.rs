//! Counts the `GetMetricData` calls (and times the polls) of the cloudwatch source for a
//! fleet in moto's server mode: by default 1,000 instances × 6 metrics, period 60 s.
//!
//! Needs moto in the peers venv (`tests/peers/install-cloudwatch.sh`). Run:
//!
//! ```sh
//! cargo run -p lookout-sources --example cloudwatch_calls -- [instances] [minutes of data]
//! ```
//!
//! It starts moto on a free loopback port, creates the instances and `minutes` one-minute
//! datapoints per series with boto3, then runs a cold poll (discovery + backfill of the
//! data) and two steady polls, printing the calls and the time of each.

#[path = "../tests/moto/mod.rs"]
mod moto;

use std::time::{Duration, Instant};

use lookout_sources::cloudwatch::{AwsClient, Poller};

const METRICS: &str =
    "CPUUtilization,NetworkIn,NetworkOut,DiskReadBytes,DiskWriteBytes,StatusCheckFailed";

fn main() {
    let mut args = std::env::args().skip(1);
    let instances: usize = args.next().map_or(1000, |a| a.parse().expect("instances"));
    let minutes: usize = args.next().map_or(1, |a| a.parse().expect("minutes"));
    let program = moto::moto_server().expect("moto_server in the peers venv");
    let moto = moto::Moto::start(&program, &[]);
    let started = Instant::now();
    moto.fixture(&[
        "fleet",
        "--count",
        &instances.to_string(),
        "--minutes",
        &minutes.to_string(),
        "--metrics",
        METRICS,
    ]);
    println!(
        "moto fleet: {instances} instances × 6 metrics × {minutes} min created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let metrics: Vec<String> = METRICS.split(',').map(|m| format!("{m:?}")).collect();
    let config = moto::cloudwatch_config(&format!(
        "[[source]]\ntype = \"cloudwatch\"\nendpoint = \"{}\"\ninterval = \"60s\"\nperiod = \"60s\"\n\
         metrics = [{}]\nbackfill = \"{}m\"\n",
        moto.endpoint,
        metrics.join(", "),
        minutes + 1
    ));
    let mut options = moto::test_options(&config, "AKIDBENCH", "bench-secret");
    options.request_timeout = Duration::from_secs(600);
    let client = AwsClient::new(options);
    let calls = client.calls();
    let mut poller = Poller::new(config, client);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<lookout_sources::SourceBatch>(1024);
        let drain = tokio::spawn(async move {
            let mut samples = 0usize;
            while let Some(batch) = receiver.recv().await {
                samples += batch.samples.len();
            }
            samples
        });
        let progress_calls = calls.clone();
        let progress = tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                eprintln!(
                    "  … {:.0} s: {} GetMetricData calls so far",
                    started.elapsed().as_secs_f64(),
                    progress_calls.get_metric_data()
                );
            }
        });
        for (poll, label) in ["cold: discovery + backfill", "steady", "steady"].iter().enumerate() {
            let before = calls.get_metric_data();
            let describe_before = calls.describe_instances();
            let started = Instant::now();
            let outcome = poller.poll("cloudwatch#bench", &sender).await.expect("channel open");
            println!(
                "poll {} ({label}): {} series, {} GetMetricData calls, {} DescribeInstances calls, {} samples, {:.1} s, problems {:?}",
                poll + 1,
                poller.series_count(),
                calls.get_metric_data() - before,
                calls.describe_instances() - describe_before,
                outcome.samples,
                started.elapsed().as_secs_f64(),
                outcome.problems
            );
        }
        progress.abort();
        drop(sender);
        drain.await.unwrap()
    });
}
