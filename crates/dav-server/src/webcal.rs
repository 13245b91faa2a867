//! The whole calendar as one .ics file (webcal subscriptions, Outlook-style
//! exchange) and import of a multi-event .ics file into a calendar.

use crate::request::{error_response, internal, DavRequest, DavResult};
use almanac_dav::DavError;
use almanac_service::auth::AuthOutcome;
use almanac_service::objects::{sanitize_file_name, shared_calendar_file};
use almanac_service::AppState;
use almanac_store::Collection;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// `GET /ics/{user}/{calendar}.ics`: the same as GET on the calendar, at a
/// URL that ends in .ics for subscription clients that insist on one.
pub async fn alias(
    State(state): State<AppState>,
    Path((user, file)): Path<(String, String)>,
    request: Request,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return error_response(&DavError::new(
            405,
            "Only GET works on .ics subscription URLs.",
        ));
    }
    let (parts, _) = request.into_parts();
    let client = almanac_service::rate_limit::ClientAddress::of(&parts, &state.config.rate_limits);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.auth.basic(authorization, client.0).await {
        AuthOutcome::Authenticated(p) if p.name == user => p,
        AuthOutcome::Authenticated(_) => {
            return error_response(&DavError::new(404, "No such calendar."))
        }
        refused => return crate::request::auth_refusal(&refused),
    };
    let slug = file.strip_suffix(".ics").unwrap_or(&file);
    let mut response = match state.store.collection(principal.id, slug).await {
        Ok(Some(collection)) if collection.is_calendar() => export(&state, &collection, false)
            .await
            .unwrap_or_else(|e| error_response(&e)),
        Ok(_) => error_response(&DavError::new(404, "No such calendar.")),
        Err(e) => error_response(&internal(e)),
    };
    response
        .extensions_mut()
        .insert(almanac_service::access_log::LogFields {
            user: Some(principal.name),
            auth: almanac_service::access_log::AuthKind::Password,
            ..almanac_service::access_log::LogFields::default()
        });
    response
}

pub async fn export(state: &AppState, collection: &Collection, redact_private: bool) -> DavResult {
    let (name, body) =
        shared_calendar_file(&state.store, collection, redact_private.then_some(false))
            .await
            .map_err(internal)?;
    let etag = format!("\"{}-{}\"", collection.id, collection.sync_revision);
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (header::ETAG, etag),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.ics\"", sanitize_file_name(&name)),
            ),
        ],
        body,
    )
        .into_response())
}

/// Imports every object of an .ics file into `calendar`, one resource per
/// UID; an object whose UID is already there replaces it.
pub async fn import(request: &DavRequest, calendar: &Collection) -> DavResult {
    let report = request
        .writer()
        .import(calendar, request.header("content-type"), &request.body)
        .await?;
    let status = if report.imported.is_empty() && !report.rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let imported = !report.imported.is_empty();
    let mut response = (status, axum::Json(report)).into_response();
    if imported {
        let changed = almanac_service::access_log::Changed::Item(
            almanac_service::access_log::ItemKind::Event,
        );
        response.extensions_mut().insert(changed);
    }
    Ok(response)
}
