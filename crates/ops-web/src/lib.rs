//! Operations and metrics on the web (SPEC §5 and §6): the status site,
//! the metrics API with its CSV downloads, the dashboard and its charts,
//! and the Prometheus scrape. The metrics themselves are computed by
//! `almanac-metrics`; this crate only reads its report.
//!
//! Layers, bottom up:
//! - `format`: figures, data sizes, percentages and dates as people read them.
//! - `charts`: SVG line charts, week bars, sparklines and share bars.
//! - `labels`: each metric's title, plain sentence, unit and group.
//! - `period`: the dashboard's whole weeks and the week still running.
//! - `status`: the status page, its JSON and its feed.
//! - `metrics_api`: the metrics API and who may read it.
//! - `reading`: a period's values from the report, and their CSV links.
//! - `sections`: the dashboard's charts, heat map, rankings and full list.
//! - `board`: the whole dashboard for a period: figures and sections.
//! - `dashboard`: the management dashboard's page, over the metrics API.
//! - `prometheus`: `/metrics`.

mod board;
mod charts;
mod dashboard;
mod format;
mod labels;
mod metrics_api;
mod period;
mod prometheus;
mod reading;
mod sections;
mod status;

use almanac_service::AppState;
use axum::routing::get;
use axum::Router;

/// The status page, its JSON and its feed: also served alone on the
/// status site's own listener.
pub fn status_pages() -> Router<AppState> {
    Router::new()
        .route("/status", get(status::page))
        .route("/status.json", get(status::json))
        .route("/status/feed.atom", get(status::feed))
}

/// The pages, which need the session layer around them.
pub fn pages() -> Router<AppState> {
    status_pages().route("/dashboard", get(dashboard::page))
}

/// The machine-facing routes: the metrics API and Prometheus.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(prometheus::scrape))
        .route("/api/v1/metrics", get(metrics_api::list))
        .route("/api/v1/metrics.csv", get(metrics_api::table))
        .route(
            "/api/v1/metrics/{name}",
            get(metrics_api::one).post(metrics_api::submit),
        )
}
