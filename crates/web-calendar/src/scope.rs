//! Whose calendars a page shows and what the reader may do with them (the
//! owner, or a share link's visitor), and the one way the web calendar
//! writes an object.

use crate::occurrences::Detail;
use almanac_ical::Component;
use almanac_service::access_log::{AuthKind, ItemKind};
use almanac_service::guard::{log_change, log_event, Guard};
use almanac_service::objects::Writer;
use almanac_service::page::{self};
use almanac_service::scheduling::{may_schedule, Plan};
use almanac_service::session::Viewer;
use almanac_service::share_link;
use almanac_service::AppState;
use almanac_store::{Collection, NewItem, Origin, ShareLink, StoreError, User, WriteCondition};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono_tz::Tz;

/// Whose calendars a page shows and what the reader may do with them.
pub(crate) struct Scope {
    pub owner: User,
    /// The calendars on the page: all of the owner's, or the shared one.
    pub calendars: Vec<Collection>,
    /// The path the pages live under: `/calendar` or `/s/{token}`.
    pub base: String,
    pub detail: Detail,
    pub can_write: bool,
    pub link: Option<ShareLink>,
    /// The site's address, for links in the invitations a write sends.
    pub site: String,
}

impl Scope {
    /// The logged-in owner's calendars.
    pub(crate) async fn owner(
        state: &AppState,
        viewer: &Viewer,
        here: &str,
    ) -> Result<Self, Response> {
        let guard = Guard::new(state, viewer);
        let user = guard.user(here)?.clone();
        let calendars = own_calendars(state, &user)
            .await
            .map_err(|e| guard.store_error(&e))?;
        Ok(Self {
            owner: user,
            calendars,
            base: "/calendar".to_owned(),
            detail: Detail::Full,
            can_write: true,
            link: None,
            site: site_address(state, viewer),
        })
    }

    /// Where new events (or tasks) go unless the person picks another: the
    /// oldest calendar that takes them, so adding a calendar never moves
    /// the default.
    pub(crate) fn default_calendar(&self, component: &str) -> Option<&Collection> {
        self.calendars
            .iter()
            .filter(|c| c.accepts(component))
            .min_by_key(|c| (c.created_at, c.id))
    }

    pub(crate) fn calendar(&self, path: &str) -> Option<&Collection> {
        self.calendars.iter().find(|c| c.path == path)
    }

    /// One of the scope's calendars, or the 404 page.
    pub(crate) fn find(
        &self,
        state: &AppState,
        viewer: &Viewer,
        path: &str,
    ) -> Result<Collection, Response> {
        self.calendar(path)
            .cloned()
            .ok_or_else(|| page::not_found_page(&state.config.site, viewer))
    }

    /// Where this scope's writes come from, for the change log.
    pub(crate) fn origin(&self) -> Origin {
        if self.is_visitor() {
            Origin::Share
        } else {
            Origin::Web
        }
    }

    pub(crate) fn is_visitor(&self) -> bool {
        self.link.is_some()
    }

    /// The access-log fields: a visitor's request names the link's owner
    /// (never as its user); `changed` is the kind of item a write changed.
    /// Share pages send no Referer onwards (their address holds the token).
    pub(crate) fn log(
        &self,
        mut response: Response,
        viewer: &Viewer,
        changed: Option<ItemKind>,
    ) -> Response {
        if self.is_visitor() {
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                header::HeaderValue::from_static("no-referrer"),
            );
            share_link::visit_log(response, &self.owner.name, changed)
        } else if let Some(item) = changed {
            log_change(
                response,
                viewer.name(),
                AuthKind::Session,
                "web_write",
                item,
            )
        } else {
            log_event(response, viewer.name(), AuthKind::Session, None)
        }
    }
}

/// The address links in mails start with: the one the page came in on.
pub(crate) fn site_address(state: &AppState, viewer: &Viewer) -> String {
    if viewer.base_url.is_empty() {
        state.config.site.base_url.trim_end_matches('/').to_owned()
    } else {
        viewer.base_url.trim_end_matches('/').to_owned()
    }
}

async fn own_calendars(state: &AppState, user: &User) -> Result<Vec<Collection>, StoreError> {
    Ok(state
        .store
        .child_collections(user.id, "")
        .await?
        .into_iter()
        .filter(Collection::is_calendar)
        .collect())
}

/// A calendar's colour, only when it is a plain hex colour (it goes into
/// an SVG attribute).
pub(crate) fn safe_color(color: Option<&str>) -> String {
    let color = color.unwrap_or_default();
    let hex = color.strip_prefix('#').unwrap_or_default();
    if matches!(hex.len(), 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        color[..7].to_owned()
    } else {
        "#1f5fbf".to_owned()
    }
}

/// The reader's time zone: `?tz=`, else the `almanac_tz` cookie (set by a
/// small script or the zone form), else UTC.
pub(crate) fn reader_zone(headers: &HeaderMap, asked: &str) -> Tz {
    if let Some(zone) = almanac_ical::timezone::named_zone(asked) {
        return zone;
    }
    almanac_service::session::cookie(headers, "almanac_tz")
        .map(|v| v.replace("%2F", "/"))
        .and_then(|name| almanac_ical::timezone::named_zone(&name))
        .unwrap_or(Tz::UTC)
}

pub(crate) fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Validates and writes a calendar object as the scope's writer (web or
/// share), exactly as a sync client's PUT would be checked, and sends what
/// it means to its attendees as a PUT would (RFC 6638; not for a share
/// link's visitor); its new ETag.
pub(crate) async fn store_object(
    state: &AppState,
    scope: &Scope,
    calendar: &Collection,
    name: &str,
    object: &Component,
    condition: WriteCondition,
) -> Result<String, String> {
    let owner = share_link::acting_owner(&scope.owner);
    let writer = Writer {
        state,
        owner: &owner,
        origin: scope.origin(),
    };
    // Every TZID the object uses gets its VTIMEZONE (RFC 5545 §3.6.5).
    let mut object = object.clone();
    almanac_ical::zone_definition::add_missing(&mut object);
    let mut text = object.to_ics();
    writer
        .check(calendar, None, text.as_bytes())
        .map_err(|e| e.message)?;
    let mut plan = plan_write(state, scope, (calendar, name), text.as_bytes()).await?;
    if let Some(rewritten) = plan.as_mut().and_then(|p| p.rewritten.take()) {
        text = rewritten;
    }
    let index = writer
        .check(calendar, None, text.as_bytes())
        .map_err(|e| e.message)?;
    let item = NewItem {
        content_type: "text/calendar; charset=utf-8",
        data: text.as_bytes(),
        calendar: Some(index),
        origin: scope.origin(),
    };
    let etag = writer
        .write(calendar, name, &item, &condition)
        .await
        .map(|outcome| outcome.etag)
        .map_err(|e| e.message)?;
    if let Some(plan) = plan {
        plan.run(state, &scope.owner, (calendar, name), &scope.site)
            .await;
    }
    Ok(etag)
}

/// What writing `data` over `calendar/name` sends, for the owner's writes.
async fn plan_write(
    state: &AppState,
    scope: &Scope,
    (calendar, name): (&Collection, &str),
    data: &[u8],
) -> Result<Option<Plan>, String> {
    if scope.is_visitor() {
        return Ok(None);
    }
    let old = stored_scheduling_object(state, calendar, name)
        .await
        .map_err(|e| e.to_string())?;
    if old.is_none() && !may_schedule(data) {
        return Ok(None);
    }
    Plan::for_write(state, &scope.owner, (calendar, name), old.as_deref(), data)
        .await
        .map(Some)
        .map_err(|e| e.message)
}

/// The stored bytes at `calendar/name`, when they may be a scheduling object.
async fn stored_scheduling_object(
    state: &AppState,
    calendar: &Collection,
    name: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(state
        .store
        .item(calendar.id, name)
        .await?
        .map(|i| i.data)
        .filter(|d| may_schedule(d)))
}

/// Deletes `calendar/name` if `condition` holds; the owner's deletion of a
/// scheduling object cancels it for its attendees (or declines it, as an
/// attendee), as a DELETE would.
pub(crate) async fn delete_object(
    state: &AppState,
    scope: &Scope,
    (calendar, name): (&Collection, &str),
    condition: &WriteCondition,
) -> Result<(), StoreError> {
    let plan = if scope.is_visitor() {
        None
    } else {
        stored_scheduling_object(state, calendar, name)
            .await?
            .map(|old| Plan::for_delete(&scope.owner, &old))
    };
    state
        .store
        .delete_item(calendar.id, name, condition, scope.origin())
        .await?;
    if let Some(plan) = plan {
        plan.run(state, &scope.owner, (calendar, name), &scope.site)
            .await;
    }
    Ok(())
}

pub(crate) fn write_refused(state: &AppState, viewer: &Viewer, message: &str) -> Response {
    page::error_page(
        &state.config.site,
        viewer,
        StatusCode::CONFLICT,
        "The change could not be saved",
        &format!("{message} Go back, reload the page and try again."),
    )
}
