//! The pipeline over a real store and the real engine: samples enter, are scored,
//! stored and heard by subscribers; a blocked back-pressure subscriber holds ingestion
//! back without losing an accepted batch; refusals name their reason.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::Receiver;
use lookout_detect::engine::{Engine, EngineConfig};
use lookout_detect::pipeline::{DetectorConfig, PipelineConfig};
use lookout_model::clock::now_ms;
use lookout_model::{EventRecord, Sample, SeriesKey};
use lookout_pipeline::{
    IngestError, Pipeline, PipelineOptions, Policy, ScoredBatch, Subscriber, TimeCheck,
};
use lookout_store::{Store, StoreConfig};

fn engine(queue_capacity: usize) -> Arc<Engine> {
    Arc::new(
        Engine::start(EngineConfig {
            workers: 1,
            queue_capacity,
            pipeline: PipelineConfig {
                detectors: vec![DetectorConfig::Ewma(Default::default())],
                ..PipelineConfig::default()
            },
            ..EngineConfig::default()
        })
        .expect("engine starts"),
    )
}

fn pipeline(dir: &tempfile::TempDir, options: PipelineOptions, queue: usize) -> Pipeline {
    let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).expect("store opens"));
    Pipeline::new(options, store, engine(queue))
}

fn samples(name: &str, start_ms: i64, count: usize) -> Vec<Sample> {
    (0..count)
        .map(|i| Sample {
            key: SeriesKey::new(name).with_label("host", "a"),
            timestamp_ms: start_ms + i as i64 * 1000,
            value: 10.0 + (i % 3) as f64,
        })
        .collect()
}

/// Counts what it hears; the first batch waits until `gate` is released (if set).
struct Recorder {
    name: &'static str,
    policy: Policy,
    batches: AtomicUsize,
    samples: AtomicUsize,
    events: Mutex<Vec<String>>,
    gate: Mutex<Option<Receiver<()>>>,
}

impl Recorder {
    fn new(name: &'static str, policy: Policy, gate: Option<Receiver<()>>) -> Arc<Recorder> {
        Arc::new(Recorder {
            name,
            policy,
            batches: AtomicUsize::new(0),
            samples: AtomicUsize::new(0),
            events: Mutex::default(),
            gate: Mutex::new(gate),
        })
    }
}

impl Subscriber for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }
    fn policy(&self) -> Policy {
        self.policy
    }
    fn on_scored(&self, batch: &ScoredBatch) {
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.recv();
        }
        assert_eq!(batch.entries.len(), batch.outcomes.len());
        assert_eq!(batch.values.len(), batch.outcomes.len());
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.samples.fetch_add(batch.values.len(), Ordering::SeqCst);
    }
    fn on_events(&self, events: &[EventRecord]) {
        let mut seen = self.events.lock().unwrap();
        seen.extend(events.iter().map(|record| record.event.kind.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_are_scored_stored_counted_under_their_kind_and_heard_by_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(&dir, PipelineOptions::default(), 64);
    let inline = Recorder::new("inline", Policy::Backpressure, None);
    let queued = Recorder::new("queued", Policy::Shed { capacity: 8 }, None);
    assert!(pipeline.subscribe(inline.clone()));
    assert!(pipeline.subscribe(queued.clone()));
    let start = now_ms() - 60_000;
    let report = pipeline
        .ingest(samples("cpu", start, 20), "host", TimeCheck::Live)
        .await
        .expect("accepted");
    assert_eq!(report.accepted, 20);
    assert_eq!(report.scored, 20);
    let again = pipeline
        .ingest(samples("cpu", start, 5), "cloudwatch", TimeCheck::History)
        .await
        .expect("accepted");
    assert_eq!(
        (again.accepted, again.scored),
        (5, 0),
        "older points not scored"
    );
    assert_eq!(pipeline.metrics().samples.get("host"), 20);
    assert_eq!(pipeline.metrics().samples.get("cloudwatch"), 5);
    assert_eq!(pipeline.metrics().not_scored.get("out_of_order"), 5);
    let series = pipeline
        .index()
        .get(&SeriesKey::new("cpu").with_label("host", "a"))
        .expect("indexed");
    assert!(series.latest_score().is_some());
    let stored = pipeline
        .store()
        .range(&[series.id], start, start + 60_000, None)
        .unwrap();
    assert_eq!(stored[0].points.len(), 20);
    let report = pipeline
        .ingest_events(
            vec![serde_json::from_value(serde_json::json!({
                "timestamp_ms": start,
                "kind": "ssh_bruteforce",
                "domain": "login",
                "severity": "warning",
            }))
            .unwrap()],
            "events",
        )
        .await
        .unwrap();
    assert_eq!(report.accepted, 1);
    let stored = pipeline.store().event(report.ids[0]).unwrap();
    assert_eq!(stored.event.kind, "ssh_bruteforce");
    pipeline.shutdown().expect("flushed");
    assert_eq!(inline.batches.load(Ordering::SeqCst), 2);
    assert_eq!(queued.samples.load(Ordering::SeqCst), 25);
    assert_eq!(*queued.events.lock().unwrap(), ["ssh_bruteforce"]);
    assert_eq!(*inline.events.lock().unwrap(), ["ssh_bruteforce"]);
    let refused = pipeline
        .ingest(samples("cpu", start + 100_000, 1), "host", TimeCheck::Live)
        .await
        .unwrap_err();
    assert!(refused.is_retryable(), "{refused}");
    assert_eq!(refused, IngestError::ShuttingDown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_backpressure_subscriber_holds_ingestion_back_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(&dir, PipelineOptions::default(), 1);
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let slow = Recorder::new("slow", Policy::Backpressure, Some(gate));
    pipeline.subscribe(slow.clone());
    let start = now_ms() - 3_600_000;
    // Far more one-sample requests than the fan-out and engine queues hold.
    let mut tasks = Vec::new();
    for i in 0..600 {
        let pipeline = pipeline.clone();
        let batch = samples(&format!("queue_{i}"), start, 1);
        tasks.push(tokio::spawn(async move {
            pipeline.ingest(batch, "host", TimeCheck::Live).await
        }));
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // Refusals come back while the subscriber still blocks.
    let waited = std::time::Instant::now();
    while pipeline
        .metrics()
        .rejected_requests
        .get("engine_overloaded")
        == 0
    {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "a blocked subscriber must hold ingestion back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(slow.batches.load(Ordering::SeqCst), 0);
    drop(release);
    // After the release the burst may also find the store's queue full: refused with a
    // retry hint too, and (like every refusal) never heard by subscribers.
    let (mut accepted, mut refused, mut store_full) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(report) => {
                assert_eq!(report.accepted, 1);
                accepted += 1;
            }
            Err(IngestError::EngineOverloaded {
                retry_after_seconds,
                ..
            }) => {
                assert_eq!(retry_after_seconds, 1);
                refused += 1;
            }
            Err(IngestError::StoreFull { .. }) => store_full += 1,
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert!(refused > 0);
    assert_eq!(accepted + refused + store_full, 600);
    pipeline.shutdown().expect("flushed");
    assert_eq!(
        slow.batches.load(Ordering::SeqCst),
        accepted,
        "every accepted batch reached the back-pressure subscriber"
    );
    assert_eq!(
        pipeline
            .metrics()
            .rejected_requests
            .get("engine_overloaded"),
        refused as u64
    );
    assert_eq!(
        pipeline.metrics().rejected_requests.get("store_full"),
        store_full as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_their_reason_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = PipelineOptions {
        max_series: 2,
        ..PipelineOptions::default()
    };
    let pipeline = pipeline(&dir, options, 64);
    let now = now_ms();
    let mut wide = samples("a", now, 1);
    wide.extend(samples("b", now, 1));
    wide.extend(samples("c", now, 1));
    let error = pipeline
        .ingest(wide, "host", TimeCheck::Live)
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "series_limit");
    assert!(!error.is_retryable());
    assert!(error.to_string().starts_with("series_limit: "), "{error}");
    assert!(pipeline.index().is_empty());

    let mut bad = samples("ok", now, 2);
    bad[1].value = f64::INFINITY;
    let error = pipeline
        .ingest(bad, "host", TimeCheck::Live)
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "non_finite_value");
    assert!(
        error.to_string().contains("request refused whole"),
        "{error}"
    );

    pipeline
        .warming()
        .store(true, std::sync::atomic::Ordering::Release);
    let error = pipeline
        .ingest(samples("ok", now, 1), "host", TimeCheck::Live)
        .await
        .unwrap_err();
    assert_eq!(error.retry_after_seconds(), Some(1));
    assert_eq!(error.reason(), "warming");
    assert!(
        pipeline.index().is_empty(),
        "nothing of a refusal is indexed"
    );
    pipeline.shutdown().expect("flushed");
}
