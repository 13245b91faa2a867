//! Search across all of a person's calendars (served by the database's
//! text index), and quick add: one line of English to an event.

use crate::editor::{self, EventData};
use crate::occurrences::text_value;
use crate::quick;
use crate::scope::{reader_zone, store_object, urlencode, write_refused, Scope};
use almanac_ical::{EvalContext, ParseLimits, TimeSpan};
use almanac_service::access_log::ItemKind;
use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::page::render;
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::WriteCondition;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::TimeZone;
use serde::Deserialize;
use std::fmt::Write as _;

/// The most results one search shows.
const MAX_RESULTS: i64 = 50;
/// The longest query read (longer ones are cut).
const MAX_QUERY: usize = 200;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
    tz: String,
}

/// One object found.
struct Hit {
    title: String,
    when: String,
    location: String,
    calendar: String,
    href: String,
}

#[derive(Template)]
#[template(path = "calendar/search.html")]
struct SearchPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    query: String,
    hits: Vec<Hit>,
    /// The query had words (so "nothing found" means something).
    searched: bool,
}

/// `GET /calendar/search?q=`: events and tasks whose title, place, notes
/// or categories hold every word (or a word's start).
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/search").await?;
    let guard = Guard::new(&state, &viewer);
    let text: String = query.q.chars().take(MAX_QUERY).collect();
    let words = almanac_store::query_words(&text);
    let ids: Vec<i64> = scope.calendars.iter().map(|c| c.id).collect();
    let found = state
        .store
        .search_items(&ids, &words, MAX_RESULTS)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let zone = reader_zone(&headers, &query.tz);
    let now = chrono::Utc::now().timestamp();
    let ctx = EvalContext {
        floating_tz: Some(zone),
        max_instances: state.config.limits.max_instances,
    };
    let hits = found
        .into_iter()
        .filter_map(|(collection, item)| {
            let calendar = scope.calendars.iter().find(|c| c.id == collection)?;
            let text = std::str::from_utf8(&item.data).ok()?;
            let parsed = almanac_ical::parse(text, &ParseLimits::default()).ok()?;
            let master = parsed
                .components
                .iter()
                .find(|c| c.is("VEVENT") || c.is("VTODO"))?;
            let task = master.is("VTODO");
            // The next occurrence from now, or the last one of a past event.
            let upcoming = almanac_ical::instances(
                &parsed,
                Some(TimeSpan {
                    start: now,
                    end: i64::MAX,
                }),
                &ctx,
            );
            let instance = upcoming
                .first()
                .copied()
                .or_else(|| almanac_ical::instances(&parsed, None, &ctx).last().copied());
            let component = instance.map_or(master, |i| &parsed.components[i.component_index]);
            let all_day = component
                .property("DTSTART")
                .is_some_and(|p| p.param("VALUE") == Some("DATE") || p.value.len() == 8);
            let when = instance
                .filter(|i| i.start != i64::MIN)
                .and_then(|i| zone.timestamp_opt(i.start, 0).single())
                .map_or_else(
                    || "No date".to_owned(),
                    |t| {
                        if all_day || task {
                            t.format("%a %-d %b %Y").to_string()
                        } else {
                            t.format("%a %-d %b %Y, %H:%M").to_string()
                        }
                    },
                );
            let mut href = if task {
                "/calendar/tasks".to_owned()
            } else {
                format!(
                    "/calendar/events/{}/{}",
                    urlencode(&calendar.path),
                    urlencode(&item.meta.name)
                )
            };
            if let Some(rid) = instance.and_then(|i| i.recurrence_id).filter(|_| !task) {
                let _ = write!(href, "?occurrence={rid}");
            }
            Some(Hit {
                title: text_value(component, "SUMMARY"),
                when: if task {
                    format!("Task · {when}")
                } else {
                    when
                },
                location: text_value(component, "LOCATION"),
                calendar: calendar
                    .displayname
                    .clone()
                    .unwrap_or_else(|| calendar.path.clone()),
                href,
            })
        })
        .collect();
    let page = render(
        StatusCode::OK,
        &SearchPage {
            site: &state.config.site,
            section: "calendar",
            viewer: &viewer,
            query: text,
            hits,
            searched: !words.is_empty(),
        },
    );
    Ok(scope.log(page, &viewer, None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QuickForm {
    csrf: String,
    text: String,
    tz: String,
}

/// `POST /calendar/quick`: "Lunch with Ana tomorrow 1pm" becomes an event
/// in the default calendar, in the reader's zone; the day view of it
/// follows.
pub async fn quick_add(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<QuickForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar").await?;
    Guard::new(&state, &viewer).change(&form.csrf).await?;
    let zone = reader_zone(&headers, &form.tz);
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let line: String = form.text.chars().take(500).collect();
    let understood = if almanac_ical::forbidden_control(&line).is_some() {
        Err(editor::CONTROL_CHARACTERS)
    } else {
        quick::parse(&line, today)
    };
    let quick = match understood {
        Ok(quick) => quick,
        Err(message) => {
            let mut page = write_refused(&state, &viewer, message);
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(page);
        }
    };
    let Some(calendar) = scope.default_calendar("VEVENT").cloned() else {
        return Ok(write_refused(
            &state,
            &viewer,
            "None of your calendars takes events.",
        ));
    };
    let data = EventData {
        title: quick.title,
        location: String::new(),
        description: String::new(),
        private: false,
        timing: quick.timing,
        zone,
        rule: None,
        reminder: String::new(),
    };
    let uid = editor::new_uid();
    let object = editor::new_object(editor::new_event(&uid, &data));
    let name = editor::resource_name(&uid);
    if let Err(message) = store_object(
        &state,
        &scope,
        &calendar,
        &name,
        &object,
        WriteCondition::IfAbsent,
    )
    .await
    {
        return Ok(write_refused(&state, &viewer, &message));
    }
    let day = match quick.timing {
        editor::Timing::AllDay(first, _) => first,
        editor::Timing::Timed(start, _) => start.date(),
    };
    let mut to = format!(
        "/calendar?view=day&date={}&done=added",
        day.format("%Y-%m-%d")
    );
    if !form.tz.is_empty() {
        let _ = write!(to, "&tz={}", urlencode(&form.tz));
    }
    Ok(scope.log(redirect(&to), &viewer, Some(ItemKind::Event)))
}
