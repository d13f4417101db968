//! A batch the write queue refused, handed back whole with the reason, so a caller can
//! retry or report it and nothing is silently lost. Costs nothing beyond the batch itself.

use crate::batch::WriteBatch;
use crate::error::StoreError;

/// A batch that the queue refused, handed back so that nothing is silently lost.
#[derive(Debug)]
pub struct Rejected {
    pub batch: WriteBatch,
    pub error: StoreError,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batch of {} samples rejected: {}",
            self.batch.len(),
            self.error
        )
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<Rejected> for StoreError {
    fn from(rejected: Rejected) -> Self {
        rejected.error
    }
}

impl From<Box<Rejected>> for StoreError {
    fn from(rejected: Box<Rejected>) -> Self {
        rejected.error
    }
}
