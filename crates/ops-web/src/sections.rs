//! The dashboard's charts, ready for the template: week bars with their
//! legend, figures and CSV link; the retention heat map; ranked shares of
//! clients, platforms and countries; and the full list of metrics.

use crate::charts::{self, BarChart, Layer, LineChart};
use crate::format;
use crate::labels::{self, Measure, GROUPS};
use crate::period::shift;
use crate::reading::{Over, Reader};
use almanac_metrics::{definition, Period};
use chrono::NaiveDate;

/// One entry of a chart's legend.
pub struct Key {
    pub swatch: String,
    pub name: String,
    pub about: String,
}

/// A chart's numbers as a table (for screen readers and exact values).
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub about: String,
    pub svg: String,
    pub keys: Vec<Key>,
    /// Under the chart: what a lighter bar or a shaded end means.
    pub note: String,
    pub csv: String,
    pub table: Option<Table>,
}

/// What a week chart shows.
pub struct WeekSpec<'s> {
    pub id: &'static str,
    pub title: &'s str,
    pub about: &'s str,
    /// (series, colour)
    pub layers: &'s [(&'static str, &'static str)],
    pub stacked: bool,
    pub measure: Measure,
}

fn title_of(name: &str) -> String {
    labels::of(name).map_or_else(|| labels::humanize(name), |l| l.title.to_owned())
}

fn running_note(reader: &Reader<'_>, what: &str) -> String {
    if reader.choice.latest {
        let (monday, last) = reader.choice.span.running();
        format!(
            "{what}: the week of {}, still being counted (the data reaches {}).",
            format::short_day(monday),
            format::weekday_day(last)
        )
    } else {
        String::new()
    }
}

/// Bars per week over the chosen weeks and the running one.
pub fn week_chart(reader: &Reader<'_>, spec: &WeekSpec<'_>) -> Chart {
    let mondays = reader.chart_mondays();
    let layers: Vec<Layer<'_>> = spec
        .layers
        .iter()
        .map(|(name, color)| Layer {
            name: labels::of(name).map_or(*name, |l| l.title),
            color,
            values: reader.weeks(name, &mondays),
        })
        .collect();
    let unit = spec.measure.unit(Period::Week);
    let scale = spec.measure.scale();
    let svg = charts::bar_chart(&BarChart {
        weeks: &mondays,
        layers: &layers,
        stacked: spec.stacked,
        partial_last: reader.choice.latest,
        scale,
        unit: &unit,
        label: &format!("{}. Unit: {unit}.", spec.title),
    });
    let keys = spec
        .layers
        .iter()
        .map(|(name, color)| Key {
            swatch: charts::swatch(color),
            name: title_of(name),
            about: labels::of(name).map_or("", |l| l.about).to_owned(),
        })
        .collect();
    let mut head = vec!["Week of".to_owned()];
    head.extend(layers.iter().map(|l| l.name.to_owned()));
    let rows = mondays
        .iter()
        .enumerate()
        .map(|(i, monday)| {
            let mut row = vec![format::day(*monday)];
            if reader.choice.latest && i + 1 == mondays.len() {
                row[0].push_str(" (so far)");
            }
            row.extend(
                layers
                    .iter()
                    .map(|l| l.values[i].map_or_else(|| "–".to_owned(), |v| scale.figure(v))),
            );
            row
        })
        .collect();
    let names: Vec<&str> = spec.layers.iter().map(|(n, _)| *n).collect();
    Chart {
        id: spec.id,
        title: spec.title.to_owned(),
        about: spec.about.to_owned(),
        svg,
        keys,
        note: running_note(reader, "Lighter"),
        csv: Reader::table_csv(
            &names,
            "week",
            reader.choice.weeks.start,
            reader.choice.chart_end(),
        ),
        table: Some(Table { head, rows }),
    }
}

/// A line of one series over the chosen weeks (and the running one).
pub fn line(reader: &Reader<'_>, id: &'static str, name: &str, period: Period) -> Chart {
    let label = labels::of(name);
    let measure = label.map_or_else(|| labels::fallback_measure(name), |l| l.measure);
    let title = title_of(name);
    Chart {
        id,
        svg: plot(reader, name, period, measure, &title, "graph"),
        about: label.map_or_else(
            || format!("Unit: {}.", measure.unit(period)),
            |l| l.about.to_owned(),
        ),
        title,
        keys: Vec::new(),
        note: running_note(reader, "Shaded"),
        csv: Reader::csv(
            name,
            period_name(period),
            reader.choice.weeks.start,
            reader.choice.chart_end(),
        ),
        table: None,
    }
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Day => "day",
        Period::Week => "week",
    }
}

/// The SVG line of a series, per day or per week.
fn plot(
    reader: &Reader<'_>,
    name: &str,
    period: Period,
    measure: Measure,
    title: &str,
    class: &'static str,
) -> String {
    let choice = reader.choice;
    let unit = measure.unit(period);
    let (points, to, step) = match period {
        Period::Week => {
            let mondays = reader.chart_mondays();
            let points: Vec<(NaiveDate, f64)> = mondays
                .iter()
                .filter_map(|m| reader.week(name, *m).map(|v| (*m, v)))
                .collect();
            (points, *mondays.last().unwrap_or(&choice.weeks.start), 7)
        }
        Period::Day => {
            let end = choice.chart_end();
            let points: Vec<(NaiveDate, f64)> = choice
                .weeks
                .start
                .iter_days()
                .take_while(|d| *d <= end)
                .filter_map(|d| reader.day(name, d).map(|v| (d, v)))
                .collect();
            (points, end, 1)
        }
    };
    charts::line_chart(&LineChart {
        points: &points,
        from: choice.weeks.start,
        to,
        step_days: step,
        partial_from: choice.latest.then(|| choice.span.running().0),
        scale: measure.scale(),
        unit: &unit,
        label: &format!("{title}. Unit: {unit}."),
        class,
    })
}

pub struct HeatCell {
    pub text: String,
    pub class: &'static str,
}

pub struct HeatRow {
    pub week: String,
    pub size: String,
    pub cells: Vec<HeatCell>,
}

/// Retention by sign-up week: rows of cohorts, a column per horizon.
pub struct Heat {
    pub horizons: Vec<String>,
    pub rows: Vec<HeatRow>,
    pub csv: String,
    pub since: String,
}

fn shade(share: Option<f64>) -> &'static str {
    match share {
        None => "heat-none",
        Some(s) if s <= 0.0 => "heat-0",
        Some(s) if s <= 10.0 => "heat-1",
        Some(s) if s <= 25.0 => "heat-2",
        Some(s) if s <= 50.0 => "heat-3",
        Some(s) if s <= 75.0 => "heat-4",
        Some(_) => "heat-5",
    }
}

/// The cohorts of the chosen weeks, or of the 26 weeks up to their end when
/// they are fewer: retention needs a longer look back.
pub fn heat(reader: &Reader<'_>) -> Heat {
    let weeks = reader.choice.weeks;
    let end = weeks.end();
    let first = shift(end, 1 - 7 * i64::from(weeks.count.max(26)));
    let table = &reader.report.cohorts;
    let rows = table
        .cohorts
        .iter()
        .filter(|c| c.week >= first && c.week <= end)
        .map(|c| HeatRow {
            week: format::day(c.week),
            size: format::count(f64::from(u32::try_from(c.size).unwrap_or(u32::MAX))),
            cells: c
                .retained
                .iter()
                .map(|r| HeatCell {
                    text: r.map_or_else(String::new, format::percent),
                    class: shade(*r),
                })
                .collect(),
        })
        .collect();
    let mut names = vec!["signup_cohort_size".to_owned()];
    names.extend(table.horizons.iter().map(|h| format!("retention_{h}d")));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Heat {
        horizons: table.horizons.iter().map(ToString::to_string).collect(),
        rows,
        csv: Reader::table_csv(&names, "week", first, end),
        since: format::range(first, end),
    }
}

pub struct Rank {
    pub name: String,
    pub figure: String,
    pub share: String,
    pub bar: String,
}

pub struct Ranking {
    pub id: &'static str,
    pub title: &'static str,
    pub about: String,
    pub rows: Vec<Rank>,
    /// "3 more: 2 % together".
    pub rest: String,
    pub csv: String,
    /// Shown instead of the rows when there are none.
    pub empty: String,
}

/// What a ranking ranks.
pub struct RankSpec {
    pub id: &'static str,
    pub title: &'static str,
    /// A breakdown: `hits_by_client`.
    pub base: &'static str,
    /// `Total` for requests; `WeeklyMean` for people, whose shares are of
    /// `parent` (someone on two platforms counts on both).
    pub how: Over,
    pub parent: Option<&'static str>,
    pub top: usize,
}

fn key_name(key: &str) -> String {
    match key {
        "(unknown)" => "Not placed by the database".to_owned(),
        "(address)" => "No host name".to_owned(),
        "" => "(none)".to_owned(),
        other => other.to_owned(),
    }
}

pub fn ranking(reader: &Reader<'_>, spec: &RankSpec) -> Ranking {
    let weeks = reader.choice.weeks;
    let mut ranked: Vec<(&str, &str, f64)> = reader
        .keys(spec.base)
        .into_iter()
        .filter_map(|(key, name)| {
            let value = reader.over(name, weeks, spec.how)?;
            (value > 0.0).then_some((key, name, value))
        })
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let total = match spec.parent {
        Some(parent) => reader.over(parent, weeks, spec.how).unwrap_or(0.0),
        None => ranked.iter().map(|r| r.2).sum(),
    };
    let share = |value: f64| if total > 0.0 { value / total } else { 0.0 };
    let figure = |value: f64| match spec.how {
        Over::WeeklyMean => format!("{} a week", format::count(value)),
        _ => format::count(value),
    };
    let rows = ranked
        .iter()
        .take(spec.top)
        .map(|(key, _, value)| Rank {
            name: key_name(key),
            figure: figure(*value),
            share: format::percent(share(*value) * 100.0),
            bar: charts::share_bar(share(*value)),
        })
        .collect();
    let rest: Vec<f64> = ranked.iter().skip(spec.top).map(|r| r.2).collect();
    let rest = match rest.len() {
        0 => String::new(),
        n if spec.parent.is_none() => format!(
            "{n} more, {} of the requests together.",
            format::percent(share(rest.iter().sum()) * 100.0)
        ),
        n => format!("{n} more, each below the last one listed."),
    };
    let about = match spec.parent {
        None => format!(
            "Share of the {} requests in these {} weeks.",
            format::count(total),
            weeks.count
        ),
        Some(parent) => format!(
            "Share of the {} {} a week, on average over these weeks; someone on two platforms counts on both.",
            format::count(total),
            title_of(parent).to_lowercase()
        ),
    };
    let shown: Vec<&str> = ranked.iter().take(spec.top).map(|r| r.1).collect();
    Ranking {
        id: spec.id,
        title: spec.title,
        about,
        rows,
        rest,
        csv: Reader::table_csv(&shown, "week", weeks.start, weeks.end()),
        empty: "Nothing in these weeks.".to_owned(),
    }
}

/// One metric of the full list.
pub struct Graph {
    pub name: String,
    pub title: String,
    pub about: String,
    pub unit: String,
    pub svg: String,
    pub csv: String,
}

pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    pub graphs: Vec<Graph>,
}

const EXTERNAL_ABOUT: &str =
    "Submitted to the metrics API from outside Almanac; a week is the sum of its days.";

fn graph(reader: &Reader<'_>, name: &str, period: Period, external: bool) -> Graph {
    let label = labels::of(name);
    let measure = if external {
        Measure::Flow("count")
    } else {
        label.map_or_else(|| labels::fallback_measure(name), |l| l.measure)
    };
    let weekly_only = labels::weekly_only(name);
    let period = if weekly_only { Period::Week } else { period };
    let title = title_of(name);
    let about = match (label, external) {
        (_, true) => EXTERNAL_ABOUT.to_owned(),
        (Some(l), false) => l.about.to_owned(),
        (None, false) => definition(name).map_or("", |d| d.description).to_owned(),
    };
    let weekly_note = if weekly_only {
        " One value per sign-up week."
    } else {
        ""
    };
    Graph {
        svg: plot(reader, name, period, measure, &title, "chart"),
        csv: Reader::csv(
            name,
            period_name(period),
            reader.choice.weeks.start,
            reader.choice.chart_end(),
        ),
        unit: format!("Unit: {}.{weekly_note}", measure.unit(period)),
        name: name.to_owned(),
        title,
        about,
    }
}

/// Every metric of the report (breakdowns apart) and every external
/// series, grouped, in the order of the labels table.
pub fn catalogue(reader: &Reader<'_>, period: Period) -> Vec<Group> {
    let order = |name: &str| {
        labels::LABELS
            .iter()
            .position(|l| l.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut names: Vec<&str> = reader
        .report
        .series
        .keys()
        .map(String::as_str)
        .filter(|name| !name.contains(':'))
        .collect();
    names.sort_by_key(|name| (order(name), *name));
    let mut groups: Vec<Group> = GROUPS
        .iter()
        .map(|(id, title)| Group {
            id,
            title,
            graphs: Vec::new(),
        })
        .collect();
    let mut add = |group: &str, graph: Graph| {
        if let Some(g) = groups.iter_mut().find(|g| g.id == group) {
            g.graphs.push(graph);
        }
    };
    for name in names {
        let group = labels::of(name).map_or("other", |l| l.group);
        add(group, graph(reader, name, period, false));
    }
    for name in reader.external.keys() {
        add("external", graph(reader, name, period, true));
    }
    groups.retain(|g| !g.graphs.is_empty());
    groups
}

/// The share of the located people probably outside the home country, as
/// a sentence.
pub fn abroad(reader: &Reader<'_>) -> String {
    match reader.over("outside_home_share", reader.choice.weeks, Over::WeeklyMean) {
        Some(share) => format!(
            "Probably outside the home country: {} of the people whose location is known (average of the weeks).",
            format::percent(share)
        ),
        None => "Nobody's location is known in these weeks, so the share of people outside the home country is not known either.".to_owned(),
    }
}
