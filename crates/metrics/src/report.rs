//! Turns the per-day aggregates into the catalogue's series.

use crate::aggregate::{DayAggregate, IdSet, LabelCounts, LabelPeople};
use crate::catalogue::{definition, WeeklyRule, RETENTION_HORIZONS};
use crate::day::Day;
use crate::intern::Interner;
use crate::retention::RetentionTable;
use crate::series::Series;
use crate::state::{CollectorState, Input};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::Hash;

/// How many days before a web visit a native-client use still makes the
/// visitor "consultative": a use 7 days earlier counts, 8 does not.
pub const CONSULTATIVE_LOOKBACK_DAYS: i32 = 7;
/// The moving windows (hits_7d_mean, active_accounts_7d) span this many days.
const MOVING_WINDOW_DAYS: i32 = 7;

pub type MetricName = String;

/// Reads one counter of a day.
type Counter = fn(&DayAggregate) -> u64;
/// Reads one set of accounts of a day.
type AccountsOf = fn(&DayAggregate) -> &IdSet;

/// Everything the collector knows, as series of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Keyed by metric name; breakdowns as `name:key`.
    pub series: BTreeMap<MetricName, Series>,
    pub lines: u64,
    pub malformed: u64,
    pub malformed_samples: Vec<String>,
    pub cohorts: RetentionTable,
    /// The IP-to-country database the last collection used (its type and
    /// build date); `None`: countries are not known.
    #[serde(default)]
    pub country_database: Option<String>,
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn count<T>(set: &FxHashSet<T>) -> f64 {
    set.len() as f64
}

struct Builder<'a> {
    days: &'a BTreeMap<Day, DayAggregate>,
    series: BTreeMap<MetricName, Series>,
}

impl Builder<'_> {
    fn series(&mut self, name: &str) -> &mut Series {
        let quantity = definition(name)
            .expect("every series is in the catalogue")
            .quantity;
        self.series
            .entry(name.to_owned())
            .or_insert_with(|| Series::new(quantity))
    }

    /// Daily values, and weekly ones by the catalogue's rule (Sum, Mean or
    /// Last; the set-based rules are done by the callers).
    fn daily(&mut self, name: &str, values: impl IntoIterator<Item = (Day, f64)>) {
        let rule = definition(name)
            .expect("every series is in the catalogue")
            .weekly;
        let series = self.series(name);
        let mut weeks: BTreeMap<Day, Vec<f64>> = BTreeMap::new();
        for (day, value) in values {
            series.daily.insert(day.date(), value);
            weeks.entry(day.week_start()).or_default().push(value);
        }
        for (week, values) in weeks {
            #[allow(clippy::cast_precision_loss)]
            let value = match rule {
                WeeklyRule::Sum => values.iter().sum(),
                WeeklyRule::Mean => values.iter().sum::<f64>() / values.len() as f64,
                WeeklyRule::Last => *values.last().expect("a week has a day"),
                WeeklyRule::Distinct | WeeklyRule::Ratio | WeeklyRule::Cohort => continue,
            };
            series.weekly.insert(week.date(), value);
        }
    }

    fn weekly(&mut self, name: &str, week: Day, value: f64) {
        self.series(name).weekly.insert(week.date(), value);
    }

    #[allow(clippy::cast_precision_loss)]
    fn counter(&mut self, name: &str, get: fn(&DayAggregate) -> u64) {
        let days = self.days;
        self.daily(name, days.iter().map(|(&d, a)| (d, get(a) as f64)));
    }

    /// Distinct members per day, and per week over the union of the days.
    fn distinct<T: Hash + Eq + Copy>(&mut self, name: &str, sets: &[(Day, &FxHashSet<T>)]) {
        self.series(name);
        for &(day, set) in sets {
            self.series(name).daily.insert(day.date(), count(set));
        }
        for (week, union) in weekly_unions(sets) {
            self.weekly(name, week, count(&union));
        }
    }

    /// Numerator over denominator set sizes per day and per week, times
    /// `scale`; no value where the denominator is empty.
    fn ratio<T: Hash + Eq + Copy, U: Hash + Eq + Copy>(
        &mut self,
        name: &str,
        numerators: &[(Day, &FxHashSet<T>)],
        denominators: &[(Day, &FxHashSet<U>)],
        scale: f64,
    ) {
        self.series(name);
        for (&(day, top), &(_, bottom)) in numerators.iter().zip(denominators) {
            if !bottom.is_empty() {
                self.series(name)
                    .daily
                    .insert(day.date(), count(top) * scale / count(bottom));
            }
        }
        for ((week, top), (_, bottom)) in weekly_unions(numerators)
            .into_iter()
            .zip(weekly_unions(denominators))
        {
            if !bottom.is_empty() {
                self.weekly(name, week, count(&top) * scale / count(&bottom));
            }
        }
    }

    fn label_counts(
        &mut self,
        name: &str,
        labels: &Interner,
        get: fn(&DayAggregate) -> &LabelCounts,
    ) {
        let mut per_label: BTreeMap<u32, Vec<(Day, f64)>> = BTreeMap::new();
        for (&day, aggregate) in self.days {
            for (label, n) in get(aggregate).iter() {
                #[allow(clippy::cast_precision_loss)]
                per_label.entry(label).or_default().push((day, n as f64));
            }
        }
        for (label, values) in per_label {
            self.daily(&format!("{name}:{}", labels.name(label)), values);
        }
    }

    fn label_people(
        &mut self,
        name: &str,
        labels: &Interner,
        get: fn(&DayAggregate) -> &LabelPeople,
    ) {
        let mut per_label: BTreeMap<u32, Vec<(Day, &IdSet)>> = BTreeMap::new();
        for (&day, aggregate) in self.days {
            for (&label, people) in get(aggregate) {
                per_label.entry(label).or_default().push((day, people));
            }
        }
        for (label, sets) in per_label {
            self.distinct(&format!("{name}:{}", labels.name(label)), &sets);
        }
    }
}

fn weekly_unions<T: Hash + Eq + Copy>(
    sets: &[(Day, &FxHashSet<T>)],
) -> BTreeMap<Day, FxHashSet<T>> {
    let mut weeks: BTreeMap<Day, FxHashSet<T>> = BTreeMap::new();
    for &(day, set) in sets {
        weeks
            .entry(day.week_start())
            .or_default()
            .extend(set.iter().copied());
    }
    weeks
}

fn sets_of(
    days: &BTreeMap<Day, DayAggregate>,
    get: fn(&DayAggregate) -> &IdSet,
) -> Vec<(Day, &IdSet)> {
    days.iter().map(|(&d, a)| (d, get(a))).collect()
}

/// Web users of each day split by native-client use on that day or the
/// `CONSULTATIVE_LOOKBACK_DAYS` before: (consultative, standalone).
fn web_profiles(days: &BTreeMap<Day, DayAggregate>) -> Vec<(Day, IdSet, IdSet)> {
    days.iter()
        .map(|(&day, aggregate)| {
            let recent: Vec<&IdSet> = days
                .range(day.plus(-CONSULTATIVE_LOOKBACK_DAYS)..=day)
                .map(|(_, a)| &a.native)
                .collect();
            let (consultative, standalone) = aggregate
                .web
                .iter()
                .partition(|id| recent.iter().any(|native| native.contains(id)));
            (day, consultative, standalone)
        })
        .collect()
}

/// The latest submitted value on or before `day`.
fn latest_input(values: Option<&BTreeMap<Day, f64>>, day: Day) -> Option<f64> {
    values?.range(..=day).next_back().map(|(_, &v)| v)
}

pub(crate) fn build_report(state: &CollectorState) -> Report {
    let days = &state.days;
    let mut b = Builder {
        days,
        series: BTreeMap::new(),
    };
    let counters: [(&str, Counter); 19] = [
        ("hits", |a| a.hits),
        ("bytes_out", |a| a.bytes_out),
        ("bytes_in", |a| a.bytes_in),
        ("anonymous_hits", |a| a.anonymous_hits),
        ("reads", |a| a.reads),
        ("writes", |a| a.writes),
        ("hits_sync", |a| a.hits_sync),
        ("hits_web", |a| a.hits_web),
        ("hits_share", |a| a.hits_share),
        ("signups", |a| a.signups),
        ("signups_verified", |a| a.signups_verified),
        ("logins", |a| a.logins),
        ("support_requests", |a| a.support_requests),
        ("changes", |a| a.changes_events + a.changes_tasks),
        ("changes_events", |a| a.changes_events),
        ("changes_tasks", |a| a.changes_tasks),
        ("changes_sync", |a| a.changes_sync),
        ("changes_web", |a| a.changes_web),
        ("changes_share", |a| a.changes_share),
    ];
    for (name, get) in counters {
        b.counter(name, get);
    }

    let people: [(&str, AccountsOf); 5] = [
        ("accounts_accessed", |a| &a.accounts),
        ("human_active_accounts", |a| &a.human_active),
        ("native_users", |a| &a.native),
        ("web_users", |a| &a.web),
        ("interop_users", |a| &a.interop),
    ];
    for (name, get) in people {
        b.distinct(name, &sets_of(days, get));
    }
    let visitors: Vec<_> = days.iter().map(|(&d, a)| (d, &a.visitors)).collect();
    b.distinct("visitors", &visitors);
    let casual: Vec<_> = days.iter().map(|(&d, a)| (d, &a.casual)).collect();
    b.distinct("casual_collaborators", &casual);
    b.ratio(
        "casual_collaborators_per_owner",
        &casual,
        &sets_of(days, |a| &a.share_owners),
        1.0,
    );
    let outside: Vec<_> = days.iter().map(|(&d, a)| (d, &a.outside)).collect();
    let located: Vec<_> = days.iter().map(|(&d, a)| (d, &a.located)).collect();
    b.ratio("outside_home_share", &outside, &located, 100.0);

    let profiles = web_profiles(days);
    let consultative: Vec<_> = profiles.iter().map(|(d, c, _)| (*d, c)).collect();
    let standalone: Vec<_> = profiles.iter().map(|(d, _, s)| (*d, s)).collect();
    b.distinct("consultative_users", &consultative);
    b.distinct("standalone_users", &standalone);

    moving_windows(&mut b, state);
    for input in [
        Input::AccountsTotal,
        Input::ItemsPerCalendar,
        Input::CalendarsPerUser,
    ] {
        let values = state
            .inputs
            .get(&input)
            .into_iter()
            .flatten()
            .map(|(&d, &v)| (d, v));
        b.daily(input.metric_name(), values);
    }

    b.label_counts("hits_by_client", &state.labels, |a| &a.by_client);
    b.label_counts("hits_by_client_version", &state.labels, |a| &a.by_version);
    b.label_counts("hits_by_platform", &state.labels, |a| &a.by_platform);
    b.label_counts("hits_by_tld", &state.labels, |a| &a.by_tld);
    b.label_counts("hits_by_country", &state.labels, |a| &a.by_country);
    b.label_people("native_users_by_platform", &state.labels, |a| {
        &a.native_by_platform
    });
    b.label_people("native_users_by_version", &state.labels, |a| {
        &a.native_by_version
    });

    let last_day = days.keys().next_back().copied().unwrap_or(Day(0));
    let cohorts = state.retention.table(last_day);
    cohort_series(&mut b, &cohorts);

    Report {
        series: b.series,
        lines: state.lines,
        malformed: state.malformed,
        malformed_samples: state.malformed_samples.clone(),
        cohorts,
        country_database: state.country_database.clone(),
    }
}

/// signup_cohort_size and retention_*d: one value per sign-up week.
fn cohort_series(b: &mut Builder<'_>, cohorts: &RetentionTable) {
    b.series("signup_cohort_size");
    for (i, horizon) in RETENTION_HORIZONS.into_iter().enumerate() {
        let name = format!("retention_{horizon}d");
        b.series(&name);
        for cohort in &cohorts.cohorts {
            let week = Day::from_date(cohort.week);
            #[allow(clippy::cast_precision_loss)]
            b.weekly("signup_cohort_size", week, cohort.size as f64);
            if let Some(share) = cohort.retained[i] {
                b.weekly(&name, week, share);
            }
        }
    }
}

/// hits_7d_mean, active_accounts_7d and active_week_share: windows of the
/// 7 days ending on each day of the log.
fn moving_windows(b: &mut Builder<'_>, state: &CollectorState) {
    let days = &state.days;
    let Some(&first) = days.keys().next() else {
        b.daily("hits_7d_mean", []);
        b.daily("active_accounts_7d", []);
        b.daily("active_week_share", []);
        return;
    };
    let totals = state.inputs.get(&Input::AccountsTotal);
    let mut means = Vec::new();
    let mut active = Vec::new();
    let mut shares = Vec::new();
    for &day in days.keys() {
        let start = day.plus(1 - MOVING_WINDOW_DAYS).max(first);
        let window = days.range(start..=day);
        #[allow(clippy::cast_precision_loss)]
        let hits = window.clone().map(|(_, a)| a.hits as f64).sum::<f64>();
        means.push((day, hits / f64::from(day.days_since(start) + 1)));
        let mut accounts = IdSet::default();
        for (_, aggregate) in window {
            accounts.extend(aggregate.accounts.iter().copied());
        }
        active.push((day, count(&accounts)));
        if let Some(total) = latest_input(totals, day).filter(|&t| t > 0.0) {
            shares.push((day, count(&accounts) * 100.0 / total));
        }
    }
    b.daily("hits_7d_mean", means);
    b.daily("active_accounts_7d", active);
    b.daily("active_week_share", shares);
}
