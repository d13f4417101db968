//! One error type for every route, rendered in Prometheus' error format:
//! `{"status":"error","errorType":"bad_data","error":"<what was wrong>"}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An HTTP error with a message that names the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Prometheus' `errorType`: `bad_data`, `not_found`, `unavailable`, `internal`, ...
    pub error_type: &'static str,
    pub message: String,
    /// Seconds for the `Retry-After` header (overload answers).
    pub retry_after: Option<u64>,
    /// Answered before the request's body was read to its end: `Connection: close`, so
    /// the client does not send its next request on a connection the server drops.
    pub close_connection: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error_type,
            message: message.into(),
            retry_after: None,
            close_connection: false,
        }
    }

    /// The same answer with `Connection: close` (see [`ApiError::close_connection`]).
    pub fn closing(self) -> Self {
        ApiError {
            close_connection: true,
            ..self
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_data", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 429 or 503 with `Retry-After`: try again later, nothing was stored.
    pub fn overloaded(
        status: StatusCode,
        message: impl Into<String>,
        retry_after_seconds: u64,
    ) -> Self {
        ApiError {
            retry_after: Some(retry_after_seconds),
            ..ApiError::new(status, "unavailable", message)
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.error_type,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.error_type,
            "error": self.message,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.close_connection {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_carries_retry_after() {
        let response =
            ApiError::overloaded(StatusCode::TOO_MANY_REQUESTS, "queue full", 2).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }

    #[test]
    fn display_names_status_and_message() {
        assert_eq!(
            ApiError::bad_data("missing parameter \"query\"").to_string(),
            "400 bad_data: missing parameter \"query\""
        );
    }
}
