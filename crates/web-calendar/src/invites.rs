//! `/invitations/{token}`: a guest without an account answers an
//! invitation (Accept, Maybe, Decline). Opening the link only shows the
//! question (mail scanners open links); the answer is a POST.

use almanac_ical::ParseLimits;
use almanac_service::config::Site;
use almanac_service::guard::Guard;
use almanac_service::invitations::{self, Answered, ANSWERS};
use almanac_service::page::render;
use almanac_service::session::Viewer;
use almanac_service::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "calendar/invitation.html")]
struct InvitationPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: String,
    /// What happened, or what is asked.
    message: String,
    title: String,
    when: String,
    guest: String,
    /// The answer buttons are shown.
    asking: bool,
    answers: &'static [(&'static str, &'static str, &'static str)],
}

fn page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    render(
        status,
        &InvitationPage {
            site: &state.config.site,
            section: "",
            viewer,
            heading: heading.to_owned(),
            message: message.to_owned(),
            title: String::new(),
            when: String::new(),
            guest: String::new(),
            asking: false,
            answers: &ANSWERS,
        },
    )
}

fn unknown(state: &AppState, viewer: &Viewer) -> Response {
    page(
        state,
        viewer,
        StatusCode::NOT_FOUND,
        "This link does not work",
        "The invitation link is not known here. Check that the whole link was copied from the mail.",
    )
}

async fn lookup(
    state: &AppState,
    viewer: &Viewer,
    token: &str,
) -> Result<almanac_store::Invitation, Response> {
    let guard = Guard::new(state, viewer);
    if token.len() != 43 {
        return Err(unknown(state, viewer));
    }
    state
        .store
        .invitation(&almanac_service::token::token_hash(token))
        .await
        .map_err(|e| guard.store_error(&e))?
        .ok_or_else(|| unknown(state, viewer))
}

pub async fn invitation_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, Response> {
    let invitation = lookup(&state, &viewer, &token).await?;
    let event = async {
        let name = state
            .store
            .item_name_for_uid(invitation.collection_id, &invitation.uid)
            .await
            .ok()??;
        let item = state
            .store
            .item(invitation.collection_id, &name)
            .await
            .ok()??;
        almanac_ical::parse(
            std::str::from_utf8(&item.data).ok()?,
            &ParseLimits::default(),
        )
        .ok()
    }
    .await;
    let Some(calendar) = event else {
        return Ok(page(
            &state,
            &viewer,
            StatusCode::GONE,
            "This event is gone",
            "The organizer has deleted the event.",
        ));
    };
    let (title, when) = invitations::describe(&calendar);
    let (asking, message) = match &invitation.answer {
        Some(answer) => (false, format!("This link has answered already ({answer}). Each link answers once; to change your answer, reply to the organizer.")),
        None => (true, "Will you come?".to_owned()),
    };
    Ok(render(
        StatusCode::OK,
        &InvitationPage {
            site: &state.config.site,
            section: "",
            viewer: &viewer,
            heading: "You are invited".to_owned(),
            message,
            title,
            when,
            guest: invitation.attendee.clone(),
            asking,
            answers: &ANSWERS,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    answer: String,
}

pub async fn answer(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.csrf(&form.csrf)?;
    let invitation = lookup(&state, &viewer, &token).await?;
    let done = invitations::answer(&state, &invitation, &form.answer).await;
    Ok(match done {
        Ok(Answered::Done { title }) => page(
            &state,
            &viewer,
            StatusCode::OK,
            "Thank you",
            &format!("Your answer to “{title}” is recorded, and the organizer is told."),
        ),
        Ok(Answered::AlreadyAnswered(previous)) => page(
            &state,
            &viewer,
            StatusCode::CONFLICT,
            "Already answered",
            &format!("This link has answered already ({previous}). Each link answers once; to change your answer, reply to the organizer."),
        ),
        Ok(Answered::Expired) => page(&state, &viewer, StatusCode::GONE, "This link has expired", "Ask the organizer to invite you again."),
        Ok(Answered::Gone) => page(&state, &viewer, StatusCode::GONE, "This event is gone", "The organizer has deleted the event or taken you off the guest list."),
        Err(almanac_store::StoreError::PreconditionFailed) => page(
            &state,
            &viewer,
            StatusCode::CONFLICT,
            "Please try again",
            "The organizer changed the event just now. Open the link again and answer once more.",
        ),
        Err(e) => guard.store_error(&e),
    })
}
