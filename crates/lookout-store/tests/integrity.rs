//! A damaged database file is refused at open, naming the file, instead of starting
//! ready and acknowledging writes that later queries cannot read.

mod common;

use std::io::{Seek, SeekFrom, Write};

use common::{cpu, open, TempDir, EPOCH};
use lookout_store::{Store, StoreConfig, StoreError, WriteBatch, DATABASE_FILE};

/// A closed store with enough rows to span many pages.
fn filled_store(dir: &TempDir) {
    let store = open(dir);
    for host in 0..20 {
        let series = store.series_id(&cpu(&format!("host-{host}")));
        let mut batch = WriteBatch::new();
        for i in 0..2_000 {
            batch.push(series, EPOCH + i * 1000, (i * host) as f64);
        }
        store.write(batch).unwrap();
    }
    store.close().unwrap();
}

fn refusal(dir: &TempDir) -> String {
    match Store::open(dir.path(), StoreConfig::default()) {
        Ok(_) => panic!("a damaged store opened"),
        Err(error) => {
            let message = error.to_string();
            assert!(
                matches!(error, StoreError::Corrupt { .. } | StoreError::Open { .. }),
                "{message}"
            );
            assert!(
                message.contains(DATABASE_FILE),
                "the file is named: {message}"
            );
            message
        }
    }
}

/// Regression: a zero-length database file silently started an empty store.
#[test]
fn a_zero_length_database_file_is_refused() {
    let dir = TempDir::new("integrity-empty");
    std::fs::write(dir.path().join(DATABASE_FILE), b"").unwrap();
    let message = refusal(&dir);
    assert!(message.contains("empty (0 bytes)"), "{message}");
}

/// Regression: a partly overwritten file started ready and acknowledged writes that
/// later queries answered with "database disk image is malformed".
#[test]
fn a_partly_overwritten_database_file_is_refused() {
    let dir = TempDir::new("integrity-overwritten");
    filled_store(&dir);
    let path = dir.path().join(DATABASE_FILE);
    let length = std::fs::metadata(&path).unwrap().len();
    assert!(length > 64 * 8192, "{length} bytes");
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    // Pages 2..: the schema's tables and their indexes.
    file.seek(SeekFrom::Start(8192)).unwrap();
    file.write_all(&vec![0xA5; 16 * 8192]).unwrap();
    drop(file);
    refusal(&dir);
}

/// Regression: a truncated file started ready.
#[test]
fn a_truncated_database_file_is_refused() {
    let dir = TempDir::new("integrity-truncated");
    filled_store(&dir);
    let path = dir.path().join(DATABASE_FILE);
    let length = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(length / 2).unwrap();
    drop(file);
    refusal(&dir);
}

#[test]
fn a_healthy_store_reopens() {
    let dir = TempDir::new("integrity-healthy");
    filled_store(&dir);
    let store = open(&dir);
    let series = store.series_id(&cpu("host-3"));
    let answer = store.range(&[series], EPOCH, EPOCH + 10_000, None).unwrap();
    assert_eq!(answer[0].points.len(), 11);
}
