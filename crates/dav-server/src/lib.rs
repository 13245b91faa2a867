//! The calendar server over HTTP (SPEC §2): WebDAV and CalDAV methods on
//! the store, webcal files, and a share link's calendar over CalDAV. The
//! protocol itself (XML, properties, reports) is `almanac-dav`; this crate
//! resolves URLs against the store and writes through
//! `almanac_service::objects`.
//!
//! Layers, bottom up:
//! - `request`: one request as the handlers see it, and answer shapes.
//! - `listing_cache`: rendered Depth 1 listings while nothing changed.
//! - `properties` (PROPFIND, PROPPATCH), `content` (GET, PUT, POST,
//!   DELETE), `collections` (MKCOL, MKCALENDAR, COPY, MOVE), `report`
//!   (REPORT), `webcal` (whole-calendar .ics export and import).
//! - `mailboxes`: the schedule inbox and outbox (RFC 6638).
//! - `dispatch`: authentication and the method table.
//! - `share`: share links over CalDAV, through `dispatch`.

mod collections;
mod content;
mod dispatch;
mod listing_cache;
mod mailboxes;
mod properties;
mod report;
mod request;
mod share;
mod webcal;

use almanac_service::AppState;
use axum::response::Redirect;
use axum::routing::any;
use axum::Router;

/// The DAV tree, share links over CalDAV, and webcal file addresses.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/caldav", any(well_known))
        .route("/.well-known/caldav/", any(well_known))
        .route("/dav", any(dispatch::handle))
        .route("/dav/", any(dispatch::handle))
        .route("/dav/s/{token}", any(share::handle))
        .route("/dav/s/{token}/", any(share::handle))
        .route("/dav/s/{token}/{*rest}", any(share::handle))
        .route("/dav/{*path}", any(dispatch::handle))
        .route("/ics/{user}/{file}", any(webcal::alias))
}

/// RFC 6764: a client given only the host name finds the DAV root here.
async fn well_known() -> Redirect {
    Redirect::permanent(almanac_dav::paths::ROOT)
}
