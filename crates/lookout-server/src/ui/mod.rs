//! The web dashboard's side of the server: the embedded single-page app and the routes
//! only the dashboard needs.
//!
//! - `GET /`, `/series`, `/anomalies`, `/alerts`, `/machines`, `/events`, `/security`,
//!   `/logs`, `/network`: the page (the app routes on the client; `/series?match=<selector>&at=<unix
//!   ms>` opens a series at a moment, which alert messages link to);
//! - `GET /assets/{file}`: the bundle (`lookout-web`, built from `web/` at compile
//!   time), cached for a year since file names carry a content hash;
//! - [`live`]: `GET /api/v1/stream` server-sent events fed by the ingest path;
//! - [`chart`]: `GET /api/v1/chart` points with band, score and anomaly flags;
//! - [`overview`]: `GET /api/v1/overview` machines, statuses and counts;
//! - [`logs`]: `GET /api/v1/logs/patterns` a `log` source's patterns with their line
//!   counts and first-seen times.

pub mod chart;
pub mod live;
pub mod logs;
pub mod overview;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The dashboard's pages, each answered with the single page.
pub const PAGES: [&str; 9] = [
    "/",
    "/series",
    "/anomalies",
    "/alerts",
    "/machines",
    "/events",
    "/security",
    "/logs",
    "/network",
];

/// `GET /` and the other page paths.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        lookout_web::index_html(),
    )
        .into_response()
}

/// `GET /assets/{file}`
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let path = format!("assets/{file}");
    let asset = lookout_web::asset(&path)
        .ok_or_else(|| ApiError::not_found(format!("no dashboard asset {path:?}")))?;
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response())
}
