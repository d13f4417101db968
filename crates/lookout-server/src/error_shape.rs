//! Every error answer in the JSON error shape of [`crate::error::ApiError`].
//!
//! Handlers answer their own errors as [`ApiError`], but some answers never reach a
//! handler: axum's 404 for an unknown path and 405 for a known path with the wrong
//! method (both with an empty body), its extractors' rejections (a JSON body that does
//! not parse, a missing query parameter: plain text) and the body limit's 413. A client
//! then had to parse two formats, and an empty 405 did not say which methods the path
//! takes. This layer, outermost on the router, rewrites any error answer that is not
//! JSON into `{"status":"error","errorType":...,"error":...}`, keeping the status, the
//! `Allow` and `Retry-After` headers and the original text as the message.
//!
//! Left alone: success answers, answers that are already JSON, and the probe routes
//! (`/healthz`, `/readyz`), whose plain `not ready` is what orchestrators expect.
//!
//! Cost: nothing on success; on an error, one read of a body of at most
//! [`MAX_REWRITTEN_BODY`] bytes (longer ones are cut, and the cut said).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The most of a plain-text error body kept as the message.
pub const MAX_REWRITTEN_BODY: usize = 4096;

/// Paths whose answers are for probes, not API clients.
pub(crate) const PROBE_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Middleware: see the module documentation.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if !needs_rewrite(&path, &response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REWRITTEN_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => format!("(error text longer than {MAX_REWRITTEN_BODY} bytes left out)"),
    };
    let message = message_for(parts.status, &parts.headers, &method, &path, text);
    let mut rewritten =
        ApiError::new(parts.status, error_type(parts.status), message).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

fn needs_rewrite(path: &str, response: &Response<Body>) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    if PROBE_PATHS.contains(&path) {
        return false;
    }
    !is_json(response.headers().get(header::CONTENT_TYPE))
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim_start().starts_with("application/json"))
        .unwrap_or(false)
}

/// The message: the original text when there was one, else what the status means here.
fn message_for(
    status: StatusCode,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    text: String,
) -> String {
    if !text.is_empty() {
        return text;
    }
    match status {
        StatusCode::NOT_FOUND => format!("no route {path}"),
        StatusCode::METHOD_NOT_ALLOWED => {
            // The router adds `Allow` after the layers have run, so it is named only
            // when a handler set it itself.
            match headers.get(header::ALLOW).and_then(|v| v.to_str().ok()) {
                Some(allowed) if !allowed.is_empty() => {
                    format!("{method} is not allowed on {path} (allowed: {allowed})")
                }
                _ => format!("{method} is not allowed on {path} (see the Allow header)"),
            }
        }
        _ => status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase(),
    }
}

/// Prometheus' `errorType` for a status.
fn error_type(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_data",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/api/v1/thing", get(|| async { "ok" }))
            .route(
                "/api/v1/json",
                post(|axum::Json(_): axum::Json<serde_json::Value>| async { "ok" }),
            )
            .route(
                "/readyz",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }),
            )
            .layer(axum::middleware::from_fn(json_errors))
    }

    async fn call(request: Request) -> (StatusCode, HeaderMap, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, value)
    }

    /// Regression: an unknown path answered 404 with an empty body.
    #[tokio::test]
    async fn an_unknown_path_answers_json_not_found() {
        let request = Request::get("/api/v1/nothing").body(Body::empty()).unwrap();
        let (status, _, body) = call(request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["status"], "error");
        assert_eq!(body["errorType"], "not_found");
        assert_eq!(body["error"], "no route /api/v1/nothing");
    }

    /// Regression: a wrong method answered 405 with an empty body.
    #[tokio::test]
    async fn a_wrong_method_answers_json_with_the_allowed_methods() {
        let request = Request::delete("/api/v1/thing")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = call(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(headers.contains_key(header::ALLOW));
        assert_eq!(body["errorType"], "bad_data");
        let message = body["error"].as_str().unwrap();
        assert!(message.starts_with("DELETE is not allowed on /api/v1/thing"));
        assert!(headers[header::ALLOW].to_str().unwrap().contains("GET"));
    }

    /// Regression: extractor rejections were plain text.
    #[tokio::test]
    async fn a_rejected_body_answers_json_with_the_reason() {
        let request = Request::post("/api/v1/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        let (status, _, body) = call(request).await;
        assert!(status.is_client_error());
        assert_eq!(body["errorType"], "bad_data");
        assert!(!body["error"].as_str().unwrap().is_empty());
    }

    #[tokio::test]
    async fn probes_keep_their_plain_answers() {
        let request = Request::get("/readyz").body(Body::empty()).unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"not ready\n");
    }
}
