//! The Almanac HTTP application: the axum router and its glue.
//!
//! - [`config`]: settings and limits the binary fills in.
//! - [`auth`]: HTTP Basic over argon2 hashes, with a short-lived cache.
//! - [`access_log`]: one Apache-combined line per request, plus the fields
//!   the metrics need.
//! - `dav`: the WebDAV/CalDAV handler, resolving URLs against the store and
//!   answering through `almanac_dav`.
//! - `webcal`: whole-calendar export and import of .ics files.

// Page handlers return finished error pages as the `Err` of a `Result`, so
// `?` can stop a form at its first failed check; they are built once per
// request.
#![allow(clippy::result_large_err)]

pub mod access_log;
mod account;
mod admin;
pub mod announcements;
pub mod auth;
mod calendar;
mod charts;
pub mod config;
mod dashboard;
pub(crate) mod dav;
mod mail;
mod maintenance;
pub mod metrics_api;
pub mod ops_metrics;
mod pages;
mod rate_limit;
pub mod server;
pub mod session;
pub mod status;
mod support;
mod webcal;

pub use config::{Config, Limits};

use almanac_store::Store;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use axum::Router;
use std::sync::Arc;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub auth: Arc<auth::Authenticator>,
    pub status: Arc<status::StatusCache>,
    listings: Arc<dav::listing_cache::ListingCache>,
    reports: Arc<metrics_api::ReportCache>,
    pub ops: Arc<ops_metrics::OpsMetrics>,
    mailer: Arc<mail::Mailer>,
    rate_limiter: Arc<rate_limit::RateLimiter>,
}

impl AppState {
    /// Fails when the mail settings are unusable.
    pub fn new(store: Store, config: Config) -> Result<Self, String> {
        let store = store.keeping_tombstones(config.limits.tombstones_per_collection);
        for file in [&config.site.logo_file, &config.site.favicon_file]
            .into_iter()
            .flatten()
        {
            std::fs::metadata(file)
                .map_err(|e| format!("the branding file {} cannot be read: {e}", file.display()))?;
        }
        Ok(Self {
            mailer: Arc::new(mail::Mailer::new(&config.mail, &config.data_dir)?),
            rate_limiter: Arc::default(),
            auth: Arc::new(auth::Authenticator::new(
                store.clone(),
                &config.auth,
                &config.rate_limits,
            )),
            status: Arc::new(status::StatusCache::default()),
            listings: Arc::default(),
            reports: Arc::default(),
            ops: Arc::default(),
            store,
            config: Arc::new(config),
        })
    }
}

/// The whole application, with the operational metrics and the access log
/// around it.
pub fn router(state: AppState, log: Option<Arc<access_log::AccessLog>>) -> Router {
    let ops = state.ops.clone();
    let site = state.config.site.clone();
    let app = Router::new()
        .merge(site_routes(&state))
        .route("/healthz", get(healthz))
        .route("/.well-known/caldav", any(well_known))
        .route("/.well-known/caldav/", any(well_known))
        .route("/dav", any(dav::handle))
        .route("/dav/", any(dav::handle))
        .route("/dav/s/{token}", any(calendar::share::dav))
        .route("/dav/s/{token}/", any(calendar::share::dav))
        .route("/dav/s/{token}/{*rest}", any(calendar::share::dav))
        .route("/dav/{*path}", any(dav::handle))
        .route("/ics/{user}/{file}", any(webcal::alias))
        .route("/blog/feed.atom", get(pages::blog_feed))
        .route("/metrics", get(ops_metrics::scrape))
        .route("/api/v1/metrics", get(metrics_api::list))
        .route("/api/v1/metrics.csv", get(metrics_api::table))
        .route(
            "/api/v1/metrics/{name}",
            get(metrics_api::one).post(metrics_api::submit),
        )
        .route("/static/site.css", get(pages::stylesheet))
        .route("/static/logo.svg", get(pages::logo))
        .route("/static/calendar.js", get(pages::calendar_script))
        .route("/favicon.ico", get(pages::favicon))
        .route("/robots.txt", get(pages::robots))
        .route("/sitemap.xml", get(pages::sitemap))
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
fn site_routes(state: &AppState) -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/", any(root))
        .route("/blog", get(pages::blog))
        .route("/blog/{slug}", get(pages::blog_post))
        .merge(status_routes())
        .route("/dashboard", get(dashboard::page))
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/verify/resend", post(account::resend))
        .route("/verify/{token}", get(account::verify))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route(
            "/reset",
            get(account::reset_request_form).post(account::reset_request),
        )
        .route(
            "/reset/{token}",
            get(account::reset_form).post(account::reset_submit),
        )
        .route("/account", get(account::account_page))
        .route("/account/password", post(account::change_password))
        .route("/account/email", post(account::change_email))
        .route("/account/delete", post(account::delete_account))
        .route("/account/export.zip", get(account::export))
        .route(
            "/contact",
            get(support::contact_form).post(support::contact),
        )
        .merge(calendar_routes())
        .route("/admin", get(admin::index))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{name}/{action}", post(admin::user_action))
        .route("/admin/support", get(support::queue))
        .route("/admin/support/{id}", get(support::request))
        .route("/admin/support/{id}/reply", post(support::reply))
        .route("/admin/support/{id}/status", post(support::set_status))
        .route("/admin/operations", get(admin::operations))
        .route("/admin/maintenance", post(admin::set_maintenance))
        .route("/admin/incidents", post(admin::open_incident))
        .route("/admin/incidents/{id}", post(admin::update_incident))
        .route("/{page}", get(pages::content_page))
        .route("/clients/{client}", get(pages::client_page))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
}

/// The web calendar and what a share link's visitor sees.
fn calendar_routes() -> Router<AppState> {
    use axum::routing::post;
    use calendar::share;
    Router::new()
        .route("/calendar", get(calendar::view))
        .route("/calendar/new", get(calendar::new_event_form))
        .route("/calendar/events", post(calendar::create_event))
        .route(
            "/calendar/events/{calendar}/{item}",
            get(calendar::edit_event_form).post(calendar::update_event),
        )
        .route(
            "/calendar/tasks",
            get(calendar::tasks_page).post(calendar::create_task),
        )
        .route(
            "/calendar/tasks/{calendar}/{item}",
            post(calendar::task_action),
        )
        .route(
            "/calendar/calendars",
            get(calendar::calendars_page).post(calendar::create_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}",
            post(calendar::update_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/import",
            post(calendar::import_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/export.ics",
            get(calendar::export_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/share",
            get(share::links_page).post(share::create_link),
        )
        .route(
            "/calendar/calendars/{calendar}/share/{id}/{action}",
            post(share::link_action),
        )
        .route("/s/{token}", get(share::visitor_view))
        .route("/s/{token}/calendar.ics", get(share::visitor_ics))
        .route("/s/{token}/new", get(share::visitor_new))
        .route("/s/{token}/events", post(share::visitor_create))
        .route(
            "/s/{token}/events/{calendar}/{item}",
            get(share::visitor_edit_form).post(share::visitor_update),
        )
}

fn status_routes() -> Router<AppState> {
    Router::new()
        .route("/status", get(status::page))
        .route("/status.json", get(status::json))
        .route("/status/feed.atom", get(status::feed))
}

/// The status site alone, for its own listener or host name: it stays up
/// when the calendar service is in trouble.
pub fn status_router(state: AppState) -> Router {
    let app = status_routes()
        .route("/", get(|| async { Redirect::to("/status") }))
        .route("/static/site.css", get(pages::stylesheet))
        .route("/static/logo.svg", get(pages::logo))
        .route("/favicon.ico", get(pages::favicon))
        .fallback(pages::not_found)
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
        let scheme = state
            .config
            .site
            .base_url
            .split("://")
            .next()
            .unwrap_or("https");
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
fn catch_panics(app: Router, site: config::Site) -> Router {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        move |_panic: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            pages::internal_error_page(&site)
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

/// DAV clients given only the server's address start at `/`: send them on
/// to the DAV root, as `/.well-known/caldav` does.
async fn root(
    State(state): State<AppState>,
    viewer: session::Viewer,
    request: Request,
) -> Response {
    match request.method().as_str() {
        "GET" | "HEAD" => pages::home(&state, &viewer),
        _ => Redirect::permanent(almanac_dav::paths::ROOT).into_response(),
    }
}

/// RFC 6764: a client given only the host name finds the DAV root here.
async fn well_known() -> Redirect {
    Redirect::permanent(almanac_dav::paths::ROOT)
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
        let app = catch_panics(app, config::Site::default());
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
