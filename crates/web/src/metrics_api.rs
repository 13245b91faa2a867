//! The time-series API under `/api/v1/metrics`: the catalogue, one series
//! as JSON or CSV, several series as one CSV — read from the report
//! `almanac metrics collect` writes. Public or admins-only by configuration.

use crate::auth::AuthOutcome;
use crate::AppState;
use almanac_metrics::{definition, Period, Report, Series, CATALOGUE};
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
    source: almanac_metrics::Source,
}

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

/// Lets the request through when the metrics are public or it comes from an admin.
#[allow(clippy::result_large_err)] // a finished refusal, built once per request
pub(crate) async fn allowed(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    if state.config.metrics.public {
        return Ok(());
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.auth.basic(authorization).await {
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
    state.reports.load(state).ok_or_else(|| {
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

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = allowed(&state, &headers).await {
        return refusal;
    }
    let report = state.reports.load(&state);
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
                source: def.source,
                name,
            })
        })
        .collect();
    Json(infos).into_response()
}

pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(range): Query<Range>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = allowed(&state, &headers).await {
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
    let (Some(series), Some(def)) = (report.series.get(name.as_str()), definition(&name)) else {
        return problem(
            StatusCode::NOT_FOUND,
            &format!("no metric named {name:?}; GET /api/v1/metrics lists them"),
        );
    };
    let series = in_range(series, &range);
    if csv {
        return (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            series.to_csv(period),
        )
            .into_response();
    }
    Json(SeriesJson {
        unit: def.unit(period).to_string(),
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
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = allowed(&state, &headers).await {
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
