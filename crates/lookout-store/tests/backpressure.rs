mod common;

use std::time::{Duration, Instant};

use common::{cpu, TempDir, EPOCH};
use lookout_store::{Store, StoreConfig, StoreError, WriteBatch, DATABASE_FILE};

#[test]
fn a_full_queue_answers_full_at_once_and_loses_nothing() {
    let dir = TempDir::new("full");
    let config = StoreConfig {
        queue_capacity: 2,
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    let id = store.series_id(&cpu("bp"));
    store.flush().unwrap();

    // Another connection holds the write lock, so the writer blocks on its first batch.
    let blocker = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut tickets = Vec::new();
    let mut rejected = None;
    for i in 0..10 {
        let mut batch = WriteBatch::new();
        batch.push(id, EPOCH + i, i as f64);
        let started = Instant::now();
        match store.try_submit(batch) {
            Ok(ticket) => tickets.push(ticket),
            Err(refused) => {
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "try_submit must not wait"
                );
                rejected = Some((i, refused));
                break;
            }
        }
        // Let the writer take the first batch off the queue before filling it.
        if i == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let (index, refused) = rejected.expect("the queue filled up");
    assert!(
        matches!(refused.error, StoreError::Full { capacity: 2 }),
        "{}",
        refused.error
    );
    assert!(refused.to_string().contains("full"), "{refused}");
    assert_eq!(
        refused.batch.samples[0].ts_ms,
        EPOCH + index,
        "the batch is handed back"
    );
    assert!(
        index <= 3,
        "one batch in the writer plus two queued, got {index}"
    );
    let timed_out = store.submit_timeout(refused.batch, Duration::from_millis(50));
    let refused = timed_out.expect_err("still full");

    blocker.execute_batch("COMMIT").unwrap();
    for ticket in tickets {
        ticket.wait().unwrap();
    }
    store.write(refused.batch).unwrap();
    let points = &store.range(&[id], EPOCH, EPOCH + 100, None).unwrap()[0].points;
    assert_eq!(points.len() as i64, index + 1);
}

#[test]
fn close_commits_queued_batches() {
    let dir = TempDir::new("closed");
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let id = store.series_id(&cpu("c"));
    let mut batch = WriteBatch::new();
    batch.push(id, EPOCH, 1.0);
    let ticket = store.submit(batch).unwrap();
    store.close().unwrap();
    ticket
        .wait()
        .expect("queued batches are committed on close");
    let reopened = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        reopened.range(&[id], EPOCH, EPOCH, None).unwrap()[0]
            .points
            .len(),
        1
    );
}
