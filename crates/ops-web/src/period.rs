//! The dashboard's period: whole weeks, Monday to Sunday, ending with the
//! last complete week of the data (or an earlier week the reader picks),
//! the same number of weeks before it for comparison, and the week still
//! running, which is never compared as if it were complete.

use crate::format;
use chrono::{Datelike, Duration, NaiveDate};

/// The lengths offered, in weeks.
pub const LENGTHS: [u32; 4] = [4, 12, 26, 52];
/// The length shown when none is asked for.
pub const DEFAULT_WEEKS: u32 = 12;

/// `date` moved by `days`, stopping at the ends of the calendar (a log
/// line dated in year 1 must not take the page down).
pub fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The Monday of a day's ISO week.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    shift(date, -i64::from(date.weekday().num_days_from_monday()))
}

/// The days the log covers: its first and last day with data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Span {
    /// The Monday of the last complete week. The log's last day may still
    /// be filling, so a week is complete once the data reaches the next
    /// Monday.
    pub fn last_complete_monday(self) -> NaiveDate {
        shift(monday_of(self.last), -7)
    }

    /// The week still running: its Monday and the last day with data.
    pub fn running(self) -> (NaiveDate, NaiveDate) {
        (monday_of(self.last), self.last)
    }
}

/// A run of whole weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weeks {
    /// A Monday.
    pub start: NaiveDate,
    pub count: u32,
}

impl Weeks {
    /// The Sunday that ends the last week.
    pub fn end(self) -> NaiveDate {
        shift(self.start, 7 * i64::from(self.count) - 1)
    }

    /// As many weeks, just before these.
    #[must_use]
    pub fn previous(self) -> Self {
        Self {
            start: shift(self.start, -7 * i64::from(self.count)),
            count: self.count,
        }
    }

    /// The Mondays of the weeks, in order.
    pub fn mondays(self) -> Vec<NaiveDate> {
        (0..self.count)
            .map(|i| shift(self.start, 7 * i64::from(i)))
            .collect()
    }

    /// "12 weeks", "1 week".
    pub fn length(self) -> String {
        if self.count == 1 {
            "1 week".to_owned()
        } else {
            format!("{} weeks", self.count)
        }
    }

    /// "6 Oct – 30 Nov 2026".
    pub fn dates(self) -> String {
        format::range(self.start, self.end())
    }
}

/// What the reader looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub span: Span,
    pub weeks: Weeks,
    /// The weeks end with the last complete week: the running week follows
    /// them in the charts, drawn as incomplete.
    pub latest: bool,
}

impl Choice {
    /// `count` whole weeks (one of [`LENGTHS`]) ending with the week of
    /// `end`, or with the last complete week when `end` is not given or
    /// later.
    pub fn new(span: Span, count: u32, end: Option<NaiveDate>) -> Self {
        let last_complete = span.last_complete_monday();
        let earliest = monday_of(span.first);
        let end_monday = end
            .map_or(last_complete, monday_of)
            .min(last_complete)
            .max(earliest.min(last_complete));
        let weeks = Weeks {
            start: shift(end_monday, -7 * (i64::from(count) - 1)),
            count,
        };
        Self {
            span,
            weeks,
            latest: end_monday == last_complete,
        }
    }

    /// The last day the charts and their CSV links reach: the running
    /// week's last day with data when the weeks are the latest.
    pub fn chart_end(self) -> NaiveDate {
        if self.latest {
            self.span.last
        } else {
            self.weeks.end()
        }
    }

    /// Whether the data covers the whole of `weeks` (a comparison with a
    /// period the log only partly covers would mislead).
    pub fn covers(self, weeks: Weeks) -> bool {
        self.span.first <= weeks.start && weeks.end() < self.span.last
    }

    /// The Sunday ending the same number of weeks before, if the data
    /// reaches back there.
    pub fn earlier_end(self) -> Option<NaiveDate> {
        let previous = self.weeks.previous();
        (previous.end() >= self.span.first).then(|| previous.end())
    }

    /// The Sunday ending the same number of weeks after, up to the latest.
    pub fn later_end(self) -> Option<NaiveDate> {
        if self.latest {
            return None;
        }
        let end = shift(self.weeks.end(), 7 * i64::from(self.weeks.count));
        Some(end.min(shift(self.span.last_complete_monday(), 6)))
    }
}

/// A length asked for: `weeks` if it is one of [`LENGTHS`], else the old
/// `days` parameter rounded up to the next length, else the default.
pub fn length_from(weeks: Option<u32>, days: Option<u32>) -> u32 {
    if let Some(weeks) = weeks.filter(|w| LENGTHS.contains(w)) {
        return weeks;
    }
    match days {
        Some(days) => LENGTHS
            .into_iter()
            .find(|&w| w * 7 >= days)
            .unwrap_or(LENGTHS[LENGTHS.len() - 1]),
        None => DEFAULT_WEEKS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, m, d).unwrap()
    }

    #[test]
    fn whole_weeks_end_with_the_last_complete_one() {
        // The log runs from Monday 1 January to Monday 29 April 2024.
        let span = Span {
            first: date(1, 1),
            last: date(4, 29),
        };
        let choice = Choice::new(span, 4, None);
        assert_eq!(choice.weeks.start, date(4, 1));
        assert_eq!(choice.weeks.end(), date(4, 28));
        assert_eq!(choice.weeks.dates(), "1 – 28 Apr 2024");
        assert!(choice.latest);
        assert_eq!(choice.chart_end(), date(4, 29));
        assert_eq!(span.running(), (date(4, 29), date(4, 29)));
        assert!(choice.covers(choice.weeks.previous()));
        assert_eq!(choice.earlier_end(), Some(date(3, 31)));
        assert_eq!(choice.later_end(), None);

        // Twelve weeks reach back before the log: no fair comparison.
        let twelve = Choice::new(span, 12, None);
        assert_eq!(twelve.weeks.dates(), "5 Feb – 28 Apr 2024");
        assert!(!twelve.covers(twelve.weeks.previous()));

        // A log ending on a Sunday: that Sunday may still be filling.
        let sunday = Span {
            first: date(1, 1),
            last: date(4, 28),
        };
        assert_eq!(Choice::new(sunday, 4, None).weeks.end(), date(4, 21));

        // An earlier end is snapped to its Sunday; a later one is the latest.
        let earlier = Choice::new(span, 4, Some(date(3, 6)));
        assert_eq!(earlier.weeks.dates(), "12 Feb – 10 Mar 2024");
        assert!(!earlier.latest);
        assert_eq!(earlier.chart_end(), date(3, 10));
        assert_eq!(earlier.later_end(), Some(date(4, 7)));
        assert!(Choice::new(span, 4, Some(date(9, 1))).latest);

        // Dates at the ends of the calendar do not overflow.
        let odd = Span {
            first: NaiveDate::MIN,
            last: shift(NaiveDate::MIN, 3),
        };
        let choice = Choice::new(odd, 52, None);
        assert_eq!(choice.weeks.previous().start, NaiveDate::MIN);
        assert!(choice.weeks.mondays().len() == 52 && choice.later_end().is_none());
        let _ = (
            choice.earlier_end(),
            choice.covers(choice.weeks.previous()),
            choice.chart_end(),
        );
    }

    #[test]
    fn lengths_come_from_weeks_or_the_old_days() {
        assert_eq!(length_from(Some(26), None), 26);
        assert_eq!(length_from(Some(5), None), DEFAULT_WEEKS);
        assert_eq!(length_from(None, Some(30)), 12);
        assert_eq!(length_from(None, Some(28)), 4);
        assert_eq!(length_from(None, Some(365)), 52);
        assert_eq!(length_from(None, Some(3650)), 52);
        assert_eq!(length_from(None, None), 12);
    }
}
