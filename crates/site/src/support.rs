//! The Contact form and the support queue behind it: each request is
//! stored, mailed to the support address and acknowledged to the sender;
//! staff answer (by mail) and close requests from the admin pages.

use crate::account::check_email;
use crate::staff::staff;
use almanac_service::access_log::AuthKind;
use almanac_service::config::Site;
use almanac_service::guard::{log_event, redirect, Guard};
use almanac_service::mail::Mail;
use almanac_service::page::{self, render};
use almanac_service::rate_limit::{ClientAddress, Form as Limited};
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::{NewSupportRequest, StoreError, SupportMessage, SupportRequest};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    name: &'a str,
    email: &'a str,
    subject: &'a str,
    message: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ContactForm {
    csrf: String,
    name: String,
    email: String,
    subject: String,
    message: String,
}

pub async fn contact_form(State(state): State<AppState>, viewer: Viewer) -> Response {
    let (name, email) = viewer
        .user
        .as_ref()
        .map_or(("", ""), |u| (u.name.as_str(), u.email.as_str()));
    render(
        StatusCode::OK,
        &ContactPage {
            site: &state.config.site,
            section: "contact",
            viewer: &viewer,
            errors: Vec::new(),
            name,
            email,
            subject: "",
            message: "",
        },
    )
}

pub async fn contact(
    State(state): State<AppState>,
    viewer: Viewer,
    address: ClientAddress,
    Form(form): Form<ContactForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    guard.rate(Limited::Contact, &address).await?;
    guard.csrf(&form.csrf)?;
    let (name, email, subject, message) = (
        form.name.trim(),
        form.email.trim(),
        form.subject.trim(),
        form.message.trim(),
    );
    let mut errors: Vec<&'static str> = Vec::new();
    // During maintenance nothing can be stored: the message comes back
    // whole, to send when the notice above is gone.
    let paused = guard.paused().await?;
    if paused.is_some() {
        errors.push("Nothing was sent: the service is down for maintenance (see the notice above). Your message is kept below; send it again when the notice is gone.");
    }
    let one_line = |text: &str, most: usize| {
        !text.is_empty() && text.chars().count() <= most && !text.chars().any(char::is_control)
    };
    if !one_line(name, 100) {
        errors.push("Please give your name on one line (at most 100 characters).");
    }
    errors.extend(check_email(email));
    if !one_line(subject, 200) {
        errors.push("Please give a subject on one line (at most 200 characters).");
    }
    if message.is_empty() || message.chars().count() > 10_000 {
        errors.push("Please write your message (at most 10,000 characters).");
    }
    if !errors.is_empty() {
        let status = if paused.is_some() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let page = render(
            status,
            &ContactPage {
                site: &state.config.site,
                section: "contact",
                viewer: &viewer,
                errors,
                name,
                email,
                subject,
                message,
            },
        );
        return Ok(match &paused {
            Some(maintenance) => almanac_service::maintenance::with_retry(page, maintenance),
            None => page,
        });
    }
    let id = state
        .store
        .create_support_request(&NewSupportRequest {
            user_id: viewer.user.as_ref().map(|u| u.id),
            name,
            email,
            subject,
            body: message,
        })
        .await
        .map_err(|e| guard.store_error(&e))?;
    notify(&state, &viewer, id, (name, email, subject, message)).await;
    let site = &state.config.site;
    let page = page::notice(
        site,
        &viewer,
        StatusCode::OK,
        "Thank you, we got your message",
        &[
            &format!("Your request number is #{id}. A person will answer by mail to {email}, usually within two working days."),
        ],
        Some(("/", "Home page")),
    );
    let who = viewer.user.as_ref().map_or("-", |u| u.name.as_str());
    let auth = if viewer.user.is_some() {
        AuthKind::Session
    } else {
        AuthKind::None
    };
    Ok(log_event(page, who, auth, Some("support_request")))
}

/// Mails a new request to the support address, and an acknowledgement to
/// its sender.
async fn notify(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    (name, email, subject, message): (&str, &str, &str, &str),
) {
    let site = &state.config.site;
    let link = format!("{}/admin/support/{id}", viewer.base_url);
    let account = viewer
        .user
        .as_ref()
        .map_or("not logged in", |u| u.name.as_str());
    send(
        state,
        Mail {
            to: &site.support_email,
            reply_to: None,
            subject: &format!("[Support #{id}] {subject}"),
            body: format!(
                "From: {name} <{email}>\nAccount: {account}\n\n{message}\n\n-- \nAnswer it here: {link}\n"
            ),
            link: Some(&link),
        },
    )
    .await;
    // The acknowledgement repeats none of the sender's text: the form
    // must not be a way to mail strangers words of one's choosing.
    send(
        state,
        Mail {
            to: email,
            reply_to: Some(&site.support_email),
            subject: &format!("[Support #{id}] We received your message"),
            body: format!(
                "Hello,\n\nwe received your message and will answer by mail.\nYour request number is #{id}.\n\nIf you did not write to us, ignore this mail.\n\n-- \n{}\n",
                site.name
            ),
            link: None,
        },
    )
    .await;
}

/// Mail failures are logged; the request is stored either way.
async fn send(state: &AppState, mail: Mail<'_>) {
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, "a support mail could not be sent");
    }
}

#[derive(Template)]
#[template(path = "admin/support.html")]
struct QueuePage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    tab: &'static str,
    status: &'a str,
    requests: Vec<RequestRow>,
}

struct RequestRow {
    id: i64,
    subject: String,
    from: String,
    status: String,
    updated: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QueueQuery {
    status: String,
}

pub async fn queue(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<QueueQuery>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, "/admin/support")?;
    let status = match query.status.as_str() {
        "closed" => "closed",
        "all" => "all",
        _ => "open",
    };
    let filter = (status != "all").then_some(status);
    let requests = state
        .store
        .support_requests(filter, 500)
        .await
        .map_err(|e| guard.store_error(&e))?
        .into_iter()
        .map(|r| RequestRow {
            id: r.id,
            from: format!("{} <{}>", r.name, r.email),
            updated: viewer.time_text(r.updated_at),
            subject: r.subject,
            status: r.status,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            site: &state.config.site,
            section: "admin",
            viewer: &viewer,
            tab: "support",
            status,
            requests,
        },
    ))
}

#[derive(Template)]
#[template(path = "admin/request.html")]
struct RequestPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    tab: &'static str,
    request: SupportRequest,
    created: String,
    messages: Vec<(SupportMessage, String)>,
}

pub async fn request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, &format!("/admin/support/{id}"))?;
    let Some((request, messages)) = state
        .store
        .support_request(id)
        .await
        .map_err(|e| guard.store_error(&e))?
    else {
        return Ok(page::not_found_page(&state.config.site, &viewer));
    };
    Ok(render(
        StatusCode::OK,
        &RequestPage {
            site: &state.config.site,
            section: "admin",
            viewer: &viewer,
            tab: "support",
            created: viewer.time_text(request.created_at),
            request,
            messages: messages
                .into_iter()
                .map(|m| {
                    let at = viewer.time_text(m.created_at);
                    (m, at)
                })
                .collect(),
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReplyForm {
    csrf: String,
    message: String,
    close: String,
}

/// A staff answer: mailed to the requester and kept with the request.
pub async fn reply(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, &format!("/admin/support/{id}"))?;
    guard.csrf(&form.csrf)?;
    let fail = |e: StoreError| guard.store_error(&e);
    let Some((request, _)) = state.store.support_request(id).await.map_err(fail)? else {
        return Ok(page::not_found_page(&state.config.site, &viewer));
    };
    let message = form.message.trim();
    if message.is_empty() || message.chars().count() > 20_000 {
        return Ok(page::error_page(
            &state.config.site,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The answer is empty or too long",
            "Go back and write an answer of at most 20,000 characters.",
        ));
    }
    let status = if form.close == "yes" {
        "closed"
    } else {
        "open"
    };
    state
        .store
        .answer_support_request(id, Some(message), status)
        .await
        .map_err(fail)?;
    send(
        &state,
        Mail {
            to: &request.email,
            subject: &format!("Re: [Support #{id}] {}", request.subject),
            reply_to: Some(&state.config.site.support_email),
            // The answer is the staff member's own words, greeting included
            // (the form starts with one); the request's number stays in the
            // subject so a reply finds its thread.
            body: format!(
                "{message}\n\n-- \n{} support\n{}\n",
                state.config.site.name, state.config.site.support_email
            ),
            link: None,
        },
    )
    .await;
    Ok(redirect(&format!("/admin/support/{id}")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    csrf: String,
    status: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    staff(&guard, &format!("/admin/support/{id}"))?;
    guard.csrf(&form.csrf)?;
    let status = if form.status == "closed" {
        "closed"
    } else {
        "open"
    };
    match state.store.answer_support_request(id, None, status).await {
        Ok(()) => Ok(redirect(&format!("/admin/support/{id}"))),
        Err(StoreError::NotFound) => Ok(page::not_found_page(&state.config.site, &viewer)),
        Err(e) => Err(guard.store_error(&e)),
    }
}
