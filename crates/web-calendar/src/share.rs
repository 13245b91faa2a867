//! Share links (tickets): the owner makes, lists, regenerates and revokes
//! them; a visitor with a link gets that one calendar on the web, as a
//! webcal subscription, and over CalDAV, with exactly the link's rights.
//!
//! A token is 256 random bits shown once; the database keeps its SHA-256.

use crate::events::{NewQuery, OccurrenceQuery};
use crate::occurrences::Detail;
use crate::scope::{reader_zone, urlencode, Scope};
use crate::view::ViewQuery;
use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::session::{self, Viewer};
use almanac_service::AppState;
use almanac_service::{share_link, token};
use almanac_store::SharePermission;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

struct LinkRow {
    id: i64,
    label: String,
    permission: &'static str,
    created: String,
    expires: String,
    expired: bool,
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
    /// What the last action did, said once.
    notice: &'static str,
    /// The new-link form: empty, or as it was sent when it comes back.
    draft: NewLinkForm,
}

/// What the share page shows besides the calendar's links.
#[derive(Default)]
struct Outcome {
    status: StatusCode,
    errors: Vec<&'static str>,
    /// (id, token) of a link just made or renewed, shown this once.
    fresh: Option<(i64, String)>,
    notice: &'static str,
    draft: NewLinkForm,
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
    outcome: Outcome,
) -> Result<Response, Response> {
    let Outcome {
        status,
        errors,
        fresh,
        notice,
        draft,
    } = outcome;
    let scope = Scope::owner(state, viewer, "/calendar/calendars").await?;
    let guard = Guard::new(state, viewer);
    let collection = scope.find(state, viewer, calendar)?;
    let stored = state
        .store
        .share_links(collection.id)
        .await
        .map_err(|e| guard.store_error(&e))?;
    // The addresses of a link just made or renewed, shown this once.
    let created = fresh.and_then(|(id, token)| {
        let link = stored.iter().find(|l| l.id == id)?;
        Some(addresses(viewer, &token, link.permission()))
    });
    let links = stored
        .into_iter()
        .map(|l| LinkRow {
            id: l.id,
            permission: permission_text(l.permission()),
            created: viewer.time_text(l.created_at),
            expires: l
                .expires_at
                .map_or_else(|| "never".to_owned(), |t| viewer.time_text(t)),
            expired: l.is_expired(),
            last_used: l
                .last_used_at
                .map_or_else(|| "not yet".to_owned(), |t| viewer.time_text(t)),
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
            notice,
            draft,
        },
    );
    // A page that shows a token must not be kept anywhere.
    page.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SharePageQuery {
    done: String,
}

pub async fn links_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
    Query(query): Query<SharePageQuery>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let notice = if query.done == "revoked" {
        "The link is revoked: its addresses no longer work."
    } else {
        ""
    };
    let fresh = session::cookie(&headers, NEW_LINK_COOKIE).and_then(|value| {
        let (id, token) = value.split_once('.')?;
        Some((id.parse().ok()?, token.to_owned()))
    });
    let shown_once = fresh.is_some();
    let outcome = Outcome {
        fresh,
        notice,
        ..Outcome::default()
    };
    let mut page = show(&state, &viewer, &calendar, outcome).await?;
    if shown_once {
        let cleared = new_link_cookie(&viewer, &calendar, "", 0);
        page.headers_mut().append(header::SET_COOKIE, cleared);
    }
    Ok(page)
}

/// Carries a new link's token from the form that made it to the page that
/// shows it once (so reloading that page makes no second link): HttpOnly,
/// for the share page alone, for two minutes at most.
const NEW_LINK_COOKIE: &str = "almanac_new_link";

fn new_link_cookie(
    viewer: &Viewer,
    calendar: &str,
    value: &str,
    max_age: i64,
) -> header::HeaderValue {
    let path = format!("/calendar/calendars/{}/share", urlencode(calendar));
    session::scoped_cookie(viewer, (NEW_LINK_COOKIE, value), &path, max_age, "Strict")
}

/// Back to the share page, where the new addresses are shown once.
fn show_new_link(viewer: &Viewer, calendar: &str, id: i64, token: &str) -> Response {
    let mut response = redirect(&format!(
        "/calendar/calendars/{}/share",
        urlencode(calendar)
    ));
    let cookie = new_link_cookie(viewer, calendar, &format!("{id}.{token}"), 120);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewLinkForm {
    csrf: String,
    permission: String,
    label: String,
    /// The last day the link works (YYYY-MM-DD, the owner's zone); empty:
    /// it never stops.
    expires_on: String,
}

/// The moment a link made to work through `day` (in `zone`) stops: the
/// midnight after it. None for a day that is past, unreadable, or more than
/// ten years ahead.
fn expiry_end(day: &str, zone: chrono_tz::Tz) -> Option<i64> {
    use chrono::TimeZone;
    let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    if day < today || day > today + chrono::Duration::days(3650) {
        return None;
    }
    let midnight = day.succ_opt()?.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp())
}

/// A link's three addresses, on the address the owner reached the site at.
fn addresses(viewer: &Viewer, token: &str, permission: SharePermission) -> NewLink {
    let base = viewer.base_url.as_str();
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
    headers: HeaderMap,
    Form(form): Form<NewLinkForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    let paused = guard.change_or_keep(&form.csrf).await?;
    let collection = scope.find(&state, &viewer, &calendar)?;
    if let Some(maintenance) = paused {
        let outcome = Outcome {
            errors: vec![maintenance::KEPT],
            draft: form,
            ..Outcome::default()
        };
        let page = show(&state, &viewer, &calendar, outcome).await?;
        return Ok(maintenance::kept(page, &maintenance));
    }
    let mut errors = Vec::new();
    let permission = SharePermission::parse(&form.permission);
    if permission.is_none() {
        errors.push("Choose what the link lets people do.");
    }
    let label = form.label.trim();
    if label.chars().count() > 100 || label.chars().any(char::is_control) {
        errors.push("The label may have at most 100 characters on one line.");
    }
    let expires_at = match form.expires_on.trim() {
        "" => None,
        day => {
            let zone = reader_zone(&headers, "");
            let end = expiry_end(day, zone);
            if end.is_none() {
                errors.push("Choose a last day from today to ten years ahead, or leave the date empty for a link that never ends.");
            }
            end
        }
    };
    let Some(permission) = permission.filter(|_| errors.is_empty()) else {
        let outcome = Outcome {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            draft: form,
            ..Outcome::default()
        };
        return show(&state, &viewer, &calendar, outcome).await;
    };
    let token = token::new_token();
    let id = state
        .store
        .create_share_link(
            collection.id,
            &token::token_hash(&token),
            permission,
            label,
            expires_at,
        )
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(show_new_link(&viewer, &calendar, id, &token))
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
    let not_found = || page::not_found_page(&state.config.site, &viewer);
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
                "/calendar/calendars/{}/share?done=revoked",
                urlencode(&calendar)
            )))
        }
        "regenerate" => {
            let links = state.store.share_links(collection.id).await.map_err(fail)?;
            let Some(link) = links.iter().find(|l| l.id == id) else {
                return Err(not_found());
            };
            if link.is_expired() {
                // A new address for a link that no longer works would not
                // work either: the owner makes a new link instead.
                let outcome = Outcome {
                    status: StatusCode::CONFLICT,
                    errors: vec!["This link has expired, so a new address would not work either. Make a new link below."],
                    ..Outcome::default()
                };
                return show(&state, &viewer, &calendar, outcome).await;
            }
            let token = token::new_token();
            state
                .store
                .regenerate_share_link(collection.id, id, &token::token_hash(&token))
                .await
                .map_err(fail)?;
            Ok(show_new_link(&viewer, &calendar, id, &token))
        }
        _ => Err(not_found()),
    }
}

impl Scope {
    /// What a share link opens, or the page that says it does not work.
    async fn shared(state: &AppState, viewer: &Viewer, token: &str) -> Result<Self, Response> {
        let guard = Guard::new(state, viewer);
        let Some(shared) = share_link::open(state, token)
            .await
            .map_err(|e| guard.store_error(&e))?
        else {
            return Err(page::error_page(
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
            site: crate::scope::site_address(state, viewer),
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
    crate::view::show_view(
        &state,
        &viewer,
        &headers,
        &scope,
        &ViewQuery::from_pairs(pairs),
    )
    .await
}

/// `/s/{token}/`: the same page as `/s/{token}`, as people type it.
pub async fn without_trailing_slash(Path(token): Path<String>, uri: Uri) -> Response {
    // Tokens are base64url; anything else is no link of ours.
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let query = uri.query().map_or(String::new(), |q| format!("?{q}"));
    let target = format!("/s/{token}{query}");
    (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, target)]).into_response()
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
        return Err(page::not_found_page(&state.config.site, &viewer));
    }
    Ok(crate::events::show_new_form(
        &state,
        &viewer,
        &headers,
        &scope,
        (&query, Vec::new()),
    ))
}

pub async fn visitor_create(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<crate::editor::EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    crate::events::save_new_event(&state, &viewer, &scope, form).await
}

pub async fn visitor_edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((token, calendar, item)): Path<(String, String, String)>,
    Query(query): Query<OccurrenceQuery>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    crate::events::show_edit_form(
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
    Form(form): Form<crate::editor::EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::shared(&state, &viewer, &token).await?;
    crate::events::save_existing_event(&state, &viewer, &headers, &scope, (&calendar, &item), form)
        .await
}

/// `/s/{token}/calendar.ics`: the webcal subscription (Outlook, Apple
/// Calendar, Google): private events as busy times; free-busy links only
/// busy times.
pub async fn visitor_ics(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let shared = match share_link::open(&state, &token).await {
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
    match almanac_service::objects::shared_calendar_file(
        &state.store,
        &shared.calendar,
        Some(busy_only),
    )
    .await
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
                            almanac_service::objects::sanitize_file_name(&name)
                        ),
                    ),
                ],
                body,
            )
                .into_response();
            share_link::visit_log(response, &shared.owner.name, None)
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
