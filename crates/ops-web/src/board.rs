//! The dashboard's content for a period, built from the cached report: the
//! period and its comparison, the core figures, and the sections (people,
//! growth and retention, traffic, clients and platforms, all metrics).

use crate::charts::{self, Spark, BLUE, GREEN, ORANGE, PINK, RED, SKY};
use crate::format::{self, Scale};
use crate::labels::Measure;
use crate::period::{shift, Choice, Weeks, LENGTHS};
use crate::reading::{Over, Reader};
use crate::sections::{self, Chart, Group, Heat, RankSpec, Ranking, WeekSpec};
use almanac_metrics::{Period, Report, Series};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// A link of the period picker.
pub struct Pick {
    pub weeks: u32,
    pub label: String,
    pub href: String,
    pub current: bool,
}

pub struct PeriodView {
    pub heading: String,
    /// "6 Oct – 30 Nov 2026".
    pub dates: String,
    pub compare: String,
    /// The week still running, when the weeks are the latest.
    pub running: String,
    /// The weeks reach back before the data.
    pub coverage: String,
    pub data: String,
    pub lengths: Vec<Pick>,
    pub earlier: Option<Pick>,
    pub later: Option<Pick>,
    pub weeks: u32,
    /// The Sunday ending the weeks, for the date field.
    pub end: NaiveDate,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// A core figure: its value over the weeks and its change.
pub struct Tile {
    pub title: &'static str,
    pub value: String,
    pub unit: String,
    /// (text, `up`/`down`/`flat`)
    pub change: Option<(String, &'static str)>,
    pub compare: String,
    pub spark: Option<Spark>,
    pub csv: String,
}

pub struct Board {
    pub period: PeriodView,
    pub tiles: Vec<Tile>,
    pub people: Vec<Chart>,
    pub growth: Vec<Chart>,
    pub heat: Heat,
    pub traffic: Vec<Chart>,
    pub rankings: Vec<Ranking>,
    pub countries: Ranking,
    /// `None`: no IP-to-country database is configured.
    pub country_database: Option<String>,
    pub abroad: String,
    pub groups: Vec<Group>,
    /// The full list per day (else per week).
    pub per_day: bool,
    pub day_href: String,
    pub week_href: String,
}

/// The dashboard's address for a choice; no `end` for the latest weeks.
pub fn href(weeks: u32, end: Option<NaiveDate>, period: Period) -> String {
    let period = if period == Period::Week {
        "week"
    } else {
        "day"
    };
    match end {
        Some(end) => format!("/dashboard?weeks={weeks}&end={end}&period={period}"),
        None => format!("/dashboard?weeks={weeks}&period={period}"),
    }
}

fn period_view(reader: &Reader<'_>, lines: u64, period: Period) -> PeriodView {
    let choice = reader.choice;
    let weeks = choice.weeks;
    let previous = weeks.previous();
    let end = (!choice.latest).then(|| weeks.end());
    let heading = if choice.latest {
        format!("The last {} whole weeks: {}", weeks.count, weeks.dates())
    } else {
        format!("{}: {}", weeks.length(), weeks.dates())
    };
    let compare = if choice.covers(previous) {
        format!(
            "Changes compare them with the {} before: {}.",
            weeks.length(),
            previous.dates()
        )
    } else {
        format!(
            "The data does not cover the {} before ({}), so there is nothing to compare with.",
            weeks.length(),
            previous.dates()
        )
    };
    let running = if choice.latest {
        let (monday, last) = choice.span.running();
        format!(
            "The week of {} is still being counted (the data reaches {}): it is left out of the figures and comparisons, and drawn lighter in the charts.",
            format::range(monday, shift(monday, 6)),
            format::weekday_day(last)
        )
    } else {
        String::new()
    };
    let coverage = if weeks.start < choice.span.first {
        let first = choice.span.first;
        let partial = if first == crate::period::monday_of(first) {
            ""
        } else {
            ", and the week it starts in is partial"
        };
        format!(
            "The data starts on {}: these weeks are empty before it{partial}.",
            format::weekday_day(first)
        )
    } else {
        String::new()
    };
    PeriodView {
        heading,
        dates: weeks.dates(),
        compare,
        running,
        coverage,
        data: format!(
            "The data runs from {} to {} ({} log lines read).",
            format::weekday_day(choice.span.first),
            format::weekday_day(choice.span.last),
            format::count(lines_read(lines))
        ),
        lengths: LENGTHS
            .iter()
            .map(|&n| Pick {
                weeks: n,
                label: format!("{n} weeks"),
                href: href(n, end, period),
                current: n == weeks.count,
            })
            .collect(),
        earlier: choice.earlier_end().map(|e| Pick {
            weeks: weeks.count,
            label: format!("← The {} before", weeks.length()),
            href: href(weeks.count, Some(e), period),
            current: false,
        }),
        later: choice.later_end().map(|e| {
            let latest = Choice::new(choice.span, weeks.count, Some(e)).latest;
            Pick {
                weeks: weeks.count,
                label: format!("The {} after →", weeks.length()),
                href: href(weeks.count, (!latest).then_some(e), period),
                current: false,
            }
        }),
        weeks: weeks.count,
        end: weeks.end(),
        first: choice.span.first,
        last: shift(choice.span.last_complete_monday(), 6),
    }
}

#[allow(clippy::cast_precision_loss)] // exact below 2^53 lines
fn lines_read(lines: u64) -> f64 {
    lines as f64
}

/// A core figure: (title, series added up, how, scale, unit).
struct Core {
    title: &'static str,
    names: &'static [&'static str],
    how: Over,
    scale: Scale,
    unit: &'static str,
}

const CORE: &[Core] = &[
    core(
        "Sync app users",
        &["native_users"],
        Over::WeeklyMean,
        Scale::Count,
        "people a week, on average",
    ),
    core(
        "Web users who also sync",
        &["consultative_users"],
        Over::WeeklyMean,
        Scale::Count,
        "people a week, on average",
    ),
    core(
        "Web-only users",
        &["standalone_users"],
        Over::WeeklyMean,
        Scale::Count,
        "people a week, on average",
    ),
    core(
        "Users of other apps (interop)",
        &["interop_users"],
        Over::WeeklyMean,
        Scale::Count,
        "people a week, on average",
    ),
    core(
        "Casual collaborators",
        &["casual_collaborators"],
        Over::WeeklyMean,
        Scale::Count,
        "people a week, on average",
    ),
    core(
        "Sign-ups",
        &["signups"],
        Over::Total,
        Scale::Count,
        "new accounts",
    ),
    core("Requests", &["hits"], Over::Total, Scale::Count, "requests"),
    core(
        "Data transferred",
        &["bytes_out", "bytes_in"],
        Over::Total,
        Scale::Bytes,
        "sent and received",
    ),
    core(
        "Changes to events and tasks",
        &["changes"],
        Over::Total,
        Scale::Count,
        "changes",
    ),
    core(
        "Accounts in total",
        &["accounts_total"],
        Over::Latest,
        Scale::Count,
        "accounts",
    ),
];

const fn core(
    title: &'static str,
    names: &'static [&'static str],
    how: Over,
    scale: Scale,
    unit: &'static str,
) -> Core {
    Core {
        title,
        names,
        how,
        scale,
        unit,
    }
}

fn tile(reader: &Reader<'_>, core: &Core) -> Tile {
    let weeks = reader.choice.weeks;
    let previous = weeks.previous();
    let now = reader.over_all(core.names, weeks, core.how);
    let then = reader.over_all(core.names, previous, core.how);
    let figure = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| core.scale.figure(v));
    let (unit, compare, change) = if core.how == Over::Latest {
        let at = |w: Weeks| reader.latest(core.names[0], w.end()).map(|p| p.0);
        let unit = at(weeks).map_or_else(
            || "no count on or before the end of these weeks".to_owned(),
            |d| format!("{}, counted on {}", core.unit, format::day(d)),
        );
        let compare = match (then, at(previous)) {
            (Some(v), Some(d)) => format!("vs {} on {}", figure(Some(v)), format::day(d)),
            _ => "no earlier count to compare with".to_owned(),
        };
        (
            unit,
            compare,
            now.zip(then).and_then(|(a, b)| format::change(a, b)),
        )
    } else {
        let unit = if core.how == Over::Total {
            format!("{} in the {}", core.unit, weeks.length())
        } else {
            core.unit.to_owned()
        };
        if reader.choice.covers(previous) {
            let then = then.unwrap_or(0.0);
            let compare = format!(
                "vs {} in the {} before",
                core.scale.figure(then),
                weeks.length()
            );
            (unit, compare, format::change(now.unwrap_or(0.0), then))
        } else {
            let compare = format!(
                "no full {} before in the data to compare with",
                weeks.length()
            );
            (unit, compare, None)
        }
    };
    let spark = sparkline(reader, core, previous, weeks);
    let names: &[&str] = core.names;
    let csv = match names {
        [one] => Reader::csv(one, "week", previous.start, weeks.end()),
        many => Reader::table_csv(many, "week", previous.start, weeks.end()),
    };
    Tile {
        title: core.title,
        value: figure(now),
        unit,
        change,
        compare,
        spark,
        csv,
    }
}

fn sparkline(reader: &Reader<'_>, core: &Core, previous: Weeks, weeks: Weeks) -> Option<Spark> {
    let shown = |w: Weeks| reader.summed_weeks(core.names, w);
    // Before the data there is nothing, not zero: the grey part starts
    // where the data does.
    let before: Vec<(NaiveDate, f64)> = shown(previous)
        .into_iter()
        .filter(|(m, _)| {
            core.how == Over::Latest || *m >= crate::period::monday_of(reader.choice.span.first)
        })
        .collect();
    charts::sparkline(&before, &shown(weeks), core.scale)
}

/// A tile for an external series (client downloads): its total.
fn external_tile(reader: &Reader<'_>, name: &'static str, title: &'static str) -> Option<Tile> {
    reader.external.get(name)?;
    let weeks = reader.choice.weeks;
    let previous = weeks.previous();
    let names = [name];
    let now = reader.over_all(&names, weeks, Over::Total);
    let then = reader.over_all(&names, previous, Over::Total);
    let series = |w: Weeks| reader.summed_weeks(&names, w);
    Some(Tile {
        title,
        value: now.map_or_else(|| "–".to_owned(), format::count),
        unit: format!("in the {}", weeks.length()),
        change: now.zip(then).and_then(|(a, b)| format::change(a, b)),
        compare: then.map_or_else(
            || format!("nothing submitted for the {} before", weeks.length()),
            |v| format!("vs {} in the {} before", format::count(v), weeks.length()),
        ),
        spark: charts::sparkline(&series(previous), &series(weeks), Scale::Count),
        csv: Reader::csv(name, "week", previous.start, weeks.end()),
    })
}

const PROFILES: &[(&str, &str)] = &[
    ("native_users", BLUE),
    ("consultative_users", SKY),
    ("standalone_users", ORANGE),
    ("interop_users", GREEN),
    ("casual_collaborators", PINK),
];

fn people(reader: &Reader<'_>) -> Vec<Chart> {
    let profiles = sections::week_chart(
        reader,
        &WeekSpec {
            id: "chart-people",
            title: "People by profile, per week",
            about: "Each person is counted once a week in each group they belong to. Web users who also sync are usually among the sync app users of the same week too, so a bar's height counts places in groups rather than people.",
            layers: PROFILES,
            stacked: true,
            measure: Measure::Distinct("people"),
        },
    );
    let active = sections::week_chart(
        reader,
        &WeekSpec {
            id: "chart-active",
            title: "Accounts in use, per week",
            about: "Accounts used at all (syncing included), and those whose owner did something themselves.",
            layers: &[("accounts_accessed", BLUE), ("human_active_accounts", ORANGE)],
            stacked: false,
            measure: Measure::Distinct("accounts"),
        },
    );
    vec![profiles, active]
}

fn growth(reader: &Reader<'_>) -> Vec<Chart> {
    vec![
        sections::week_chart(
            reader,
            &WeekSpec {
                id: "chart-signups",
                title: "Sign-ups and validated sign-ups, per week",
                about: "New accounts, and those whose owner confirmed their email address in the same week.",
                layers: &[("signups", BLUE), ("signups_verified", SKY)],
                stacked: false,
                measure: Measure::Flow("sign-ups"),
            },
        ),
        sections::line(reader, "chart-accounts", "accounts_total", Period::Week),
    ]
}

fn traffic(reader: &Reader<'_>) -> Vec<Chart> {
    vec![
        sections::week_chart(
            reader,
            &WeekSpec {
                id: "chart-requests",
                title: "Requests per week, reading and writing",
                about: "Every request the service answered, split into those that only read (syncing, opening pages) and those that try to change something.",
                layers: &[("reads", BLUE), ("writes", ORANGE)],
                stacked: true,
                measure: Measure::Flow("requests"),
            },
        ),
        sections::line(reader, "chart-daily", "hits_7d_mean", Period::Day),
        sections::week_chart(
            reader,
            &WeekSpec {
                id: "chart-data",
                title: "Data sent and received, per week",
                about: "What the service sent in its answers and what apps and browsers sent to it.",
                layers: &[("bytes_out", BLUE), ("bytes_in", GREEN)],
                stacked: false,
                measure: Measure::Data,
            },
        ),
        sections::week_chart(
            reader,
            &WeekSpec {
                id: "chart-changes",
                title: "Changes to events and tasks, per week, by where they were made",
                about: "Events and tasks added, edited or deleted from sync apps, in the web calendar, or through share links.",
                layers: &[("changes_sync", BLUE), ("changes_web", ORANGE), ("changes_share", RED)],
                stacked: true,
                measure: Measure::Flow("changes"),
            },
        ),
    ]
}

const RANKINGS: &[RankSpec] = &[
    RankSpec {
        id: "rank-apps",
        title: "Apps",
        base: "hits_by_client",
        how: Over::Total,
        parent: None,
        top: 8,
    },
    RankSpec {
        id: "rank-versions",
        title: "App versions",
        base: "hits_by_client_version",
        how: Over::Total,
        parent: None,
        top: 10,
    },
    RankSpec {
        id: "rank-platforms",
        title: "Platforms",
        base: "hits_by_platform",
        how: Over::Total,
        parent: None,
        top: 8,
    },
    RankSpec {
        id: "rank-sync-platforms",
        title: "Sync app users by platform",
        base: "native_users_by_platform",
        how: Over::WeeklyMean,
        parent: Some("native_users"),
        top: 8,
    },
];

const COUNTRIES: RankSpec = RankSpec {
    id: "rank-countries",
    title: "Countries",
    base: "hits_by_country",
    how: Over::Total,
    parent: None,
    top: 10,
};

/// Everything the dashboard shows for `choice`.
pub fn build(
    report: &Report,
    external: &BTreeMap<String, Series>,
    choice: Choice,
    period: Period,
) -> Board {
    let reader = Reader {
        report,
        external,
        choice,
    };
    let mut tiles: Vec<Tile> = CORE.iter().map(|core| tile(&reader, core)).collect();
    tiles.extend(external_tile(&reader, "downloads", "Client downloads"));
    let end = (!choice.latest).then(|| choice.weeks.end());
    let all = |p: Period| format!("{}#all", href(choice.weeks.count, end, p));
    Board {
        period: period_view(&reader, report.lines, period),
        tiles,
        people: people(&reader),
        growth: growth(&reader),
        heat: sections::heat(&reader),
        traffic: traffic(&reader),
        rankings: RANKINGS
            .iter()
            .map(|spec| sections::ranking(&reader, spec))
            .collect(),
        countries: sections::ranking(&reader, &COUNTRIES),
        country_database: report.country_database.clone(),
        abroad: sections::abroad(&reader),
        groups: sections::catalogue(&reader, period),
        per_day: period == Period::Day,
        day_href: all(Period::Day),
        week_href: all(Period::Week),
    }
}
