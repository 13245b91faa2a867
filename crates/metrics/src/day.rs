//! Calendar days as small integers, so per-day maps and windows are cheap.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A calendar day, counted from 1970-01-01 (day 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub i32);

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

impl Day {
    /// The day of a proleptic Gregorian date; `None` for impossible dates.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day).map(Self::from_date)
    }

    pub fn from_date(date: NaiveDate) -> Self {
        Self(date.num_days_from_ce() - UNIX_EPOCH_FROM_CE)
    }

    pub fn date(self) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.0 + UNIX_EPOCH_FROM_CE)
            .expect("days parsed from a log are in chrono's range")
    }

    /// The Monday that starts this day's ISO week.
    #[must_use]
    pub fn week_start(self) -> Self {
        // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
        Self(self.0 - (self.0 + 3).rem_euclid(7))
    }

    #[must_use]
    pub fn plus(self, days: i32) -> Self {
        Self(self.0 + days)
    }

    pub fn days_since(self, earlier: Self) -> i32 {
        self.0 - earlier.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_weeks_start_on_monday() {
        let day = Day::from_ymd(2026, 11, 26).unwrap();
        assert_eq!(day.date(), NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        assert_eq!(
            day.week_start().date(),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        let monday = Day::from_ymd(2026, 11, 23).unwrap();
        assert_eq!(monday.week_start(), monday);
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
    }
}
