//! The cluster seam: with a write log set, a validated write goes to the log and is
//! answered when the log has it (nothing scored or stored on the entry node); a log
//! failure refuses the write whole with a retryable `log_unavailable`; invalid writes
//! are refused before the log; `ingest_owned` scores and stores like a single node.

use std::sync::{Arc, Mutex};

use lookout_detect::engine::{Engine, EngineConfig};
use lookout_model::clock::now_ms;
use lookout_model::{Sample, SeriesKey};
use lookout_pipeline::{AppendFuture, IngestError, Pipeline, PipelineOptions, TimeCheck, WriteLog};
use lookout_store::{Store, StoreConfig};

#[derive(Default)]
struct MemoryLog {
    fail: bool,
    appended: Mutex<Vec<Sample>>,
}

impl WriteLog for MemoryLog {
    fn append(&self, samples: Vec<Sample>) -> AppendFuture {
        let result = if self.fail {
            Err(IngestError::LogUnavailable("no server".into()))
        } else {
            self.appended.lock().unwrap().extend(samples);
            Ok(())
        };
        Box::pin(async move { result })
    }
}

fn pipeline(dir: &tempfile::TempDir) -> Pipeline {
    let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).expect("store opens"));
    let engine = Arc::new(Engine::start(EngineConfig::default()).expect("engine starts"));
    Pipeline::new(PipelineOptions::default(), store, engine)
}

fn samples(count: usize) -> Vec<Sample> {
    let now = now_ms();
    (0..count)
        .map(|i| Sample {
            key: SeriesKey::new("cpu").with_label("host", format!("h{i}")),
            timestamp_ms: now - 1_000,
            value: i as f64,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_to_the_log_and_fail_whole_when_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(&dir);
    let log = Arc::new(MemoryLog::default());
    assert!(pipeline.set_write_log(Arc::clone(&log) as Arc<dyn WriteLog>));
    assert!(!pipeline.set_write_log(Arc::new(MemoryLog::default())));
    let report = pipeline
        .ingest(samples(5), "test", TimeCheck::Live)
        .await
        .unwrap();
    assert_eq!(report.accepted, 5);
    assert_eq!(log.appended.lock().unwrap().len(), 5);
    // Nothing resolved or stored on the entry node.
    assert_eq!(pipeline.store().count_series(), 0);

    let mut invalid = samples(2);
    invalid[1].value = f64::NAN;
    let refused = pipeline
        .ingest(invalid, "test", TimeCheck::Live)
        .await
        .unwrap_err();
    assert!(matches!(refused, IngestError::Invalid { .. }), "{refused}");
    assert_eq!(log.appended.lock().unwrap().len(), 5);

    // The owner's path scores and stores.
    let owned = pipeline.ingest_owned(samples(3), "cluster").await.unwrap();
    assert_eq!(owned.accepted, 3);
    assert_eq!(pipeline.store().count_series(), 3);
    pipeline.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_log_refuses_with_a_retry_hint() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(&dir);
    let failing = Arc::new(MemoryLog {
        fail: true,
        ..MemoryLog::default()
    });
    pipeline.set_write_log(failing);
    let error = pipeline
        .ingest(samples(4), "test", TimeCheck::Live)
        .await
        .unwrap_err();
    assert_eq!(error.reason(), "log_unavailable");
    assert_eq!(error.retry_after_seconds(), Some(1));
    assert_eq!(pipeline.store().count_series(), 0);
    pipeline.shutdown().unwrap();
}
