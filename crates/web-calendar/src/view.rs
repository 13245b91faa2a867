//! The month, week and agenda views.

use crate::occurrences::{self, Detail, Entry};
use crate::scope::{reader_zone, safe_color, urlencode, Scope};
use almanac_service::config::Site;
use almanac_service::guard::Guard;
use almanac_service::page::render;
use almanac_service::session::{self, Viewer};
use almanac_service::AppState;
use almanac_store::Collection;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate};
use std::fmt::Write as _;

#[derive(Default)]
pub struct ViewQuery {
    view: String,
    date: String,
    tz: String,
    /// Calendars to show (paths, comma-separated); empty: all.
    show: String,
    /// What the form that led here did: "saved" or "deleted".
    done: String,
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
                "done" => query.done = value,
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

    /// What the form that led here did, said once above the calendar.
    fn notice(&self) -> &'static str {
        match self.done.as_str() {
            "saved" => "Saved.",
            "deleted" => "Deleted.",
            "added" => "Added: the event is below.",
            _ => "",
        }
    }

    /// The scope's calendars this query hides (none when it names none).
    fn hidden<'s>(&self, scope: &'s Scope) -> Vec<&'s str> {
        if self.show.is_empty() {
            return Vec::new();
        }
        scope
            .calendars
            .iter()
            .map(|c| c.path.as_str())
            .filter(|p| !self.show.split(',').any(|s| s == *p))
            .collect()
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
        "day" => (date, 1, date - Duration::days(1), date + Duration::days(1)),
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
        "day" => first.format("%A %-d %B %Y").to_string(),
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
    /// What the last form did, said once above the calendar.
    notice: &'static str,
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
    /// Whose calendar a share link's visitor sees.
    owner: &'a str,
    busy_only: bool,
    ics_href: String,
    zones: &'static [&'static str],
    /// For the time grid (`grid.js`): the calendars shown, and the reader
    /// zone's offset from UTC now (for the now-line).
    show: String,
    offset: String,
    /// Where events made on the grid go.
    default_calendar: String,
}

/// Zone names for the zone form (all of the IANA database).
pub(crate) fn zone_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect())
}

/// Cookies that remember the owner's view and hidden calendars.
const VIEW_COOKIE: &str = "almanac_view";
const HIDDEN_COOKIE: &str = "almanac_hidden";

pub async fn view(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    // The "Show these" form says so: its choice is remembered, even "all".
    let chosen = pairs.iter().any(|(k, v)| k == "chosen" && v == "1");
    let mut query = ViewQuery::from_pairs(pairs);
    let mut remember = Vec::new();
    if query.view.is_empty() {
        query.view = session::cookie(&headers, VIEW_COOKIE).unwrap_or_default();
    } else if matches!(query.view.as_str(), "month" | "week" | "day" | "agenda") {
        remember.push((VIEW_COOKIE, query.view.clone()));
    }
    if chosen {
        let hidden = query.hidden(&scope).join(",");
        remember.push((HIDDEN_COOKIE, hidden));
    } else if query.show.is_empty() {
        let hidden = session::cookie(&headers, HIDDEN_COOKIE)
            .map(|v| {
                percent_encoding::percent_decode_str(&v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        let hidden: Vec<&str> = hidden.split(',').filter(|p| !p.is_empty()).collect();
        if !hidden.is_empty() {
            query.show = scope
                .calendars
                .iter()
                .map(|c| c.path.as_str())
                .filter(|p| !hidden.contains(p))
                .collect::<Vec<_>>()
                .join(",");
        }
    }
    let mut page = show_view(&state, &viewer, &headers, &scope, &query).await?;
    for (name, value) in remember {
        let cookie = (name, urlencode(&value));
        let cookie = session::scoped_cookie(
            &viewer,
            (cookie.0, &cookie.1),
            "/calendar",
            31_536_000,
            "Lax",
        );
        page.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(page)
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
    let view = ["week", "day", "agenda"]
        .into_iter()
        .find(|v| *v == query.view)
        .unwrap_or("month");
    let hidden = query.hidden(scope);
    let shown: Vec<Collection> = scope
        .calendars
        .iter()
        .filter(|c| !hidden.contains(&c.path.as_str()))
        .cloned()
        .collect();
    let (first, days, prev, next) = period(view, date);
    let last = first + Duration::days(days);
    let entries = occurrences::entries_on_days(
        &state.store,
        &shown,
        zone,
        (first, last),
        scope.detail,
        state.config.limits.max_instances,
    )
    .await
    .map_err(|e| guard.store_error(&e))?;
    let tasks = due_tasks(state, scope, &shown, (first, last))
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
                (&entries, &tasks),
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
            notice: query.notice(),
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
            owner: &scope.owner.name,
            busy_only: scope.detail == Detail::BusyOnly,
            ics_href: if scope.is_visitor() {
                format!("{}/calendar.ics", scope.base)
            } else {
                String::new()
            },
            zones: zone_names(),
            show: query.show.clone(),
            offset: chrono::Utc::now()
                .with_timezone(&zone)
                .format("%:z")
                .to_string(),
            default_calendar: default_event_calendar(scope),
        },
    );
    Ok(scope.log(page, viewer, None))
}

fn default_event_calendar(scope: &Scope) -> String {
    scope
        .default_calendar("VEVENT")
        .map(|c| c.path.clone())
        .unwrap_or_default()
}

fn day_view(
    scope: &Scope,
    (day, today): (NaiveDate, NaiveDate),
    in_range: bool,
    (entries, tasks): (&[Entry], &[DueTask]),
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
            .chain(
                tasks
                    .iter()
                    .filter(|t| t.due == Some(day))
                    .map(|t| EntryView {
                        time: "Task due".to_owned(),
                        start: "Task".to_owned(),
                        title: t.title.clone(),
                        location: String::new(),
                        href: "/calendar/tasks".to_owned(),
                        color: t.color.clone(),
                        recurring: false,
                    }),
            )
            .collect(),
    }
}

/// The owner's open tasks due from `first` to before `last`, to show on
/// their day (a share link's visitors see events only).
async fn due_tasks(
    state: &AppState,
    scope: &Scope,
    shown: &[Collection],
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<DueTask>, almanac_store::StoreError> {
    if scope.is_visitor() {
        return Ok(Vec::new());
    }
    let colors: std::collections::HashMap<&str, String> = shown
        .iter()
        .map(|c| (c.path.as_str(), safe_color(c.color.as_deref())))
        .collect();
    Ok(occurrences::tasks(&state.store, shown)
        .await?
        .into_iter()
        .filter(|t| !t.done && t.due.is_some_and(|d| d >= first && d < last))
        .map(|t| DueTask {
            color: colors
                .get(t.calendar.as_str())
                .cloned()
                .unwrap_or_else(|| safe_color(None)),
            title: t.title,
            due: t.due,
        })
        .collect())
}

/// An open task with a due date, shown on its day.
pub(crate) struct DueTask {
    title: String,
    due: Option<NaiveDate>,
    color: String,
}
