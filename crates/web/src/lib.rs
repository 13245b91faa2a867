//! The application shell: composes the parts of the service into one
//! router, wraps it in the middleware every request passes (access log,
//! operational metrics, panics caught, security headers, canonical host),
//! and serves it with its own HTTP/1.1 listener ([`server`]).
//!
//! The parts, each its own crate:
//! - `almanac-dav-server`: the calendar server over HTTP (SPEC §2).
//! - `almanac-site`: the web site and accounts (SPEC §3).
//! - `almanac-web-calendar`: the web calendar and share pages (SPEC §4).
//! - `almanac-ops-web`: status site, metrics API, dashboard (SPEC §5-6).
//! - `almanac-service`: what they all share, below them.

pub mod server;

use almanac_service::config::Site;
use almanac_service::public_url::PublicUrl;
use almanac_service::{access_log, ops_metrics, page, session, AppState};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The whole application, with the operational metrics and the access log
/// around it.
pub fn router(state: AppState, log: Option<Arc<access_log::AccessLog>>) -> Router {
    let ops = state.ops.clone();
    let site = state.config.site.clone();
    let app = Router::new()
        .merge(pages(&state))
        .merge(almanac_dav_server::routes())
        .merge(almanac_site::feeds())
        .merge(almanac_ops_web::api())
        .route("/healthz", get(healthz))
        .route("/static/site.css", get(page::stylesheet))
        .route("/static/logo.svg", get(page::logo))
        .route("/static/calendar/{name}", get(almanac_web_calendar::asset))
        .route("/static/zone.js", get(page::zone_script))
        .route("/favicon.ico", get(page::favicon))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            canonical_host,
        ))
        .with_state(state);
    let app = catch_panics(security_headers(app), site).layer(
        axum::middleware::from_fn_with_state(ops, ops_metrics::track),
    );
    match log {
        Some(log) => app.layer(axum::middleware::from_fn_with_state(
            log,
            access_log::record,
        )),
        None => app,
    }
}

/// The pages people read and the forms they send, behind the session layer
/// (DAV, webcal and the APIs authenticate on their own).
fn pages(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(almanac_site::routes())
        .merge(almanac_web_calendar::routes())
        .merge(almanac_ops_web::pages())
        .fallback(page::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
}

/// The status site alone, for its own listener or host name: it stays up
/// when the calendar service is in trouble.
pub fn status_router(state: AppState) -> Router {
    let app = almanac_ops_web::status_pages()
        .route("/", get(|| async { Redirect::to("/status") }))
        .route("/static/site.css", get(page::stylesheet))
        .route("/static/logo.svg", get(page::logo))
        .route("/static/zone.js", get(page::zone_script))
        .route("/favicon.ico", get(page::favicon))
        .fallback(page::not_found)
        .with_state(state);
    security_headers(app)
}

/// `www.` in front of the host name redirects (301) to the bare name, on
/// the scheme of the configured base URL.
async fn canonical_host(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if let Some(bare) = host.strip_prefix("www.") {
        let public = PublicUrl::from_headers(request.headers(), &state.config);
        let scheme = if public.is_https() { "https" } else { "http" };
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let location = format!("{scheme}://{bare}{path}");
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    next.run(request).await
}

/// A handler that fails unexpectedly answers the site's 500 page, and the
/// server goes on.
fn catch_panics(app: Router, site: Site) -> Router {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        move |_panic: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            page::internal_error_page(&site)
        },
    ))
}

/// Headers that keep pages from being framed, sniffed or leaking referrers,
/// and scripts from anywhere but this site.
fn security_headers(app: Router) -> Router {
    use tower_http::set_header::SetResponseHeaderLayer;
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static(name),
            header::HeaderValue::from_static(value),
        )
    };
    app.layer(header(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ))
    .layer(header("x-content-type-options", "nosniff"))
    .layer(header("referrer-policy", "same-origin"))
    .layer(header("x-frame-options", "DENY"))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_failing_handler_gets_the_500_page() {
        let app = Router::new().route("/boom", get(boom));
        let app = catch_panics(app, Site::default());
        let response = app
            .oneshot(
                Request::builder()
                    .uri("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("<h1>Something went wrong</h1>") && page.contains("site.css"));
        assert!(!page.contains("boom"), "no detail of the failure is shown");
    }
}
