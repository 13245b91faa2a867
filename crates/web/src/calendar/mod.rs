//! The web calendar: month, week and agenda views, the event and task
//! forms, and the same pages for visitors of a share link. Everything is
//! read from and written to the same calendar objects the sync clients use.
//!
//! - `occurrences`: what a range of days holds, in the reader's zone.
//! - `editor`: forms to iCalendar (series, one occurrence, tasks).
//! - `manage`: calendars (create, colour, delete), import and export.
//! - `share`: share links and what a link gives its visitor.

mod editor;
mod manage;
mod occurrences;
pub(crate) mod share;
mod tasks;

pub use manage::{
    calendars_page, create_calendar, export_calendar, import_calendar, update_calendar,
};
pub use tasks::{create_task, task_action, tasks_page};

use crate::access_log::AuthKind;
use crate::account::{log_event, redirect, Guard};
use crate::auth::Principal;
use crate::config::Site;
use crate::dav::content::{check_calendar_object, write_item};
use crate::dav::DavRequest;
use crate::pages::{self, render};
use crate::session::Viewer;
use crate::AppState;
use almanac_ical::Component;
use almanac_store::{Collection, NewItem, Origin, ShareLink, StoreError, User, WriteCondition};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use editor::EventForm;
use occurrences::{Detail, Entry};
use serde::Deserialize;
use std::fmt::Write as _;

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
        })
    }

    fn calendar(&self, path: &str) -> Option<&Collection> {
        self.calendars.iter().find(|c| c.path == path)
    }

    /// One of the scope's calendars, or the 404 page.
    fn find(&self, state: &AppState, viewer: &Viewer, path: &str) -> Result<Collection, Response> {
        self.calendar(path)
            .cloned()
            .ok_or_else(|| pages::not_found_page(&state.config.site, viewer))
    }

    /// Where this scope's writes come from, for the change log.
    fn origin(&self) -> Origin {
        if self.is_visitor() {
            Origin::Share
        } else {
            Origin::Web
        }
    }

    fn is_visitor(&self) -> bool {
        self.link.is_some()
    }

    /// The access-log fields: visitors are counted under the owner. Share
    /// pages send no Referer onwards (their address holds the token).
    fn log(
        &self,
        mut response: Response,
        viewer: &Viewer,
        event: Option<&'static str>,
    ) -> Response {
        if self.is_visitor() {
            response.headers_mut().insert(
                header::REFERRER_POLICY,
                header::HeaderValue::from_static("no-referrer"),
            );
            log_event(
                response,
                &self.owner.name,
                AuthKind::Ticket,
                event.or(Some("share_visit")),
            )
        } else {
            log_event(response, viewer.name(), AuthKind::Session, event)
        }
    }
}

pub(crate) async fn own_calendars(
    state: &AppState,
    user: &User,
) -> Result<Vec<Collection>, StoreError> {
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
    crate::session::cookie(headers, "almanac_tz")
        .map(|v| v.replace("%2F", "/"))
        .and_then(|name| almanac_ical::timezone::named_zone(&name))
        .unwrap_or(Tz::UTC)
}

#[derive(Default)]
pub struct ViewQuery {
    view: String,
    date: String,
    tz: String,
    /// Calendars to show (paths, comma-separated); empty: all.
    show: String,
}

impl ViewQuery {
    /// From the query string, where `show` may repeat (one checkbox each).
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut query = Self::default();
        let mut shown = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "view" => query.view = value,
                "date" => query.date = value,
                "tz" => query.tz = value,
                "show" => shown.extend(
                    value
                        .split(',')
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned),
                ),
                _ => {}
            }
        }
        query.show = shown.join(",");
        query
    }

    /// What navigation links carry over (shown calendars, zone).
    fn tail(&self) -> String {
        let mut tail = String::new();
        if !self.show.is_empty() {
            tail.push_str("&show=");
            tail.push_str(&urlencode(&self.show));
        }
        if !self.tz.is_empty() {
            tail.push_str("&tz=");
            tail.push_str(&urlencode(&self.tz));
        }
        tail
    }
}

/// The calendars in the side bar, ticked when shown.
fn choices(scope: &Scope, hidden: &[&str]) -> Vec<CalendarChoice> {
    scope
        .calendars
        .iter()
        .map(|c| CalendarChoice {
            path: c.path.clone(),
            name: c.displayname.clone().unwrap_or_else(|| c.path.clone()),
            color: safe_color(c.color.as_deref()),
            shown: !hidden.contains(&c.path.as_str()),
        })
        .collect()
}

/// The first day shown, how many days, and where Earlier and Later go.
fn period(view: &str, date: NaiveDate) -> (NaiveDate, i64, NaiveDate, NaiveDate) {
    match view {
        "week" => {
            let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
            (
                monday,
                7,
                date - Duration::days(7),
                date + Duration::days(7),
            )
        }
        "agenda" => (
            date,
            30,
            date - Duration::days(30),
            date + Duration::days(30),
        ),
        _ => {
            let month = date.with_day(1).unwrap_or(date);
            let start = month - Duration::days(i64::from(month.weekday().num_days_from_monday()));
            let prev = (month - Duration::days(1)).with_day(1).unwrap_or(month);
            let next = (month + Duration::days(32)).with_day(1).unwrap_or(month);
            (start, 42, prev, next)
        }
    }
}

fn heading(scope: &Scope, view: &str, date: NaiveDate, first: NaiveDate) -> String {
    let whose = if scope.is_visitor() {
        scope
            .calendars
            .first()
            .map(|c| c.displayname.clone().unwrap_or_else(|| c.path.clone()))
            .unwrap_or_default()
    } else {
        "Your calendar".to_owned()
    };
    let when = match view {
        "month" => date.format("%B %Y").to_string(),
        "week" => format!("Week of {}", first.format("%-d %B %Y")),
        _ => format!("From {}", first.format("%-d %B %Y")),
    };
    format!("{whose}: {when}")
}

#[derive(Clone)]
struct EntryView {
    time: String,
    /// The start alone (or "All day"), for the month grid.
    start: String,
    title: String,
    location: String,
    href: String,
    color: String,
    recurring: bool,
}

#[derive(Clone)]
struct DayView {
    label: String,
    number: u32,
    in_range: bool,
    today: bool,
    new_href: String,
    entries: Vec<EntryView>,
}

struct CalendarChoice {
    path: String,
    name: String,
    color: String,
    shown: bool,
}

#[derive(Template)]
#[template(path = "calendar/view.html")]
struct ViewPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    heading: String,
    base: &'a str,
    view: &'a str,
    date: String,
    prev: String,
    next: String,
    today: String,
    query_tail: String,
    zone: String,
    weeks: Vec<Vec<DayView>>,
    days: Vec<DayView>,
    calendars: Vec<CalendarChoice>,
    can_write: bool,
    visitor: bool,
    busy_only: bool,
    ics_href: String,
    zones: &'static [&'static str],
}

/// Zone names for the zone form (all of the IANA database).
fn zone_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect())
}

pub async fn view(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    show_view(
        &state,
        &viewer,
        &headers,
        &scope,
        &ViewQuery::from_pairs(pairs),
    )
    .await
}

pub(crate) async fn show_view(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    scope: &Scope,
    query: &ViewQuery,
) -> Result<Response, Response> {
    let guard = Guard::new(state, viewer);
    let zone = reader_zone(headers, &query.tz);
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d").unwrap_or(today);
    let view = match query.view.as_str() {
        "week" => "week",
        "agenda" => "agenda",
        _ => "month",
    };
    let hidden: Vec<&str> = if query.show.is_empty() {
        Vec::new()
    } else {
        scope
            .calendars
            .iter()
            .map(|c| c.path.as_str())
            .filter(|p| !query.show.split(',').any(|s| s == *p))
            .collect()
    };
    let shown: Vec<Collection> = scope
        .calendars
        .iter()
        .filter(|c| !hidden.contains(&c.path.as_str()))
        .cloned()
        .collect();
    let (first, days, prev, next) = period(view, date);
    let midnight = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(0, |t| t.timestamp())
    };
    let last = first + Duration::days(days);
    let entries = occurrences::entries(
        &state.store,
        &shown,
        zone,
        (midnight(first), midnight(last)),
        scope.detail,
        state.config.limits.max_instances,
    )
    .await
    .map_err(|e| guard.store_error(&e))?;
    let query_tail = query.tail();
    let mut day_views: Vec<DayView> = (0..days)
        .map(|n| {
            let day = first + Duration::days(n);
            day_view(
                scope,
                (day, today),
                view != "month" || day.month() == date.month(),
                &entries,
                &query_tail,
            )
        })
        .collect();
    if view == "agenda" {
        day_views.retain(|d| !d.entries.is_empty());
    }
    let weeks = if view == "month" {
        day_views.chunks(7).map(<[DayView]>::to_vec).collect()
    } else {
        Vec::new()
    };
    let page = render(
        StatusCode::OK,
        &ViewPage {
            site: &state.config.site,
            section: "calendar",
            viewer,
            heading: heading(scope, view, date, first),
            base: &scope.base,
            view,
            date: date.format("%Y-%m-%d").to_string(),
            prev: prev.format("%Y-%m-%d").to_string(),
            next: next.format("%Y-%m-%d").to_string(),
            today: today.format("%Y-%m-%d").to_string(),
            query_tail,
            zone: zone.name().to_owned(),
            weeks,
            days: if view == "month" {
                Vec::new()
            } else {
                day_views
            },
            calendars: choices(scope, &hidden),
            can_write: scope.can_write,
            visitor: scope.is_visitor(),
            busy_only: scope.detail == Detail::BusyOnly,
            ics_href: if scope.is_visitor() {
                format!("{}/calendar.ics", scope.base)
            } else {
                String::new()
            },
            zones: zone_names(),
        },
    );
    Ok(scope.log(page, viewer, None))
}

fn day_view(
    scope: &Scope,
    (day, today): (NaiveDate, NaiveDate),
    in_range: bool,
    entries: &[Entry],
    tail: &str,
) -> DayView {
    let date = day.format("%Y-%m-%d").to_string();
    DayView {
        label: day.format("%A %-d %B").to_string(),
        number: day.day(),
        in_range,
        today: day == today,
        new_href: if scope.can_write {
            format!("{}/new?date={date}{tail}", scope.base)
        } else {
            String::new()
        },
        entries: entries
            .iter()
            .filter(|e| e.touches(day))
            .map(|e| EntryView {
                time: e.time_text(),
                start: if e.all_day {
                    "All day".to_owned()
                } else {
                    e.start.format("%H:%M").to_string()
                },
                title: e.title.clone(),
                location: e.location.clone(),
                href: if scope.can_write && !e.hidden {
                    let mut href = format!(
                        "{}/events/{}/{}",
                        scope.base,
                        urlencode(&e.calendar),
                        urlencode(&e.item)
                    );
                    if let Some(rid) = e.recurrence_id {
                        let _ = write!(href, "?occurrence={rid}{tail}");
                    } else if !tail.is_empty() {
                        let _ = write!(href, "?{}", &tail[1..]);
                    }
                    href
                } else {
                    String::new()
                },
                color: safe_color(Some(&e.color)),
                recurring: e.recurring,
            })
            .collect(),
    }
}

pub(crate) fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Template)]
#[template(path = "calendar/event.html")]
struct EventPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    base: &'a str,
    errors: Vec<&'static str>,
    form: EventForm,
    action: String,
    existing: bool,
    recurring: bool,
    occurrence: String,
    calendars: Vec<(String, String)>,
    zones: &'static [&'static str],
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    date: String,
    calendar: String,
    tz: String,
}

pub async fn new_event_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NewQuery>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/new").await?;
    Ok(show_new_form(&state, &viewer, &headers, &scope, &query))
}

pub(crate) fn show_new_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    scope: &Scope,
    query: &NewQuery,
) -> Response {
    let zone = reader_zone(headers, &query.tz);
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d")
        .unwrap_or_else(|_| chrono::Utc::now().with_timezone(&zone).date_naive());
    let form = EventForm {
        calendar: if query.calendar.is_empty() {
            scope
                .calendars
                .first()
                .map(|c| c.path.clone())
                .unwrap_or_default()
        } else {
            query.calendar.clone()
        },
        start_date: date.format("%Y-%m-%d").to_string(),
        end_date: date.format("%Y-%m-%d").to_string(),
        start_time: "09:00".to_owned(),
        end_time: "10:00".to_owned(),
        tz: zone.name().to_owned(),
        repeat: "none".to_owned(),
        ends: "never".to_owned(),
        view_tz: query.tz.clone(),
        ..EventForm::default()
    };
    event_page(state, viewer, scope, StatusCode::OK, Vec::new(), form, None)
}

fn event_page(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    status: StatusCode,
    errors: Vec<&'static str>,
    form: EventForm,
    existing: Option<(&str, &str, bool, Option<i64>)>,
) -> Response {
    let (action, recurring, occurrence) = match existing {
        Some((calendar, item, recurring, occurrence)) => (
            format!(
                "{}/events/{}/{}",
                scope.base,
                urlencode(calendar),
                urlencode(item)
            ),
            recurring,
            occurrence.map(|o| o.to_string()).unwrap_or_default(),
        ),
        None => (format!("{}/events", scope.base), false, String::new()),
    };
    let page = render(
        status,
        &EventPage {
            site: &state.config.site,
            section: "calendar",
            viewer,
            base: &scope.base,
            errors,
            form,
            action,
            existing: existing.is_some(),
            recurring,
            occurrence,
            calendars: scope
                .calendars
                .iter()
                .filter(|c| c.accepts("VEVENT"))
                .map(|c| {
                    (
                        c.path.clone(),
                        c.displayname.clone().unwrap_or_else(|| c.path.clone()),
                    )
                })
                .collect(),
            zones: zone_names(),
        },
    );
    scope.log(page, viewer, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OccurrenceQuery {
    occurrence: String,
    tz: String,
}

pub async fn edit_event_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((calendar, item)): Path<(String, String)>,
    Query(query): Query<OccurrenceQuery>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    show_edit_form(
        &state,
        &viewer,
        &headers,
        &scope,
        (&calendar, &item),
        &query,
    )
    .await
}

/// Reads an event the scope may edit: the calendar, the item's text
/// parsed, and its ETag (for a safe write back).
async fn load_event(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    (calendar, item): (&str, &str),
) -> Result<(Collection, Component, String), Response> {
    let guard = Guard::new(state, viewer);
    let not_found = || pages::not_found_page(&state.config.site, viewer);
    let collection = scope.find(state, viewer, calendar)?;
    let stored = state
        .store
        .item(collection.id, item)
        .await
        .map_err(|e| guard.store_error(&e))?
        .ok_or_else(not_found)?;
    let parsed = std::str::from_utf8(&stored.data)
        .ok()
        .and_then(|t| almanac_ical::parse(t, &almanac_ical::ParseLimits::default()).ok())
        .ok_or_else(not_found)?;
    if scope.detail != Detail::Full && parsed.components.iter().any(occurrences::is_private) {
        // Share-link visitors never see (nor overwrite) private events.
        return Err(not_found());
    }
    Ok((collection, parsed, stored.meta.etag))
}

pub(crate) async fn show_edit_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    scope: &Scope,
    (calendar, item): (&str, &str),
    query: &OccurrenceQuery,
) -> Result<Response, Response> {
    if !scope.can_write {
        return Err(pages::not_found_page(&state.config.site, viewer));
    }
    let (_, parsed, _) = load_event(state, viewer, scope, (calendar, item)).await?;
    let zone = reader_zone(headers, &query.tz);
    let occurrence = query.occurrence.parse::<i64>().ok();
    let ctx = almanac_ical::EvalContext {
        floating_tz: Some(zone),
        max_instances: state.config.limits.max_instances,
    };
    let instances = almanac_ical::instances(&parsed, None, &ctx);
    let instance = instances
        .iter()
        .find(|i| occurrence.is_none() || i.recurrence_id == occurrence)
        .or_else(|| instances.first())
        .copied();
    let Some(instance) = instance else {
        return Err(pages::not_found_page(&state.config.site, viewer));
    };
    let component = &parsed.components[instance.component_index];
    let at = |t: i64| {
        zone.timestamp_opt(t, 0)
            .single()
            .unwrap_or_else(|| chrono::Utc::now().with_timezone(&zone))
    };
    let all_day = component
        .property("DTSTART")
        .is_some_and(|p| p.param("VALUE") == Some("DATE") || p.value.len() == 8);
    let mut form = editor::form_for(
        component,
        at(instance.start),
        at(instance.end.max(instance.start)),
        all_day,
    );
    calendar.clone_into(&mut form.calendar);
    form.view_tz.clone_from(&query.tz);
    let recurring = instance.recurrence_id.is_some();
    if recurring {
        // The master's rule shows in the form for "the whole series".
        if let Some(master) = parsed
            .components
            .iter()
            .find(|c| c.is("VEVENT") && c.property("RECURRENCE-ID").is_none())
        {
            let series = editor::form_for(master, at(instance.start), at(instance.end), all_day);
            form.repeat = series.repeat;
            form.interval = series.interval;
            form.ends = series.ends;
            form.until = series.until;
            form.count = series.count;
            form.day_mo = series.day_mo;
            form.day_tu = series.day_tu;
            form.day_we = series.day_we;
            form.day_th = series.day_th;
            form.day_fr = series.day_fr;
            form.day_sa = series.day_sa;
            form.day_su = series.day_su;
        }
        "this".clone_into(&mut form.scope);
    }
    if form.repeat.is_empty() {
        "none".clone_into(&mut form.repeat);
    }
    Ok(event_page(
        state,
        viewer,
        scope,
        StatusCode::OK,
        Vec::new(),
        form,
        Some((calendar, item, recurring, instance.recurrence_id)),
    ))
}

pub async fn create_event(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    save_new_event(&state, &viewer, &scope, form).await
}

pub(crate) async fn save_new_event(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    form: EventForm,
) -> Result<Response, Response> {
    let guard = Guard::new(state, viewer);
    guard.change(&form.csrf).await?;
    if !scope.can_write {
        return Err(pages::not_found_page(&state.config.site, viewer));
    }
    let Some(calendar) = scope.calendar(&form.calendar).cloned() else {
        return Ok(event_page(
            state,
            viewer,
            scope,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["Choose one of your calendars."],
            form,
            None,
        ));
    };
    let data = match form.check() {
        Ok(data) => data,
        Err(errors) => {
            return Ok(event_page(
                state,
                viewer,
                scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                form,
                None,
            ));
        }
    };
    let uid = editor::new_uid();
    let object = editor::new_object(editor::new_event(&uid, &data));
    let name = format!("{}.ics", uid.trim_end_matches("@almanac"));
    match store_object(
        state,
        scope,
        &calendar,
        &name,
        &object,
        WriteCondition::IfAbsent,
    )
    .await
    {
        Ok(()) => {}
        Err(message) => return Ok(write_refused(state, viewer, &message)),
    }
    let back = redirect(&back_to_week(scope, &form));
    Ok(scope.log(back, viewer, Some("web_write")))
}

/// Validates and writes a calendar object as the scope's writer (web or
/// share), exactly as a sync client's PUT would be checked.
async fn store_object(
    state: &AppState,
    scope: &Scope,
    calendar: &Collection,
    name: &str,
    object: &Component,
    condition: WriteCondition,
) -> Result<(), String> {
    let request = DavRequest::on_behalf(state, &principal(&scope.owner), scope.origin());
    // Every TZID the object uses gets its VTIMEZONE (RFC 5545 §3.6.5).
    let mut object = object.clone();
    almanac_ical::zone_definition::add_missing(&mut object);
    let text = object.to_ics();
    let index =
        check_calendar_object(&request, calendar, text.as_bytes()).map_err(|e| e.message)?;
    let item = NewItem {
        content_type: "text/calendar; charset=utf-8",
        data: text.as_bytes(),
        calendar: Some(index),
        origin: scope.origin(),
    };
    write_item(&request, calendar, name, &item, &condition)
        .await
        .map(|_| ())
        .map_err(|e| e.message)
}

/// The week of the event, in the zone the reader was viewing.
fn back_to_week(scope: &Scope, form: &EventForm) -> String {
    let mut url = format!(
        "{}?view=week&date={}",
        scope.base,
        urlencode(&form.start_date)
    );
    if !form.view_tz.is_empty() {
        let _ = write!(url, "&tz={}", urlencode(&form.view_tz));
    }
    url
}

fn principal(user: &User) -> Principal {
    Principal {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        is_admin: false,
    }
}

fn write_refused(state: &AppState, viewer: &Viewer, message: &str) -> Response {
    pages::error_page(
        &state.config.site,
        viewer,
        StatusCode::CONFLICT,
        "The change could not be saved",
        &format!("{message} Go back, reload the page and try again."),
    )
}

pub async fn update_event(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((calendar, item)): Path<(String, String)>,
    Form(form): Form<EventForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    save_existing_event(&state, &viewer, &headers, &scope, (&calendar, &item), form).await
}

pub(crate) async fn save_existing_event(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    scope: &Scope,
    (calendar, item): (&str, &str),
    form: EventForm,
) -> Result<Response, Response> {
    let guard = Guard::new(state, viewer);
    guard.change(&form.csrf).await?;
    if !scope.can_write {
        return Err(pages::not_found_page(&state.config.site, viewer));
    }
    let (collection, mut parsed, etag) = load_event(state, viewer, scope, (calendar, item)).await?;
    // The zone the occurrence was picked in: an all-day occurrence's date
    // depends on it.
    let zone = reader_zone(headers, &form.view_tz);
    let occurrence = form.occurrence.parse::<i64>().ok();
    let one = form.scope == "this" && occurrence.is_some();
    let back = redirect(&back_to_week(scope, &form));
    if form.action == "delete" {
        if one {
            editor::delete_occurrence(&mut parsed, occurrence.unwrap_or_default(), zone);
        } else {
            state
                .store
                .delete_item(
                    collection.id,
                    item,
                    &WriteCondition::IfMatch(etag),
                    scope.origin(),
                )
                .await
                .map_err(|e| match e {
                    StoreError::PreconditionFailed | StoreError::NotFound => {
                        write_refused(state, viewer, "The event changed meanwhile.")
                    }
                    other => guard.store_error(&other),
                })?;
            return Ok(scope.log(back, viewer, Some("web_write")));
        }
    } else {
        let data = match form.check() {
            Ok(data) => data,
            Err(errors) => {
                let existing = Some((calendar, item, occurrence.is_some(), occurrence));
                return Ok(event_page(
                    state,
                    viewer,
                    scope,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    errors,
                    form,
                    existing,
                ));
            }
        };
        let changed = if one {
            editor::edit_occurrence(&mut parsed, occurrence.unwrap_or_default(), &data, zone)
        } else {
            editor::edit_series(&mut parsed, &data)
        };
        if !changed {
            return Ok(write_refused(
                state,
                viewer,
                "This event cannot be edited here.",
            ));
        }
    }
    if let Err(message) = store_object(
        state,
        scope,
        &collection,
        item,
        &parsed,
        WriteCondition::IfMatch(etag),
    )
    .await
    {
        return Ok(write_refused(state, viewer, &message));
    }
    Ok(scope.log(back, viewer, Some("web_write")))
}
