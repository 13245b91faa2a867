//! Forgotten passwords: a link by mail, then a form for the new password.

use super::rules::{check_email, check_password, send_link};
use almanac_service::config::Site;
use almanac_service::guard::Guard;
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::rate_limit::{ClientAddress, Form as Limited};
use almanac_service::session::Viewer;
use almanac_service::token::token_hash;
use almanac_service::AppState;
use almanac_store::{MailToken, StoreError, TokenPurpose};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/reset_request.html")]
struct RequestPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    email: &'a str,
}

#[derive(Template)]
#[template(path = "account/reset_form.html")]
struct NewPasswordPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    name: &'a str,
    token: &'a str,
}

pub async fn reset_request_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    render(
        StatusCode::OK,
        &RequestPage {
            site: &state.config.site,
            section: "login",
            viewer: &viewer,
            errors: Vec::new(),
            email: "",
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RequestForm {
    csrf: String,
    email: String,
}

/// Mails a link to every usable account with the address; answers the same
/// whether there is one or not, so the form tells no one who has an account.
pub async fn reset_request(
    State(state): State<AppState>,
    viewer: Viewer,
    address: ClientAddress,
    Form(form): Form<RequestForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.rate(Limited::Reset, &address).await?;
    let paused = guard.change_or_keep(&form.csrf).await?;
    let email = form.email.trim();
    let refused = |status, error| {
        render(
            status,
            &RequestPage {
                site: &state.config.site,
                section: "login",
                viewer: &viewer,
                errors: vec![error],
                email,
            },
        )
    };
    if let Some(maintenance) = paused {
        let page = refused(StatusCode::OK, maintenance::KEPT);
        return Ok(maintenance::kept(page, &maintenance));
    }
    if let Some(error) = check_email(email) {
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, error));
    }
    let fail = |e: StoreError| guard.store_error(&e);
    for user in state.store.users_by_email(email).await.map_err(fail)? {
        if !user.locked.0 {
            let to = user.email.clone();
            send_link(&state, &viewer.base_url, &user, TokenPurpose::Reset, &to)
                .await
                .map_err(fail)?;
        }
    }
    Ok(page::notice(
        &state.config.site,
        &viewer,
        StatusCode::OK,
        "Check your mail",
        &[
            &format!("If an account uses {email}, we sent a link there to choose a new password."),
            "The link works for one hour. Nothing there? Look in the spam folder, or make sure it is the address you signed up with.",
        ],
        None,
    ))
}

/// The reset link's token, if it can still be used.
async fn usable_token(
    guard: &Guard<'_>,
    token: &str,
) -> Result<Result<MailToken, Response>, Response> {
    let found = guard
        .state
        .store
        .peek_mail_token(&token_hash(token))
        .await
        .map_err(|e| guard.store_error(&e))?
        .filter(|t| t.purpose == TokenPurpose::Reset);
    let site = &guard.state.config.site;
    Ok(match found {
        None => Err(page::error_page(
            site,
            guard.viewer,
            StatusCode::NOT_FOUND,
            "This link does not work",
            "It was already used, a newer link replaced it, or it is not complete. Ask for a new one from the log-in page.",
        )),
        Some(t) if t.is_expired() => Err(page::error_page(
            site,
            guard.viewer,
            StatusCode::GONE,
            "This link has expired",
            "Password links work for one hour. Ask for a new one from the log-in page.",
        )),
        Some(t) => Ok(t),
    })
}

pub async fn reset_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let found = match usable_token(&guard, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let user = state
        .store
        .user_by_id(found.user_id)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let name = user.map(|u| u.name).unwrap_or_default();
    Ok(new_password_page(
        &state,
        &viewer,
        StatusCode::OK,
        Vec::new(),
        &name,
        &token,
    ))
}

fn new_password_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<&'static str>,
    name: &str,
    token: &str,
) -> Response {
    render(
        status,
        &NewPasswordPage {
            site: &state.config.site,
            section: "login",
            viewer,
            errors,
            name,
            token,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewPasswordForm {
    csrf: String,
    password: String,
}

/// Sets the new password, ends every session of the account and forgets
/// cached credentials: whoever knew the old password is out.
pub async fn reset_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let paused = guard.change_or_keep(&form.csrf).await?;
    let fail = |e: StoreError| guard.store_error(&e);
    let found = match usable_token(&guard, &token).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let Some(user) = state.store.user_by_id(found.user_id).await.map_err(fail)? else {
        return Ok(page::not_found_page(&state.config.site, &viewer));
    };
    if let Some(maintenance) = paused {
        let errors = vec![maintenance::KEPT_BUT_PASSWORDS];
        let page = new_password_page(&state, &viewer, StatusCode::OK, errors, &user.name, &token);
        return Ok(maintenance::kept(page, &maintenance));
    }
    if let Some(error) = check_password(&form.password, &user.name) {
        return Ok(new_password_page(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![error],
            &user.name,
            &token,
        ));
    }
    if state
        .store
        .take_mail_token(&token_hash(&token))
        .await
        .map_err(fail)?
        .is_none()
    {
        return Ok(page::error_page(
            &state.config.site,
            &viewer,
            StatusCode::NOT_FOUND,
            "This link does not work",
            "It was used a moment ago. Ask for a new one from the log-in page.",
        ));
    }
    state.auth.trust(&user.name, &form.password);
    let hash = guard.hash_password(form.password).await?;
    state
        .store
        .set_password(&user.name, &hash)
        .await
        .map_err(fail)?;
    state
        .store
        .delete_sessions_of(user.id, None)
        .await
        .map_err(fail)?;
    // The link arrived at the account's address: that validates it too.
    state.store.mark_verified(user.id).await.map_err(fail)?;
    state.auth.forget_account(user.id);
    Ok(page::notice(
        &state.config.site,
        &viewer,
        StatusCode::OK,
        "Your password is changed",
        &["Log in with the new password, and give it to your calendar apps too: they stop syncing until you do."],
        Some(("/login", "Log in")),
    ))
}
