//! GET/HEAD, PUT, POST and DELETE.

use crate::request::{internal, DavRequest, DavResult, Parent, Target};
use crate::webcal;
use almanac_dav::properties::http_date;
use almanac_dav::DavError;
use almanac_ical::ParseLimits;
use almanac_service::access_log::{Changed, ItemKind};
use almanac_store::{Collection, NewItem, StoreError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;

pub async fn get(request: &DavRequest, target: Target) -> DavResult {
    match target {
        Target::Item { parent, meta, data } => {
            if request.header("if-none-match").is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == meta.etag || t.trim() == "*")
            }) {
                return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, meta.etag)]).into_response());
            }
            let mut data = data.unwrap_or_default();
            if request.redact_private {
                data = redacted(&data).unwrap_or(data);
            }
            let mut response = data.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, header_value(&meta.content_type));
            headers.insert(header::ETAG, header_value(&meta.etag));
            headers.insert(
                header::LAST_MODIFIED,
                header_value(&http_date(meta.modified_at)),
            );
            if !parent.is_calendar() {
                as_attachment(headers, &meta.name);
            }
            Ok(response)
        }
        Target::Collection(collection) if collection.is_calendar() => {
            webcal::export(&request.state, &collection, request.redact_private).await
        }
        Target::Absent { .. } => Err(DavError::new(404, "No such resource.")),
        _ => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This is a WebDAV collection: use a CalDAV client, or PROPFIND to list it.\n",
        )
            .into_response()),
    }
}

/// A file someone stored (HTML, SVG, a script...) is downloaded, never run
/// as a page of the site: a browser that opens it anyway runs it in a
/// sandbox with no origin and nothing allowed.
fn as_attachment(headers: &mut axum::http::HeaderMap, name: &str) {
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!("attachment; filename*=UTF-8''{encoded}")),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
}

/// A private object as a share-link reader gets it (None: nothing private).
fn redacted(data: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let parsed = almanac_ical::parse(text, &ParseLimits::default()).ok()?;
    almanac_ical::privacy::has_private(&parsed).then(|| {
        almanac_ical::privacy::redact(&parsed, false)
            .to_ics()
            .into_bytes()
    })
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

pub async fn put(request: &DavRequest, target: Target) -> DavResult {
    match target {
        Target::Item { parent, meta, .. } => store_member(request, &parent, &meta.name).await,
        Target::Absent {
            parent: Parent::Collection(parent),
            name,
            ..
        } => store_member(request, &parent, &name).await,
        Target::Absent {
            parent: Parent::Home,
            ..
        } => Err(DavError::new(
            409,
            "Resources live in a calendar or collection: create one with MKCALENDAR or MKCOL first.",
        )),
        Target::Absent {
            parent: Parent::Missing,
            ..
        } => Err(DavError::new(409, "The parent collection does not exist.")),
        Target::Collection(collection) if collection.is_calendar() => {
            webcal::import(request, &collection).await
        }
        _ => Err(DavError::new(405, "PUT is not allowed on a collection.")),
    }
}

pub async fn post(request: &DavRequest, target: Target) -> DavResult {
    match target {
        Target::Collection(collection) if collection.is_calendar() => {
            webcal::import(request, &collection).await
        }
        _ => Err(DavError::new(
            405,
            "POST is only for importing .ics files into a calendar.",
        )),
    }
}

/// Writes one member of `parent`, checking it first when `parent` is a calendar.
async fn store_member(request: &DavRequest, parent: &Collection, name: &str) -> DavResult {
    let limits = &request.state.config.limits;
    let data = &request.body;
    if data.len() > limits.max_item_bytes {
        let message = format!("A resource may be at most {} bytes.", limits.max_item_bytes);
        return Err(if parent.is_calendar() {
            DavError::caldav(403, "max-resource-size", message)
        } else {
            DavError::new(413, message)
        });
    }
    let (content_type, index) = if parent.is_calendar() {
        let index = request
            .writer()
            .check(parent, request.header("content-type"), data)?;
        ("text/calendar; charset=utf-8".to_owned(), Some(index))
    } else {
        let content_type = request
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned();
        (content_type, None)
    };
    let item = NewItem {
        content_type: &content_type,
        data,
        calendar: index,
        origin: request.origin,
    };
    let outcome = request
        .writer()
        .write(parent, name, &item, &request.write_condition())
        .await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    };
    let mut response = (status, [(header::ETAG, outcome.etag)]).into_response();
    if let Some(index) = &item.calendar {
        let kind = ItemKind::of_component(Some(&index.component));
        response.extensions_mut().insert(Changed::Item(kind));
    }
    Ok(response)
}

pub async fn delete(request: &DavRequest, target: Target) -> DavResult {
    let store = &request.state.store;
    match target {
        Target::Item { parent, meta, .. } => {
            store
                .delete_item(
                    parent.id,
                    &meta.name,
                    &request.write_condition(),
                    request.origin,
                )
                .await
                .map_err(|e| match e {
                    StoreError::PreconditionFailed => DavError::new(
                        412,
                        "The resource changed since you read it (ETag mismatch).",
                    ),
                    StoreError::NotFound => DavError::new(404, "No such resource."),
                    other => internal(other),
                })?;
        }
        Target::Collection(collection) => {
            store
                .delete_collection_tree(request.principal.id, &collection.path)
                .await
                .map_err(internal)?;
        }
        Target::Absent { .. } => return Err(DavError::new(404, "No such resource.")),
        _ => {
            return Err(DavError::dav(
                403,
                "need-privileges",
                "Your principal and calendar home cannot be deleted this way.",
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
