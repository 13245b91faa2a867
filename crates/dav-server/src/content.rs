//! GET/HEAD, PUT, POST and DELETE.

use crate::request::{internal, DavRequest, DavResult, Mailbox, Parent, Target};
use crate::webcal;
use almanac_dav::properties::http_date;
use almanac_dav::DavError;
use almanac_ical::ParseLimits;
use almanac_service::access_log::{Changed, ItemKind};
use almanac_service::scheduling::{self, may_schedule, Plan};
use almanac_store::{Collection, NewItem, StoreError, User};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;

const SCHEDULE_TAG: HeaderName = HeaderName::from_static("schedule-tag");

/// RFC 6638 §3.2.10 If-Schedule-Tag-Match: the stored object must still
/// have the tag the client read.
pub(crate) fn check_schedule_tag(
    request: &DavRequest,
    stored: Option<&[u8]>,
) -> Result<(), DavError> {
    let Some(expected) = request.header("if-schedule-tag-match") else {
        return Ok(());
    };
    let current = stored.and_then(scheduling::schedule_tag);
    if current.as_deref() == Some(expected.trim()) {
        Ok(())
    } else {
        Err(DavError::new(
            412,
            "The event changed since you read it (Schedule-Tag mismatch): read it again.",
        ))
    }
}

/// The account a write schedules for, when it is its owner writing (a
/// share link's visitor sends no invitations in the owner's name).
pub(crate) async fn scheduling_user(request: &DavRequest) -> Result<Option<User>, DavError> {
    if request.access != almanac_dav::properties::Access::Owner {
        return Ok(None);
    }
    request
        .state
        .store
        .user_by_id(request.principal.id)
        .await
        .map_err(internal)
}

/// What is stored at `parent/name`, once If-Schedule-Tag-Match holds for it.
async fn stored_checked(
    request: &DavRequest,
    parent: &Collection,
    name: &str,
) -> Result<Option<Vec<u8>>, DavError> {
    let old = request
        .state
        .store
        .item(parent.id, name)
        .await
        .map_err(internal)?
        .map(|i| i.data);
    check_schedule_tag(request, old.as_deref())?;
    Ok(old)
}

/// What writing `data` at `parent/name` will send (RFC 6638 §3.2). A
/// new resource has nothing stored to read.
async fn plan_write(
    request: &DavRequest,
    (parent, name, exists): (&Collection, &str, bool),
    data: &[u8],
) -> Result<Option<(User, Plan)>, DavError> {
    let old = if exists {
        stored_checked(request, parent, name).await?
    } else {
        check_schedule_tag(request, None)?;
        None
    };
    if !may_schedule(data) && !old.as_deref().is_some_and(may_schedule) {
        return Ok(None);
    }
    let Some(user) = scheduling_user(request).await? else {
        return Ok(None);
    };
    let plan = Plan::for_write(&request.state, &user, (parent, name), old.as_deref(), data).await?;
    Ok(Some((user, plan)))
}

/// What deleting `parent/name` will send: a cancellation or a decline.
async fn plan_delete(
    request: &DavRequest,
    parent: &Collection,
    name: &str,
) -> Result<Option<(User, Plan)>, DavError> {
    let old = stored_checked(request, parent, name).await?;
    let Some(old) = old.filter(|o| may_schedule(o)) else {
        return Ok(None);
    };
    let Some(user) = scheduling_user(request).await? else {
        return Ok(None);
    };
    let plan = Plan::for_delete(&user, &old);
    Ok(Some((user, plan)))
}

/// The site's address, for the answer links of invitation mails.
pub(crate) fn base_url(request: &DavRequest) -> String {
    almanac_service::public_url::PublicUrl::from_headers(&request.headers, &request.state.config)
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}

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
            let data_for_tag = if parent.is_calendar() && !request.redact_private {
                scheduling::schedule_tag(&data)
            } else {
                None
            };
            let mut response = data.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, header_value(&meta.content_type));
            headers.insert(header::ETAG, header_value(&meta.etag));
            headers.insert(
                header::LAST_MODIFIED,
                header_value(&http_date(meta.modified_at)),
            );
            if let Some(tag) = &data_for_tag {
                headers.insert(SCHEDULE_TAG, header_value(tag));
            }
            if !parent.is_calendar() {
                as_attachment(headers, &meta.name);
            }
            Ok(response)
        }
        Target::Mailbox(Mailbox::Message(message)) => crate::mailboxes::get(&message),
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
        Target::Item { parent, meta, .. } => {
            store_member(request, (&parent, &meta.name, true)).await
        }
        Target::Absent {
            parent: Parent::Collection(parent),
            name,
            ..
        } => store_member(request, (&parent, &name, false)).await,
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
        Target::Mailbox(Mailbox::Outbox) => crate::mailboxes::post_outbox(request).await,
        Target::Collection(collection) if collection.is_calendar() => {
            webcal::import(request, &collection).await
        }
        _ => Err(DavError::new(
            405,
            "POST is only for importing .ics files into a calendar, and for free-busy requests to your outbox.",
        )),
    }
}

/// Writes one member of `parent`, checking it first when `parent` is a calendar.
async fn store_member(
    request: &DavRequest,
    (parent, name, exists): (&Collection, &str, bool),
) -> DavResult {
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
    let mut plan = None;
    let (content_type, index) = if parent.is_calendar() {
        let mut index = request
            .writer()
            .check(parent, request.header("content-type"), data)?;
        let planned = plan_write(request, (parent, name, exists), data).await?;
        if let Some(rewritten) = planned.as_ref().and_then(|(_, p)| p.rewritten.as_deref()) {
            index = request.writer().check(parent, None, rewritten.as_bytes())?;
        }
        plan = planned;
        ("text/calendar; charset=utf-8".to_owned(), Some(index))
    } else {
        let content_type = request
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_owned();
        (content_type, None)
    };
    let rewritten = plan.as_mut().and_then(|(_, p)| p.rewritten.take());
    let stored = rewritten.as_deref().map_or(&data[..], str::as_bytes);
    let item = NewItem {
        content_type: &content_type,
        data: stored,
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
    let tag = plan.as_ref().and_then(|_| scheduling::schedule_tag(stored));
    if let Some((user, plan)) = plan {
        plan.run(&request.state, &user, (parent, name), &base_url(request))
            .await;
    }
    let mut response = status.into_response();
    // RFC 4791 §5.3.4: no ETag when what is stored is not what was sent.
    if stored == &data[..] {
        response
            .headers_mut()
            .insert(header::ETAG, header_value(&outcome.etag));
    }
    if let Some(tag) = tag {
        response
            .headers_mut()
            .insert(SCHEDULE_TAG, header_value(&tag));
    }
    if let Some(index) = &item.calendar {
        let kind = ItemKind::of_component(Some(&index.component));
        response.extensions_mut().insert(Changed::Item(kind));
    }
    Ok(response)
}

pub async fn delete(request: &DavRequest, target: Target) -> DavResult {
    let store = &request.state.store;
    match target {
        Target::Mailbox(Mailbox::Message(message)) => {
            return crate::mailboxes::delete(request, &message).await
        }
        Target::Item { parent, meta, .. } => {
            let plan = if parent.is_calendar() {
                plan_delete(request, &parent, &meta.name).await?
            } else {
                None
            };
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
            if let Some((user, plan)) = plan {
                plan.run(
                    &request.state,
                    &user,
                    (&parent, &meta.name),
                    &base_url(request),
                )
                .await;
            }
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
