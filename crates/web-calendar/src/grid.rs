//! The time grid's JSON: the occurrences of a range for the calendar
//! component (expanded by the server's own recurrence engine, times as wall
//! times in the reader's zone), and the changes a drag, a resize or the
//! event popover makes. Every change goes through the same checked write
//! path as the forms, with If-Match on the ETag the grid was given.

use crate::details::Person;
use crate::editor::{self, Timing};
use crate::occurrences::{self, Detail};
use crate::reschedule::reschedule;
use crate::scope::{reader_zone, safe_color, store_object, urlencode, Scope};
use almanac_ical::ParseLimits;
use almanac_service::access_log::ItemKind;
use almanac_service::guard::Guard;
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::{Collection, StoreError, WriteCondition};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The longest range one fetch may ask for (a month view shows 42 days).
const MAX_RANGE_DAYS: i64 = 62;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FeedQuery {
    start: String,
    end: String,
    tz: String,
    /// Calendars to show (paths, comma-separated); empty: all.
    show: String,
}

/// One event as the calendar component reads it (its JSON has these flags).
#[allow(clippy::struct_excessive_bools)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GridEvent {
    id: String,
    title: String,
    start: String,
    end: String,
    all_day: bool,
    background_color: String,
    /// EventCalendar moves and resizes an event unless both are false.
    editable: bool,
    start_editable: bool,
    duration_editable: bool,
    extended_props: Details,
}

/// What the popover shows and what a change sends back.
#[derive(Serialize)]
struct Details {
    kind: &'static str,
    calendar: String,
    calendar_name: String,
    item: String,
    etag: String,
    occurrence: Option<i64>,
    recurring: bool,
    time: String,
    location: String,
    description: String,
    people: Vec<Person>,
    reminders: Vec<String>,
    /// The event's form (or the task list), for Edit.
    edit: String,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// A day from the start of an ISO date or date-time.
fn day_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// `GET /calendar/feed`: the occurrences from `start` to before `end`.
pub async fn feed(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    let guard = Guard::new(&state, &viewer);
    let (Some(first), Some(last)) = (day_of(&query.start), day_of(&query.end)) else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "start and end must be dates (YYYY-MM-DD).",
        ));
    };
    if last <= first || (last - first).num_days() > MAX_RANGE_DAYS {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "Ask for a range of 1 to 62 days.",
        ));
    }
    let zone = reader_zone(&headers, &query.tz);
    let shown: Vec<Collection> = scope
        .calendars
        .iter()
        .filter(|c| query.show.is_empty() || query.show.split(',').any(|s| s == c.path))
        .cloned()
        .collect();
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
    let name_of = |path: &str| {
        shown
            .iter()
            .find(|c| c.path == path)
            .and_then(|c| c.displayname.clone())
            .unwrap_or_else(|| path.to_owned())
    };
    let mut events: Vec<GridEvent> = entries
        .into_iter()
        .map(|e| {
            let stamp = |t: &chrono::DateTime<chrono_tz::Tz>| {
                if e.all_day {
                    t.format("%Y-%m-%d").to_string()
                } else {
                    t.format("%Y-%m-%dT%H:%M:%S").to_string()
                }
            };
            let mut edit = format!(
                "/calendar/events/{}/{}",
                urlencode(&e.calendar),
                urlencode(&e.item)
            );
            if let Some(rid) = e.recurrence_id {
                let _ = write!(edit, "?occurrence={rid}");
            }
            GridEvent {
                id: format!("{}/{}/{}", e.calendar, e.item, e.recurrence_id.unwrap_or(0)),
                title: e.title.clone(),
                start: stamp(&e.start),
                end: stamp(&e.end),
                all_day: e.all_day,
                background_color: safe_color(Some(&e.color)),
                editable: scope.can_write && !e.hidden,
                start_editable: scope.can_write && !e.hidden,
                duration_editable: scope.can_write && !e.hidden,
                extended_props: Details {
                    kind: "event",
                    calendar_name: name_of(&e.calendar),
                    time: e.time_text(),
                    calendar: e.calendar,
                    item: e.item,
                    etag: e.etag,
                    occurrence: e.recurrence_id,
                    recurring: e.recurring,
                    location: e.location,
                    description: e.description,
                    people: e.people,
                    reminders: e.reminders,
                    edit,
                },
            }
        })
        .collect();
    events.extend(
        due_tasks(&state, &scope, &shown, (first, last))
            .await
            .map_err(|e| guard.store_error(&e))?,
    );
    Ok(Json(events).into_response())
}

/// Open tasks due in the range, as all-day entries that link to the list.
async fn due_tasks(
    state: &AppState,
    scope: &Scope,
    shown: &[Collection],
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<GridEvent>, StoreError> {
    let tasks = occurrences::tasks(&state.store, shown).await?;
    Ok(tasks
        .into_iter()
        .filter(|t| !t.done && t.due.is_some_and(|d| d >= first && d < last))
        .filter_map(|t| {
            let due = t.due?;
            let calendar = shown.iter().find(|c| c.path == t.calendar)?;
            Some(GridEvent {
                id: format!("task:{}/{}", t.calendar, t.item),
                title: format!("Task: {}", t.title),
                start: due.format("%Y-%m-%d").to_string(),
                end: (due + Duration::days(1)).format("%Y-%m-%d").to_string(),
                all_day: true,
                background_color: safe_color(calendar.color.as_deref()),
                editable: false,
                start_editable: false,
                duration_editable: false,
                extended_props: Details {
                    kind: "task",
                    calendar_name: calendar
                        .displayname
                        .clone()
                        .unwrap_or_else(|| calendar.path.clone()),
                    calendar: t.calendar,
                    item: t.item,
                    etag: String::new(),
                    occurrence: None,
                    recurring: false,
                    time: "Due this day".to_owned(),
                    location: String::new(),
                    description: String::new(),
                    people: Vec::new(),
                    reminders: Vec::new(),
                    edit: format!("{}/tasks", scope.base),
                },
            })
        })
        .collect())
}

/// A change from the grid: which event (and occurrence), at which ETag.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Change {
    csrf: String,
    calendar: String,
    item: String,
    etag: String,
    occurrence: String,
    /// New times: wall times in `tz`, or dates (end exclusive) when all day.
    start: String,
    end: String,
    all_day: String,
    tz: String,
    /// The object to put back (undo).
    data: String,
}

impl Change {
    fn occurrence(&self) -> Option<i64> {
        self.occurrence.parse().ok()
    }

    fn timing(&self) -> Option<Timing> {
        if self.all_day == "1" {
            let (first, after) = (day_of(&self.start)?, day_of(&self.end)?);
            let last = after.pred_opt()?.max(first);
            return Some(Timing::AllDay(first, last));
        }
        let at = |t: &str| NaiveDateTime::parse_from_str(t.get(..16)?, "%Y-%m-%dT%H:%M").ok();
        let (start, end) = (at(&self.start)?, at(&self.end)?);
        (end >= start && end - start <= Duration::days(366)).then_some(Timing::Timed(start, end))
    }
}

/// The checks every change makes before it reads the event: the form's
/// token, maintenance, and that the calendar is the reader's.
async fn open_change(
    state: &AppState,
    viewer: &Viewer,
    change: &Change,
) -> Result<(Scope, Collection), Response> {
    let guard = Guard::new(state, viewer);
    guard.csrf(&change.csrf)?;
    if guard.paused().await?.is_some() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Changes are paused for maintenance; try again in a few minutes.",
        ));
    }
    let scope = Scope::owner(state, viewer, "/calendar").await?;
    let calendar = scope
        .calendar(&change.calendar)
        .cloned()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "No such calendar."))?;
    if change.item.is_empty() || change.item.len() > 255 || change.item.contains('/') {
        return Err(error(StatusCode::BAD_REQUEST, "No such event."));
    }
    Ok((scope, calendar))
}

/// The event as stored, if it is still at the ETag the grid had.
async fn current(
    state: &AppState,
    viewer: &Viewer,
    calendar: &Collection,
    change: &Change,
) -> Result<(almanac_ical::Component, String), Response> {
    let guard = Guard::new(state, viewer);
    let stored = state
        .store
        .item(calendar.id, &change.item)
        .await
        .map_err(|e| guard.store_error(&e))?
        .ok_or_else(|| error(StatusCode::CONFLICT, CHANGED))?;
    if stored.meta.etag != change.etag {
        return Err(error(StatusCode::CONFLICT, CHANGED));
    }
    let text = String::from_utf8(stored.data).map_err(|_| error(StatusCode::CONFLICT, CHANGED))?;
    let parsed = almanac_ical::parse(&text, &ParseLimits::default())
        .map_err(|_| error(StatusCode::CONFLICT, CHANGED))?;
    Ok((parsed, text))
}

const CHANGED: &str =
    "The event changed meanwhile (perhaps in another app). The calendar now shows it as it is.";

/// A write the checked path refused, said for the grid.
fn refused(message: &str) -> Response {
    if message.contains("ETag mismatch") {
        error(StatusCode::CONFLICT, CHANGED)
    } else {
        error(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

/// `POST /calendar/api/reschedule`: a drag or a resize.
pub async fn reschedule_event(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(change): Form<Change>,
) -> Result<Response, Response> {
    let (scope, calendar) = open_change(&state, &viewer, &change).await?;
    let Some(timing) = change.timing() else {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The new times are not valid (the end must not be before the start).",
        ));
    };
    let (mut parsed, _) = current(&state, &viewer, &calendar, &change).await?;
    let zone = reader_zone(&headers, &change.tz);
    if scope.detail != Detail::Full || !reschedule(&mut parsed, change.occurrence(), timing, zone) {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This event cannot be moved here.",
        ));
    }
    let outcome = store_object(
        &state,
        &scope,
        &calendar,
        &change.item,
        &parsed,
        WriteCondition::IfMatch(change.etag.clone()),
    )
    .await;
    let response = match outcome {
        Ok(etag) => Json(serde_json::json!({ "etag": etag })).into_response(),
        Err(message) => refused(&message),
    };
    Ok(scope.log(response, &viewer, Some(ItemKind::Event)))
}

/// `POST /calendar/api/delete`: the event, or one occurrence of a series.
/// The answer carries what Undo puts back.
pub async fn delete_event(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(change): Form<Change>,
) -> Result<Response, Response> {
    let guard = Guard::new(&state, &viewer);
    let (scope, calendar) = open_change(&state, &viewer, &change).await?;
    let (mut parsed, before) = current(&state, &viewer, &calendar, &change).await?;
    let zone = reader_zone(&headers, &change.tz);
    let etag_after = if let Some(original) = change.occurrence() {
        editor::delete_occurrence(&mut parsed, original, zone);
        match store_object(
            &state,
            &scope,
            &calendar,
            &change.item,
            &parsed,
            WriteCondition::IfMatch(change.etag.clone()),
        )
        .await
        {
            Ok(etag) => etag,
            Err(message) => return Ok(refused(&message)),
        }
    } else {
        match crate::scope::delete_object(
            &state,
            &scope,
            (&calendar, &change.item),
            &WriteCondition::IfMatch(change.etag.clone()),
        )
        .await
        {
            Ok(()) => String::new(),
            Err(StoreError::PreconditionFailed | StoreError::NotFound) => {
                return Ok(error(StatusCode::CONFLICT, CHANGED));
            }
            Err(other) => return Err(guard.store_error(&other)),
        }
    };
    let response = Json(serde_json::json!({
        "undo": {
            "calendar": change.calendar,
            "item": change.item,
            "etag": etag_after,
            "data": before,
        }
    }))
    .into_response();
    Ok(scope.log(response, &viewer, Some(ItemKind::Event)))
}

/// `POST /calendar/api/restore`: Undo after a delete puts the object back,
/// unless it changed since (its ETag then differs) or came back meanwhile.
pub async fn restore_event(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(change): Form<Change>,
) -> Result<Response, Response> {
    let (scope, calendar) = open_change(&state, &viewer, &change).await?;
    let Ok(parsed) = almanac_ical::parse(&change.data, &ParseLimits::default()) else {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing to put back.",
        ));
    };
    let condition = if change.etag.is_empty() {
        WriteCondition::IfAbsent
    } else {
        WriteCondition::IfMatch(change.etag.clone())
    };
    let outcome = store_object(&state, &scope, &calendar, &change.item, &parsed, condition).await;
    let response = match outcome {
        Ok(etag) => Json(serde_json::json!({ "etag": etag })).into_response(),
        Err(message) => refused(&message),
    };
    Ok(scope.log(response, &viewer, Some(ItemKind::Event)))
}
