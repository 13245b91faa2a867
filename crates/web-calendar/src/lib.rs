//! The web calendar and share pages (SPEC §4): month, week and agenda
//! views, the event and task forms, calendar management with import and
//! export, share links, and the same pages for a link's visitor. Everything
//! is read from and written to the same calendar objects the sync clients
//! use, through `almanac_service::objects`.
//!
//! Layers, bottom up:
//! - `occurrences`: what a range of days holds, in the reader's zone.
//! - `editor`: forms to iCalendar (series, one occurrence, tasks).
//! - `scope`: whose calendars a page shows, and the write path.
//! - `view` (the views), `events` (the event form), `tasks`, `manage`
//!   (calendars, import, export).
//! - `share`: share links, and what a link gives its visitor.

// Page handlers return finished error pages as the `Err` of a `Result`, so
// `?` can stop a form at its first failed check.
#![allow(clippy::result_large_err)]

mod details;
mod editor;
mod events;
mod following;
mod grid;
mod guests;
mod invites;
mod manage;
mod occurrences;
mod quick;
mod reschedule;
mod scope;
mod search;
mod share;
mod tasks;
mod view;

use almanac_service::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The web calendar and what a share link's visitor sees.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(view::view))
        .route("/calendar/feed", get(grid::feed))
        .route("/calendar/search", get(search::search))
        .route("/calendar/quick", post(search::quick_add))
        .route("/calendar/api/reschedule", post(grid::reschedule_event))
        .route("/calendar/api/delete", post(grid::delete_event))
        .route("/calendar/api/restore", post(grid::restore_event))
        .route("/calendar/new", get(events::new_event_form))
        .route("/calendar/events", post(events::create_event))
        .route(
            "/calendar/events/{calendar}/{item}",
            get(events::edit_event_form).post(events::update_event),
        )
        .route(
            "/calendar/events/{calendar}/{item}/answer",
            post(events::answer_event),
        )
        .route(
            "/calendar/events/{calendar}/{item}/duplicate",
            post(events::duplicate_event),
        )
        .route(
            "/calendar/tasks",
            get(tasks::tasks_page).post(tasks::create_task),
        )
        .route(
            "/calendar/tasks/{calendar}/{item}",
            post(tasks::task_action),
        )
        .route(
            "/calendar/tasks/{calendar}/{item}/edit",
            post(tasks::edit_task),
        )
        .route(
            "/calendar/calendars",
            get(manage::calendars_page).post(manage::create_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}",
            post(manage::update_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/import",
            post(manage::import_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/export.ics",
            get(manage::export_calendar),
        )
        .route(
            "/calendar/calendars/{calendar}/share",
            get(share::links_page).post(share::create_link),
        )
        .route(
            "/calendar/calendars/{calendar}/share/{id}/{action}",
            post(share::link_action),
        )
        .route(
            "/invitations/{token}",
            get(invites::invitation_page).post(invites::answer),
        )
        .route("/s/{token}", get(share::visitor_view))
        .route("/s/{token}/", get(share::without_trailing_slash))
        .route("/s/{token}/calendar.ics", get(share::visitor_ics))
        .route("/s/{token}/new", get(share::visitor_new))
        .route("/s/{token}/events", post(share::visitor_create))
        .route(
            "/s/{token}/events/{calendar}/{item}",
            get(share::visitor_edit_form).post(share::visitor_update),
        )
}

/// The calendar pages' scripts and the vendored calendar component
/// (EventCalendar, MIT, in `static/vendor/`): served from the binary, no
/// CDN. They need no session.
#[allow(clippy::unused_async)] // an axum handler, routed by the shell
pub async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (kind, body) = match name.as_str() {
        "calendar.js" => ("text/javascript", include_str!("../static/calendar.js")),
        "grid.js" => ("text/javascript", include_str!("../static/grid.js")),
        "event-calendar.js" => (
            "text/javascript",
            include_str!("../static/vendor/event-calendar.min.js"),
        ),
        "event-calendar.css" => (
            "text/css",
            include_str!("../static/vendor/event-calendar.min.css"),
        ),
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, format!("{kind}; charset=utf-8")),
            (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
        ],
        body,
    )
        .into_response()
}
