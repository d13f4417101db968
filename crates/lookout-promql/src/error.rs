//! Why a query failed: the caller's mistake (parse, unsupported, bad argument), a limit,
//! or the store.

/// A query that could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The text is not PromQL.
    #[error("parse error: {0}")]
    Parse(String),
    /// Valid PromQL this engine does not evaluate; names the construct and where it is.
    #[error("unsupported: {construct} at position {position} of the query is not supported")]
    Unsupported { construct: String, position: usize },
    /// Valid syntax whose evaluation fails as it does in Prometheus (duplicate series in
    /// a match, a bad label name, ...).
    #[error("execution error: {0}")]
    Execution(String),
    /// The sample budget of one query was exceeded.
    #[error("query processing would load too many samples into memory: more than {limit} samples (the per-query budget)")]
    TooManySamples { limit: usize },
    /// The samples shared by every query in flight are taken by other queries.
    #[error("query processing would load too many samples into memory: the queries in flight together already hold the {limit} samples of the shared budget (max_query_samples_total); retry later")]
    Overloaded { limit: usize },
    /// The deadline passed during evaluation.
    #[error("query timed out in expression evaluation after {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    /// The store failed.
    #[error("reading the store: {0}")]
    Source(#[from] crate::source::SourceError),
}

impl EvalError {
    pub(crate) fn exec(message: impl Into<String>) -> EvalError {
        EvalError::Execution(message.into())
    }
}
