//! Calendars in the web calendar: make one, rename it, give it a colour,
//! delete it; import an .ics file into it and export it.

use crate::scope::{safe_color, Scope};
use almanac_service::access_log::{AuthKind, ItemKind};
use almanac_service::config::Site;
use almanac_service::guard::{log_event, redirect, Guard};
use almanac_service::maintenance;
use almanac_service::objects::Writer;
use almanac_service::page::{self, render};
use almanac_service::session::Viewer;
use almanac_service::share_link;
use almanac_service::AppState;
use almanac_store::{CollectionUpdate, NewCollection, Origin, StoreError};
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

struct CalendarRow {
    path: String,
    name: String,
    color: String,
    count: i64,
}

#[derive(Template)]
#[template(path = "calendar/calendars.html")]
struct CalendarsPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<String>,
    notice: String,
    calendars: Vec<CalendarRow>,
    /// The new-calendar form: empty, or as it was sent when it comes back.
    new_name: String,
    new_color: String,
}

/// A calendar form as it was sent, shown again when it was refused: for the
/// calendar at `path`, or the new-calendar form when `path` is `None`.
struct Draft {
    path: Option<String>,
    name: String,
    color: String,
}

impl Draft {
    fn of(path: Option<&str>, form: &CalendarForm) -> Self {
        Self {
            path: path.map(str::to_owned),
            name: form.name.clone(),
            color: form.color.clone(),
        }
    }
}

pub async fn calendars_page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, Response> {
    show(
        &state,
        &viewer,
        StatusCode::OK,
        Vec::new(),
        String::new(),
        None,
    )
    .await
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    errors: Vec<String>,
    notice: String,
    draft: Option<Draft>,
) -> Result<Response, Response> {
    let scope = Scope::owner(state, viewer, "/calendar/calendars").await?;
    let guard = Guard::new(state, viewer);
    let mut calendars = Vec::new();
    let (mut new_name, mut new_color) = (String::new(), "#2e7d32".to_owned());
    let mut draft = draft;
    if let Some(d) = draft.take_if(|d| d.path.is_none()) {
        new_name = d.name;
        new_color = safe_color(Some(&d.color));
    }
    for c in &scope.calendars {
        let typed = draft.take_if(|d| d.path.as_deref() == Some(c.path.as_str()));
        calendars.push(CalendarRow {
            path: c.path.clone(),
            name: typed.as_ref().map_or_else(
                || c.displayname.clone().unwrap_or_else(|| c.path.clone()),
                |d| d.name.clone(),
            ),
            color: safe_color(Some(
                typed
                    .map_or_else(|| c.color.clone().unwrap_or_default(), |d| d.color)
                    .as_str(),
            )),
            count: state
                .store
                .count_items(c.id)
                .await
                .map_err(|e| guard.store_error(&e))?,
        });
    }
    Ok(render(
        status,
        &CalendarsPage {
            site: &state.config.site,
            section: "calendar",
            viewer,
            errors,
            notice,
            calendars,
            new_name,
            new_color,
        },
    ))
}

/// The page again with one message, as 422, and the form as it was sent.
async fn refuse(
    state: &AppState,
    viewer: &Viewer,
    error: String,
    draft: Option<Draft>,
) -> Result<Response, Response> {
    show(
        state,
        viewer,
        StatusCode::UNPROCESSABLE_ENTITY,
        vec![error],
        String::new(),
        draft,
    )
    .await
}

/// The page again with the form as it was sent, when maintenance refused it.
async fn keep(
    state: &AppState,
    viewer: &Viewer,
    maintenance: &almanac_store::Maintenance,
    draft: Draft,
) -> Result<Response, Response> {
    let errors = vec![maintenance::KEPT.to_owned()];
    let page = show(
        state,
        viewer,
        StatusCode::OK,
        errors,
        String::new(),
        Some(draft),
    )
    .await?;
    Ok(maintenance::kept(page, maintenance))
}

/// Back to the list after a calendar was made, changed or deleted: a
/// `calendar_write` in the access log, not an item change.
fn calendar_changed(viewer: &Viewer) -> Response {
    log_event(
        redirect("/calendar/calendars"),
        viewer.name(),
        AuthKind::Session,
        Some("calendar_write"),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CalendarForm {
    csrf: String,
    name: String,
    color: String,
    /// save or delete
    action: String,
    confirm: String,
}

fn check(form: &CalendarForm) -> Result<(String, String), String> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err("Give the calendar a name of at most 100 characters.".to_owned());
    }
    let color = form.color.trim();
    let hex = color.strip_prefix('#').unwrap_or_default();
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("Pick a colour.".to_owned());
    }
    Ok((name.to_owned(), color.to_owned()))
}

pub async fn create_calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CalendarForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    if let Some(maintenance) = guard.change_or_keep(&form.csrf).await? {
        return keep(&state, &viewer, &maintenance, Draft::of(None, &form)).await;
    }
    let (name, color) = match check(&form) {
        Ok(valid) => valid,
        Err(error) => return refuse(&state, &viewer, error, Some(Draft::of(None, &form))).await,
    };
    let limit = state.config.limits.max_collections_per_user;
    if i64::try_from(scope.calendars.len()).unwrap_or(i64::MAX) >= limit {
        let error = format!("An account holds at most {limit} calendars.");
        return refuse(&state, &viewer, error, Some(Draft::of(None, &form))).await;
    }
    // The path is what clients see in URLs: a short random slug.
    let path = format!(
        "cal-{}",
        &almanac_service::token::new_token()[..10]
            .to_ascii_lowercase()
            .replace(['-', '_'], "x")
    );
    let mut new = NewCollection::calendar(&path, Some(&name));
    new.color = Some(format!("{color}FF"));
    state
        .store
        .create_collection(scope.owner.id, &new)
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok(calendar_changed(&viewer))
}

pub async fn update_calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
    Form(form): Form<CalendarForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    let paused = guard.change_or_keep(&form.csrf).await?;
    let collection = scope.find(&state, &viewer, &calendar)?;
    if let Some(maintenance) = paused {
        let draft = Draft::of(Some(&collection.path), &form);
        return keep(&state, &viewer, &maintenance, draft).await;
    }
    let fail = |e: StoreError| guard.store_error(&e);
    if form.action == "delete" {
        if form.confirm != "yes" {
            let error =
                "Tick the box to confirm that the calendar and all its events go.".to_owned();
            return refuse(&state, &viewer, error, None).await;
        }
        state
            .store
            .delete_collection_tree(scope.owner.id, &collection.path)
            .await
            .map_err(fail)?;
        return Ok(calendar_changed(&viewer));
    }
    let (name, color) = match check(&form) {
        Ok(valid) => valid,
        Err(error) => {
            let draft = Draft::of(Some(&collection.path), &form);
            return refuse(&state, &viewer, error, Some(draft)).await;
        }
    };
    let update = CollectionUpdate {
        displayname: Some(Some(name)),
        color: Some(Some(format!("{color}FF"))),
        ..CollectionUpdate::default()
    };
    state
        .store
        .update_collection(collection.id, &update, &[])
        .await
        .map_err(fail)?;
    Ok(calendar_changed(&viewer))
}

/// `POST /calendar/calendars/{cal}/import` (multipart: csrf, file).
pub async fn import_calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    let collection = scope.find(&state, &viewer, &calendar)?;
    let (mut csrf, mut file) = (String::new(), None);
    let limit = state.config.limits.max_body_bytes;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => file = field.bytes().await.ok().filter(|b| b.len() <= limit),
            _ => {}
        }
    }
    guard.change(&csrf).await?;
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        let error = format!(
            "Choose an .ics file of at most {} MB.",
            limit / (1024 * 1024)
        );
        return refuse(&state, &viewer, error, None).await;
    };
    let owner = share_link::acting_owner(&scope.owner);
    let writer = Writer {
        state: &state,
        owner: &owner,
        origin: Origin::Import,
    };
    match writer.import(&collection, None, &file).await {
        Ok(report) => {
            let name = collection
                .displayname
                .clone()
                .unwrap_or(collection.path.clone());
            let imported = report.imported.len();
            let notice = match imported {
                1 => format!("Imported 1 event or task into {name}."),
                n => format!("Imported {n} events and tasks into {name}."),
            };
            let errors = report
                .rejected
                .iter()
                .take(20)
                .map(|r| match &r.uid {
                    Some(uid) => format!("Not imported ({uid}): {}", r.reason),
                    None => format!("Not imported: {}", r.reason),
                })
                .collect();
            let page = show(&state, &viewer, StatusCode::OK, errors, notice, None).await?;
            if imported == 0 {
                return Ok(page);
            }
            Ok(almanac_service::guard::log_change(
                page,
                viewer.name(),
                AuthKind::Session,
                "web_write",
                ItemKind::Event,
            ))
        }
        Err(e) if e.status >= 500 => Err(page::internal_error_page(&state.config.site)),
        Err(e) => {
            let error = format!("The file could not be read: {}", e.message);
            refuse(&state, &viewer, error, None).await
        }
    }
}

/// `GET /calendar/calendars/{cal}/export.ics`: the whole calendar.
pub async fn export_calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(calendar): Path<String>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/calendars").await?;
    let guard = Guard::new(&state, &viewer);
    let collection = scope.find(&state, &viewer, &calendar)?;
    let (name, body) = almanac_service::objects::calendar_file(&state.store, &collection)
        .await
        .map_err(|e| guard.store_error(&e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.ics\"",
                    almanac_service::objects::sanitize_file_name(&name)
                ),
            ),
        ],
        body,
    )
        .into_response())
}
