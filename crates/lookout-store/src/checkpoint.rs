//! Background WAL checkpoints, off the writer's critical path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the
//! writer thread: every few tens of MiB of WAL one commit also copies them into the
//! database file and fsyncs it, and every acknowledgement queued behind it waits. Here a
//! thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)` every
//! [`INTERVAL`]; a passive checkpoint never blocks the writer or the readers. The writer
//! keeps a large automatic threshold only as a backstop, should this thread fall behind.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use rusqlite::Connection;

use crate::health::{FailureLog, Operation};

use crate::StoreError;

/// How often the WAL is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints by itself (backstop, 8 KiB pages).
pub(crate) const WRITER_BACKSTOP_PAGES: u32 = 32_768;

/// The running checkpoint thread; stop it with [`Checkpointer::stop`] or by dropping it.
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.execute_batch("PRAGMA busy_timeout = 10000;")
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let (stop, stopped) = bounded::<()>(1);
        let handle = std::thread::Builder::new()
            .name("lookout-store-checkpoint".into())
            .spawn(move || {
                // A full disk fails every checkpoint: logged once a minute, not 5 times a second.
                let mut failures = FailureLog::default();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let checkpoint = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                        row.get::<_, i64>(0)
                    });
                    match checkpoint {
                        Ok(_) => failures.succeeded(Operation::Checkpoint),
                        Err(error) => {
                            failures.failed(Operation::Checkpoint, &error.to_string());
                        }
                    }
                }
            })
            .map_err(StoreError::Spawn)?;
        Ok(Checkpointer {
            stop: Some(stop),
            handle: Some(handle),
        })
    }

    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}
