//! The web site (SPEC §3): the home page, announcements and their feed,
//! the content pages (About, Help, FAQ, clients), accounts (sign-up,
//! log-in, reset, the account page), the Contact form and support queue,
//! and the staff pages.
//!
//! Layers, bottom up:
//! - `announcements`: the blog's Markdown posts.
//! - `staff`: who may open the staff pages.
//! - `account`: sign-up, log-in, reset and the account page.
//! - `pages`: home, blog, content pages, feed, robots and sitemap.
//! - `support`: the Contact form and the staff's support queue.
//! - `admin`: the staff's user list and operations pages.

// Page handlers return finished error pages as the `Err` of a `Result`, so
// `?` can stop a form at its first failed check.
#![allow(clippy::result_large_err)]

mod account;
mod admin;
mod announcements;
mod pages;
mod staff;
mod support;

use almanac_service::session::Viewer;
use almanac_service::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::Router;

/// The pages people read and the forms they send; they need the session
/// layer around them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", any(root))
        .route("/blog", get(pages::blog))
        .route("/blog/{slug}", get(pages::blog_post))
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
        .route("/account/app-passwords", post(account::create_app_password))
        .route(
            "/account/app-passwords/{id}/revoke",
            post(account::revoke_app_password),
        )
        .route("/account/export.zip", get(account::export))
        .route(
            "/account/reminders",
            get(account::reminders_page).post(account::save_reminders),
        )
        .route(
            "/contact",
            get(support::contact_form).post(support::contact),
        )
        .route("/admin", get(admin::index))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{name}", get(admin::user_page))
        .route("/admin/users/{name}/{action}", post(admin::user_action))
        .route("/admin/support", get(support::queue))
        .route("/admin/support/{id}", get(support::request))
        .route("/admin/support/{id}/reply", post(support::reply))
        .route("/admin/support/{id}/status", post(support::set_status))
        .route("/admin/operations", get(admin::operations))
        .route("/admin/maintenance", post(admin::set_maintenance))
        .route("/admin/app-passwords", post(admin::set_app_passwords))
        .route("/admin/incidents", post(admin::open_incident))
        .route("/admin/incidents/{id}", post(admin::update_incident))
        .route("/{page}", get(pages::content_page))
        .route("/clients/{client}", get(pages::client_page))
}

/// What crawlers and feed readers fetch: no session needed.
pub fn feeds() -> Router<AppState> {
    Router::new()
        .route("/blog/feed.atom", get(pages::blog_feed))
        .route("/robots.txt", get(pages::robots))
        .route("/sitemap.xml", get(pages::sitemap))
}

/// DAV clients given only the server's address start at `/`: send them on
/// to the DAV root, as `/.well-known/caldav` does.
async fn root(State(state): State<AppState>, viewer: Viewer, request: Request) -> Response {
    match request.method().as_str() {
        "GET" | "HEAD" => pages::home(&state, &viewer),
        _ => Redirect::permanent(almanac_dav::paths::ROOT).into_response(),
    }
}
