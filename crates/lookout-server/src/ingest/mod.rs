//! Ingestion over HTTP: the routes ([`routes`]) decode each protocol and hand the
//! samples to the pipeline (`lookout_pipeline`), whose refusals ([`IngestError`]) map
//! to status codes here: 400 for invalid input and the series limit, 413 for a body
//! over the limit, 429 with `Retry-After` when the engine or the store is full, 503
//! with `Retry-After` while warming up, shutting down or when the store fails.

pub mod events;
pub mod routes;

pub use lookout_pipeline::{IngestError, IngestReport, TimeCheck};

use axum::http::StatusCode;
use lookout_protocol::RejectReason;

use crate::error::ApiError;

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> ApiError {
        let retry_after = error.retry_after_seconds();
        let message = error.to_string();
        match error {
            IngestError::Invalid {
                reason: RejectReason::BodyTooLarge,
                ..
            } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "bad_data", message),
            IngestError::Invalid {
                reason: RejectReason::UnsupportedMediaType,
                ..
            } => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data", message),
            IngestError::Invalid { .. }
            | IngestError::InvalidEvents { .. }
            | IngestError::SeriesLimit(_) => ApiError::bad_data(message),
            IngestError::EngineOverloaded { .. } | IngestError::StoreFull { .. } => {
                ApiError::overloaded(
                    StatusCode::TOO_MANY_REQUESTS,
                    message,
                    retry_after.unwrap_or(1),
                )
            }
            IngestError::Warming { .. }
            | IngestError::StoreFailed(_)
            | IngestError::LogUnavailable(_)
            | IngestError::ShuttingDown => ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                message,
                retry_after.unwrap_or(1),
            ),
            IngestError::Internal(_) => ApiError::internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_keeps_its_status_body_and_retry_hint() {
        let cases = [
            (
                IngestError::Invalid {
                    reason: RejectReason::BodyTooLarge,
                    message: "body_too_large: 9 bytes".into(),
                },
                413,
                "bad_data",
                None,
            ),
            (
                IngestError::Invalid {
                    reason: RejectReason::NonFiniteValue,
                    message: "non_finite_value: request refused whole".into(),
                },
                400,
                "bad_data",
                None,
            ),
            (
                IngestError::EngineOverloaded {
                    message: "queue full".into(),
                    retry_after_seconds: 4,
                },
                429,
                "unavailable",
                Some(4),
            ),
            (
                IngestError::StoreFull {
                    message: "queue full".into(),
                    retry_after_seconds: 2,
                },
                429,
                "unavailable",
                Some(2),
            ),
            (
                IngestError::Warming {
                    retry_after_seconds: 3,
                },
                503,
                "unavailable",
                Some(3),
            ),
            (IngestError::ShuttingDown, 503, "unavailable", Some(1)),
            (
                IngestError::StoreFailed("disk I/O error".into()),
                503,
                "unavailable",
                Some(1),
            ),
            (IngestError::Internal("lost".into()), 500, "internal", None),
        ];
        for (error, status, error_type, retry_after) in cases {
            let message = error.to_string();
            let answer = ApiError::from(error);
            assert_eq!(answer.status.as_u16(), status, "{message}");
            assert_eq!(answer.error_type, error_type, "{message}");
            assert_eq!(answer.retry_after, retry_after, "{message}");
            assert_eq!(answer.message, message);
        }
    }
}
