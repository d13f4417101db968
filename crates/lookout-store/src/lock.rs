//! One process per data directory.
//!
//! The store keeps state that only its own process knows: series ids are handed out
//! in memory before their rows commit, and the head of recent points lives in memory.
//! Two processes on one directory (`lookout serve` and `lookout import`, or two
//! servers) would hand out the same ids for different series. So [`Store::open`]
//! takes an exclusive advisory lock on `lookout.lock` in the directory and holds it
//! until the store is dropped; the operating system releases it when the process
//! ends, however it ends. The file holds the owner's process id, for the message a
//! second process gets.
//!
//! [`Store::open`]: crate::Store::open

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use crate::StoreError;

/// File name of the lock inside the data directory.
pub const LOCK_FILE: &str = "lookout.lock";

/// The held lock; released on drop.
#[derive(Debug)]
pub(crate) struct DirectoryLock {
    _file: File,
}

impl DirectoryLock {
    /// Locks `dir` for this process, or says which process holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let failed = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(failed)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(StoreError::InUse {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another process".to_string()
                    } else {
                        format!("process {holder}")
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(failed(source)),
        }
        file.set_len(0).map_err(failed)?;
        write!(file, "{}", std::process::id()).map_err(failed)?;
        Ok(Self { _file: file })
    }
}
