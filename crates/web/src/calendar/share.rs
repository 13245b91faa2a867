//! Share links (tickets): the owner makes, lists, regenerates and revokes
//! them; a visitor with a link gets that one calendar on the web, as a
//! webcal subscription, and over CalDAV, with exactly the link's rights.
//!
//! A token is 256 random bits shown once; the database keeps its SHA-256.

use super::occurrences::Detail;
use super::{principal, urlencode, NewQuery, OccurrenceQuery, Scope, ViewQuery};
use crate::access_log::{AuthKind, LogFields};
use crate::account::{redirect, Guard};
use crate::config::Site;
use crate::pages::{self, render};
use crate::session::{self, Viewer};
use crate::support::time_text;
use crate::AppState;
use almanac_dav::paths;
use almanac_dav::properties::Access;
use almanac_dav::DavError;
use almanac_store::{Origin, SharePermission, SharedCalendar};
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

struct LinkRow {
    id: i64,
    label: String,
    permission: &'static str,
    created: String,
    expires: String,
    last_used: String,
    uses: i64,
}

/// The addresses a new (or regenerated) link gives, shown once.
struct NewLink {
    web: String,
    webcal: String,
    caldav: String,
    permission: &'static str,
}

#[derive(Template)]
#[template(path = "calendar/share.html")]
struct SharePage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    calendar: String,
    name: String,
    links: Vec<LinkRow>,
    created: Option<NewLink>,
}

fn permission_text(permission: SharePermission) -> &'static str {
    match permission {
        SharePermission::Read => "See events",
        SharePermission::Write => "See and edit events",
        SharePermission::FreeBusy => "See only busy times",
    }
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    calendar: &str,
    status: StatusCode,
    errors: Vec<&'static str>,
    created: Option<NewLink>,
) -> Result<Response, Response> {
    let scope = Scope::owner(state, viewer, "/calendar/calendars").await?;
    let guard = Guard::new(state, viewer);
    let collection = scope.find(state, viewer, calendar)?;
    let links = state
        .store
        .share_links(collection.id)
        .await
        .map_err(|e| guard.store_error(&e))?
        .into_iter()
        .map(|l| LinkRow {
            id: l.id,
            permission: permission_text(l.permission()),
            created: time_text(l.created_at),
            expires: l.expires_at.map_or_else(|| "never".to_owned(), time_text),
            last_used: l
                .last_used_at
                .map_or_else(|| "not yet".to_owned(), time_text),
            uses: l.use_count,
            label: l.label,
        })
        .collect();
    let mut page = render(
        status,
        &SharePage {
            site: &state.config.site,
            section: "calendar",
            viewer,
            errors,
            calendar: collection.path.clone(),
            name: collection
                .displayname
                .clone()
                .unwrap_or(collection.path.clone()),
            links,
            created,
        },
    );
    // A page that shows a token must not be kept anywhere.
    page.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(page)
}

pub async fn links_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
) -> Result<Response, Response> {
    show(&state, &viewer, &calendar, StatusCode::OK, Vec::new(), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewLinkForm {
    csrf: String,
    permission: String,
    label: String,
    /// Days until the link stops working; empty: never.
    expires_days: String,
}

fn addresses(state: &AppState, token: &str, permission: SharePermission) -> NewLink {
    let base = state.config.site.base_url.trim_end_matches('/');
    let host = base.split_once("://").map_or(base, |(_, rest)| rest);
    NewLink {
        web: format!("{base}/s/{token}"),
        webcal: format!("webcal://{host}/s/{token}/calendar.ics"),
        caldav: format!("{base}/dav/s/{token}/"),
        permission: permission_text(permission),
    }
}

pub async fn create_link(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
    Form(form): Form<NewLinkForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    guard.change(&form.csrf).await?;
    let collection = scope.find(&state, &viewer, &calendar)?;
    let mut errors = Vec::new();
    let permission = SharePermission::parse(&form.permission);
    if permission.is_none() {
        errors.push("Choose what the link lets people do.");
    }
    let label = form.label.trim();
    if label.chars().count() > 100 || label.chars().any(char::is_control) {
        errors.push("The label may have at most 100 characters on one line.");
    }
    let expires_at = match form.expires_days.trim() {
        "" | "0" => None,
        days => {
            if let Ok(days @ 1..=3650) = days.parse::<i64>() {
                Some(chrono::Utc::now().timestamp() + days * 86_400)
            } else {
                errors.push("A link lasts 1 to 3650 days, or leave the field empty for no end.");
                None
            }
        }
    };
    let Some(permission) = permission.filter(|_| errors.is_empty()) else {
        return show(
            &state,
            &viewer,
            &calendar,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            None,
        )
        .await;
    };
    let token = session::new_token();
    state
        .store
        .create_share_link(
            collection.id,
            &session::token_hash(&token),
            permission,
            label,
            expires_at,
        )
        .await
        .map_err(|e| guard.store_error(&e))?;
    let created = addresses(&state, &token, permission);
    show(
        &state,
        &viewer,
        &calendar,
        StatusCode::CREATED,
        Vec::new(),
        Some(created),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkAction {
    csrf: String,
}

/// `POST .../share/{id}/{revoke|regenerate}`.
pub async fn link_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((calendar, id, action)): Path<(String, i64, String)>,
    Form(form): Form<LinkAction>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    guard.csrf(&form.csrf)?;
    let not_found = || pages::not_found_page(&state.config.site, &viewer);
    let collection = scope.find(&state, &viewer, &calendar)?;
    let fail = |e: almanac_store::StoreError| match e {
        almanac_store::StoreError::NotFound => not_found(),
        other => guard.store_error(&other),
    };
    match action.as_str() {
        "revoke" => {
            state
                .store
                .delete_share_link(collection.id, id)
                .await
                .map_err(fail)?;
            Ok(redirect(&format!(
                "/calendar/calendars/{}/share",
                urlencode(&calendar)
            )))
        }
        "regenerate" => {
            let token = session::new_token();
            state
                .store
                .regenerate_share_link(collection.id, id, &session::token_hash(&token))
                .await
                .map_err(fail)?;
            let permission = state
                .store
                .share_links(collection.id)
                .await
                .map_err(fail)?
                .iter()
                .find(|l| l.id == id)
                .map_or(
                    SharePermission::FreeBusy,
                    almanac_store::ShareLink::permission,
                );
            let created = addresses(&state, &token, permission);
            show(
                &state,
                &viewer,
                &calendar,
                StatusCode::OK,
                Vec::new(),
                Some(created),
            )
            .await
        }
        _ => Err(not_found()),
    }
}

/// The link a visitor holds, if it still works.
async fn visit(
    state: &AppState,
    token: &str,
) -> Result<Option<SharedCalendar>, almanac_store::StoreError> {
    if token.len() != 43 {
        return Ok(None);
    }
    state
        .store
        .use_share_link(&session::token_hash(token))
        .await
}

impl Scope {
    /// What a share link opens, or the page that says it does not work.
    async fn shared(state: &AppState, viewer: &Viewer, token: &str) -> Result<Self, Response> {
        let guard = Guard::new(state, viewer);
        let Some(shared) = visit(state, token)
            .await
            .map_err(|e| guard.store_error(&e))?
        else {
            return Err(pages::error_page(
                &state.config.site,
                viewer,
                StatusCode::NOT_FOUND,
                "This link does not work",
                "The calendar's owner may have revoked it, or it expired, or it is not complete. Ask the owner for a new link.",
            ));
        };
        let permission = shared.link.permission();
        Ok(Self {
            owner: shared.owner,
            calendars: vec![shared.calendar],
            base: format!("/s/{token}"),
            detail: if permission == SharePermission::FreeBusy {
                Detail::BusyOnly
            } else {
                Detail::Public
            },
            can_write: permission == SharePermission::Write,
            link: Some(shared.link),
        })
    }
}

pub async fn visitor_view(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    super::show_view(
        &state,
        &viewer,
        &headers,
        &scope,
        &ViewQuery::from_pairs(pairs),
    )
    .await
}

pub async fn visitor_new(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(query): Query<NewQuery>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    if !scope.can_write {
        return Err(pages::not_found_page(&state.config.site, &viewer));
    }
    Ok(super::show_new_form(
        &state, &viewer, &headers, &scope, &query,
    ))
}

pub async fn visitor_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<super::editor::EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    super::save_new_event(&state, &viewer, &scope, form).await
}

pub async fn visitor_edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((token, calendar, item)): Path<(String, String, String)>,
    Query(query): Query<OccurrenceQuery>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    super::show_edit_form(
        &state,
        &viewer,
        &headers,
        &scope,
        (&calendar, &item),
        &query,
    )
    .await
}

pub async fn visitor_update(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((token, calendar, item)): Path<(String, String, String)>,
    Form(form): Form<super::editor::EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    super::save_existing_event(&state, &viewer, &headers, &scope, (&calendar, &item), form).await
}

fn ticket_log(mut response: Response, owner: &str, event: Option<&'static str>) -> Response {
    response.extensions_mut().insert(LogFields {
        user: Some(owner.to_owned()),
        auth: AuthKind::Ticket,
        event,
    });
    response
}

/// `/s/{token}/calendar.ics`: the webcal subscription (Outlook, Apple
/// Calendar, Google): private events as busy times; free-busy links only
/// busy times.
pub async fn visitor_ics(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let shared = match visit(&state, &token).await {
        Ok(Some(shared)) => shared,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                "This share link does not work (revoked, expired or mistyped).\n",
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "webcal share: database");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The calendar cannot be read right now.\n",
            )
                .into_response();
        }
    };
    let busy_only = shared.link.permission() == SharePermission::FreeBusy;
    match crate::webcal::shared_calendar_file(&state.store, &shared.calendar, Some(busy_only)).await
    {
        Ok((name, body)) => {
            let response = (
                [
                    (
                        header::CONTENT_TYPE,
                        "text/calendar; charset=utf-8".to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "inline; filename=\"{}.ics\"",
                            crate::webcal::sanitize_file_name(&name)
                        ),
                    ),
                ],
                body,
            )
                .into_response();
            ticket_log(response, &shared.owner.name, Some("share_visit"))
        }
        Err(e) => {
            tracing::error!(error = %e, "webcal share: database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The calendar cannot be read right now.\n",
            )
                .into_response()
        }
    }
}

/// `/dav/s/{token}/...`: the shared calendar as a CalDAV collection, for a
/// client given only this URL. The request is served as the owner's,
/// inside that one calendar, and only with the methods the link allows.
pub async fn dav(State(state): State<AppState>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return crate::dav::options();
    }
    let path = request.uri().path().to_owned();
    let rest = path.strip_prefix("/dav/s/").unwrap_or_default();
    let (token, member) = rest.split_once('/').unwrap_or((rest, ""));
    let shared = match visit(&state, token).await {
        Ok(Some(shared)) => shared,
        Ok(None) => {
            return crate::dav::error_response(&DavError::new(
                404,
                "This share link does not work (revoked, expired or mistyped).",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "caldav share: database");
            return crate::dav::error_response(&DavError::new(
                503,
                "The calendar cannot be read right now.",
            ));
        }
    };
    let permission = shared.link.permission();
    let (mut parts, body) = request.into_parts();
    let body = match allowed_body(&state, permission, &parts, body, member).await {
        Ok(body) => body,
        Err(refusal) => {
            return ticket_log(
                crate::dav::error_response(&refusal),
                &shared.owner.name,
                None,
            )
        }
    };
    let collection = paths::collection_href(&shared.owner.name, &shared.calendar.path);
    let target = format!("{collection}{member}");
    let Ok(uri) = target.parse::<Uri>() else {
        return crate::dav::error_response(&DavError::new(404, "No such resource."));
    };
    parts.uri = uri;
    let writes = matches!(parts.method.as_str(), "PUT" | "DELETE");
    if writes {
        // The owner's private events cannot be overwritten or deleted
        // through a link: the visitor only ever saw their times.
        match private_member(&state, &shared, member).await {
            Ok(false) => {}
            Ok(true) => {
                let refusal = DavError::new(
                    403,
                    "This event is private: it cannot be changed through a share link.",
                );
                return ticket_log(
                    crate::dav::error_response(&refusal),
                    &shared.owner.name,
                    None,
                );
            }
            Err(e) => return crate::dav::error_response(&crate::dav::internal(e)),
        }
    }
    let share_href = format!("/dav/s/{token}/");
    // Hrefs the visitor sends (multiget) name the link; the handler wants
    // the owner's calendar.
    let body = if parts.method.as_str() == "REPORT" {
        axum::body::Bytes::from(String::from_utf8_lossy(&body).replace(&share_href, &collection))
    } else {
        body
    };
    let access = match permission {
        SharePermission::Read => Access::Read,
        SharePermission::Write => Access::ReadWrite,
        SharePermission::FreeBusy => Access::FreeBusy,
    };
    let response = crate::dav::handle_for(
        state.clone(),
        principal(&shared.owner),
        parts,
        axum::body::Body::from(body),
        Origin::Share,
        access,
    )
    .await;
    let ok = response.status().is_success();
    let owner_href = paths::principal_href(&shared.owner.name);
    let response = rewrite_hrefs(
        response,
        &[
            (collection.as_str(), share_href.as_str()),
            (owner_href.as_str(), share_href.as_str()),
        ],
        state.config.limits.max_body_bytes,
    )
    .await;
    // Share writes stay unmarked: the metrics count them by auth=ticket.
    let event = (!writes || !ok).then_some("share_visit");
    ticket_log(response, &shared.owner.name, event)
}

/// Whether the member a write names is an event the owner made private.
async fn private_member(
    state: &AppState,
    shared: &SharedCalendar,
    member: &str,
) -> Result<bool, almanac_store::StoreError> {
    let name = percent_encoding::percent_decode_str(member).decode_utf8_lossy();
    let Some(item) = state.store.item(shared.calendar.id, &name).await? else {
        return Ok(false);
    };
    Ok(std::str::from_utf8(&item.data)
        .ok()
        .and_then(|text| almanac_ical::parse(text, &almanac_ical::ParseLimits::default()).ok())
        .is_some_and(|parsed| almanac_ical::privacy::has_private(&parsed)))
}

/// What each kind of link may do over CalDAV.
/// The body of a request the link allows. Only a free-busy link's REPORT
/// is judged by its body: everything else is refused before a byte of the
/// body is read.
async fn allowed_body(
    state: &AppState,
    permission: SharePermission,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    member: &str,
) -> Result<axum::body::Bytes, DavError> {
    let judged_by_body =
        permission == SharePermission::FreeBusy && parts.method.as_str() == "REPORT";
    if !judged_by_body {
        allowed(permission, &parts.method, &parts.headers, &[], member)?;
    }
    let limit = crate::dav::body_limit(&parts.method, &state.config.limits);
    let body = crate::dav::read_body(body, limit).await?;
    if judged_by_body {
        allowed(permission, &parts.method, &parts.headers, &body, member)?;
    }
    Ok(body)
}

fn allowed(
    permission: SharePermission,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    member: &str,
) -> Result<(), DavError> {
    let read_only = || DavError::new(403, "This share link only lets you read the calendar.");
    match (permission, method.as_str()) {
        (_, "PROPFIND") if permission != SharePermission::FreeBusy => Ok(()),
        (SharePermission::FreeBusy, "PROPFIND") => {
            let depth0 = headers.get("depth").and_then(|d| d.to_str().ok()) == Some("0");
            if depth0 && member.is_empty() {
                Ok(())
            } else {
                Err(DavError::new(
                    403,
                    "A free-busy link shows only busy times: use a free-busy-query report.",
                ))
            }
        }
        (SharePermission::FreeBusy, "REPORT") => {
            let free_busy = matches!(
                almanac_dav::reports::parse_report(body, almanac_dav::xml::XmlLimits::default()),
                Ok(almanac_dav::reports::Report::FreeBusy(_))
            );
            if member.is_empty() && free_busy {
                Ok(())
            } else {
                Err(DavError::new(
                    403,
                    "A free-busy link answers only free-busy-query reports.",
                ))
            }
        }
        (SharePermission::FreeBusy, _) => Err(DavError::new(
            403,
            "A free-busy link shows only busy times.",
        )),
        (_, "GET" | "HEAD" | "REPORT") => Ok(()),
        (SharePermission::Write, "PUT" | "DELETE")
            if !member.is_empty() && !member.contains('/') =>
        {
            Ok(())
        }
        (SharePermission::Write, _) => Err(DavError::new(
            403,
            "A share link can add, change and delete events, not change the calendar itself.",
        )),
        (SharePermission::Read, _) => Err(read_only()),
    }
}

/// Hrefs in a DAV answer name the owner's calendar and principal: the
/// visitor sees the share link's URL instead.
async fn rewrite_hrefs(
    response: Response,
    replacements: &[(&str, &str)],
    limit: usize,
) -> Response {
    let is_xml = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("xml"));
    if !is_xml {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit.max(64 << 20)).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    for (from, to) in replacements {
        text = text.replace(from, to);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_link_kind_allows_its_methods() {
        let none = HeaderMap::new();
        let mut depth0 = HeaderMap::new();
        depth0.insert("depth", "0".parse().unwrap());
        let put = Method::PUT;
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let report = Method::from_bytes(b"REPORT").unwrap();
        let mkcol = Method::from_bytes(b"MKCOL").unwrap();
        let read = SharePermission::Read;
        let write = SharePermission::Write;
        let busy = SharePermission::FreeBusy;
        assert!(allowed(read, &Method::GET, &none, b"", "a.ics").is_ok());
        assert!(allowed(read, &put, &none, b"", "a.ics").is_err());
        assert!(allowed(read, &Method::DELETE, &none, b"", "a.ics").is_err());
        assert!(allowed(write, &put, &none, b"", "a.ics").is_ok());
        assert!(
            allowed(write, &put, &none, b"", "").is_err(),
            "not the collection"
        );
        assert!(allowed(write, &mkcol, &none, b"", "sub/").is_err());
        assert!(allowed(busy, &Method::GET, &none, b"", "a.ics").is_err());
        assert!(
            allowed(busy, &propfind, &none, b"", "").is_err(),
            "no listing"
        );
        assert!(allowed(busy, &propfind, &depth0, b"", "").is_ok());
        let query = br#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter><!-- free-busy-query --></C:calendar-query>"#;
        assert!(
            allowed(busy, &report, &none, query, "").is_err(),
            "a comment does not make a free-busy query"
        );
        let free_busy = br#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>"#;
        assert!(allowed(busy, &report, &none, free_busy, "").is_ok());
    }
}
