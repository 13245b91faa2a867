//! `/account/reminders`: whether reminders come by mail, and whether
//! DISPLAY alarms (the ones phones show) are mailed too.

use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::page::render;
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::ReminderSettings;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account/reminders.html")]
struct RemindersPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    email: &'a str,
    settings: ReminderSettings,
    saved: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Done {
    done: String,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account/reminders")?;
    let settings = state
        .store
        .reminder_settings(user.id)
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(render(
        StatusCode::OK,
        &RemindersPage {
            site: &state.config.site,
            section: "account",
            viewer: &viewer,
            email: &user.email,
            settings,
            saved: done.done == "saved",
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Choice {
    csrf: String,
    mail: String,
    display: String,
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(choice): Form<Choice>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let user = guard.user("/account/reminders")?;
    guard.change(&choice.csrf).await?;
    let settings = ReminderSettings {
        mail: choice.mail == "yes",
        display: choice.display == "yes",
    };
    state
        .store
        .set_reminder_settings(user.id, settings)
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(redirect("/account/reminders?done=saved"))
}
