//! The time-series API under `/api/v1/metrics`: the catalogue, one series
//! as JSON or CSV, several series as one CSV — read from the report
//! `almanac metrics collect` writes. Public or admins-only by configuration.

use almanac_metrics::{definition, Period, Report, Series, CATALOGUE};
use almanac_service::auth::AuthOutcome;
use almanac_service::rate_limit::ClientAddress;
use almanac_service::session;
use almanac_service::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::SystemTime;

/// The last report read, with the modification time of its file.
#[derive(Default)]
pub struct ReportCache(RwLock<Option<(SystemTime, Arc<Report>)>>);

impl ReportCache {
    pub(crate) fn load(&self, state: &AppState) -> Option<Arc<Report>> {
        let path = state.config.data_dir.join("metrics").join("report.json");
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if let Some((at, report)) = self.0.read().as_ref() {
            if *at == modified {
                return Some(report.clone());
            }
        }
        let report: Report = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let report = Arc::new(report);
        *self.0.write() = Some((modified, report.clone()));
        Some(report)
    }
}

#[derive(Deserialize)]
pub struct Range {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    period: Option<String>,
    format: Option<String>,
    names: Option<String>,
}

#[derive(Serialize)]
struct MetricInfo {
    name: String,
    description: &'static str,
    unit_per_day: String,
    unit_per_week: String,
    /// log, derived, input (from the database) or external (submitted).
    source: String,
}

const EXTERNAL_DESCRIPTION: &str = "Submitted from outside Almanac (POST /api/v1/metrics/NAME with the submit token); weekly values are sums.";

#[derive(Serialize)]
struct Point {
    date: NaiveDate,
    value: f64,
}

#[derive(Serialize)]
struct SeriesJson {
    name: String,
    unit: String,
    period: Period,
    points: Vec<Point>,
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Lets the request through when the metrics are public or it comes from an
/// admin: logged in on the site (the dashboard's CSV links), or with Basic
/// credentials (scripts).
#[allow(clippy::result_large_err)] // a finished refusal, built once per request
pub(crate) async fn allowed(
    state: &AppState,
    headers: &HeaderMap,
    client: ClientAddress,
) -> Result<(), Response> {
    if state.config.metrics.public {
        return Ok(());
    }
    if let Some(user) = session::signed_in_user(state, headers).await {
        return if user.is_admin.0 {
            Ok(())
        } else {
            Err(problem(
                StatusCode::FORBIDDEN,
                "the metrics are for administrators",
            ))
        };
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.basic(authorization, client.0).await {
        AuthOutcome::Authenticated(p) if p.is_admin => Ok(()),
        AuthOutcome::Authenticated(_) => Err(problem(
            StatusCode::FORBIDDEN,
            "the metrics are for administrators",
        )),
        _ => {
            let mut refusal = problem(
                StatusCode::UNAUTHORIZED,
                "log in as an administrator to read the metrics",
            );
            refusal.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"Almanac\""),
            );
            Err(refusal)
        }
    }
}

#[allow(clippy::result_large_err)] // a finished refusal, built once per request
fn report_or_503(state: &AppState) -> Result<Arc<Report>, Response> {
    state.part::<ReportCache>().load(state).ok_or_else(|| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "no metrics yet: run `almanac metrics collect`",
        )
    })
}

#[allow(clippy::result_large_err)] // a finished refusal, built once per request
fn period_of(range: &Range) -> Result<Period, Response> {
    match range.period.as_deref() {
        None | Some("day") => Ok(Period::Day),
        Some("week") => Ok(Period::Week),
        Some(other) => Err(problem(
            StatusCode::BAD_REQUEST,
            &format!("period {other:?} is not day or week"),
        )),
    }
}

fn in_range(series: &Series, range: &Range) -> Series {
    series.between(
        range.from.unwrap_or(NaiveDate::MIN),
        range.to.unwrap_or(NaiveDate::MAX),
    )
}

pub async fn list(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = allowed(&state, &headers, client).await {
        return refusal;
    }
    let report = state.part::<ReportCache>().load(&state);
    let names: Vec<String> = match &report {
        Some(report) => report.series.keys().map(ToString::to_string).collect(),
        None => CATALOGUE
            .iter()
            .filter(|m| !m.per_key)
            .map(|m| m.name.to_owned())
            .collect(),
    };
    let infos: Vec<MetricInfo> = names
        .into_iter()
        .filter_map(|name| {
            let def = definition(&name)?;
            Some(MetricInfo {
                description: def.description,
                unit_per_day: def.unit(Period::Day).to_string(),
                unit_per_week: def.unit(Period::Week).to_string(),
                source: serde_json::to_value(def.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                name,
            })
        })
        .chain(
            external_names(&state)
                .await
                .into_iter()
                .map(|name| MetricInfo {
                    name,
                    description: EXTERNAL_DESCRIPTION,
                    unit_per_day: "count, per day".to_owned(),
                    unit_per_week: "count, per week".to_owned(),
                    source: "external".to_owned(),
                }),
        )
        .collect();
    Json(infos).into_response()
}

pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(range): Query<Range>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = allowed(&state, &headers, client).await {
        return refusal;
    }
    let (name, csv) = match name.strip_suffix(".csv") {
        Some(base) => (base.to_owned(), true),
        None => (name.clone(), range.format.as_deref() == Some("csv")),
    };
    let report = match report_or_503(&state) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let period = match period_of(&range) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (series, unit) = match (report.series.get(name.as_str()), definition(&name)) {
        (Some(series), Some(def)) => (series.clone(), def.unit(period).to_string()),
        _ => match external(&state, &name).await {
            Some(series) => {
                let per = if period == Period::Week {
                    "week"
                } else {
                    "day"
                };
                (series, format!("count, per {per}"))
            }
            None => {
                return problem(
                    StatusCode::NOT_FOUND,
                    &format!("no metric named {name:?}; GET /api/v1/metrics lists them"),
                )
            }
        },
    };
    let series = in_range(&series, &range);
    if csv {
        return (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            series.to_csv(period),
        )
            .into_response();
    }
    Json(SeriesJson {
        unit,
        period,
        points: series
            .values(period)
            .iter()
            .map(|(&date, &value)| Point { date, value })
            .collect(),
        name,
    })
    .into_response()
}

/// Several series side by side: `date,name1,name2,...`, empty where a
/// series has no value.
pub async fn table(
    State(state): State<AppState>,
    Query(range): Query<Range>,
    client: ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = allowed(&state, &headers, client).await {
        return refusal;
    }
    let report = match report_or_503(&state) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let period = match period_of(&range) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let names: Vec<&str> = range
        .names
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .collect();
    let mut columns = Vec::new();
    for name in &names {
        match report.series.get(*name) {
            Some(series) => columns.push(in_range(series, &range)),
            None => return problem(StatusCode::NOT_FOUND, &format!("no metric named {name:?}")),
        }
    }
    let mut dates: Vec<NaiveDate> = columns
        .iter()
        .flat_map(|s| s.values(period).keys().copied())
        .collect();
    dates.sort_unstable();
    dates.dedup();
    let mut csv = format!("date,{}\n", names.join(","));
    for date in dates {
        csv.push_str(&date.to_string());
        for column in &columns {
            csv.push(',');
            if let Some(value) = column.values(period).get(&date) {
                csv.push_str(&value.to_string());
            }
        }
        csv.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response()
}

async fn external_names(state: &AppState) -> Vec<String> {
    state.store.external_series().await.unwrap_or_default()
}

/// An external series as a [`Series`]: days as submitted, weeks as sums.
pub(crate) async fn external(state: &AppState, name: &str) -> Option<Series> {
    let points = state.store.external_points(name).await.ok()?;
    if points.is_empty() {
        return None;
    }
    let mut series = Series::new(almanac_metrics::Quantity::Items);
    for (day, value) in points {
        let Ok(date) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        series.daily.insert(date, value);
        let monday = date.week(chrono::Weekday::Mon).first_day();
        *series.weekly.entry(monday).or_default() += value;
    }
    Some(series)
}

#[derive(Deserialize)]
pub struct Submission {
    points: Vec<SubmittedPoint>,
}

#[derive(Deserialize)]
struct SubmittedPoint {
    date: NaiveDate,
    value: f64,
}

/// `POST /api/v1/metrics/{name}` with `Authorization: Bearer` the submit
/// token and `{"points": [{"date": "2026-11-01", "value": 12}]}`: stores
/// (or replaces) those days of an external series.
pub async fn submit(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = &state.config.metrics.submit_token;
    if token.is_empty() {
        return problem(
            StatusCode::NOT_FOUND,
            "submitting series is off: set [metrics] submit_token",
        );
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !presented
        .is_some_and(|p| almanac_service::token::constant_time_eq(p.as_bytes(), token.as_bytes()))
    {
        return problem(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is needed to submit series",
        );
    }
    let well_formed = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return problem(
            StatusCode::BAD_REQUEST,
            "series names are 1 to 64 characters of a-z, 0-9 and _",
        );
    }
    if definition(&name).is_some() {
        return problem(
            StatusCode::CONFLICT,
            &format!("{name} is computed from the logs; choose another name"),
        );
    }
    let submission: Submission = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("the body must be {{\"points\": [{{\"date\": \"YYYY-MM-DD\", \"value\": N}}]}}: {e}"),
            )
        }
    };
    if submission.points.len() > 10_000 || submission.points.iter().any(|p| !p.value.is_finite()) {
        return problem(
            StatusCode::BAD_REQUEST,
            "at most 10,000 points, each a finite number",
        );
    }
    let points: Vec<(String, f64)> = submission
        .points
        .iter()
        .map(|p| (p.date.to_string(), p.value))
        .collect();
    match state.store.put_external_points(&name, &points).await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "stored": points.len() })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store submitted points");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the points could not be stored",
            )
        }
    }
}
