//! A metric's values over time, daily and weekly.

use crate::catalogue::{Period, Quantity};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Values by day and by ISO week (keyed by the week's Monday). A day or
/// week without a value (nothing to divide by, a cohort too young) is
/// absent, never 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub quantity: Quantity,
    pub daily: BTreeMap<NaiveDate, f64>,
    pub weekly: BTreeMap<NaiveDate, f64>,
}

impl Series {
    pub fn new(quantity: Quantity) -> Self {
        Self {
            quantity,
            daily: BTreeMap::new(),
            weekly: BTreeMap::new(),
        }
    }

    pub fn values(&self, period: Period) -> &BTreeMap<NaiveDate, f64> {
        match period {
            Period::Day => &self.daily,
            Period::Week => &self.weekly,
        }
    }

    /// The values from `from` to `to` inclusive; weeks are kept when their
    /// Monday is in the range.
    #[must_use]
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> Self {
        let pick = |values: &BTreeMap<NaiveDate, f64>| {
            values.range(from..=to).map(|(&d, &v)| (d, v)).collect()
        };
        Self {
            quantity: self.quantity,
            daily: pick(&self.daily),
            weekly: pick(&self.weekly),
        }
    }

    /// `date,value` lines with a header.
    pub fn to_csv(&self, period: Period) -> String {
        let mut csv = String::from("date,value\n");
        for (date, value) in self.values(period) {
            let _ = writeln!(csv, "{date},{value}");
        }
        csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_and_writes_csv_and_json() {
        let date = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        let mut series = Series::new(Quantity::Requests);
        series
            .daily
            .extend([(date(1), 3.0), (date(2), 4.5), (date(9), 1.0)]);
        series.weekly.extend([(date(1), 7.5), (date(8), 1.0)]);
        let part = series.between(date(2), date(8));
        assert_eq!(part.daily.len(), 1);
        assert_eq!(part.to_csv(Period::Week), "date,value\n2024-01-08,1\n");
        assert_eq!(
            series.to_csv(Period::Day),
            "date,value\n2024-01-01,3\n2024-01-02,4.5\n2024-01-09,1\n"
        );
        let json = serde_json::to_string(&part).unwrap();
        assert_eq!(
            json,
            r#"{"quantity":"requests","daily":{"2024-01-02":4.5},"weekly":{"2024-01-08":1.0}}"#
        );
        assert_eq!(serde_json::from_str::<Series>(&json).unwrap(), part);
    }
}
