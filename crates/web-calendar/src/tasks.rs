//! The task list: tasks of every calendar that holds them, a form for a
//! new one, and done/undone/delete.

use crate::editor;
use crate::occurrences::{self, Task};
use crate::scope::{store_object, write_refused, Scope};
use almanac_service::access_log::ItemKind;
use almanac_service::config::Site;
use almanac_service::guard::{redirect, Guard};
use almanac_service::maintenance;
use almanac_service::page::{self, render};
use almanac_service::session::Viewer;
use almanac_service::AppState;
use almanac_store::WriteCondition;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "calendar/tasks.html")]
struct TasksPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a Viewer,
    errors: Vec<&'static str>,
    tasks: Vec<Task>,
    /// (path, name) of calendars that take tasks.
    lists: Vec<(String, String)>,
    /// The new-task form as it was sent, when it comes back.
    draft: NewTask,
}

pub async fn tasks_page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/tasks").await?;
    show(
        &state,
        &viewer,
        &scope,
        StatusCode::OK,
        Vec::new(),
        NewTask::default(),
    )
    .await
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    status: StatusCode,
    errors: Vec<&'static str>,
    draft: NewTask,
) -> Result<Response, Response> {
    let guard = Guard::new(state, viewer);
    let mut tasks = occurrences::tasks(&state.store, &scope.calendars)
        .await
        .map_err(|e| guard.store_error(&e))?;
    let today = chrono::Utc::now()
        .with_timezone(&viewer.zone())
        .date_naive();
    for task in &mut tasks {
        task.overdue = !task.done && task.due.is_some_and(|due| due < today);
    }
    Ok(render(
        status,
        &TasksPage {
            site: &state.config.site,
            section: "calendar",
            viewer,
            errors,
            tasks,
            // The default list first: the select shows it chosen.
            lists: {
                let default = scope.default_calendar("VTODO").map(|c| c.id);
                let mut lists: Vec<_> = scope
                    .calendars
                    .iter()
                    .filter(|c| c.accepts("VTODO"))
                    .collect();
                lists.sort_by_key(|c| Some(c.id) != default);
                lists
                    .into_iter()
                    .map(|c| {
                        (
                            c.path.clone(),
                            c.displayname.clone().unwrap_or_else(|| c.path.clone()),
                        )
                    })
                    .collect()
            },
            draft,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewTask {
    csrf: String,
    calendar: String,
    title: String,
    due: String,
}

pub async fn create_task(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewTask>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/tasks").await?;
    let guard = Guard::new(&state, &viewer);
    if let Some(maintenance) = guard.change_or_keep(&form.csrf).await? {
        let page = show(
            &state,
            &viewer,
            &scope,
            StatusCode::OK,
            vec![maintenance::KEPT],
            form,
        )
        .await?;
        return Ok(maintenance::kept(page, &maintenance));
    }
    let title = form.title.trim();
    let mut errors = Vec::new();
    if title.is_empty() || title.chars().count() > 500 {
        errors.push("Give the task a title (at most 500 characters).");
    }
    if almanac_ical::forbidden_control(title).is_some() {
        errors.push(crate::editor::CONTROL_CHARACTERS);
    }
    let due = match form.due.trim() {
        "" => None,
        text => {
            if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Some(day)
            } else {
                errors.push("Give the due date as a date.");
                None
            }
        }
    };
    let calendar = scope
        .calendar(&form.calendar)
        .filter(|c| c.accepts("VTODO"))
        .cloned();
    if calendar.is_none() {
        errors.push("Choose a calendar that keeps tasks.");
    }
    let Some(calendar) = calendar.filter(|_| errors.is_empty()) else {
        return show(
            &state,
            &viewer,
            &scope,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            form,
        )
        .await;
    };
    let uid = editor::new_uid();
    let object = editor::new_object(editor::new_task(&uid, title, due));
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
    Ok(scope.log(redirect("/calendar/tasks"), &viewer, Some(ItemKind::Task)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TaskAction {
    csrf: String,
    /// done, open or delete
    action: String,
}

/// A task of the owner's: its calendar, its ETag as stored, and its text.
async fn load_task(
    state: &AppState,
    viewer: &Viewer,
    scope: &Scope,
    (calendar, item): (&str, &str),
) -> Result<(almanac_store::Collection, String, almanac_ical::Component), Response> {
    let not_found = || page::not_found_page(&state.config.site, viewer);
    let collection = scope.find(state, viewer, calendar)?;
    let stored = state
        .store
        .item(collection.id, item)
        .await
        .map_err(|e| Guard::new(state, viewer).store_error(&e))?
        .ok_or_else(not_found)?;
    let parsed = std::str::from_utf8(&stored.data)
        .ok()
        .and_then(|t| almanac_ical::parse(t, &almanac_ical::ParseLimits::default()).ok())
        .ok_or_else(not_found)?;
    Ok((collection, stored.meta.etag, parsed))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TaskEditForm {
    csrf: String,
    etag: String,
    title: String,
    due: String,
    notes: String,
    /// high, medium, low or "" (none)
    priority: String,
}

/// `POST /calendar/tasks/{calendar}/{item}/edit`: title, due date, notes
/// and priority, written if the task is still as the list showed it.
pub async fn edit_task(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((calendar, item)): Path<(String, String)>,
    Form(form): Form<TaskEditForm>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/tasks").await?;
    let guard = Guard::new(&state, &viewer);
    guard.change(&form.csrf).await?;
    let title = form.title.trim();
    let mut errors = Vec::new();
    if title.is_empty() || title.chars().count() > 500 || form.notes.chars().count() > 10_000 {
        errors.push("Give the task a title (at most 500 characters) and notes of at most 10,000.");
    }
    if almanac_ical::forbidden_control(title).is_some()
        || almanac_ical::forbidden_control(&form.notes).is_some()
    {
        errors.push(crate::editor::CONTROL_CHARACTERS);
    }
    let due = match form.due.trim() {
        "" => None,
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .or_else(|| {
                errors.push("Give the due date as a date.");
                None
            }),
    };
    let priority = match form.priority.as_str() {
        "high" => 1,
        "medium" => 5,
        "low" => 9,
        _ => 0,
    };
    if !errors.is_empty() {
        return show(
            &state,
            &viewer,
            &scope,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
            NewTask::default(),
        )
        .await;
    }
    let (collection, _, mut parsed) =
        load_task(&state, &viewer, &scope, (&calendar, &item)).await?;
    let edit = editor::TaskEdit {
        title,
        due,
        notes: &form.notes,
        priority,
    };
    if !editor::edit_task(&mut parsed, &edit) {
        return Err(page::not_found_page(&state.config.site, &viewer));
    }
    if let Err(message) = store_object(
        &state,
        &scope,
        &collection,
        &item,
        &parsed,
        WriteCondition::IfMatch(form.etag),
    )
    .await
    {
        return Ok(write_refused(&state, &viewer, &message));
    }
    Ok(scope.log(redirect("/calendar/tasks"), &viewer, Some(ItemKind::Task)))
}

pub async fn task_action(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((calendar, item)): Path<(String, String)>,
    Form(form): Form<TaskAction>,
) -> Result<Response, Response> {
    let scope = Scope::owner(&state, &viewer, "/calendar/tasks").await?;
    let guard = Guard::new(&state, &viewer);
    guard.change(&form.csrf).await?;
    let (collection, etag, mut parsed) =
        load_task(&state, &viewer, &scope, (&calendar, &item)).await?;
    if form.action == "delete" {
        crate::scope::delete_object(
            &state,
            &scope,
            (&collection, &item),
            &WriteCondition::IfMatch(etag),
        )
        .await
        .map_err(|_| write_refused(&state, &viewer, "The task changed meanwhile."))?;
    } else {
        if !editor::set_task_done(&mut parsed, form.action == "done") {
            return Err(page::not_found_page(&state.config.site, &viewer));
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
    }
    Ok(scope.log(redirect("/calendar/tasks"), &viewer, Some(ItemKind::Task)))
}
