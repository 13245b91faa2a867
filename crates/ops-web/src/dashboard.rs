//! The metrics dashboard: the core figures up front (value, change,
//! sparkline), the retention cohorts, then a graph and a CSV link for every
//! metric over a chosen range. Public or admins-only, like the API.

use crate::charts::{line_chart, number, sparkline};
use crate::metrics_api::ReportCache;
use almanac_metrics::{definition, Period, Report, Series};
use almanac_service::config::Site;
use almanac_service::guard::redirect;
use almanac_service::page::{self, render};
use almanac_service::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;

/// (series, what people read) of the headline figures, all per week.
const HEADLINES: &[(&str, &str)] = &[
    ("native_users", "People with a sync client"),
    ("casual_collaborators", "Casual collaborators (share links)"),
    ("consultative_users", "Web users who also sync"),
    ("standalone_users", "Web-only users"),
    ("interop_users", "Interop users (webcal, other clients)"),
    ("signups", "Sign-ups"),
    ("hits", "Requests"),
];

pub struct Headline {
    label: &'static str,
    unit: String,
    value: String,
    change: String,
    spark: String,
}

pub struct Graph {
    name: String,
    description: &'static str,
    unit: String,
    svg: String,
    csv: String,
}

pub struct CohortRow {
    week: NaiveDate,
    size: u64,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a almanac_service::session::Viewer,
    has_data: bool,
    headlines: Vec<Headline>,
    horizons: Vec<i32>,
    cohorts: Vec<CohortRow>,
    ranges: Vec<(u32, &'static str)>,
    days: u32,
    period: &'a str,
    graphs: Vec<Graph>,
}

#[derive(Deserialize)]
pub struct View {
    days: Option<u32>,
    period: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: almanac_service::session::Viewer,
    Query(view): Query<View>,
    client: almanac_service::rate_limit::ClientAddress,
    headers: HeaderMap,
) -> Response {
    // Staff logged in on the site see it as well as Basic-auth admins; a
    // person without credentials is sent to log in, not given a password
    // dialog.
    if !viewer.is_admin() && !state.config.metrics.public {
        if viewer.user.is_some() {
            return page::error_page(
                &state.config.site,
                &viewer,
                StatusCode::FORBIDDEN,
                "For staff only",
                "The dashboard is for the people who run the service.",
            );
        }
        if !headers.contains_key(header::AUTHORIZATION) {
            return redirect("/login?next=/dashboard");
        }
        if let Err(refusal) = crate::metrics_api::allowed(&state, &headers, client).await {
            return refusal;
        }
    }
    let days = view
        .days
        .filter(|d| [30, 90, 365, 3650].contains(d))
        .unwrap_or(90);
    let period = if view.period.as_deref() == Some("week") {
        Period::Week
    } else {
        Period::Day
    };
    let report = state.part::<ReportCache>().load(&state);
    let mut page = DashboardPage {
        site: &state.config.site,
        section: "",
        viewer: &viewer,
        has_data: report.is_some(),
        headlines: Vec::new(),
        horizons: Vec::new(),
        cohorts: Vec::new(),
        ranges: vec![
            (30, "last 30 days"),
            (90, "last 90 days"),
            (365, "last year"),
            (3650, "everything"),
        ],
        days,
        period: if period == Period::Week {
            "week"
        } else {
            "day"
        },
        graphs: Vec::new(),
    };
    if let Some(report) = report {
        fill(&mut page, &report, days, period);
    }
    // Downloads of the clients, when someone submits them.
    if let Some(downloads) = crate::metrics_api::external(&state, "downloads").await {
        page.headlines.push(headline(
            "Client downloads",
            "count, per week".to_owned(),
            &downloads,
        ));
    }
    render(StatusCode::OK, &page)
}

/// This week's value of a series, its change from last week, and the
/// last twelve weeks as a sparkline.
fn headline(label: &'static str, unit: String, series: &Series) -> Headline {
    let weeks: Vec<(NaiveDate, f64)> = series.weekly.iter().map(|(d, v)| (*d, *v)).collect();
    let last = weeks.last().map(|p| p.1);
    let before = weeks.len().checked_sub(2).map(|i| weeks[i].1);
    Headline {
        label,
        unit,
        value: last.map_or_else(|| "–".to_owned(), number),
        change: match (last, before) {
            (Some(now), Some(then)) if then > 0.0 => {
                format!("{:+.0} %", (now - then) / then * 100.0)
            }
            _ => "–".to_owned(),
        },
        spark: sparkline(&weeks[weeks.len().saturating_sub(12)..]),
    }
}

fn fill(page: &mut DashboardPage<'_>, report: &Report, days: u32, period: Period) {
    page.headlines = HEADLINES
        .iter()
        .filter_map(|(name, label)| {
            let series = report.series.get(*name)?;
            let unit = definition(name)
                .map(|d| d.unit(Period::Week).to_string())
                .unwrap_or_default();
            Some(headline(label, unit, series))
        })
        .collect();
    page.horizons = report.cohorts.horizons.to_vec();
    page.cohorts = report
        .cohorts
        .cohorts
        .iter()
        .rev()
        .take(26)
        .map(|c| CohortRow {
            week: c.week,
            size: c.size,
            cells: c
                .retained
                .iter()
                .map(|r| r.map_or_else(String::new, |v| format!("{v:.0} %")))
                .collect(),
        })
        .collect();
    // The range ends with the log, not with today's database figures.
    let last_day = report
        .series
        .iter()
        .filter(|(name, _)| {
            definition(name).is_some_and(|d| d.source != almanac_metrics::Source::Input)
        })
        .filter_map(|(_, s)| s.daily.keys().next_back())
        .max()
        .copied();
    let to = last_day.unwrap_or(NaiveDate::MAX);
    let from = last_day.map_or(NaiveDate::MIN, |d| d - Duration::days(i64::from(days)));
    let period_name = if period == Period::Week {
        "week"
    } else {
        "day"
    };
    page.graphs = report
        .series
        .iter()
        .filter_map(|(name, series): (&almanac_metrics::MetricName, &Series)| {
            let def = definition(name)?;
            if def.per_key {
                return None;
            }
            let points: Vec<(NaiveDate, f64)> = series
                .between(from, to)
                .values(period)
                .iter()
                .map(|(d, v)| (*d, *v))
                .collect();
            Some(Graph {
                name: name.clone(),
                description: def.description,
                unit: def.unit(period).to_string(),
                svg: line_chart(&points, 640, 160, &format!("{name}, {}", def.unit(period))),
                csv: format!("/api/v1/metrics/{name}.csv?period={period_name}&from={from}&to={to}"),
            })
        })
        .collect();
}
