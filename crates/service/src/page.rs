//! The site's one look, shared by every part that draws a page: the layout
//! and error pages, short notices, Atom feed helpers, and the static files
//! (stylesheet, logo, favicon) every page links to.

use crate::config::Site;
use crate::session::Viewer;
use crate::state::AppState;
use almanac_store::StoreError;
use askama::Template;
use atom_syndication::{Feed, Link, Person};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: &'a str,
    message: &'a str,
}

/// Renders a template, or a plain 500 if the template itself fails.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.\n",
            )
                .into_response()
        }
    }
}

/// Escapes text for an HTML attribute value.
pub fn escape_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn not_found_page(site: &Site, viewer: &Viewer) -> Response {
    error_page(
        site,
        viewer,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. It may have moved, or the link may be mistyped.",
    )
}

/// An error in the site's look, with its status code.
pub fn error_page(
    site: &Site,
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    render(
        status,
        &ErrorPage {
            site,
            section: "",
            viewer,
            heading,
            message,
        },
    )
}

/// The page for a request that failed inside the server: in the site's look,
/// with no detail of the failure (that goes to the server log).
pub fn internal_error_page(site: &Site) -> Response {
    error_page(
        site,
        &Viewer::default(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete this request. Nothing you did caused it; please try again in a moment. If it keeps happening, the status page may say more.",
    )
}

/// A page that needed the database when it failed: a polite 503 (the
/// database is the usual cause), the detail in the server log.
pub fn store_error_page(site: &Site, viewer: &Viewer, error: &StoreError) -> Response {
    tracing::error!(%error, "a page could not reach the database");
    if error.is_storage_full() {
        return error_page(
            site,
            viewer,
            StatusCode::INSUFFICIENT_STORAGE,
            "We are out of storage space",
            "Nothing was changed: the server has no room to save it right now. Your data is safe; please try again later.",
        );
    }
    let mut response = error_page(
        site,
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        "We cannot reach our database",
        "Your data is safe, but this page cannot be shown right now. Please try again in a few minutes; the status page says when the service is back.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("120"));
    response
}

#[derive(Template)]
#[template(path = "notice.html")]
struct Notice<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: &'a str,
    paragraphs: &'a [&'a str],
    link_href: &'a str,
    link_text: &'a str,
}

/// A short page that tells what happened ("Check your mail"), with an
/// optional button onwards (href, text).
pub fn notice(
    site: &Site,
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Response {
    let (link_href, link_text) = link.unwrap_or_default();
    render(
        status,
        &Notice {
            site,
            section: "",
            viewer,
            heading,
            paragraphs,
            link_href,
            link_text,
        },
    )
}

#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn not_found(State(state): State<AppState>, viewer: Viewer) -> Response {
    not_found_page(&state.config.site, &viewer)
}

#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn stylesheet() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../static/site.css"),
    )
}

#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn favicon(State(state): State<AppState>) -> Response {
    brand_file(
        state.config.site.favicon_file.as_deref(),
        "image/x-icon",
        include_bytes!("../static/favicon.ico"),
    )
}

/// The operator's logo or favicon when configured, else the built-in one.
fn brand_file(
    path: Option<&std::path::Path>,
    content_type: &'static str,
    built_in: &'static [u8],
) -> Response {
    let own = path.and_then(|p| {
        std::fs::read(p)
            .map_err(
                |e| tracing::error!(file = %p.display(), error = %e, "cannot read a branding file"),
            )
            .ok()
    });
    let body = own.map_or(axum::body::Body::from(built_in), axum::body::Body::from);
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn logo(State(state): State<AppState>) -> Response {
    brand_file(
        state.config.site.logo_file.as_deref(),
        "image/svg+xml",
        include_bytes!("../static/logo.svg"),
    )
}

/// `/static/zone.js`: tells the site the browser's time zone.
#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn zone_script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/zone.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub fn atom_response(feed: &Feed) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response()
}

pub fn link(href: &str, rel: &str) -> Link {
    let mut link = Link::default();
    link.set_href(href);
    link.set_rel(rel);
    link
}

pub fn person(name: &str) -> Person {
    let mut person = Person::default();
    person.set_name(name);
    person
}
