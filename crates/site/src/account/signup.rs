//! Sign-up, the validation link, and sending it again.

use super::rules::{check_email, check_name, check_password, send_link};
use almanac_service::access_log::AuthKind;
use almanac_service::config::Site;
use almanac_service::guard::{log_event, Guard};
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::rate_limit::{ClientAddress, Form as Limited};
use almanac_service::session::{self, Viewer};
use almanac_service::token::token_hash;
use almanac_service::AppState;
use almanac_store::{NewCollection, StoreError, TokenPurpose};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/signup.html")]
struct SignupPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    name: &'a str,
    email: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignupForm {
    csrf: String,
    name: String,
    email: String,
    password: String,
    terms: String,
}

pub async fn signup_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    show(&state, &viewer, StatusCode::OK, Vec::new(), "", "")
}

fn show(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<&'static str>,
    name: &str,
    email: &str,
) -> Response {
    render(
        status,
        &SignupPage {
            site: &state.config.site,
            section: "signup",
            viewer,
            errors,
            name,
            email,
        },
    )
}

pub async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    address: ClientAddress,
    Form(form): Form<SignupForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.rate(Limited::Signup, &address).await?;
    let paused = guard.change_or_keep(&form.csrf).await?;
    let name = form.name.trim().to_owned();
    let email = form.email.trim().to_owned();
    if let Some(maintenance) = paused {
        let errors = vec![maintenance::KEPT_BUT_PASSWORDS];
        let page = show(&state, &viewer, StatusCode::OK, errors, &name, &email);
        return Ok(maintenance::kept(page, &maintenance));
    }
    let mut errors: Vec<&'static str> = [
        check_name(&name),
        check_email(&email),
        check_password(&form.password, &name),
    ]
    .into_iter()
    .flatten()
    .collect();
    if form.terms != "yes" {
        errors.push("Please accept the terms of service to sign up.");
    }
    let store = &state.store;
    let fail = |e: StoreError| guard.store_error(&e);
    if errors.is_empty() {
        // The names of recently deleted accounts count as taken.
        if store.user_by_name(&name).await.map_err(fail)?.is_some()
            || store.name_is_held(&name).await.map_err(fail)?
        {
            errors.push("This user name is taken. Please choose another.");
        }
        let owners = store.users_by_email(&email).await.map_err(fail)?;
        if owners.iter().any(|u| u.verified_at.is_some()) {
            errors.push("An account already uses this email address. If it is yours, log in or reset its password.");
        }
    }
    if !errors.is_empty() {
        return Ok(show(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            &name,
            &email,
        ));
    }
    let now = chrono::Utc::now().timestamp();
    store
        .delete_stale_pending_users(now - super::rules::PENDING_ACCOUNT_SECONDS)
        .await
        .map_err(fail)?;
    let hash = guard.hash_password(form.password).await?;
    let user = match store.create_pending_user(&name, &email, &hash).await {
        Ok(user) => user,
        // Someone took the name a moment ago.
        Err(StoreError::AlreadyExists(_)) => {
            return Ok(show(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["This user name is taken. Please choose another."],
                &name,
                &email,
            ))
        }
        Err(e) => return Err(fail(e)),
    };
    store
        .create_collection(
            user.id,
            &NewCollection::calendar("calendar", Some("Calendar")),
        )
        .await
        .map_err(fail)?;
    send_link(
        &state,
        &viewer.base_url,
        &user,
        TokenPurpose::Verify,
        &email,
    )
    .await
    .map_err(fail)?;
    let page = page::notice(
        &state.config.site,
        &viewer,
        StatusCode::OK,
        "Check your mail",
        &[
            &format!("We sent a link to {email}. Open it to confirm your address; then you can log in and connect your apps."),
            "The link works for 48 hours. Nothing there? Look in the spam folder, or log in to have it sent again.",
        ],
        None,
    );
    Ok(log_event(page, &name, AuthKind::None, Some("signup")))
}

/// `/verify/{token}`: the link of a validation or address-change mail.
pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let site = &state.config.site;
    let fail = |e: StoreError| guard.store_error(&e);
    let hash = token_hash(&token);
    let usable = state
        .store
        .peek_mail_token(&hash)
        .await
        .map_err(fail)?
        .filter(|t| matches!(t.purpose, TokenPurpose::Verify | TokenPurpose::Email));
    let token = match usable {
        Some(_) => state.store.take_mail_token(&hash).await.map_err(fail)?,
        None => None,
    };
    let Some(token) = token else {
        return Ok(page::error_page(
            site,
            &viewer,
            StatusCode::NOT_FOUND,
            "This link does not work",
            "It was already used, or it is not complete: copy the whole link from the mail. If your address is already confirmed, just log in.",
        ));
    };
    if token.is_expired() {
        return Ok(page::error_page(
            site,
            &viewer,
            StatusCode::GONE,
            "This link has expired",
            "Links in our mails work for 48 hours. Log in to have a new one sent, or change your address again from your account page.",
        ));
    }
    let Some(user) = state.store.user_by_id(token.user_id).await.map_err(fail)? else {
        return Ok(page::not_found_page(site, &viewer));
    };
    if token.purpose == TokenPurpose::Email {
        let email = token.new_email.unwrap_or_default();
        let in_use = state
            .store
            .users_by_email(&email)
            .await
            .map_err(fail)?
            .iter()
            .any(|u| u.id != user.id && u.verified_at.is_some());
        if in_use {
            return Ok(page::error_page(
                site,
                &viewer,
                StatusCode::CONFLICT,
                "This address is already in use",
                "Another account confirmed this address in the meantime. Your account keeps its old address.",
            ));
        }
        state.store.set_email(user.id, &email).await.map_err(fail)?;
        let page = page::notice(
            site,
            &viewer,
            StatusCode::OK,
            "Your new address is confirmed",
            &[&format!(
                "Mail for the account {} now goes to {email}.",
                user.name
            )],
            Some(("/account", "Go to your account")),
        );
        return Ok(log_event(page, &user.name, AuthKind::None, None));
    }
    state.store.mark_verified(user.id).await.map_err(fail)?;
    // The link proved the address: the person is logged in, as most
    // services do, rather than asked for the password they just chose.
    let started = session::start(&state, &viewer, &user).await.map_err(fail)?;
    let mut page = page::notice(
        site,
        &started.viewer,
        StatusCode::OK,
        "Your address is confirmed",
        &[&format!(
            "Welcome, {}! Your account is ready and you are logged in. Your calendar is waiting; Help explains how to connect your calendar apps.",
            user.name
        )],
        Some(("/calendar", "Open your calendar")),
    );
    page.headers_mut()
        .append(header::SET_COOKIE, started.cookie);
    Ok(log_event(
        page,
        &user.name,
        AuthKind::None,
        Some("signup_verified"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResendForm {
    csrf: String,
    name: String,
}

/// Sends the validation link again; says the same whatever the name.
pub async fn resend(
    State(state): State<AppState>,
    viewer: Viewer,
    address: ClientAddress,
    Form(form): Form<ResendForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.rate(Limited::Reset, &address).await?;
    guard.csrf(&form.csrf)?;
    let fail = |e: StoreError| guard.store_error(&e);
    if let Some(user) = state
        .store
        .user_by_name(form.name.trim())
        .await
        .map_err(fail)?
    {
        if user.verified_at.is_none() {
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
    }
    Ok(page::notice(
        &state.config.site,
        &viewer,
        StatusCode::OK,
        "Check your mail",
        &["If that account still waits for its address to be confirmed, a new link is on its way. Earlier links no longer work."],
        None,
    ))
}
