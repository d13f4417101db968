//! Acknowledged batches survive `kill -9`: a child process writes and prints after each
//! acknowledgement, the parent kills it with SIGKILL and checks every acknowledged batch.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{cpu, TempDir, EPOCH};
use lookout_store::{Store, StoreConfig, WriteBatch};

const CHILD_DIR: &str = "LOOKOUT_STORE_CRASH_CHILD_DIR";
const SAMPLES_PER_BATCH: i64 = 200;
const ACKS_BEFORE_KILL: usize = 150;

#[test]
#[ignore = "child process of acknowledged_batches_survive_sigkill; needs LOOKOUT_STORE_CRASH_CHILD_DIR"]
fn crash_child_writer() {
    let dir = std::env::var(CHILD_DIR)
        .unwrap_or_else(|_| panic!("{CHILD_DIR} must name the data directory to write to"));
    let store = Store::open(&dir, StoreConfig::default()).unwrap();
    let id = store.series_id(&cpu("crash"));
    let mut pending = std::collections::VecDeque::new();
    // Keep a few batches in flight so the kill lands while commits are under way.
    for batch_index in 0..1_000_000i64 {
        let mut batch = WriteBatch::with_capacity(SAMPLES_PER_BATCH as usize);
        for offset in 0..SAMPLES_PER_BATCH {
            batch.push(
                id,
                EPOCH + batch_index * SAMPLES_PER_BATCH + offset,
                batch_index as f64,
            );
        }
        pending.push_back((batch_index, store.submit(batch).unwrap()));
        if pending.len() >= 4 {
            let (acked, ticket) = pending.pop_front().unwrap();
            ticket.wait().unwrap();
            println!("acked {acked}");
        }
    }
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    let dir = TempDir::new("durability");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = lines
            .next()
            .expect("child stopped before acknowledging enough batches")
            .unwrap();
        if let Some(index) = line.strip_prefix("acked ") {
            acked.push(index.parse::<i64>().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
                           // Acknowledgements printed before the kill are still in the pipe.
    for line in lines {
        if let Some(index) = line.unwrap().strip_prefix("acked ") {
            acked.push(index.parse::<i64>().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");

    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let id = store
        .lookup_series(&cpu("crash"))
        .expect("series row committed");
    let last = *acked.iter().max().unwrap();
    let points = &store
        .range(
            &[id],
            EPOCH,
            EPOCH + (last + 1) * SAMPLES_PER_BATCH - 1,
            None,
        )
        .unwrap()[0]
        .points;
    for index in &acked {
        let first = (index * SAMPLES_PER_BATCH) as usize;
        let batch = &points[first..first + SAMPLES_PER_BATCH as usize];
        for (offset, point) in batch.iter().enumerate() {
            assert_eq!(
                point.ts_ms,
                EPOCH + index * SAMPLES_PER_BATCH + offset as i64
            );
            assert_eq!(point.value, *index as f64, "batch {index} sample {offset}");
        }
    }
}
