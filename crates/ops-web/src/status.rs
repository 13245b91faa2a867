//! The status site: each part of the service with its state from the probe,
//! uptime, incidents and maintenance, as a page, JSON and an Atom feed.
//!
//! The last snapshot read from the database is kept in memory, so the site
//! keeps answering — with the last known state — when the database is down.

use almanac_service::config::Site;
use almanac_service::page::{atom_response, link, person, render};
use almanac_service::public_url::PublicUrl;
use almanac_service::when::{time_in, time_text, window_text};
use almanac_service::AppState;
use almanac_store::{Incident, Maintenance, ProbeResult, Store, StoreError, Uptime};
use askama::Template;
use atom_syndication::{Entry, Feed, Text};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::RwLock;
use serde::Serialize;

/// The parts of the service the probe watches: (key, name people read).
pub const COMPONENTS: &[(&str, &str)] = &[
    ("website", "Web site"),
    ("caldav", "Calendar sync (CalDAV)"),
    ("webcal", "Calendar subscriptions (webcal)"),
    ("signup", "Sign-up and email"),
    ("database", "Database"),
];

/// A result older than this says nothing about now.
const FRESH_FOR_SECONDS: i64 = 15 * 60;
const DAY: i64 = 24 * 3600;

#[derive(Debug, Clone, Serialize)]
pub struct ComponentState {
    pub key: &'static str,
    pub name: &'static str,
    /// up, down or unknown.
    pub state: &'static str,
    #[serde(skip)]
    pub state_label: &'static str,
    pub checked_at: Option<i64>,
    pub latency_ms: Option<i64>,
    pub message: String,
    pub uptime_24h: Percent,
    pub uptime_7d: Percent,
    pub uptime_90d: Percent,
}

/// An uptime share, or none when there were no checks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percent(Option<f64>);

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(p) => write!(f, "{p:.2} %"),
            None => f.write_str("no data"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub taken_at: i64,
    pub components: Vec<ComponentState>,
    pub maintenance: Option<MaintenanceView>,
    pub incidents: Vec<IncidentView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceView {
    pub message: String,
    pub since: i64,
    pub until: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub id: i64,
    pub kind: String,
    #[serde(skip)]
    pub kind_label: &'static str,
    pub title: String,
    pub status: String,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub updated_at: i64,
    #[serde(skip)]
    pub window: String,
    pub updates: Vec<UpdateView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub at: String,
    #[serde(skip)]
    pub at_unix: i64,
    pub status: String,
    pub message: String,
}

/// The last snapshot that could be read.
#[derive(Default)]
pub struct StatusCache(RwLock<Option<Snapshot>>);

impl StatusCache {
    /// A fresh snapshot, or the last one (and `true` for stale) when the
    /// database cannot be read.
    pub async fn current(&self, store: &Store) -> (Snapshot, bool) {
        match read_snapshot(store).await {
            Ok(snapshot) => {
                *self.0.write() = Some(snapshot.clone());
                (snapshot, false)
            }
            Err(e) => {
                tracing::warn!(error = %e, "status: the database cannot be read; showing the last known state");
                let mut snapshot = self
                    .0
                    .read()
                    .clone()
                    .unwrap_or_else(|| empty_snapshot(now()));
                for component in &mut snapshot.components {
                    if component.key == "database" {
                        mark(component, false, "unreachable from the web site".to_owned());
                    }
                }
                (snapshot, true)
            }
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn empty_snapshot(at: i64) -> Snapshot {
    Snapshot {
        taken_at: at,
        components: COMPONENTS
            .iter()
            .map(|(key, name)| unknown(key, name))
            .collect(),
        maintenance: None,
        incidents: Vec::new(),
    }
}

fn unknown(key: &'static str, name: &'static str) -> ComponentState {
    ComponentState {
        key,
        name,
        state: "unknown",
        state_label: "Not checked",
        checked_at: None,
        latency_ms: None,
        message: String::new(),
        uptime_24h: Percent(None),
        uptime_7d: Percent(None),
        uptime_90d: Percent(None),
    }
}

fn mark(component: &mut ComponentState, ok: bool, message: String) {
    (component.state, component.state_label) = if ok {
        ("up", "Operational")
    } else {
        ("down", "Down")
    };
    component.message = message;
}

async fn read_snapshot(store: &Store) -> Result<Snapshot, StoreError> {
    let at = now();
    let latest = store.latest_probe_results().await?;
    let day = store.uptime_since(at - DAY).await?;
    let week = store.uptime_since(at - 7 * DAY).await?;
    let quarter = store.uptime_since(at - 90 * DAY).await?;
    let share = |rows: &[(String, Uptime)], key: &str| {
        Percent(
            rows.iter()
                .find(|(c, _)| c == key)
                .and_then(|(_, u)| u.percent()),
        )
    };
    let components = COMPONENTS
        .iter()
        .map(|(key, name)| {
            let mut state = unknown(key, name);
            if let Some(result) = latest.iter().find(|r| r.component == *key) {
                apply_result(&mut state, result, at);
            }
            state.uptime_24h = share(&day, key);
            state.uptime_7d = share(&week, key);
            state.uptime_90d = share(&quarter, key);
            state
        })
        .collect();
    let incidents = store
        .incidents(20)
        .await?
        .iter()
        .map(incident_view)
        .collect();
    Ok(Snapshot {
        taken_at: at,
        components,
        maintenance: store
            .maintenance()
            .await?
            .map(|m: Maintenance| MaintenanceView {
                message: m.message,
                since: m.since,
                until: m.until,
            }),
        incidents,
    })
}

fn apply_result(state: &mut ComponentState, result: &ProbeResult, now: i64) {
    state.checked_at = Some(result.at);
    state.latency_ms = Some(result.latency_ms);
    if now - result.at > FRESH_FOR_SECONDS {
        state.message = format!("last checked {}", time_text(result.at));
        return;
    }
    mark(state, result.ok.0, result.message.clone());
}

/// The snapshot's moments in the reader's zone (the feed and the JSON keep
/// UTC: everyone shares them).
fn localize(snapshot: &mut Snapshot, zone: chrono_tz::Tz) {
    for component in &mut snapshot.components {
        if let (Some(at), true) = (
            component.checked_at,
            component.message.starts_with("last checked "),
        ) {
            component.message = format!("last checked {}", time_in(at, zone));
        }
    }
    for incident in &mut snapshot.incidents {
        incident.window = window_text(incident.starts_at, incident.ends_at, zone);
        for update in &mut incident.updates {
            update.at = time_in(update.at_unix, zone);
        }
    }
}

fn incident_view(incident: &Incident) -> IncidentView {
    let window = window_text(incident.starts_at, incident.ends_at, chrono_tz::UTC);
    IncidentView {
        id: incident.id,
        kind: incident.kind.clone(),
        kind_label: if incident.kind == "maintenance" {
            "Planned maintenance"
        } else {
            "Incident"
        },
        title: incident.title.clone(),
        status: incident.status.clone(),
        starts_at: incident.starts_at,
        ends_at: incident.ends_at,
        updated_at: incident.updated_at,
        window,
        updates: incident
            .updates
            .iter()
            .map(|u| UpdateView {
                at: time_text(u.at),
                at_unix: u.at,
                status: u.status.clone(),
                message: u.message.clone(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a almanac_service::session::Viewer,
    stale: bool,
    taken_at: String,
    all_up: bool,
    /// Some part is down (not merely unchecked).
    any_down: bool,
    components: Vec<ComponentState>,
    maintenance: Option<MaintenanceView>,
    incidents: Vec<IncidentView>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: almanac_service::session::Viewer,
) -> Response {
    let (mut snapshot, is_stale) = state.part::<StatusCache>().current(&state.store).await;
    localize(&mut snapshot, viewer.zone());
    let all_up = snapshot.components.iter().all(|c| c.state == "up");
    let any_down = snapshot.components.iter().any(|c| c.state == "down");
    render(
        StatusCode::OK,
        &StatusPage {
            site: &state.config.site,
            section: "status",
            viewer: &viewer,
            stale: is_stale,
            taken_at: viewer.time_text(snapshot.taken_at),
            all_up,
            any_down,
            components: snapshot.components,
            maintenance: snapshot.maintenance,
            incidents: snapshot.incidents,
        },
    )
}

#[derive(Serialize)]
struct StatusJson {
    stale: bool,
    #[serde(flatten)]
    snapshot: Snapshot,
}

pub async fn json(State(state): State<AppState>) -> Response {
    let (snapshot, is_stale) = state.part::<StatusCache>().current(&state.store).await;
    axum::Json(StatusJson {
        stale: is_stale,
        snapshot,
    })
    .into_response()
}

pub async fn feed(State(state): State<AppState>, base: PublicUrl) -> Response {
    let (snapshot, _) = state.part::<StatusCache>().current(&state.store).await;
    let site = &state.config.site;
    let base = base.as_str();
    let stamp = |unix: i64| {
        chrono::DateTime::from_timestamp(unix, 0)
            .unwrap_or_default()
            .fixed_offset()
    };
    let entries: Vec<Entry> = snapshot
        .incidents
        .iter()
        .map(|incident| {
            let mut entry = Entry::default();
            entry.set_id(format!("{base}/status#incident-{}", incident.id));
            entry.set_title(Text::plain(format!(
                "{}: {} ({})",
                incident.kind_label, incident.title, incident.status
            )));
            entry.set_updated(stamp(incident.updated_at));
            entry.set_links(vec![link(
                &format!("{base}/status#incident-{}", incident.id),
                "alternate",
            )]);
            let history: Vec<String> = incident
                .updates
                .iter()
                .map(|u| format!("{} — {}: {}", u.at, u.status, u.message))
                .collect();
            entry.set_summary(Some(Text::plain(format!(
                "{}. {}",
                incident.window,
                history.join(" | ")
            ))));
            entry
        })
        .collect();
    let mut feed = Feed::default();
    feed.set_id(format!("{base}/status"));
    feed.set_title(Text::plain(format!(
        "{} status: incidents and maintenance",
        site.name
    )));
    feed.set_updated(stamp(
        snapshot
            .incidents
            .iter()
            .map(|i| i.updated_at)
            .max()
            .unwrap_or(snapshot.taken_at),
    ));
    feed.set_links(vec![
        link(&format!("{base}/status/feed.atom"), "self"),
        link(&format!("{base}/status"), "alternate"),
    ]);
    feed.set_authors(vec![person(&site.name)]);
    feed.set_entries(entries);
    atom_response(&feed)
}
