//! Whether the store can write, for `/readyz`, and its failures logged at a bounded
//! rate.
//!
//! The writer thread reports each commit, seal and compaction outcome here. While the
//! last commit or seal failed (a full disk, a read-only file system, a corrupt page),
//! [`WriteHealth::snapshot`] says not writable, with the error and since when; the
//! first success of that operation clears it. A full disk once logged ~700 ERROR lines
//! a second because the failing seal was retried in a tight loop: now the writer backs
//! off between retries ([`retry_delay`]) and [`FailureLog`] logs the first failure of an
//! operation, then at most one line per [`LOG_EVERY`] with the number of failures in
//! between, and one line when the operation recovers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lookout_model::clock::now_ms;

/// At most one log line per operation this often while it keeps failing.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// The writer's operations whose failures are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Commit,
    Seal,
    Compaction,
    /// The WAL checkpoint thread's passive checkpoints.
    Checkpoint,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Commit => "store commit",
            Operation::Seal => "sealing a block",
            Operation::Compaction => "store compaction",
            Operation::Checkpoint => "WAL checkpoint",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Shared between the writer thread and the readers of the store's state.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: [AtomicBool; 4],
    last: Mutex<Option<(i64, String)>>,
}

/// What `/readyz` and `/metrics` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// False while the last commit or the last seal failed.
    pub writable: bool,
    /// The newest failure (wall-clock ms and message), while one is unresolved.
    pub last_error: Option<(i64, String)>,
}

impl WriteHealth {
    pub(crate) fn failed(&self, operation: Operation, error: &str) {
        self.failing[operation.index()].store(true, Ordering::Release);
        let message = format!("{} failed: {error}", operation.name());
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((now_ms(), message));
    }

    pub(crate) fn succeeded(&self, operation: Operation) {
        if !self.failing[operation.index()].swap(false, Ordering::AcqRel) {
            return;
        }
        if self
            .failing
            .iter()
            .all(|flag| !flag.load(Ordering::Acquire))
        {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let blocked = [Operation::Commit, Operation::Seal]
            .iter()
            .any(|op| self.failing[op.index()].load(Ordering::Acquire));
        let last_error = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        HealthSnapshot {
            writable: !blocked,
            last_error: if self.failing.iter().any(|f| f.load(Ordering::Acquire)) {
                last_error
            } else {
                None
            },
        }
    }
}

/// The delay before the `failures`-th consecutive retry: 250 ms doubling to 10 s.
pub(crate) fn retry_delay(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(6);
    Duration::from_millis(250 << exponent).min(Duration::from_secs(10))
}

/// Rate-limited ERROR lines per operation (owned by the writer thread).
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    state: [Option<LogState>; 4],
}

#[derive(Debug)]
struct LogState {
    last_logged: Instant,
    suppressed: u64,
    failures: u32,
}

impl FailureLog {
    /// Logs the failure if it is the first or [`LOG_EVERY`] has passed; returns the
    /// number of consecutive failures of the operation.
    pub(crate) fn failed(&mut self, operation: Operation, error: &str) -> u32 {
        let slot = &mut self.state[operation.index()];
        let now = Instant::now();
        match slot {
            None => {
                tracing::error!(%error, "{} failed", operation.name());
                *slot = Some(LogState {
                    last_logged: now,
                    suppressed: 0,
                    failures: 1,
                });
                1
            }
            Some(state) => {
                state.failures = state.failures.saturating_add(1);
                if now.duration_since(state.last_logged) >= LOG_EVERY {
                    tracing::error!(
                        %error,
                        repeated = state.suppressed + 1,
                        "{} still failing", operation.name()
                    );
                    state.last_logged = now;
                    state.suppressed = 0;
                } else {
                    state.suppressed += 1;
                }
                state.failures
            }
        }
    }

    pub(crate) fn succeeded(&mut self, operation: Operation) {
        if let Some(state) = self.state[operation.index()].take() {
            tracing::warn!(
                failures = state.failures,
                "{} works again",
                operation.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_seal_makes_the_store_unwritable_until_it_succeeds() {
        let health = WriteHealth::default();
        assert!(health.snapshot().writable);
        health.failed(Operation::Seal, "database or disk is full");
        let snapshot = health.snapshot();
        assert!(!snapshot.writable);
        let (_, message) = snapshot.last_error.unwrap();
        assert_eq!(message, "sealing a block failed: database or disk is full");
        health.succeeded(Operation::Commit);
        assert!(
            !health.snapshot().writable,
            "a commit does not clear the seal"
        );
        health.succeeded(Operation::Seal);
        assert_eq!(
            health.snapshot(),
            HealthSnapshot {
                writable: true,
                last_error: None
            }
        );
    }

    #[test]
    fn a_failing_compaction_is_shown_but_does_not_block_writes() {
        let health = WriteHealth::default();
        health.failed(Operation::Compaction, "disk I/O error");
        let snapshot = health.snapshot();
        assert!(snapshot.writable);
        assert!(snapshot.last_error.is_some());
    }

    /// Regression: a full disk logged ~700 ERROR lines a second.
    #[test]
    fn repeated_failures_are_counted_not_logged_each_time() {
        let mut log = FailureLog::default();
        for expected in 1..=1000 {
            assert_eq!(log.failed(Operation::Seal, "disk full"), expected);
        }
        let state = log.state[Operation::Seal.index()].as_ref().unwrap();
        assert_eq!(state.suppressed, 999, "one line logged, the rest counted");
        log.succeeded(Operation::Seal);
        assert!(log.state[Operation::Seal.index()].is_none());
    }

    #[test]
    fn retries_back_off_to_ten_seconds() {
        assert_eq!(retry_delay(1), Duration::from_millis(250));
        assert_eq!(retry_delay(2), Duration::from_millis(500));
        assert_eq!(retry_delay(7), Duration::from_secs(10));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(10));
    }
}
