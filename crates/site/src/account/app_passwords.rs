//! App passwords on the account page: make one per device (shown once),
//! see when each was made and last used, revoke it.

use almanac_service::auth::app_password;
use almanac_service::guard::{redirect, Guard};
use almanac_service::session::{self, Viewer};
use almanac_service::AppState;
use almanac_store::AppPassword;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

/// Carries a new app password from its form to the page that shows it
/// once (the form redirects, so a reload makes no second one).
const NEW_COOKIE: &str = "almanac_new_app_password";

/// One row of the account page's list.
pub struct Row {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub last_used: String,
}

/// The account's app passwords as the page lists them, and the one just
/// made (id, password) if the cookie names one of them.
pub fn rows(
    viewer: &Viewer,
    stored: Vec<AppPassword>,
    headers: &HeaderMap,
) -> (Vec<Row>, Option<String>) {
    let fresh = session::cookie(headers, NEW_COOKIE).and_then(|value| {
        let (id, secret) = value.split_once('.')?;
        let id: i64 = id.parse().ok()?;
        stored.iter().any(|p| p.id == id).then(|| secret.to_owned())
    });
    let rows = stored
        .into_iter()
        .map(|p| Row {
            id: p.id,
            label: p.label,
            created: viewer.time_text(p.created_at),
            last_used: p
                .last_used_at
                .map_or_else(|| "not yet".to_owned(), |t| viewer.time_text(t)),
        })
        .collect();
    (rows, fresh)
}

/// The cookie that shows a new password once, or (`value` empty) clears it.
pub fn new_cookie(viewer: &Viewer, value: &str, max_age: i64) -> HeaderValue {
    session::scoped_cookie(viewer, (NEW_COOKIE, value), "/account", max_age, "Strict")
}

pub fn has_new_cookie(headers: &HeaderMap) -> bool {
    session::cookie(headers, NEW_COOKIE).is_some()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewForm {
    csrf: String,
    label: String,
}

/// `POST /account/app-passwords`: makes one, back to the account page.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    guard.change(&form.csrf).await?;
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Ok(redirect("/account?done=app-password-label#app-passwords"));
    }
    let secret = app_password::generate();
    let digest = app_password::digest(&app_password::normalized(&secret).unwrap_or_default());
    let made = state
        .store
        .create_app_password(user.id, label, &digest)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let Some(id) = made else {
        return Ok(redirect("/account?done=app-password-limit#app-passwords"));
    };
    tracing::info!(user = %user.name, "app password made");
    let mut response = redirect("/account#app-passwords");
    response.headers_mut().append(
        header::SET_COOKIE,
        new_cookie(&viewer, &format!("{id}.{secret}"), 120),
    );
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
}

/// `POST /account/app-passwords/{id}/revoke`: the app using it is out at once.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account")?;
    guard.change(&form.csrf).await?;
    let gone = state
        .store
        .delete_app_password(user.id, id)
        .await
        .map_err(|e| guard.store_error(&e))?;
    if gone {
        tracing::info!(user = %user.name, "app password revoked");
    }
    Ok(redirect("/account?done=app-password-revoked#app-passwords"))
}
