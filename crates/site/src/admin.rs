//! Pages for staff (accounts with the admin flag): the user list with its
//! actions, and operations (maintenance mode, incidents on the status
//! site). The support queue's pages are in `support`.

use crate::account::send_link;
use crate::staff::staff;
use almanac_service::access_log::AuthKind;
use almanac_service::config::Site;
use almanac_service::guard::{log_event, redirect, Guard};
use almanac_service::page::{self, render};
use almanac_service::session::Viewer;
use almanac_service::when::window_text;
use almanac_service::AppState;
use almanac_store::{
    Incident, StoreError, TokenPurpose, User, INCIDENT_STATUSES, MAINTENANCE_STATUSES,
};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

pub async fn index() -> Response {
    redirect("/admin/users")
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    tab: &'static str,
    query: &'a str,
    users: Vec<UserRow>,
    limit: i64,
}

struct UserRow {
    name: String,
    email: String,
    since: String,
    state: &'static str,
    is_admin: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Search {
    q: String,
}

const LIST_LIMIT: i64 = 200;

pub async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(search): Query<Search>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, "/admin/users")?;
    let query = search.q.trim();
    let users = state
        .store
        .search_users(query, LIST_LIMIT)
        .await
        .map_err(|e| guard.store_error(&e))?
        .into_iter()
        .map(|u| user_row(u, &viewer))
        .collect();
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            site: &state.config.site,
            section: "admin",
            viewer: &viewer,
            tab: "users",
            query,
            users,
            limit: LIST_LIMIT,
        },
    ))
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    tab: &'static str,
    user: UserRow,
    storage: String,
    calendars: i64,
    sessions: i64,
    last_web: String,
    last_sync: String,
}

/// `/admin/users/{name}`: one account, what it stores and its actions.
pub async fn user_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, &format!("/admin/users/{name}"))?;
    let fail = |e: StoreError| guard.store_error(&e);
    let Some(user) = state.store.user_by_name(&name).await.map_err(fail)? else {
        return Ok(page::not_found_page(&state.config.site, &viewer));
    };
    let stored = state.store.bytes_used(user.id).await.map_err(fail)?;
    let calendars = state.store.count_collections(user.id).await.map_err(fail)?;
    let (sessions, _) = state.store.session_summary(user.id).await.map_err(fail)?;
    let last = state.store.last_sign_ins(user.id).await.map_err(fail)?;
    let when = |at: Option<i64>| at.map_or_else(|| "never".to_owned(), |t| viewer.time_text(t));
    let quota = state.config.limits.quota_bytes;
    Ok(render(
        StatusCode::OK,
        &UserPage {
            site: &state.config.site,
            section: "admin",
            viewer: &viewer,
            tab: "users",
            storage: format!(
                "{} of {} ({}%)",
                size_text(stored),
                size_text(quota),
                stored.saturating_mul(100) / quota.max(1)
            ),
            calendars,
            sessions,
            last_web: when(last.web),
            last_sync: when(last.sync),
            user: user_row(user, &viewer),
        },
    ))
}

/// Bytes as people read them: "512 bytes", "3.4 MB".
fn size_text(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss)] // a figure for people
    let value = bytes as f64;
    match bytes {
        ..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", value / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", value / 1e6),
        _ => format!("{:.1} GB", value / 1e9),
    }
}

fn user_row(u: User, viewer: &Viewer) -> UserRow {
    UserRow {
        state: if u.locked.0 {
            "locked"
        } else if u.verified_at.is_none() {
            "unconfirmed"
        } else {
            "active"
        },
        since: viewer.time_text(u.created_at),
        is_admin: u.is_admin.0,
        name: u.name,
        email: u.email,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserAction {
    csrf: String,
    confirm: String,
}

/// `POST /admin/users/{name}/{lock|unlock|resend|delete}`.
pub async fn user_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<UserAction>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let me = staff(&guard, "/admin/users")?;
    guard.csrf(&form.csrf)?;
    let fail = |e: StoreError| guard.store_error(&e);
    let site = &state.config.site;
    let Some(user) = state.store.user_by_name(&name).await.map_err(fail)? else {
        return Ok(page::not_found_page(site, &viewer));
    };
    let refuse = |message: &str| {
        Ok(page::error_page(
            site,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "That cannot be done",
            message,
        ))
    };
    match action.as_str() {
        "lock" | "unlock" => {
            if user.id == me.id {
                return refuse("You cannot lock your own account.");
            }
            state
                .store
                .set_locked(&name, action == "lock")
                .await
                .map_err(fail)?;
            // A locked account's cached sync credentials stop working now.
            state.auth.forget_account(user.id);
        }
        "resend" => {
            if user.verified_at.is_some() {
                return refuse("This account's address is already confirmed.");
            }
            let email = user.email.clone();
            send_link(
                &state,
                &viewer.base_url,
                &user,
                TokenPurpose::Verify,
                &email,
            )
            .await
            .map_err(fail)?;
        }
        "delete" => {
            if user.id == me.id {
                return refuse("Delete your own account from your account page.");
            }
            if form.confirm.trim() != name {
                return refuse("Type the user name exactly to confirm the deletion.");
            }
            state.store.delete_user(&name).await.map_err(fail)?;
            state.auth.forget_account(user.id);
            tracing::info!(user = %name, by = %me.name, "account deleted by staff");
        }
        _ => return Ok(page::not_found_page(site, &viewer)),
    }
    Ok(log_event(
        redirect("/admin/users"),
        &me.name,
        AuthKind::Session,
        None,
    ))
}

#[derive(Template)]
#[template(path = "admin/operations.html")]
struct OperationsPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    tab: &'static str,
    /// (message, until) while maintenance mode is on.
    maintenance: Option<(String, String)>,
    /// Calendar apps must sign in with app passwords.
    app_passwords_only: bool,
    incidents: Vec<IncidentRow>,
}

struct IncidentRow {
    incident: Incident,
    /// "since …", "from …" or "… to …".
    window: String,
    statuses: &'static [&'static str],
    open: bool,
}

pub async fn operations(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, "/admin/operations")?;
    let fail = |e: StoreError| guard.store_error(&e);
    let maintenance = state.store.maintenance().await.map_err(fail)?.map(|m| {
        (
            m.message,
            m.until.map(|t| viewer.time_text(t)).unwrap_or_default(),
        )
    });
    let incidents = state
        .store
        .incidents(50)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|incident| IncidentRow {
            window: window_text(incident.starts_at, incident.ends_at, viewer.zone()),
            statuses: if incident.kind == "maintenance" {
                MAINTENANCE_STATUSES
            } else {
                INCIDENT_STATUSES
            },
            open: !matches!(incident.status.as_str(), "resolved" | "completed"),
            incident,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &OperationsPage {
            site: &state.config.site,
            section: "admin",
            viewer: &viewer,
            tab: "operations",
            maintenance,
            app_passwords_only: state.store.app_passwords_required().await.map_err(fail)?,
            incidents,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppPasswordsForm {
    csrf: String,
    /// "require" or "allow"
    action: String,
}

/// Whether calendar apps may still sign in with account passwords.
pub async fn set_app_passwords(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AppPasswordsForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let me = staff(&guard, "/admin/operations")?;
    guard.csrf(&form.csrf)?;
    let required = match form.action.as_str() {
        "require" => true,
        "allow" => false,
        _ => {
            return Ok(bad_input(
                &state,
                &viewer,
                "Choose whether app passwords are required.",
            ))
        }
    };
    state
        .store
        .set_app_passwords_required(required)
        .await
        .map_err(|e| guard.store_error(&e))?;
    state.auth.reread_app_passwords_only();
    tracing::warn!(by = %me.name, required, "app passwords for calendar apps");
    Ok(redirect("/admin/operations"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MaintenanceForm {
    csrf: String,
    action: String,
    message: String,
    /// `YYYY-MM-DDTHH:MM` in UTC (a datetime-local field), optional.
    until: String,
}

pub async fn set_maintenance(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<MaintenanceForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let me = staff(&guard, "/admin/operations")?;
    guard.csrf(&form.csrf)?;
    let fail = |e: StoreError| guard.store_error(&e);
    if !matches!(form.action.as_str(), "on" | "off") {
        return Ok(bad_input(
            &state,
            &viewer,
            "Switch maintenance mode on or off.",
        ));
    }
    if form.action == "on" {
        // Typed in the staff member's own zone, as incidents are.
        let until = match form.until.trim() {
            "" => None,
            text => match local_field(text, viewer.zone()) {
                Some(t) => Some(t),
                None => {
                    return Ok(bad_input(
                        &state,
                        &viewer,
                        "The end time must be a date and time, like 2026-12-01 06:00.",
                    ))
                }
            },
        };
        let message = form.message.trim();
        if message.chars().count() > 500 {
            return Ok(bad_input(
                &state,
                &viewer,
                "The message may have at most 500 characters.",
            ));
        }
        state
            .store
            .set_maintenance(Some((message, until)))
            .await
            .map_err(fail)?;
        tracing::warn!(by = %me.name, "maintenance mode switched on from the admin page");
    } else {
        state.store.set_maintenance(None).await.map_err(fail)?;
        tracing::warn!(by = %me.name, "maintenance mode switched off from the admin page");
    }
    Ok(redirect("/admin/operations"))
}

fn bad_input(state: &AppState, viewer: &Viewer, message: &str) -> Response {
    page::error_page(
        &state.config.site,
        viewer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Please check the form",
        message,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IncidentForm {
    csrf: String,
    kind: String,
    title: String,
    status: String,
    message: String,
    /// `YYYY-MM-DDTHH:MM` in the staff member's zone (a datetime-local
    /// field); empty: now.
    starts: String,
    /// The same; empty: open-ended.
    ends: String,
}

/// A datetime-local field's value, read in `zone`.
fn local_field(text: &str, zone: chrono_tz::Tz) -> Option<i64> {
    use chrono::TimeZone;
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M").ok()?;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp())
}

pub async fn open_incident(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<IncidentForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, "/admin/operations")?;
    guard.csrf(&form.csrf)?;
    let (kind, statuses) = if form.kind == "maintenance" {
        ("maintenance", MAINTENANCE_STATUSES)
    } else {
        ("incident", INCIDENT_STATUSES)
    };
    let status = if form.status.is_empty() {
        statuses[0]
    } else {
        form.status.as_str()
    };
    let (title, message) = (form.title.trim(), form.message.trim());
    if !statuses.contains(&status) {
        return Ok(bad_input(
            &state,
            &viewer,
            &format!("The status of {kind} is one of: {}.", statuses.join(", ")),
        ));
    }
    if title.is_empty()
        || title.chars().count() > 200
        || message.is_empty()
        || message.chars().count() > 5000
    {
        return Ok(bad_input(
            &state,
            &viewer,
            "Give a title (at most 200 characters) and a first update (at most 5,000).",
        ));
    }
    let starts = match form.starts.trim() {
        "" => Some(chrono::Utc::now().timestamp()),
        text => local_field(text, viewer.zone()),
    };
    let ends = match form.ends.trim() {
        "" => Some(None),
        text => local_field(text, viewer.zone()).map(Some),
    };
    let (Some(starts), Some(ends)) = (starts, ends) else {
        return Ok(bad_input(
            &state,
            &viewer,
            "Give the start and end as a date and time, or leave them empty.",
        ));
    };
    if ends.is_some_and(|end| end <= starts) {
        return Ok(bad_input(
            &state,
            &viewer,
            "The end must come after the start.",
        ));
    }
    state
        .store
        .open_incident(kind, title, status, message, (starts, ends))
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(redirect("/admin/operations"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IncidentUpdateForm {
    csrf: String,
    status: String,
    message: String,
}

pub async fn update_incident(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<IncidentUpdateForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, "/admin/operations")?;
    guard.csrf(&form.csrf)?;
    let fail = |e: StoreError| guard.store_error(&e);
    let incidents = state.store.incidents(1000).await.map_err(fail)?;
    let Some(incident) = incidents.iter().find(|i| i.id == id) else {
        return Ok(page::not_found_page(&state.config.site, &viewer));
    };
    let statuses = if incident.kind == "maintenance" {
        MAINTENANCE_STATUSES
    } else {
        INCIDENT_STATUSES
    };
    let message = form.message.trim();
    if !statuses.contains(&form.status.as_str())
        || message.is_empty()
        || message.chars().count() > 5000
    {
        return Ok(bad_input(
            &state,
            &viewer,
            &format!(
                "Pick a status ({}) and write an update of at most 5,000 characters.",
                statuses.join(", ")
            ),
        ));
    }
    state
        .store
        .update_incident(id, &form.status, message)
        .await
        .map_err(fail)?;
    Ok(redirect("/admin/operations"))
}
