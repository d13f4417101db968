//! HTTP handlers of the ingestion endpoints.
//!
//! | route | body | success |
//! |---|---|---|
//! | `POST /api/v1/write` | Prometheus remote write 1.0 or 2.0 (snappy-compressed protobuf, by `Content-Type`) | 204 |
//! | `POST /api/v2/write`, `POST /write` | InfluxDB line protocol; `?precision=ns\|us\|ms\|s` (default ns) | 204 |
//! | `POST /api/v1/samples` | JSON array of `{name, labels, timestamp, value}` | 200 with counts |
//!
//! Influx and JSON bodies may be compressed (`Content-Encoding: gzip`, `deflate`,
//! `zstd`; `lookout_protocol::encoding`), decompressed on the blocking pool up to
//! `max_decompressed_bytes`. Remote write takes `Content-Encoding: snappy` (or none)
//! only. Remote Write 2.0 answers carry `X-Prometheus-Remote-Write-Samples-Written`,
//! `-Histograms-Written` and `-Exemplars-Written`; a 2.0 request with native histograms
//! is a partial write (its float samples are stored, the answer is 400 naming the
//! histograms that were not).
//!
//! Failures: 400 (malformed or invalid input, series limit), 413 (body over
//! `max_body_bytes`), 503 with `Retry-After` (the bodies in flight would pass
//! `max_inflight_body_bytes`), 415 (a `Content-Type` or `Content-Encoding` the route does not
//! take), 429 with `Retry-After` (engine or store queue full), 503 (shutting down or
//! store failure). Every refusal is counted in `/metrics` by reason.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use lookout_model::clock::now_ms;
use lookout_protocol::encoding::ContentEncoding;
use lookout_protocol::influx::Precision;
use lookout_protocol::remote_write::v2::{self, MessageKind};
use lookout_protocol::{Batch, ProtocolError};

use super::{IngestReport, TimeCheck};
use crate::budget::{Refused, Reservation};
use crate::error::ApiError;
use crate::state::AppState;

/// Counts a request in flight and its latency, whatever its outcome.
struct InFlight<'a> {
    state: &'a AppState,
    started: Instant,
}

impl<'a> InFlight<'a> {
    fn new(state: &'a AppState, protocol: &'static str) -> Self {
        state.metrics.requests.add(protocol, 1);
        state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            state,
            started: Instant::now(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.state.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.state
            .metrics
            .ingest_latency
            .observe(self.started.elapsed());
    }
}

/// A body's bytes with their share of the in-flight body budget: the share goes back
/// when the last clone of the returned [`Bytes`] is dropped.
struct Budgeted {
    bytes: BytesMut,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads the body, refusing (413) as soon as it grows past the limit, and (503 with
/// `Retry-After`) as soon as the bytes buffered by every request together would pass
/// `max_inflight_body_bytes`. The bytes are reserved from that budget as they arrive
/// and given back when the body is dropped, also when the request is cancelled.
pub(crate) async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    let limit = state.options.max_body_bytes;
    let too_large = |size: String| {
        let error = ProtocolError::BodyTooLarge { declared: 0, limit };
        let answer = ApiError::from(state.pipeline.refuse(&error, 0));
        ApiError {
            message: format!(
                "body_too_large: request body of {size} bytes is over the limit of {limit} bytes"
            ),
            ..answer
        }
        .closing()
    };
    read_body_within(state, headers, body, limit, too_large).await
}

/// Largest body of a query route (`POST /api/v1/query` and the others with form
/// parameters): what axum allows by default.
pub const MAX_QUERY_BODY_BYTES: usize = 2 << 20;

/// A query route's form body, within [`MAX_QUERY_BODY_BYTES`] and the in-flight body
/// budget shared with ingestion (a 413 or a 503 otherwise, not counted as ingestion).
pub(crate) async fn read_query_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    let limit = MAX_QUERY_BODY_BYTES;
    let too_large = |size: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_data",
            format!("request body of {size} bytes is over the limit of {limit} bytes for query parameters"),
        )
        .closing()
    };
    read_body_within(state, headers, body, limit, too_large).await
}

/// [`read_body`] with its limit and its 413.
async fn read_body_within(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    too_large: impl Fn(String) -> ApiError,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<usize>().ok());
    if let Some(length) = declared.filter(|length| *length > limit) {
        if length - limit <= REFUSED_BODY_DRAIN_BYTES {
            drain_refused_body(body.into_data_stream(), length).await;
        }
        return Err(too_large(length.to_string()));
    }
    let budget = &state.body_budget;
    let client = crate::listen::client_address();
    let over_budget = |refused: Refused| {
        let (reason, message) = match (refused, budget.client_share(), client) {
            (Refused::ClientShare, Some((key, share)), Some(client)) => (
                "inflight_body_client_share",
                format!(
                    "{key}: request bodies being received from {client} already hold {} of \
                     the {share} bytes one client may hold; retry later",
                    budget.held_by(client)
                ),
            ),
            _ => (
                "inflight_body_budget",
                format!(
                    "inflight_body_budget: request bodies being received already hold {} of \
                     the {} bytes of max_inflight_body_bytes; retry later",
                    budget.used(),
                    budget.limit()
                ),
            ),
        };
        state.metrics.reject(reason, 0);
        ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            message,
            state.options.retry_after_seconds,
        )
        .closing()
    };
    // Reserve at most 64 KiB up front whatever the client declares: the buffer grows
    // with what actually arrives (a declared 90 GB once aborted the process).
    let initial = declared.unwrap_or(8192).min(limit).min(64 << 10);
    let mut reservation = budget.reservation_for(client);
    reservation.try_grow(initial).map_err(over_budget)?;
    let mut buffer = BytesMut::with_capacity(initial);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_data(format!("cannot read the request body: {error}"))
        })?;
        let needed = buffer.len() + chunk.len();
        if needed > limit {
            drop(buffer);
            drop(reservation);
            drain_refused_body(
                stream,
                (limit + REFUSED_BODY_DRAIN_BYTES).saturating_sub(needed),
            )
            .await;
            return Err(too_large(format!("more than {needed}")));
        }
        if needed > reservation.held() {
            reservation
                .try_grow(needed - reservation.held())
                .map_err(over_budget)?;
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from_owner(Budgeted {
        bytes: buffer,
        _reservation: reservation,
    }))
}

/// How far past its limit a refused body is still read (and thrown away) before the 413.
///
/// A server that answers before reading the body and closes the connection resets it
/// while the client is still sending: a client that does not send `Expect: 100-continue`
/// then sees a broken pipe instead of the 413 that says why. A body at most this much over
/// the limit is read to its end first (discarded as it arrives, so it holds no memory and
/// none of the in-flight budget), within [`REFUSED_BODY_DRAIN_TIME`]; a larger one is
/// refused at once, as before.
pub const REFUSED_BODY_DRAIN_BYTES: usize = 4 << 20;

/// The longest a refused body is read before the 413 goes out anyway.
const REFUSED_BODY_DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and discards up to `bytes` of a refused body, for at most
/// [`REFUSED_BODY_DRAIN_TIME`].
async fn drain_refused_body(mut stream: axum::body::BodyDataStream, bytes: usize) {
    let drain = async {
        let mut left = bytes;
        while left > 0 {
            match stream.next().await {
                Some(Ok(chunk)) => left = left.saturating_sub(chunk.len()),
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSED_BODY_DRAIN_TIME, drain).await;
}

/// The 400 of a request some of whose samples named a time their series already holds
/// with another value (the first write of a time wins); `None` when there were none.
fn conflict_error(report: &IngestReport) -> Option<ApiError> {
    let conflict = report.conflict.as_ref()?;
    Some(ApiError::bad_data(format!(
        "partial write: {} samples had a timestamp their series already holds with another \
         value (the first write of a time wins: the stored value is kept), e.g. {} at {} ms \
         with value {}; {} samples written",
        report.conflicts, conflict.series, conflict.timestamp_ms, conflict.value, report.accepted
    )))
}

/// Decodes and validates on the blocking pool, then scores and stores.
async fn ingest(
    state: Arc<AppState>,
    body: Bytes,
    protocol: &'static str,
    decode: impl FnOnce(&[u8], i64) -> Result<Batch, ProtocolError> + Send + 'static,
) -> Result<IngestReport, ApiError> {
    let pipeline = state.pipeline.clone();
    let prepared = tokio::task::spawn_blocking(move || {
        let batch = decode(&body, now_ms()).map_err(|error| pipeline.refuse(&error, 0))?;
        pipeline.prepare(batch, TimeCheck::Live)
    })
    .await
    .map_err(|error| ApiError::internal(format!("decoding task failed: {error}")))??;
    Ok(state.pipeline.commit(prepared, protocol).await?)
}

pub async fn remote_write(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let _in_flight = InFlight::new(&state, "remote_write");
    let kind = remote_write_kind(&headers).map_err(|error| state.pipeline.refuse(&error, 0))?;
    let body = read_body(&state, &headers, body).await?;
    let max_decompressed = state.options.max_decompressed_bytes;
    if kind == MessageKind::V1 {
        let report = ingest(
            Arc::clone(&state),
            body,
            "remote_write",
            move |bytes, _now| {
                lookout_protocol::remote_write::decode_write_request_limited(
                    bytes,
                    max_decompressed,
                )
            },
        )
        .await?;
        return match conflict_error(&report) {
            Some(error) => Err(error),
            None => Ok(StatusCode::NO_CONTENT.into_response()),
        };
    }
    let counts = Arc::new(std::sync::Mutex::new(v2::Counts::default()));
    let seen = Arc::clone(&counts);
    let outcome = ingest(
        Arc::clone(&state),
        body,
        "remote_write",
        move |bytes, _now| {
            let (batch, counts) = v2::decode_v2_request_limited(bytes, max_decompressed)?;
            *seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = counts;
            Ok(batch)
        },
    )
    .await;
    let counts = *counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let written = outcome.as_ref().map_or(0, |report| report.accepted);
    let mut response = match outcome {
        Err(error) => error.into_response(),
        Ok(report) if report.conflicts > 0 => conflict_error(&report).map_or_else(
            || StatusCode::NO_CONTENT.into_response(),
            IntoResponse::into_response,
        ),
        Ok(report) if counts.histograms > 0 => ApiError::bad_data(format!(
            "partial write: {} native histogram samples were not written (lookout stores \
             float samples only); {} float samples were written",
            counts.histograms, report.accepted
        ))
        .into_response(),
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
    };
    let written_headers = [
        ("x-prometheus-remote-write-samples-written", written),
        ("x-prometheus-remote-write-histograms-written", 0),
        ("x-prometheus-remote-write-exemplars-written", 0),
    ];
    for (name, value) in written_headers {
        response
            .headers_mut()
            .insert(name, axum::http::HeaderValue::from(value));
    }
    Ok(response)
}

/// The remote write message of a request, from `Content-Type`; `Content-Encoding` must
/// be snappy (or absent: 1.0 senders that predate the header).
fn remote_write_kind(headers: &HeaderMap) -> Result<MessageKind, ProtocolError> {
    let header = |name| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)"))
    };
    if let Some(encoding) = header(axum::http::header::CONTENT_ENCODING) {
        if !encoding.trim().eq_ignore_ascii_case("snappy") {
            return Err(ProtocolError::UnsupportedMediaType {
                header: "Content-Encoding",
                value: encoding.to_owned(),
                accepted: "accepted: snappy",
            });
        }
    }
    MessageKind::from_content_type(header(axum::http::header::CONTENT_TYPE))
}

/// The `Content-Encoding` of an Influx or JSON body.
fn body_encoding(state: &AppState, headers: &HeaderMap) -> Result<ContentEncoding, ApiError> {
    let value = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    ContentEncoding::from_header(value).map_err(|error| state.pipeline.refuse(&error, 0).into())
}

pub async fn influx_write(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let _in_flight = InFlight::new(&state, "influx");
    let precision = match params.get("precision").map(String::as_str) {
        None | Some("") => Precision::Nanoseconds,
        Some(text) => text.parse::<Precision>().map_err(|error| {
            state.metrics.reject("malformed_line", 0);
            ApiError::bad_data(format!(
                "malformed_line: invalid parameter \"precision\": {error}"
            ))
        })?,
    };
    let encoding = body_encoding(&state, &headers)?;
    let max_decompressed = state.options.max_decompressed_bytes;
    let body = read_body(&state, &headers, body).await?;
    let report = ingest(Arc::clone(&state), body, "influx", move |bytes, now| {
        let text = encoding.decode(bytes, max_decompressed)?;
        lookout_protocol::influx::parse_lines(&text, precision, now)
    })
    .await?;
    match conflict_error(&report) {
        Some(error) => Err(error),
        None => Ok(StatusCode::NO_CONTENT),
    }
}

pub async fn json_samples(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let _in_flight = InFlight::new(&state, "json");
    let encoding = body_encoding(&state, &headers)?;
    let max_decompressed = state.options.max_decompressed_bytes;
    let body = read_body(&state, &headers, body).await?;
    let report = ingest(Arc::clone(&state), body, "json", move |bytes, now| {
        let text = encoding.decode(bytes, max_decompressed)?;
        lookout_protocol::json_samples::parse_json_samples(&text, now)
    })
    .await?;
    if let Some(error) = conflict_error(&report) {
        return Err(error);
    }
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "status": "success", "data": report })),
    )
        .into_response())
}
