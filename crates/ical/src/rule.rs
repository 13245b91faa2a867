//! RRULE parsing and expansion in wall-clock time.
//!
//! Rules are expanded on naive local readings (RFC 5545 repeats by local
//! time, so a weekly 10:00 meeting stays at 10:00 across DST changes); the
//! caller converts each reading to UTC with the right zone. The `rrule` crate
//! does the calendar arithmetic; this module parses leniently, applies UNTIL
//! in local time and skips ahead to the requested window so that old
//! unbounded rules stay cheap to evaluate.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use rrule::{Frequency, NWeekday, RRule, Tz, Unvalidated};

use crate::value::{parse_time, TimeValue};

/// A parsed RRULE value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    freq: Frequency,
    interval: u16,
    count: Option<u32>,
    until: Option<Until>,
    week_start: Weekday,
    by_set_pos: Vec<i32>,
    by_month: Vec<u8>,
    by_month_day: Vec<i8>,
    by_year_day: Vec<i16>,
    by_week_no: Vec<i8>,
    by_weekday: Vec<NWeekday>,
    by_hour: Vec<u8>,
    by_minute: Vec<u8>,
    by_second: Vec<u8>,
}

/// The UNTIL bound as written: a date, a floating or a UTC date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    Date(NaiveDate),
    Local(NaiveDateTime),
    Utc(NaiveDateTime),
}

/// Expanded occurrence starts and whether the instance bound cut them short.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    pub(crate) starts: Vec<NaiveDateTime>,
    pub(crate) truncated: bool,
}

impl Rule {
    /// Parses an RRULE value; unknown parts (X-names) are ignored, invalid
    /// known parts make the whole rule invalid.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut rule = Self {
            freq: Frequency::Daily,
            interval: 1,
            count: None,
            until: None,
            week_start: Weekday::Mon,
            by_set_pos: Vec::new(),
            by_month: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_weekday: Vec::new(),
            by_hour: Vec::new(),
            by_minute: Vec::new(),
            by_second: Vec::new(),
        };
        let mut has_freq = false;
        for part in text.trim().split(';').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=')?;
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => {
                    rule.freq = value.trim().to_ascii_uppercase().parse().ok()?;
                    has_freq = true;
                }
                "INTERVAL" => rule.interval = value.trim().parse().ok().filter(|&i| i > 0)?,
                "COUNT" => rule.count = Some(value.trim().parse().ok()?),
                "UNTIL" => rule.until = Some(parse_until(value)?),
                "WKST" => rule.week_start = parse_weekday(value)?,
                "BYSETPOS" => rule.by_set_pos = parse_list(value)?,
                "BYMONTH" => rule.by_month = parse_list(value)?,
                "BYMONTHDAY" => rule.by_month_day = parse_list(value)?,
                "BYYEARDAY" => rule.by_year_day = parse_list(value)?,
                "BYWEEKNO" => rule.by_week_no = parse_list(value)?,
                "BYDAY" => {
                    rule.by_weekday = value
                        .split(',')
                        .map(parse_nth_weekday)
                        .collect::<Option<_>>()?;
                }
                "BYHOUR" => rule.by_hour = parse_list(value)?,
                "BYMINUTE" => rule.by_minute = parse_list(value)?,
                "BYSECOND" => rule.by_second = parse_list(value)?,
                _ => {}
            }
        }
        has_freq.then_some(rule)
    }

    /// True when the rule never ends.
    pub(crate) fn is_unbounded(&self) -> bool {
        self.count.is_none() && self.until.is_none()
    }

    pub(crate) fn until(&self) -> Option<Until> {
        self.until
    }

    /// Occurrence starts of the rule for a set starting at `start`, ascending,
    /// from about `from` (earlier ones may be skipped) up to and including
    /// `to`. `until` is the UNTIL bound already converted to local time.
    /// At most `limit` starts are returned.
    pub(crate) fn expand(
        &self,
        start: NaiveDateTime,
        until: Option<NaiveDateTime>,
        from: Option<NaiveDateTime>,
        to: Option<NaiveDateTime>,
        limit: usize,
    ) -> Expansion {
        let mut expansion = Expansion::default();
        let (first, builder) = match from.filter(|_| self.count.is_none()) {
            Some(from) if from > start => self.skipped_ahead(start, from),
            _ => (start, self.builder()),
        };
        let mut builder = builder;
        if let Some(count) = self.count {
            builder = builder.count(count);
        }
        if let Some(until) = until {
            if until < first {
                return expansion;
            }
            builder = builder.until(Tz::UTC.from_utc_datetime(&until));
        }
        let Ok(set) = builder.build(Tz::UTC.from_utc_datetime(&first)) else {
            return expansion;
        };
        // Occurrences before `from` are walked but not kept; COUNT rules
        // cannot skip ahead, so bound that walk as well.
        let max_walk = limit.saturating_mul(10).max(1000);
        for (walked, occurrence) in set.limit().into_iter().enumerate() {
            let local = occurrence.naive_utc();
            if to.is_some_and(|to| local > to) {
                break;
            }
            if expansion.starts.len() >= limit || walked >= max_walk {
                expansion.truncated = true;
                break;
            }
            if from.is_none_or(|from| local >= from) {
                expansion.starts.push(local);
            }
        }
        expansion
    }

    fn builder(&self) -> RRule<Unvalidated> {
        let months: Vec<chrono::Month> = self
            .by_month
            .iter()
            .filter_map(|&m| chrono::Month::try_from(m).ok())
            .collect();
        RRule::new(self.freq)
            .interval(self.interval)
            .week_start(self.week_start)
            .by_set_pos(self.by_set_pos.clone())
            .by_month(&months)
            .by_month_day(self.by_month_day.clone())
            .by_year_day(self.by_year_day.clone())
            .by_week_no(self.by_week_no.clone())
            .by_weekday(self.by_weekday.clone())
            .by_hour(self.by_hour.clone())
            .by_minute(self.by_minute.clone())
            .by_second(self.by_second.clone())
    }

    /// A later start, a whole number of periods after `start` and not after
    /// `from`, with the parts the original start implied made explicit so the
    /// rule still yields exactly the same occurrences from there on.
    fn skipped_ahead(
        &self,
        start: NaiveDateTime,
        from: NaiveDateTime,
    ) -> (NaiveDateTime, RRule<Unvalidated>) {
        let interval = i64::from(self.interval);
        let no_day_parts = self.by_week_no.is_empty()
            && self.by_year_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_weekday.is_empty();
        let fixed_step = match self.freq {
            Frequency::Secondly => Some(1),
            Frequency::Minutely => Some(60),
            Frequency::Hourly => Some(3600),
            Frequency::Daily => Some(86_400),
            Frequency::Weekly => Some(7 * 86_400),
            Frequency::Monthly | Frequency::Yearly => None,
        };
        if let Some(unit) = fixed_step {
            let step = unit * interval;
            let periods = (from - start).num_seconds() / step;
            let first = start + chrono::Duration::seconds(periods * step);
            return (first, self.builder());
        }
        let months_per_period = if self.freq == Frequency::Yearly {
            12
        } else {
            1
        } * interval;
        let months_apart = i64::from(from.year() - start.year()) * 12 + i64::from(from.month())
            - i64::from(start.month());
        let shift = months_apart / months_per_period * months_per_period;
        let Some(first) = u32::try_from(shift)
            .ok()
            .and_then(|m| start.checked_add_months(Months::new(m)))
            .and_then(|t| t.with_day(1))
            .and_then(|t| {
                if self.freq == Frequency::Yearly {
                    t.with_month(1)
                } else {
                    Some(t)
                }
            })
        else {
            return (start, self.builder());
        };
        let mut builder = self.builder();
        if no_day_parts {
            builder = builder.by_month_day(vec![i8::try_from(start.day()).unwrap_or(1)]);
            if self.freq == Frequency::Yearly && self.by_month.is_empty() {
                let month = chrono::Month::try_from(u8::try_from(start.month()).unwrap_or(1))
                    .unwrap_or(chrono::Month::January);
                builder = builder.by_month(&[month]);
            }
        }
        (first, builder)
    }
}

fn parse_until(text: &str) -> Option<Until> {
    Some(match parse_time(text, None, false)? {
        TimeValue::Date(date) => Until::Date(date),
        TimeValue::Utc(t) => Until::Utc(t),
        TimeValue::Floating(t) | TimeValue::Zoned(t, _) => Until::Local(t),
    })
}

fn parse_list<T: std::str::FromStr>(text: &str) -> Option<Vec<T>> {
    text.split(',').map(|v| v.trim().parse().ok()).collect()
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text.trim().to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// `MO`, `1SU`, `-1FR`, `+2TU`.
fn parse_nth_weekday(text: &str) -> Option<NWeekday> {
    let text = text.trim();
    let split = text.len().checked_sub(2)?;
    let weekday = parse_weekday(text.get(split..)?)?;
    let number = text[..split].trim_start_matches('+');
    if number.is_empty() {
        return Some(NWeekday::Every(weekday));
    }
    let n: i16 = number.parse().ok().filter(|&n| n != 0)?;
    Some(NWeekday::Nth(n, weekday))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(y: i32, mo: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn expand_all(rule: &str, start: NaiveDateTime) -> Vec<NaiveDateTime> {
        Rule::parse(rule)
            .unwrap()
            .expand(start, None, None, None, 1000)
            .starts
    }

    #[test]
    fn parses_rule_parts() {
        let rule =
            Rule::parse("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,+2TU,MO;COUNT=5;X-FOO=1").unwrap();
        assert_eq!(rule.freq, Frequency::Monthly);
        assert_eq!(rule.interval, 2);
        assert_eq!(rule.count, Some(5));
        assert_eq!(
            rule.by_weekday,
            vec![
                NWeekday::Nth(-1, Weekday::Fri),
                NWeekday::Nth(2, Weekday::Tue),
                NWeekday::Every(Weekday::Mon)
            ]
        );
        assert!(!rule.is_unbounded());
        assert!(Rule::parse("INTERVAL=2").is_none());
        assert!(Rule::parse("FREQ=DAILY;INTERVAL=0").is_none());
        assert!(Rule::parse("FREQ=DAILY;BYDAY=XX").is_none());
        assert_eq!(
            Rule::parse("FREQ=DAILY;UNTIL=20060105").unwrap().until(),
            Some(Until::Date(NaiveDate::from_ymd_opt(2006, 1, 5).unwrap()))
        );
    }

    #[test]
    fn expands_count_and_until() {
        assert_eq!(
            expand_all("FREQ=DAILY;COUNT=3", t(2006, 1, 2, 12)),
            vec![t(2006, 1, 2, 12), t(2006, 1, 3, 12), t(2006, 1, 4, 12)]
        );
        let rule = Rule::parse("FREQ=WEEKLY;BYDAY=MO,WE").unwrap();
        let starts = rule
            .expand(t(2024, 1, 1, 9), Some(t(2024, 1, 10, 9)), None, None, 100)
            .starts;
        assert_eq!(
            starts,
            vec![
                t(2024, 1, 1, 9),
                t(2024, 1, 3, 9),
                t(2024, 1, 8, 9),
                t(2024, 1, 10, 9)
            ]
        );
    }

    #[test]
    fn unbounded_rule_is_cut_at_the_limit() {
        let rule = Rule::parse("FREQ=DAILY").unwrap();
        let expansion = rule.expand(t(2024, 1, 1, 9), None, None, None, 5);
        assert_eq!(expansion.starts.len(), 5);
        assert!(expansion.truncated);
    }

    #[test]
    fn skipping_ahead_keeps_the_same_occurrences() {
        let cases = [
            ("FREQ=DAILY;INTERVAL=3", t(2001, 3, 7, 8)),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR", t(2001, 3, 6, 8)),
            ("FREQ=WEEKLY", t(2001, 3, 6, 8)),
            ("FREQ=MONTHLY", t(2001, 1, 31, 8)),
            ("FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR", t(2001, 3, 30, 8)),
            ("FREQ=YEARLY", t(2000, 2, 29, 8)),
            ("FREQ=YEARLY;INTERVAL=3;BYMONTH=3,9", t(2001, 3, 6, 8)),
            ("FREQ=YEARLY;BYDAY=1SU;BYMONTH=4", t(2000, 4, 2, 2)),
            ("FREQ=HOURLY;INTERVAL=7", t(2001, 3, 6, 8)),
        ];
        let from = t(2023, 6, 1, 0);
        let to = t(2029, 6, 1, 0);
        for (text, start) in cases {
            let rule = Rule::parse(text).unwrap();
            let walked: Vec<_> = rule
                .expand(start, None, None, Some(to), 100_000)
                .starts
                .into_iter()
                .filter(|&s| s >= from)
                .collect();
            let skipped = rule
                .expand(start, None, Some(from), Some(to), 100_000)
                .starts;
            assert!(!walked.is_empty(), "{text}");
            assert_eq!(skipped, walked, "{text}");
        }
    }

    #[test]
    fn yearly_feb_29_only_in_leap_years() {
        let rule = Rule::parse("FREQ=YEARLY;COUNT=3").unwrap();
        assert_eq!(
            rule.expand(t(2000, 2, 29, 0), None, None, None, 10).starts,
            vec![t(2000, 2, 29, 0), t(2004, 2, 29, 0), t(2008, 2, 29, 0)]
        );
    }
}
