//! Why the pipeline refused a request, with the hint a caller needs to retry.
//!
//! Every variant names the reason with the counter label `/metrics` counts it under
//! ([`IngestError::reason`]); the overload variants carry a retry hint
//! ([`IngestError::retry_after_seconds`]). Nothing of a refused request is stored. The
//! HTTP layer maps each variant to a status code; sources and `lookout import` retry on
//! a hint and give up otherwise.

use lookout_protocol::RejectReason;

use crate::index::SeriesLimitError;

/// A refused ingestion request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// The input itself is wrong (malformed body, invalid samples): the message names
    /// the reason and the first problems.
    #[error("{message}")]
    Invalid {
        reason: RejectReason,
        message: String,
    },
    /// The request would create more series than `max_series`.
    /// A request of events refused whole: `reason` is `malformed_events`,
    /// `too_many_events` or `invalid_event`; the message names the event and the problem.
    #[error("{message}")]
    InvalidEvents {
        reason: &'static str,
        message: String,
    },
    #[error("series_limit: {0}")]
    SeriesLimit(#[from] SeriesLimitError),
    /// The warm start is replaying stored history; live points would arrive out of order.
    #[error("the detectors are relearning stored history after a restart; retry shortly")]
    Warming { retry_after_seconds: u64 },
    /// The detection engine's queues are full.
    #[error("engine_overloaded: {message}; nothing stored, retry later")]
    EngineOverloaded {
        message: String,
        retry_after_seconds: u64,
    },
    /// The store's queue is full.
    #[error("store_full: {message}; nothing stored, retry later")]
    StoreFull {
        message: String,
        retry_after_seconds: u64,
    },
    /// The store could not commit the batch.
    #[error("store_failed: {0}")]
    StoreFailed(String),
    /// The write log of a cluster node did not acknowledge every part of the write:
    /// nothing is acknowledged (parts may have reached the log; a retry repeats them,
    /// and repeated points are taken as duplicates by their owner).
    #[error("log_unavailable: {0}; retry later")]
    LogUnavailable(String),
    /// The pipeline is stopping (or stopped): nothing more is taken.
    #[error("the server is shutting down; retry later")]
    ShuttingDown,
    /// A task of the pipeline died before answering (a bug, not an input problem).
    #[error("{0}")]
    Internal(String),
}

impl IngestError {
    /// The reason as a counter label (`series_limit`, `engine_overloaded`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Invalid { reason, .. } => reason.reason(),
            IngestError::InvalidEvents { reason, .. } => reason,
            IngestError::SeriesLimit(_) => "series_limit",
            IngestError::Warming { .. } => "warming",
            IngestError::EngineOverloaded { .. } => "engine_overloaded",
            IngestError::StoreFull { .. } => "store_full",
            IngestError::StoreFailed(_) => "store_failed",
            IngestError::LogUnavailable(_) => "log_unavailable",
            IngestError::ShuttingDown => "shutting_down",
            IngestError::Internal(_) => "internal",
        }
    }

    /// Seconds after which the same request may succeed; `None`: retrying the same
    /// request cannot help.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            IngestError::Warming {
                retry_after_seconds,
            }
            | IngestError::EngineOverloaded {
                retry_after_seconds,
                ..
            }
            | IngestError::StoreFull {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            IngestError::StoreFailed(_)
            | IngestError::LogUnavailable(_)
            | IngestError::ShuttingDown => Some(1),
            IngestError::Invalid { .. }
            | IngestError::InvalidEvents { .. }
            | IngestError::SeriesLimit(_)
            | IngestError::Internal(_) => None,
        }
    }

    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retry_after_seconds().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_errors_carry_a_hint_and_input_errors_do_not() {
        let full = IngestError::StoreFull {
            message: "queue of 8 batches full".into(),
            retry_after_seconds: 3,
        };
        assert_eq!(full.retry_after_seconds(), Some(3));
        assert_eq!(full.reason(), "store_full");
        assert_eq!(
            full.to_string(),
            "store_full: queue of 8 batches full; nothing stored, retry later"
        );
        let invalid = IngestError::Invalid {
            reason: RejectReason::NonFiniteValue,
            message: "non_finite_value: request refused whole".into(),
        };
        assert!(!invalid.is_retryable());
        assert_eq!(invalid.reason(), "non_finite_value");
        assert_eq!(IngestError::ShuttingDown.retry_after_seconds(), Some(1));
    }
}
