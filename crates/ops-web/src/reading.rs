//! Reads the report for a period: a series' value in a week, over several
//! weeks (a total, a weekly average, or the latest count), the keys of a
//! breakdown, and the links to the CSV of the same numbers.

use crate::format::url_part;
use crate::period::{shift, Choice, Span, Weeks};
use almanac_metrics::{definition, Report, Series, Source};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// How a figure over several weeks is made from the weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Counts add up.
    Total,
    /// People are counted per week: their average week.
    WeeklyMean,
    /// A count taken from the database: the last one on or before the end.
    Latest,
}

/// The days the log covers: series counted from its lines (the database
/// counts are dated by when they were taken, not by the log).
pub fn span(report: &Report) -> Option<Span> {
    let from_log = report
        .series
        .iter()
        .filter(|(name, _)| definition(name).is_some_and(|d| d.source != Source::Input));
    let first = from_log
        .clone()
        .filter_map(|(_, s)| s.daily.keys().next())
        .min()?;
    let last = from_log
        .filter_map(|(_, s)| s.daily.keys().next_back())
        .max()?;
    Some(Span {
        first: *first,
        last: *last,
    })
}

pub struct Reader<'a> {
    pub report: &'a Report,
    /// Series submitted through the API.
    pub external: &'a BTreeMap<String, Series>,
    pub choice: Choice,
}

impl Reader<'_> {
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.report
            .series
            .get(name)
            .or_else(|| self.external.get(name))
    }

    /// Counted from the database at collection time: a week's value is the
    /// latest count on or before its end.
    fn is_snapshot(name: &str) -> bool {
        definition(name).is_some_and(|d| d.source == Source::Input)
    }

    /// The latest daily value on or before `day`, with its date.
    pub fn latest(&self, name: &str, day: NaiveDate) -> Option<(NaiveDate, f64)> {
        self.series(name)?
            .daily
            .range(..=day)
            .next_back()
            .map(|(d, v)| (*d, *v))
    }

    /// The value of the week starting on `monday`.
    pub fn week(&self, name: &str, monday: NaiveDate) -> Option<f64> {
        if Self::is_snapshot(name) {
            return self.latest(name, shift(monday, 6)).map(|p| p.1);
        }
        self.series(name)?.weekly.get(&monday).copied()
    }

    /// The value of a day; counts from the database carry the latest one.
    pub fn day(&self, name: &str, day: NaiveDate) -> Option<f64> {
        if Self::is_snapshot(name) {
            return self.latest(name, day).map(|p| p.1);
        }
        self.series(name)?.daily.get(&day).copied()
    }

    /// The values of `mondays`, in order.
    pub fn weeks(&self, name: &str, mondays: &[NaiveDate]) -> Vec<Option<f64>> {
        mondays.iter().map(|m| self.week(name, *m)).collect()
    }

    /// The sum of several series per week: (Monday, value) where any has one.
    pub fn summed_weeks(&self, names: &[&str], weeks: Weeks) -> Vec<(NaiveDate, f64)> {
        weeks
            .mondays()
            .into_iter()
            .filter_map(|monday| {
                let values: Vec<f64> = names.iter().filter_map(|n| self.week(n, monday)).collect();
                (!values.is_empty()).then(|| (monday, values.iter().sum()))
            })
            .collect()
    }

    /// A series over whole weeks; `None` when no week has a value.
    pub fn over(&self, name: &str, weeks: Weeks, how: Over) -> Option<f64> {
        if how == Over::Latest {
            return self.latest(name, weeks.end()).map(|p| p.1);
        }
        let values: Vec<f64> = self
            .weeks(name, &weeks.mondays())
            .into_iter()
            .flatten()
            .collect();
        if values.is_empty() {
            return None;
        }
        let sum: f64 = values.iter().sum();
        Some(match how {
            Over::Total | Over::Latest => sum,
            Over::WeeklyMean => sum / f64::from(u32::try_from(values.len()).unwrap_or(u32::MAX)),
        })
    }

    /// Several series added up over whole weeks.
    pub fn over_all(&self, names: &[&str], weeks: Weeks, how: Over) -> Option<f64> {
        let values: Vec<f64> = names
            .iter()
            .filter_map(|n| self.over(n, weeks, how))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// The keys of a breakdown (`name:key`), as (key, full name).
    pub fn keys<'r>(&'r self, base: &str) -> Vec<(&'r str, &'r str)> {
        let prefix = format!("{base}:");
        self.report
            .series
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .map(|(name, _)| (&name[prefix.len()..], name.as_str()))
            .collect()
    }

    /// The Mondays the charts show: the chosen weeks, then the running week
    /// when they are the latest.
    pub fn chart_mondays(&self) -> Vec<NaiveDate> {
        let mut mondays = self.choice.weeks.mondays();
        if self.choice.latest {
            mondays.push(self.choice.span.running().0);
        }
        mondays
    }

    /// The CSV of one series from `from` to `to`.
    pub fn csv(name: &str, period: &str, from: NaiveDate, to: NaiveDate) -> String {
        format!(
            "/api/v1/metrics/{}.csv?period={period}&from={from}&to={to}",
            url_part(name)
        )
    }

    /// The CSV of several series side by side. Names holding a comma
    /// cannot be listed (the API splits on commas) and are left out.
    pub fn table_csv(names: &[&str], period: &str, from: NaiveDate, to: NaiveDate) -> String {
        let names: Vec<String> = names
            .iter()
            .filter(|n| !n.contains(','))
            .map(|n| url_part(n))
            .collect();
        format!(
            "/api/v1/metrics.csv?names={}&period={period}&from={from}&to={to}",
            names.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_metrics::{Quantity, RetentionTable};

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, m, d).unwrap()
    }

    #[test]
    fn periods_read_totals_means_and_the_latest_count() {
        let mut hits = Series::new(Quantity::Requests);
        hits.daily
            .extend([(date(4, 1), 3.0), (date(4, 8), 5.0), (date(4, 15), 1.0)]);
        hits.weekly
            .extend([(date(4, 1), 3.0), (date(4, 8), 5.0), (date(4, 15), 1.0)]);
        let mut accounts = Series::new(Quantity::Accounts);
        accounts
            .daily
            .extend([(date(3, 20), 7.0), (date(4, 10), 9.0)]);
        accounts
            .weekly
            .extend([(date(3, 18), 7.0), (date(4, 8), 9.0)]);
        let mut client = Series::new(Quantity::Requests);
        client.weekly.insert(date(4, 1), 3.0);
        let report = Report {
            series: [
                ("hits".to_owned(), hits),
                ("accounts_total".to_owned(), accounts),
                ("hits_by_client:Apple Calendar".to_owned(), client.clone()),
                ("hits_by_client_version:x".to_owned(), client),
            ]
            .into(),
            lines: 9,
            malformed: 0,
            malformed_samples: Vec::new(),
            cohorts: RetentionTable {
                horizons: [30, 60, 90, 180, 360],
                cohorts: Vec::new(),
            },
            country_database: None,
        };
        let span = span(&report).unwrap();
        assert_eq!(
            (span.first, span.last),
            (date(4, 1), date(4, 15)),
            "database counts are not the log"
        );
        let external = BTreeMap::new();
        let reader = Reader {
            report: &report,
            external: &external,
            choice: Choice::new(span, 4, None),
        };
        let two = Weeks {
            start: date(4, 1),
            count: 2,
        };
        assert_eq!(reader.over("hits", two, Over::Total), Some(8.0));
        assert_eq!(reader.over("hits", two, Over::WeeklyMean), Some(4.0));
        assert_eq!(reader.over("hits", two.previous(), Over::Total), None);
        // The count of a past week is the latest one on or before its end.
        assert_eq!(reader.week("accounts_total", date(4, 1)), Some(7.0));
        assert_eq!(reader.over("accounts_total", two, Over::Latest), Some(9.0));
        assert_eq!(reader.day("accounts_total", date(3, 19)), None);
        assert_eq!(
            reader.keys("hits_by_client"),
            vec![("Apple Calendar", "hits_by_client:Apple Calendar")]
        );
        assert_eq!(
            Reader::csv("hits_by_client:Apple Calendar", "week", date(4, 1), date(4, 14)),
            "/api/v1/metrics/hits_by_client:Apple%20Calendar.csv?period=week&from=2024-04-01&to=2024-04-14"
        );
        assert_eq!(
            Reader::table_csv(&["a", "b,c", "d"], "day", date(4, 1), date(4, 1)),
            "/api/v1/metrics.csv?names=a,d&period=day&from=2024-04-01&to=2024-04-01"
        );
    }
}
