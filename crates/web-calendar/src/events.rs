//! The event form: new events, and changes to a series or one occurrence,
//! for the owner and for a share link's visitor.

use crate::editor::{self, EventForm};
use crate::following;
use crate::guests;
use crate::occurrences::{self, Detail};
use crate::scope::{reader_zone, store_object, urlencode, write_refused, Scope};
use crate::view::zone_names;
use almanac_ical::scheduling as itip;
use almanac_ical::Component;
use almanac_service::access_log::ItemKind;
use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::invitations;
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::{Collection, StoreError, User, WriteCondition};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;
use std::fmt::Write as _;

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
    /// A share link's visitor: no "private" choice (a private event would
    /// vanish from the link that made it).
    visitor: bool,
    reminder_choices: &'static [(&'static str, &'static str)],
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    date: String,
    calendar: String,
    tz: String,
    /// Times picked on the grid (HH:MM), the last day, and "yes" for all day.
    start: String,
    end: String,
    end_date: String,
    all_day: String,
}

pub async fn new_event_form(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NewQuery>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/new").await?;
    let suggestions = guests::earlier(&state, &scope.owner).await;
    Ok(show_new_form(
        &state,
        &viewer,
        &headers,
        &scope,
        (&query, suggestions),
    ))
}

pub(crate) fn show_new_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    scope: &Scope,
    (query, suggestions): (&NewQuery, Vec<String>),
) -> Response {
    let zone = reader_zone(headers, &query.tz);
    let date = NaiveDate::parse_from_str(&query.date, "%Y-%m-%d")
        .unwrap_or_else(|_| chrono::Utc::now().with_timezone(&zone).date_naive());
    let time = |text: &str, default: &str| {
        chrono::NaiveTime::parse_from_str(text, "%H:%M")
            .map_or_else(|_| default.to_owned(), |t| t.format("%H:%M").to_string())
    };
    let end_date = NaiveDate::parse_from_str(&query.end_date, "%Y-%m-%d")
        .ok()
        .filter(|d| *d >= date)
        .unwrap_or(date);
    let form = EventForm {
        calendar: if query.calendar.is_empty() {
            scope
                .default_calendar("VEVENT")
                .map(|c| c.path.clone())
                .unwrap_or_default()
        } else {
            query.calendar.clone()
        },
        start_date: date.format("%Y-%m-%d").to_string(),
        end_date: end_date.format("%Y-%m-%d").to_string(),
        start_time: time(&query.start, "09:00"),
        end_time: time(&query.end, "10:00"),
        all_day: if query.all_day == "yes" {
            "yes".to_owned()
        } else {
            String::new()
        },
        tz: zone.name().to_owned(),
        repeat: "none".to_owned(),
        ends: "never".to_owned(),
        view_tz: query.tz.clone(),
        reminder: crate::details::NO_REMINDER.to_owned(),
        suggestions,
        ..EventForm::default()
    };
    event_page(state, viewer, scope, StatusCode::OK, Vec::new(), form, None)
}

/// The event form again, filled in as it was sent, when maintenance refused
/// it: a 503 that says when to try again.
fn kept_during_maintenance(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    form: EventForm,
    existing: Option<(&str, &str, bool, Option<i64>)>,
    maintenance: &almanac_store::Maintenance,
) -> Response {
    let page = event_page(
        state,
        viewer,
        scope,
        StatusCode::SERVICE_UNAVAILABLE,
        vec![maintenance::KEPT],
        form,
        existing,
    );
    maintenance::kept(page, maintenance)
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
            visitor: scope.is_visitor(),
            reminder_choices: crate::details::REMINDER_CHOICES,
        },
    );
    scope.log(page, viewer, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OccurrenceQuery {
    occurrence: String,
    tz: String,
    /// "duplicated": the form shows the copy just made; "answered": the
    /// person just answered the invitation.
    done: String,
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
    let not_found = || page::not_found_page(&state.config.site, viewer);
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
        return Err(page::not_found_page(&state.config.site, viewer));
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
        return Err(page::not_found_page(&state.config.site, viewer));
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
    if query.done == "duplicated" {
        "This is the copy: change what you need and save.".clone_into(&mut form.notice);
    }
    if query.done == "answered" {
        "Your answer is saved and on its way to the organizer.".clone_into(&mut form.notice);
    }
    if !scope.is_visitor() {
        // A share link's visitor learns nothing of the owner's guests.
        form.invitation = received_invitation(&parsed, &scope.owner);
        form.suggestions = guests::earlier(state, &scope.owner).await;
        form.busy =
            guests::busy_then(state, &scope.owner, &parsed, (instance.start, instance.end)).await;
    }
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
    guard.csrf(&form.csrf)?;
    if let Some(maintenance) = guard.paused().await? {
        return Ok(kept_during_maintenance(
            state,
            viewer,
            scope,
            form,
            None,
            &maintenance,
        ));
    }
    if !scope.can_write {
        return Err(page::not_found_page(&state.config.site, viewer));
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
    let mut object = editor::new_object(editor::new_event(&uid, &data));
    let change = if scope.is_visitor() {
        guests::GuestChange::default()
    } else {
        guests::set_guests(
            &mut object,
            &form.guest_list().unwrap_or_default(),
            &scope.owner,
        )
    };
    if !guests::allowed(state, &scope.owner, &change).await {
        return Ok(event_page(
            state,
            viewer,
            scope,
            StatusCode::TOO_MANY_REQUESTS,
            vec![guests::TOO_MANY],
            form,
            None,
        ));
    }
    let name = editor::resource_name(&uid);
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
        Ok(_) => {}
        Err(message) => return Ok(write_refused(state, viewer, &message)),
    }
    let back = redirect(&back_to_week(scope, &form, "saved"));
    Ok(scope.log(back, viewer, Some(ItemKind::Event)))
}

/// The week of the event, in the zone the reader was viewing, saying what
/// was `done` (saved or deleted).
fn back_to_week(scope: &Scope, form: &EventForm, done: &str) -> String {
    let mut url = format!(
        "{}?view=week&date={}&done={done}",
        scope.base,
        urlencode(&form.start_date)
    );
    if !form.view_tz.is_empty() {
        let _ = write!(url, "&tz={}", urlencode(&form.view_tz));
    }
    url
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
    guard.csrf(&form.csrf)?;
    let occurrence = form.occurrence.parse::<i64>().ok();
    let existing = Some((calendar, item, occurrence.is_some(), occurrence));
    if let Some(maintenance) = guard.paused().await? {
        return Ok(kept_during_maintenance(
            state,
            viewer,
            scope,
            form,
            existing,
            &maintenance,
        ));
    }
    if !scope.can_write {
        return Err(page::not_found_page(&state.config.site, viewer));
    }
    let (collection, mut parsed, etag) = load_event(state, viewer, scope, (calendar, item)).await?;
    // The zone the occurrence was picked in: an all-day occurrence's date
    // depends on it.
    let zone = reader_zone(headers, &form.view_tz);
    let one = form.scope == "this" && occurrence.is_some();
    let back = redirect(&back_to_week(scope, &form, done_word(&form.action)));
    let following = form.scope == "following" && occurrence.is_some();
    if form.action == "delete" {
        if one {
            editor::delete_occurrence(&mut parsed, occurrence.unwrap_or_default(), zone);
        } else if !(following
            && following::end_before(&mut parsed, occurrence.unwrap_or_default(), zone))
        {
            // Not cut short before this occurrence: all of it goes.
            delete_whole(state, viewer, scope, &collection, (item, etag)).await?;
            return Ok(scope.log(back, viewer, Some(ItemKind::Event)));
        }
    } else {
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
                    existing,
                ));
            }
        };
        if following {
            let at = (occurrence.unwrap_or_default(), zone);
            let split = split_series(state, scope, &collection, (item, &etag), &parsed, at, &data);
            if let Some(done) = split.await {
                return Ok(match done {
                    Ok(()) => scope.log(back, viewer, Some(ItemKind::Event)),
                    Err(message) => write_refused(state, viewer, &message),
                });
            }
        }
        let changed = if one {
            editor::edit_occurrence(&mut parsed, occurrence.unwrap_or_default(), &data, zone)
        } else {
            editor::edit_series(&mut parsed, &data)
        };
        if !one {
            if !series_guests(state, scope, &mut parsed, &form).await {
                return Ok(event_page(
                    state,
                    viewer,
                    scope,
                    StatusCode::TOO_MANY_REQUESTS,
                    vec![guests::TOO_MANY],
                    form,
                    existing,
                ));
            }
        }
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
    Ok(scope.log(back, viewer, Some(ItemKind::Event)))
}

/// What the calendar says after the form's `action`.
fn done_word(action: &str) -> &'static str {
    if action == "delete" {
        "deleted"
    } else {
        "saved"
    }
}

/// The form's guests on a change to the whole event: set; false when
/// inviting the new ones would go over the account's allowance.
async fn series_guests(
    state: &AppState,
    scope: &Scope,
    event: &mut Component,
    form: &EventForm,
) -> bool {
    if scope.is_visitor() || form.guests.is_none() {
        return true;
    }
    let change = guests::set_guests(event, &form.guest_list().unwrap_or_default(), &scope.owner);
    guests::allowed(state, &scope.owner, &change).await
}

/// Deletes the whole event, if it is still as it was read; its guests are
/// told that it is off.
async fn delete_whole(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    collection: &Collection,
    (item, etag): (&str, String),
) -> Result<(), Response> {
    crate::scope::delete_object(
        state,
        scope,
        (collection, item),
        &WriteCondition::IfMatch(etag),
    )
    .await
    .map_err(|e| match e {
        StoreError::PreconditionFailed | StoreError::NotFound => {
            write_refused(state, viewer, "The event changed meanwhile.")
        }
        other => Guard::new(state, viewer).store_error(&other),
    })
}

/// "This and following": the new series is written first, then the old one
/// ends before it; if the old one changed meanwhile, the new one goes again,
/// so nothing is lost or doubled.
/// `None` when the occurrence (`at`: its original start, and the zone it
/// was picked in) is the series' first: then the whole series changes.
async fn split_series(
    state: &AppState,
    scope: &Scope,
    collection: &Collection,
    (item, etag): (&str, &str),
    series: &Component,
    (original, zone): (i64, chrono_tz::Tz),
    data: &editor::EventData,
) -> Option<Result<(), String>> {
    let mut ended = series.clone();
    if !following::end_before(&mut ended, original, zone) {
        return None;
    }
    Some(write_split(state, scope, collection, (item, etag), series, ended, data).await)
}

async fn write_split(
    state: &AppState,
    scope: &Scope,
    collection: &Collection,
    (item, etag): (&str, &str),
    series: &Component,
    ended: Component,
    data: &editor::EventData,
) -> Result<(), String> {
    let uid = editor::new_uid();
    let name = editor::resource_name(&uid);
    let new = following::new_series(series, &uid, data)
        .ok_or_else(|| "This event cannot be edited here.".to_owned())?;
    store_object(
        state,
        scope,
        collection,
        &name,
        &new,
        WriteCondition::IfAbsent,
    )
    .await?;
    if let Err(message) = store_object(
        state,
        scope,
        collection,
        item,
        &ended,
        WriteCondition::IfMatch(etag.to_owned()),
    )
    .await
    {
        let _ = state
            .store
            .delete_item(
                collection.id,
                &name,
                &WriteCondition::Always,
                scope.origin(),
            )
            .await;
        return Err(message);
    }
    Ok(())
}

/// `POST /calendar/events/{calendar}/{item}/duplicate`: a copy of the event
/// (a new UID, everything else the same) in the same calendar, opened in
/// its form.
pub async fn duplicate_event(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((calendar, item)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    let guard = Guard::new(&state, &viewer);
    guard.change(&form.csrf).await?;
    let (collection, parsed, _) = load_event(&state, &viewer, &scope, (&calendar, &item)).await?;
    let uid = editor::new_uid();
    let copy = editor::duplicate(&parsed, &uid);
    let name = editor::resource_name(&uid);
    if let Err(message) = store_object(
        &state,
        &scope,
        &collection,
        &name,
        &copy,
        WriteCondition::IfAbsent,
    )
    .await
    {
        return Ok(write_refused(&state, &viewer, &message));
    }
    let to = format!(
        "{}/events/{}/{}?done=duplicated",
        scope.base,
        urlencode(&calendar),
        urlencode(&name)
    );
    Ok(scope.log(redirect(&to), &viewer, Some(ItemKind::Event)))
}

/// An invitation `owner` received in this event: who sent it, and the
/// answer so far in words. `None` for the owner's own events.
fn received_invitation(event: &Component, owner: &User) -> Option<(String, &'static str)> {
    let organizer = itip::organizer(event)?;
    let me = owner.email.to_ascii_lowercase();
    if organizer == me || !itip::lists_attendee(event, &me) {
        return None;
    }
    let master = event
        .components
        .iter()
        .find(|c| c.property("ORGANIZER").is_some())?;
    let sender = crate::details::people(master)
        .into_iter()
        .next()
        .map_or(organizer, |p| p.name);
    let answer = itip::answers_of(event, &me)
        .first()
        .map_or("not answered yet", |(_, p)| {
            crate::details::answer_words(Some(p))
        });
    Some((sender, answer))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    answer: String,
}

/// `POST /calendar/events/{calendar}/{item}/answer`: the person's answer
/// to an invitation in their calendar, written into their copy; the write
/// sends the REPLY to the organizer (RFC 6638), as a calendar app's would.
pub async fn answer_event(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((calendar, item)): Path<(String, String)>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    let guard = Guard::new(&state, &viewer);
    guard.change(&form.csrf).await?;
    let not_found = || page::not_found_page(&state.config.site, &viewer);
    let (_, partstat, _) = invitations::ANSWERS
        .iter()
        .find(|(value, _, _)| *value == form.answer)
        .ok_or_else(not_found)?;
    let (collection, mut parsed, etag) =
        load_event(&state, &viewer, &scope, (&calendar, &item)).await?;
    if received_invitation(&parsed, &scope.owner).is_none()
        || !itip::set_answer(
            &mut parsed,
            &scope.owner.email.to_ascii_lowercase(),
            partstat,
        )
    {
        return Err(not_found());
    }
    if let Err(message) = store_object(
        &state,
        &scope,
        &collection,
        &item,
        &parsed,
        WriteCondition::IfMatch(etag),
    )
    .await
    {
        return Ok(write_refused(&state, &viewer, &message));
    }
    let to = format!(
        "{}/events/{}/{}?done=answered",
        scope.base,
        urlencode(&calendar),
        urlencode(&item)
    );
    Ok(scope.log(redirect(&to), &viewer, Some(ItemKind::Event)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}
