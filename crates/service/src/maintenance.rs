//! Maintenance mode ("service is down: no changes"): writes get 503 with
//! Retry-After and the operators' message; reads go on.

use almanac_store::Maintenance;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

/// How long clients are told to wait when the operators gave no end time.
const DEFAULT_RETRY_SECONDS: i64 = 300;

/// Said above a form refused during maintenance: nothing typed is lost.
pub const KEPT: &str = "Nothing was saved: the service is down for maintenance (see the notice above). What you typed is kept below; send it again when the notice is gone.";

/// The same, for a form with passwords: those are never sent back.
pub const KEPT_BUT_PASSWORDS: &str = "Nothing was saved: the service is down for maintenance (see the notice above). What you typed is kept below, except passwords, which are never sent back to the browser; send it again when the notice is gone.";

/// The 503 answer to a write during maintenance; `dav` picks an XML body.
pub fn refusal(maintenance: &Maintenance, dav: bool) -> Response {
    let (message, retry) = explain(maintenance, chrono_tz::UTC);
    let (body, content_type) = if dav {
        (
            almanac_dav::multistatus::description_body(&message),
            "application/xml; charset=utf-8",
        )
    } else {
        (format!("{message}\n"), "text/plain; charset=utf-8")
    };
    let response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response();
    with_retry_after(response, retry)
}

pub(crate) fn with_retry_after(mut response: Response, seconds: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A page refused during maintenance, told when to try again.
pub fn with_retry(response: Response, maintenance: &Maintenance) -> Response {
    with_retry_after(response, explain(maintenance, chrono_tz::UTC).1)
}

/// A form shown again, filled in, because maintenance refused it: 503 and
/// when to try again.
pub fn kept(mut page: Response, maintenance: &Maintenance) -> Response {
    *page.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    with_retry(page, maintenance)
}

/// What the site says on every page while maintenance is on.
pub fn notice(maintenance: &Maintenance, zone: chrono_tz::Tz) -> String {
    explain(maintenance, zone).0
}

/// The operators' message with the expected end, and seconds to wait.
pub(crate) fn explain(maintenance: &Maintenance, zone: chrono_tz::Tz) -> (String, i64) {
    let now = chrono::Utc::now().timestamp();
    let retry = maintenance
        .until
        .map_or(DEFAULT_RETRY_SECONDS, |until| (until - now).max(60));
    let mut message = format!(
        "The service is down for maintenance: no changes can be saved right now. {}",
        maintenance.message
    );
    if let Some(until) = maintenance.until {
        let _ = write!(
            message,
            " Expected back by {}.",
            crate::when::time_in(until, zone)
        );
    }
    (message, retry)
}
