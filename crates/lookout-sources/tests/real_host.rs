//! Runs the real host source on this machine for a few ticks.

use std::time::Duration;

use lookout_config::{Config, SourceConfig};
use lookout_sources::{host::host_source, shutdown_channel, spawn, SourceBatch};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_source_reports_cpu_and_memory_of_this_machine() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: the host source reads Linux /proc");
        return;
    }
    let SourceConfig::Host(mut config) = Config::default().sources[0].clone() else {
        panic!("the default source is not host");
    };
    config.interval = Duration::from_millis(200);
    let (sender, mut receiver) = mpsc::channel::<SourceBatch>(4);
    let (trigger, shutdown) = shutdown_channel();
    let task = spawn(Box::new(host_source(&config)), sender, shutdown);

    let mut cpu_total = None;
    let mut memory_used_percent = None;
    let mut memory_total = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while cpu_total.is_none() || memory_used_percent.is_none() {
        let batch = tokio::time::timeout_at(deadline, receiver.recv())
            .await
            .expect("the host source delivers within 20 s")
            .expect("the source is running");
        assert_eq!(batch.source, "host");
        for sample in &batch.samples {
            assert_eq!(
                sample.key.labels.get("source").map(String::as_str),
                Some("host")
            );
            assert!(sample
                .key
                .labels
                .get("host")
                .is_some_and(|host| !host.is_empty()));
            assert!(
                sample.value.is_finite(),
                "{} = {}",
                sample.key,
                sample.value
            );
            match sample.key.name.as_str() {
                "host_cpu_utilization_percent" => cpu_total = Some(sample.value),
                "host_memory_used_percent" => memory_used_percent = Some(sample.value),
                "host_memory_total_bytes" => memory_total = Some(sample.value),
                _ => {}
            }
        }
    }
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the source stops on shutdown")
        .unwrap();

    let cpu = cpu_total.unwrap();
    assert!((0.0..=100.0).contains(&cpu), "cpu utilisation {cpu}");
    let used = memory_used_percent.unwrap();
    assert!(used > 0.0 && used < 100.0, "memory used {used}%");
    let total = memory_total.expect("memory total reported with memory used");
    assert!(
        total >= 64.0 * 1024.0 * 1024.0 && total < 64.0 * 1024.0_f64.powi(4),
        "memory total {total} bytes"
    );
}
