//! The whole calendar as one .ics file (webcal subscriptions, Outlook-style
//! exchange) and import of a multi-event .ics file into a calendar.

use crate::auth::AuthOutcome;
use crate::dav::content::{check_calendar_object, write_item};
use crate::dav::{error_response, internal, DavRequest, DavResult};
use crate::AppState;
use almanac_dav::DavError;
use almanac_ical::{merge_calendars, split_calendar, ParseLimits};
use almanac_store::{Collection, Origin, StoreError, WriteCondition};
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The zone a calendar-timezone (a VCALENDAR with one VTIMEZONE) names.
pub(crate) fn zone_of(calendar_timezone: &str) -> Option<chrono_tz::Tz> {
    let calendar = almanac_ical::parse(calendar_timezone, &ParseLimits::default()).ok()?;
    let tzid = calendar
        .components
        .iter()
        .find(|c| c.name == "VTIMEZONE")?
        .property("TZID")?;
    almanac_ical::timezone::named_zone(&tzid.value)
}

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
    let client = crate::rate_limit::ClientAddress::of(&parts, &state.config.rate_limits);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.auth.basic(authorization, client.0).await {
        AuthOutcome::Authenticated(p) if p.name == user => p,
        AuthOutcome::Authenticated(_) => {
            return error_response(&DavError::new(404, "No such calendar."))
        }
        refused => return crate::dav::auth_refusal(&refused),
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
        .insert(crate::access_log::LogFields {
            user: Some(principal.name),
            auth: crate::access_log::AuthKind::Password,
            event: None,
        });
    response
}

/// A whole calendar as one .ics text, with its display name.
pub(crate) async fn calendar_file(
    store: &almanac_store::Store,
    collection: &Collection,
) -> Result<(String, String), almanac_store::StoreError> {
    shared_calendar_file(store, collection, None).await
}

/// The same for a share link's reader: private events reduced to their
/// times (`Some(false)`), or everything (`Some(true)`, free-busy links).
pub(crate) async fn shared_calendar_file(
    store: &almanac_store::Store,
    collection: &Collection,
    redact: Option<bool>,
) -> Result<(String, String), almanac_store::StoreError> {
    let items = store.items(collection.id).await?;
    let calendars: Vec<_> = items
        .iter()
        .filter_map(|item| std::str::from_utf8(&item.data).ok())
        .filter_map(|text| almanac_ical::parse(text, &ParseLimits::default()).ok())
        .map(|calendar| match redact {
            Some(busy_only) => almanac_ical::privacy::redact(&calendar, busy_only),
            None => calendar,
        })
        .collect();
    let name = collection
        .displayname
        .clone()
        .unwrap_or_else(|| collection.path.clone());
    let body = merge_calendars(&calendars, Some(&name));
    Ok((name, body))
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

pub(crate) fn sanitize_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Serialize)]
pub(crate) struct ImportReport {
    pub imported: Vec<String>,
    pub rejected: Vec<Rejected>,
}

#[derive(Serialize)]
pub(crate) struct Rejected {
    pub uid: Option<String>,
    pub reason: String,
}

/// Imports every object of an .ics file into `calendar`, one resource per
/// UID; an object whose UID is already there replaces it.
pub async fn import(request: &DavRequest, calendar: &Collection) -> DavResult {
    let report = import_objects(request, calendar, &request.body).await?;
    let status = if report.imported.is_empty() && !report.rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(report)).into_response())
}

/// What an import stored and what it refused (with the reason).
pub(crate) async fn import_objects(
    request: &DavRequest,
    calendar: &Collection,
    body: &[u8],
) -> Result<ImportReport, DavError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| DavError::caldav(403, "valid-calendar-data", "The file is not UTF-8 text."))?;
    let limits = ParseLimits {
        max_bytes: request.state.config.limits.max_body_bytes,
        max_properties: 1_000_000,
        // Each object is checked strictly on its own below, so one with a
        // control character is reported without failing the others.
        allow_control_characters: true,
        ..ParseLimits::default()
    };
    let parsed = almanac_ical::parse(text, &limits)
        .map_err(|e| DavError::caldav(403, "valid-calendar-data", e.message))?;
    let (items, problems) = split_calendar(&parsed);
    let mut report = ImportReport {
        imported: Vec::new(),
        rejected: problems
            .into_iter()
            .map(|reason| Rejected { uid: None, reason })
            .collect(),
    };
    for item in items {
        let data = item.calendar.to_ics();
        let outcome = match check_calendar_object(request, calendar, data.as_bytes()) {
            Ok(index) => store_imported(request, calendar, &item.uid, data.as_bytes(), index).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => report.imported.push(item.uid),
            Err(e) if e.status >= 500 => return Err(e),
            Err(e) => report.rejected.push(Rejected {
                uid: Some(item.uid),
                reason: e.message,
            }),
        }
    }
    Ok(report)
}

async fn store_imported(
    request: &DavRequest,
    calendar: &Collection,
    uid: &str,
    data: &[u8],
    index: almanac_store::CalendarIndex,
) -> Result<(), DavError> {
    let name = resource_name(uid);
    let imported = |index| almanac_store::NewItem {
        content_type: "text/calendar; charset=utf-8",
        data,
        calendar: Some(index),
        origin: Origin::Import,
    };
    let result = write_item(
        request,
        calendar,
        &name,
        &imported(index.clone()),
        &WriteCondition::Always,
    )
    .await;
    match result {
        // The UID lives under another name (a client chose it): replace that one.
        Err(DavError {
            condition: Some((_, "no-uid-conflict")),
            ..
        }) => {
            let existing = request
                .state
                .store
                .item_name_for_uid(calendar.id, uid)
                .await
                .map_err(|e: StoreError| internal(e))?
                .ok_or_else(|| DavError::new(409, "The UID moved during the import; try again."))?;
            write_item(
                request,
                calendar,
                &existing,
                &imported(index),
                &WriteCondition::Always,
            )
            .await
            .map(|_| ())
        }
        other => other.map(|_| ()),
    }
}

/// A resource name for a UID: the UID itself when it is a safe file name.
fn resource_name(uid: &str) -> String {
    let safe = !uid.is_empty()
        && uid.len() <= 200
        && uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if safe {
        format!("{uid}.ics")
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(uid.as_bytes());
        format!("{}.ics", almanac_store::hex(&digest[..16]))
    }
}
