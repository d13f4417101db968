//! The router, and the small health routes (`/healthz`, `/readyz`, `/metrics`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::error::ApiError;
use crate::query::{SCORE_METRIC, SCORE_METRIC_LABEL};
use crate::state::AppState;
use crate::{alerting, anomalies, events, ingest, openapi, predict, query, ui, usage};
use lookout_pipeline::metrics::Gauges;
use lookout_protocol::exposition::{self, ExpositionWriter, MetricType};

/// Records each route as it is added, so that the route table and the router cannot
/// drift apart (the OpenAPI test compares this table with the document).
struct RouteTable {
    router: Router<Arc<AppState>>,
    routes: Vec<(&'static str, &'static str)>,
}

impl RouteTable {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: MethodRouter<Arc<AppState>>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.routes.push((method, path));
        self
    }
}

fn build() -> RouteTable {
    let table = RouteTable {
        router: Router::new(),
        routes: Vec::new(),
    }
    .add("POST", "/api/v1/write", post(ingest::routes::remote_write))
    .add("POST", "/api/v2/write", post(ingest::routes::influx_write))
    .add("POST", "/write", post(ingest::routes::influx_write))
    .add(
        "POST",
        "/api/v1/samples",
        post(ingest::routes::json_samples),
    )
    .add("POST", "/api/v1/events", post(ingest::events::post_events));
    // Ingestion routes read their bodies themselves, with the configured limit and a
    // counted 413; the other routes keep axum's default limit.
    let table = RouteTable {
        router: table.router.layer(DefaultBodyLimit::disable()),
        routes: table.routes,
    };
    table
        .add("GET", "/api/v1/series", get(query::series))
        .add("POST", "/api/v1/series", post(query::series))
        .add("GET", "/api/v1/labels", get(query::labels))
        .add("POST", "/api/v1/labels", post(query::labels))
        .add(
            "GET",
            "/api/v1/label/{name}/values",
            get(query::label_values),
        )
        .add("GET", "/api/v1/query", get(query::instant_query))
        .add("POST", "/api/v1/query", post(query::instant_query))
        .add("GET", "/api/v1/query_range", get(query::range_query))
        .add("POST", "/api/v1/query_range", post(query::range_query))
        .add(
            "GET",
            "/api/v1/query_exemplars",
            get(query::query_exemplars),
        )
        .add(
            "POST",
            "/api/v1/query_exemplars",
            post(query::query_exemplars),
        )
        .add("GET", "/api/v1/metadata", get(query::metadata))
        .add("GET", "/api/v1/status/buildinfo", get(query::build_info))
        .add("GET", "/api/v1/status/flags", get(query::flags))
        .add("GET", "/api/v1/status/config", get(query::config))
        .add(
            "GET",
            "/api/v1/status/runtimeinfo",
            get(query::runtime_info),
        )
        .add("GET", "/api/v1/anomalies", get(anomalies::list))
        .add("GET", "/api/v1/anomalies/{id}", get(anomalies::get_one))
        .add(
            "POST",
            "/api/v1/anomalies/{id}/feedback",
            post(anomalies::feedback),
        )
        .add("GET", "/api/v1/events", get(events::list_events))
        .add("GET", "/api/v1/events/{id}", get(events::get_event))
        .add("GET", "/api/v1/alerts", get(alerting::list_alerts))
        .add("GET", "/api/v1/alerts/rules", get(alerting::list_rules))
        .add(
            "GET",
            "/api/v1/alerts/rules/{name}",
            get(alerting::get_rule),
        )
        .add("GET", "/api/v1/alerts/notifiers", get(alerting::notifiers))
        .add("GET", "/api/v1/silences", get(alerting::list_silences))
        .add("POST", "/api/v1/silences", post(alerting::create_silence))
        .add(
            "POST",
            "/api/v1/silences/{id}/expire",
            post(alerting::expire_silence),
        )
        .add("GET", "/api/v1/audit", get(crate::audit::list))
        .add("POST", "/api/v1/session", post(crate::session::sign_in))
        .add("GET", "/api/v1/session", get(crate::session::who_am_i))
        .add(
            "DELETE",
            "/api/v1/session",
            axum::routing::delete(crate::session::sign_out),
        )
        .add("GET", "/api/v1/cluster", get(crate::cluster::status))
        .add("GET", "/api/v1/machines", get(usage::routes::list))
        .add(
            "POST",
            "/api/v1/predict/cpu",
            predict_route(post(predict::predict_cpu)),
        )
        .add(
            "POST",
            "/api/v1/predict/memory",
            predict_route(post(predict::predict_memory)),
        )
        .add(
            "POST",
            "/api/v1/predict/network",
            predict_route(post(predict::predict_network)),
        )
        .add(
            "POST",
            "/api/v1/predict/storage",
            predict_route(post(predict::predict_storage)),
        )
        .add(
            "POST",
            "/api/v1/predict/login",
            predict_route(post(predict::predict_login)),
        )
        .add(
            "POST",
            "/api/v1/predict/content",
            predict_route(post(predict::predict_content)),
        )
        .add("GET", "/metrics", get(metrics))
        .add("GET", "/healthz", get(healthz))
        .add("GET", "/readyz", get(readyz))
        .add("GET", "/api/openapi.json", get(openapi::document_route))
        .add("GET", "/api/v1/stream", get(ui::live::stream))
        .add("GET", "/api/v1/chart", get(ui::chart::chart))
        .add("GET", "/api/v1/overview", get(ui::overview::overview))
        .add("GET", "/api/v1/logs/patterns", get(ui::logs::log_patterns))
        .add("GET", "/", get(ui::page))
        .add("GET", "/series", get(ui::page))
        .add("GET", "/anomalies", get(ui::page))
        .add("GET", "/alerts", get(ui::page))
        .add("GET", "/machines", get(ui::page))
        .add("GET", "/events", get(ui::page))
        .add("GET", "/security", get(ui::page))
        .add("GET", "/logs", get(ui::page))
        .add("GET", "/network", get(ui::page))
        .add("GET", "/assets/{file}", get(ui::asset))
}

/// A predict route, with its own body limit.
fn predict_route(route: MethodRouter<Arc<AppState>>) -> MethodRouter<Arc<AppState>> {
    route.layer(DefaultBodyLimit::max(predict::MAX_BODY_BYTES))
}

/// Every route as (method, path in axum's `{param}` syntax), in registration order.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    build().routes
}

/// Builds the router over shared state.
pub fn router(state: Arc<AppState>) -> Router {
    build()
        .router
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::auth::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::guard::check,
        ))
        .layer(axum::middleware::from_fn(crate::error_shape::json_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// A handler's panic as a 500 in the JSON error shape (the connection once dropped
/// without an answer), logged with its message.
fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %message, "a request handler panicked");
    ApiError::internal("internal error: the request's handler failed; it is logged").into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready once warmed up and while the store can write: a full disk or a failing seal
/// takes the server out of a load balancer's rotation instead of acknowledging into a
/// store that cannot keep up.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response();
    }
    let health = state.store.write_health();
    if !health.writable {
        let reason = health
            .last_error
            .map_or_else(|| "unknown error".to_string(), |(_, message)| message);
        let body = format!("not ready: the store cannot write: {reason}\n");
        return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = tokio::task::spawn_blocking(move || render_metrics(&state))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], text).into_response()
}

/// The whole `/metrics` text: own health, then the latest score of every series.
pub fn render_metrics(state: &AppState) -> String {
    let stats = state.scorer.stats().unwrap_or_default();
    let gauges = Gauges {
        engine_queue_depth: stats.queue_depth,
        engine_series: stats.series,
        engine_state_bytes: stats.state_bytes,
        engine_busy_seconds: stats.busy_seconds,
        series_active: state.index.len(),
    };
    let mut out = ExpositionWriter::new();
    state.metrics.render(&gauges, &mut out);
    alerting::render_metrics(state, &mut out);
    out.single(
        "lookout_store_writable",
        "1 while the store's commits and seals succeed, 0 while the last one failed.",
        MetricType::Gauge,
        if state.store.write_health().writable {
            1.0
        } else {
            0.0
        },
    );
    out.single(
        "lookout_inflight_body_bytes",
        "Bytes of request bodies being received now, against max_inflight_body_bytes.",
        MetricType::Gauge,
        state.body_budget.used() as f64,
    );
    out.single(
        "lookout_store_queue_depth",
        "Batches waiting for the store writer.",
        MetricType::Gauge,
        state.store.queue_len() as f64,
    );
    usage::render_metrics(&state.usage, &mut out);
    state.live.render_metrics(&mut out);
    state.pipeline.render_metrics(&mut out);
    lookout_protocol::exposition::counters::render(&mut out);
    let help = format!(
        "Latest anomaly score (0..1) of each series; {SCORE_METRIC_LABEL} holds the series name."
    );
    out.family(SCORE_METRIC, &help, MetricType::Gauge);
    for entry in state.index.all() {
        let Some((_, score)) = entry.latest_score() else {
            continue;
        };
        let labels = entry
            .key
            .labels
            .iter()
            .filter(|(name, _)| name.as_str() != SCORE_METRIC_LABEL)
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain([(SCORE_METRIC_LABEL, entry.key.name.as_str())]);
        out.sample(SCORE_METRIC, labels, score);
    }
    out.finish()
}

#[cfg(test)]
mod panic_tests {
    use super::*;

    /// A handler that panicked once dropped the connection without an answer.
    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_json_error_shape() {
        use tower::ServiceExt;
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked));
        let request = axum::http::Request::get("/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["errorType"], "internal", "{json}");
    }
}
