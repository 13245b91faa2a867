//! `/metrics`: the operational counters in the OpenMetrics text format,
//! for Prometheus, behind a bearer token.

use almanac_service::token::constant_time_eq;
use almanac_service::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = &state.config.metrics.prometheus_token;
    if token.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            "Prometheus metrics are off: set [metrics] prometheus_token.\n",
        )
            .into_response();
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "A bearer token is needed.\n",
        )
            .into_response();
    }
    let (size, idle) = state.store.pool_size();
    let Ok(body) = state.ops.encode(size, idle) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
