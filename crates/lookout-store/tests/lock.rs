//! One process (one open store) per data directory: a second open is refused with a
//! message naming the holder, and the directory is free again once the first closes.

mod common;

use common::TempDir;
use lookout_store::{Store, StoreConfig, StoreError, LOCK_FILE};

#[test]
fn a_second_open_of_a_data_directory_is_refused_until_the_first_closes() {
    let dir = TempDir::new("lock");
    let first = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let holder = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
    assert_eq!(holder, std::process::id().to_string());

    let refused = Store::open(dir.path(), StoreConfig::default())
        .err()
        .expect("refused");
    let StoreError::InUse { dir: named, .. } = &refused else {
        panic!("expected InUse, got {refused}");
    };
    assert_eq!(named, dir.path());
    let message = refused.to_string();
    assert!(
        message.contains(&format!("process {}", std::process::id()))
            && message.contains(&dir.path().display().to_string()),
        "{message}"
    );

    first.close().unwrap();
    let again = Store::open(dir.path(), StoreConfig::default()).unwrap();
    drop(again);
    Store::open(dir.path(), StoreConfig::default()).unwrap();
}
