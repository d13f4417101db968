//! The `read_offsets` table: saved per source and path, replaced by a later save,
//! kept across a reopen.

mod common;

use common::TempDir;
use lookout_store::{ReadOffset, Store, StoreConfig};

fn offset(source: &str, path: &str, offset: u64) -> ReadOffset {
    ReadOffset {
        source: source.into(),
        path: path.into(),
        dev: 2049,
        ino: u64::MAX - 1,
        offset,
        line: offset / 10,
    }
}

#[test]
fn saved_offsets_are_read_back_per_source_and_survive_a_reopen() {
    let dir = TempDir::new("read_offsets");
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.read_offsets("access_log#1").unwrap().is_empty());
    store
        .save_read_offsets(vec![
            offset("access_log#1", "/var/log/a.log", 100),
            offset("access_log#1", "/var/log/b.log", 20),
            offset("file#2", "/var/log/a.log", 7),
        ])
        .unwrap();
    store.close().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        store.read_offsets("access_log#1").unwrap(),
        [
            offset("access_log#1", "/var/log/a.log", 100),
            offset("access_log#1", "/var/log/b.log", 20)
        ]
    );
    assert_eq!(
        store.read_offsets("file#2").unwrap(),
        [offset("file#2", "/var/log/a.log", 7)]
    );
}

#[test]
fn a_later_save_replaces_the_offset_of_the_same_file() {
    let dir = TempDir::new("read_offsets");
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    store
        .save_read_offsets(vec![offset("s", "/a", 10)])
        .unwrap();
    let mut moved = offset("s", "/a", 250);
    moved.ino = 3;
    store.save_read_offsets(vec![moved.clone()]).unwrap();
    assert_eq!(store.read_offsets("s").unwrap(), [moved]);
    // Nothing to save is not an error.
    store.save_read_offsets(Vec::new()).unwrap();
}
