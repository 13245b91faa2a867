//! The account page: password, address, deleting the account, and
//! downloading all of its data.

use super::rules::{check_email, check_password, send_link};
use almanac_service::access_log::AuthKind;
use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::session::{self, Viewer};
use almanac_service::AppState;
use almanac_store::{StoreError, TokenPurpose, User};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::io::Write;

#[derive(Template)]
#[template(path = "account/settings.html")]
struct SettingsPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    notice: &'a str,
    email: &'a str,
    /// The new-address form as it was sent, when it comes back.
    new_email: &'a str,
    since: String,
    caldav: String,
    /// (name, number of events and tasks)
    calendars: Vec<(String, i64)>,
    app_passwords: Vec<super::app_passwords::Row>,
    /// An app password just made, shown this once.
    new_app_password: Option<String>,
    /// Staff require app passwords for calendar apps.
    app_passwords_only: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Done {
    done: String,
}

pub async fn account_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let notice = match done.done.as_str() {
        "password" => "Your password is changed. Give the new one to your calendar apps too (those with app passwords go on working).",
        "email" => "We sent a link to your new address: the change takes effect once you open it.",
        "app-password-revoked" => "The app password is revoked: the app that used it is signed out.",
        "app-password-label" => "Give the app password a name of at most 100 characters, such as the device it is for.",
        "app-password-limit" => "You have as many app passwords as an account can hold: revoke one you no longer use first.",
        _ => "",
    };
    let mut page = show(
        &state,
        &viewer,
        StatusCode::OK,
        Vec::new(),
        notice,
        "",
        &headers,
    )
    .await?;
    if super::app_passwords::has_new_cookie(&headers) {
        // Shown once: a reload shows it no more.
        page.headers_mut().append(
            header::SET_COOKIE,
            super::app_passwords::new_cookie(&viewer, "", 0),
        );
        page.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(page)
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<&'static str>,
    notice: &str,
    new_email: &str,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    let guard = Guard::new(state, viewer);
    let user = guard.user("/account")?;
    let fail = |e: StoreError| guard.store_error(&e);
    let mut calendars = Vec::new();
    for collection in state
        .store
        .child_collections(user.id, "")
        .await
        .map_err(fail)?
        .into_iter()
        .filter(almanac_store::Collection::is_calendar)
    {
        let count = state.store.count_items(collection.id).await.map_err(fail)?;
        calendars.push((collection.displayname.unwrap_or(collection.path), count));
    }
    let stored = state.store.app_passwords(user.id).await.map_err(fail)?;
    let (app_passwords, new_app_password) = super::app_passwords::rows(viewer, stored, headers);
    let app_passwords_only = state.store.app_passwords_required().await.map_err(fail)?;
    let since = chrono::DateTime::from_timestamp(user.created_at, 0)
        .map(|t| t.format("%-d %B %Y").to_string())
        .unwrap_or_default();
    Ok(render(
        status,
        &SettingsPage {
            site: &state.config.site,
            section: "account",
            viewer,
            errors,
            notice,
            email: &user.email,
            new_email,
            since,
            caldav: format!("{}/dav/", viewer.base_url),
            calendars,
            app_passwords,
            new_app_password,
            app_passwords_only,
        },
    ))
}

/// The account page again during maintenance: nothing was changed, and
/// what was typed (never a password) is kept.
async fn keep(
    state: &AppState,
    viewer: &Viewer,
    maintenance: &almanac_store::Maintenance,
    new_email: &str,
) -> Result<Response, Response> {
    let errors = vec![maintenance::KEPT_BUT_PASSWORDS];
    let page = show(
        state,
        viewer,
        StatusCode::OK,
        errors,
        "",
        new_email,
        &HeaderMap::new(),
    )
    .await?;
    Ok(maintenance::kept(page, maintenance))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    if let Some(maintenance) = guard.change_or_keep(&form.csrf).await? {
        return keep(&state, &viewer, &maintenance, "").await;
    }
    let mut errors = Vec::new();
    if !guard
        .password_matches(user.password_hash.clone(), form.current)
        .await?
    {
        errors.push("Your current password is not right.");
    }
    errors.extend(check_password(&form.password, &user.name));
    if !errors.is_empty() {
        return show(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            "",
            "",
            &HeaderMap::new(),
        )
        .await;
    }
    state.auth.trust(&user.name, &form.password);
    let hash = guard.hash_password(form.password).await?;
    let fail = |e: StoreError| guard.store_error(&e);
    state
        .store
        .set_password(&user.name, &hash)
        .await
        .map_err(fail)?;
    // Other browsers logged in with the old password are logged out.
    state
        .store
        .delete_sessions_of(user.id, viewer.session_hash.as_deref())
        .await
        .map_err(fail)?;
    state.auth.forget_account(user.id);
    Ok(redirect("/account?done=password"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    csrf: String,
    email: String,
    password: String,
}

/// A new address takes effect once the link mailed to it is opened.
pub async fn change_email(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<EmailForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    let paused = guard.change_or_keep(&form.csrf).await?;
    let email = form.email.trim();
    if let Some(maintenance) = paused {
        return keep(&state, &viewer, &maintenance, email).await;
    }
    let mut errors = Vec::new();
    if !guard
        .password_matches(user.password_hash.clone(), form.password)
        .await?
    {
        errors.push("Your password is not right.");
    }
    errors.extend(check_email(email));
    if errors.is_empty() && email.eq_ignore_ascii_case(&user.email) {
        errors.push("That is already your address.");
    }
    if !errors.is_empty() {
        return show(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            "",
            email,
            &HeaderMap::new(),
        )
        .await;
    }
    send_link(&state, &viewer.base_url, user, TokenPurpose::Email, email)
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(redirect("/account?done=email"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    csrf: String,
    confirm: String,
    password: String,
}

/// Deletes the account with every calendar, event and task in it.
pub async fn delete_account(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<DeleteForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    if let Some(maintenance) = guard.change_or_keep(&form.csrf).await? {
        return keep(&state, &viewer, &maintenance, "").await;
    }
    let mut errors = Vec::new();
    if form.confirm.trim() != user.name {
        errors.push("Type your user name exactly to confirm.");
    }
    if !guard
        .password_matches(user.password_hash.clone(), form.password)
        .await?
    {
        errors.push("Your password is not right.");
    }
    if !errors.is_empty() {
        return show(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            "",
            "",
            &HeaderMap::new(),
        )
        .await;
    }
    state
        .store
        .delete_user(&user.name)
        .await
        .map_err(|e| guard.store_error(&e))?;
    state.auth.forget_account(user.id);
    tracing::info!(user = %user.name, "account deleted by its owner");
    let anonymous = Viewer::default();
    let mut page = page::notice(
        &state.config.site,
        &anonymous,
        StatusCode::OK,
        "Your account is deleted",
        &[
            "Your account and all its calendars, events and tasks are gone from our service.",
            "Copies in our backups expire within 30 days. Thank you for having used the service.",
        ],
        Some(("/", "Home page")),
    );
    page.headers_mut()
        .append(header::SET_COOKIE, session::clear(&viewer));
    Ok(almanac_service::guard::log_event(
        page,
        &user.name,
        AuthKind::Session,
        None,
    ))
}

/// `/account/export.zip`: one .ics file per calendar.
pub async fn export(State(state): State<AppState>, viewer: Viewer) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    let archive = zip_calendars(&state, user)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let file = format!(
        "{}-calendars-{}.zip",
        user.name,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let response = (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        archive,
    )
        .into_response();
    Ok(almanac_service::guard::log_event(
        response,
        &user.name,
        AuthKind::Session,
        None,
    ))
}

async fn zip_calendars(state: &AppState, user: &User) -> Result<Vec<u8>, StoreError> {
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut file_names = std::collections::HashSet::new();
    for collection in state
        .store
        .child_collections(user.id, "")
        .await?
        .into_iter()
        .filter(almanac_store::Collection::is_calendar)
    {
        let (name, body) =
            almanac_service::objects::calendar_file(&state.store, &collection).await?;
        // Two calendars may share a display name; file names must differ.
        let base = almanac_service::objects::sanitize_file_name(&name);
        let mut file = format!("{base}.ics");
        let mut n = 2;
        while !file_names.insert(file.clone()) {
            file = format!("{base}-{n}.ics");
            n += 1;
        }
        archive
            .start_file(file, options)
            .and_then(|()| archive.write_all(body.as_bytes()).map_err(Into::into))
            .map_err(|e| StoreError::Config(format!("building the zip failed: {e}")))?;
    }
    let cursor = archive
        .finish()
        .map_err(|e| StoreError::Config(format!("building the zip failed: {e}")))?;
    Ok(cursor.into_inner())
}
