//! The metrics dashboard, for management: a dated period of whole weeks
//! with the core figures and their change against the weeks before, then
//! people by profile, growth and retention, traffic, clients and platforms,
//! and every metric in full, each chart with its CSV link. Public or
//! admins-only, like the API; drawn on the server from the cached report.

use crate::board::{self, Board};
use crate::metrics_api::ReportCache;
use crate::period::{self, Choice};
use crate::reading;
use almanac_metrics::{Period, Series};
use almanac_service::config::Site;
use almanac_service::guard::redirect;
use almanac_service::page::{self, render};
use almanac_service::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    site: &'a Site,
    section: &'a str,
    viewer: &'a almanac_service::session::Viewer,
    /// `None`: no metrics collected yet.
    board: Option<Board>,
}

#[derive(Deserialize)]
pub struct View {
    /// 4, 12, 26 or 52 whole weeks.
    weeks: Option<u32>,
    /// A day of the last week shown; the latest complete week when absent.
    end: Option<String>,
    /// The length in days, as links made before `weeks` asked for it.
    days: Option<u32>,
    /// The full list per `day` (the default) or per `week`.
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
    let weeks = period::length_from(view.weeks, view.days);
    let end = view
        .end
        .as_deref()
        .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok());
    let resolution = if view.period.as_deref() == Some("week") {
        Period::Week
    } else {
        Period::Day
    };
    let report = state.part::<ReportCache>().load(&state);
    let external = external_series(&state).await;
    let board = report.as_deref().and_then(|report| {
        let span = reading::span(report)?;
        let choice = Choice::new(span, weeks, end);
        Some(board::build(report, &external, choice, resolution))
    });
    let page = DashboardPage {
        site: &state.config.site,
        section: "",
        viewer: &viewer,
        board,
    };
    render(StatusCode::OK, &page)
}

/// The series submitted through the API (client downloads...).
async fn external_series(state: &AppState) -> BTreeMap<String, Series> {
    let mut series = BTreeMap::new();
    for name in state.store.external_series().await.unwrap_or_default() {
        if let Some(s) = crate::metrics_api::external(state, &name).await {
            series.insert(name, s);
        }
    }
    series
}
