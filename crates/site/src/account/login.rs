//! Log in and log out.

use super::rules::safe_next;
use almanac_service::access_log::AuthKind;
use almanac_service::auth::SignIn;
use almanac_service::config::Site;
use almanac_service::guard::{log_event, redirect, Guard};
use almanac_service::page::render;
use almanac_service::rate_limit::{ClientAddress, Form as Limited};
use almanac_service::session::{self, Viewer};
use almanac_service::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    name: &'a str,
    next: &'a str,
    unverified: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Next {
    next: String,
}

pub async fn login_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<Next>,
) -> Response {
    if viewer.user.is_some() {
        return redirect(safe_next(&query.next));
    }
    show(
        &state,
        &viewer,
        StatusCode::OK,
        Vec::new(),
        "",
        &query.next,
        false,
    )
}

fn show(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<&'static str>,
    name: &str,
    next: &str,
    unverified: bool,
) -> Response {
    render(
        status,
        &LoginPage {
            site: &state.config.site,
            section: "login",
            viewer,
            errors,
            name,
            next: safe_next(next),
            unverified,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    name: String,
    password: String,
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    viewer: Viewer,
    address: ClientAddress,
    Form(form): Form<LoginForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.rate(Limited::Login, &address).await?;
    guard.csrf(&form.csrf)?;
    let name = form.name.trim();
    let refuse = |status, error, unverified| {
        Ok(show(
            &state,
            &viewer,
            status,
            vec![error],
            name,
            &form.next,
            unverified,
        ))
    };
    let user = match state
        .auth
        .sign_in(name, form.password.clone(), address.0)
        .await
    {
        SignIn::Valid(user) => user,
        SignIn::Wrong => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "The user name or the password is wrong.",
                false,
            )
        }
        SignIn::Throttled(wait) => return Err(guard.too_many(wait.as_secs().max(1))),
        SignIn::Busy => return Err(guard.busy()),
        SignIn::Unavailable(e) => return Err(guard.store_error(&e)),
    };
    if user.locked.0 {
        return refuse(
            StatusCode::FORBIDDEN,
            "This account is locked. Please contact us to find out why.",
            false,
        );
    }
    if user.verified_at.is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "Please confirm your email address first: open the link in the mail we sent you.",
            true,
        );
    }
    let started = session::start(&state, &viewer, &user)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let mut response = redirect(safe_next(&form.next));
    response
        .headers_mut()
        .append(header::SET_COOKIE, started.cookie);
    Ok(log_event(
        response,
        &user.name,
        AuthKind::Password,
        Some("login"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.csrf(&form.csrf)?;
    if let Some(hash) = &viewer.session_hash {
        state
            .store
            .delete_session(hash)
            .await
            .map_err(|e| guard.store_error(&e))?;
    }
    let mut response = redirect("/");
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear(&viewer));
    Ok(response)
}
