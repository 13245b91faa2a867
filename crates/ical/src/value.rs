//! Typed reading and writing of property values (RFC 5545 §3.3): DATE,
//! DATE-TIME, DURATION, PERIOD and TEXT.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::model::Property;

/// A DATE or DATE-TIME value before time-zone resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeValue<'a> {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Utc(NaiveDateTime),
    /// Local time with the TZID it refers to.
    Zoned(NaiveDateTime, &'a str),
}

impl TimeValue<'_> {
    pub(crate) fn is_date(&self) -> bool {
        matches!(self, Self::Date(_))
    }

    /// The wall-clock reading; dates are taken at midnight.
    pub(crate) fn local(&self) -> NaiveDateTime {
        match *self {
            Self::Date(date) => date.and_time(NaiveTime::MIN),
            Self::Floating(local) | Self::Utc(local) | Self::Zoned(local, _) => local,
        }
    }
}

/// A length of time: nominal days (which follow wall-clock days across DST
/// changes) plus exact seconds, as RFC 5545 §3.3.6 distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Length {
    pub(crate) days: i64,
    pub(crate) seconds: i64,
}

impl Length {
    pub(crate) const ZERO: Self = Self {
        days: 0,
        seconds: 0,
    };

    pub(crate) fn days(days: i64) -> Self {
        Self { days, seconds: 0 }
    }

    pub(crate) fn seconds(seconds: i64) -> Self {
        Self { days: 0, seconds }
    }

    /// Approximate total, good for bounds and comparisons.
    pub(crate) fn approx_seconds(self) -> i64 {
        self.days
            .saturating_mul(86_400)
            .saturating_add(self.seconds)
    }

    pub(crate) fn is_negative(self) -> bool {
        self.approx_seconds() < 0
    }
}

/// Reads the first value of a DATE / DATE-TIME property.
pub(crate) fn property_time(property: &Property) -> Option<TimeValue<'_>> {
    let first = property.value.split(',').next()?;
    parse_time(first, property.param("TZID"), is_date_typed(property))
}

/// Reads every value of a multi-valued DATE / DATE-TIME property such as
/// EXDATE; values that do not parse are skipped.
pub(crate) fn property_times(property: &Property) -> impl Iterator<Item = TimeValue<'_>> {
    let tzid = property.param("TZID");
    let date_typed = is_date_typed(property);
    property
        .value
        .split(',')
        .filter_map(move |v| parse_time(v, tzid, date_typed))
}

fn is_date_typed(property: &Property) -> bool {
    property
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
}

/// Parses `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`.
pub(crate) fn parse_time<'a>(
    text: &str,
    tzid: Option<&'a str>,
    date_typed: bool,
) -> Option<TimeValue<'a>> {
    let text = text.trim();
    let date = parse_date(text.get(..8)?)?;
    if text.len() == 8 {
        return Some(TimeValue::Date(date));
    }
    if date_typed {
        return None;
    }
    let rest = text.get(8..)?.strip_prefix(['T', 't'])?;
    let (clock, utc) = match rest.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, true),
        None => (rest, false),
    };
    if clock.len() != 6 || !clock.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hour = number(&clock[0..2])?;
    let minute = number(&clock[2..4])?;
    // A leap second (60) is read as the last second of the minute.
    let second = number(&clock[4..6])?.min(59);
    let local = date.and_time(NaiveTime::from_hms_opt(hour, minute, second)?);
    Some(match (utc, tzid) {
        (true, _) => TimeValue::Utc(local),
        (false, Some(tzid)) => TimeValue::Zoned(local, tzid),
        (false, None) => TimeValue::Floating(local),
    })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = i32::try_from(number(&text[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&text[4..6])?, number(&text[6..8])?)
}

fn number(digits: &str) -> Option<u32> {
    digits.parse().ok()
}

/// Parses an RFC 5545 DURATION such as `-P1W`, `P1DT2H` or `PT15M`.
pub(crate) fn parse_duration(text: &str) -> Option<Length> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let mut length = Length::ZERO;
    let mut in_time = false;
    let mut digits_start = None;
    let mut seen_unit = false;
    for (i, c) in rest.char_indices() {
        if c.is_ascii_digit() {
            digits_start.get_or_insert(i);
            continue;
        }
        let c = c.to_ascii_uppercase();
        if c == 'T' {
            in_time = true;
            continue;
        }
        let value: i64 = rest[digits_start.take()?..i].parse().ok()?;
        match (c, in_time) {
            ('W', false) => length.days = length.days.checked_add(value.checked_mul(7)?)?,
            ('D', false) => length.days = length.days.checked_add(value)?,
            ('H', true) => length.seconds = length.seconds.checked_add(value.checked_mul(3600)?)?,
            ('M', true) => length.seconds = length.seconds.checked_add(value.checked_mul(60)?)?,
            ('S', true) => length.seconds = length.seconds.checked_add(value)?,
            _ => return None,
        }
        seen_unit = true;
    }
    if digits_start.is_some() || !seen_unit {
        return None;
    }
    Some(Length {
        days: sign * length.days,
        seconds: sign * length.seconds,
    })
}

/// The end of a PERIOD value: an explicit time or a duration from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeriodEnd<'a> {
    At(TimeValue<'a>),
    After(Length),
}

/// Parses `start/end` or `start/duration` (RFC 5545 §3.3.9).
pub(crate) fn parse_period<'a>(
    text: &str,
    tzid: Option<&'a str>,
) -> Option<(TimeValue<'a>, PeriodEnd<'a>)> {
    let (start, end) = text.split_once('/')?;
    let start = parse_time(start, tzid, false)?;
    let end = if end.trim_start().starts_with(['P', 'p', '+', '-']) {
        PeriodEnd::After(parse_duration(end)?)
    } else {
        PeriodEnd::At(parse_time(end, tzid, false)?)
    };
    Some((start, end))
}

/// The first control character in `text` that iCalendar cannot carry
/// (RFC 5545 CONTROL: all but HTAB); line ends (CR, LF) are allowed, as a
/// TEXT value escapes them. For checking what people type.
pub fn forbidden_control(text: &str) -> Option<char> {
    text.chars().find(|&c| is_forbidden_control(c, true))
}

/// RFC 5545 CONTROL characters: U+0000–U+0008, U+000A–U+001F and U+007F
/// (everything but HTAB), optionally letting CR and LF through.
pub(crate) fn is_forbidden_control(c: char, allow_line_ends: bool) -> bool {
    match c {
        '\t' => false,
        '\r' | '\n' => !allow_line_ends,
        c => c.is_ascii_control(),
    }
}

/// Text as a TEXT value: backslash, semicolon, comma and newline escaped,
/// other control characters (CR included) dropped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            // iCalendar cannot carry other control characters at all.
            c if is_forbidden_control(c, false) => {}
            c => out.push(c),
        }
    }
    out
}

/// A TEXT value as people read it (RFC 5545 §3.3.11).
pub fn unescape_text(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// `20060104T150000Z` for a UNIX time.
pub(crate) fn format_utc(seconds: i64) -> String {
    match DateTime::from_timestamp(seconds, 0) {
        Some(t) => format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        // Unbounded ends are clamped to the widest representable values.
        None if seconds < 0 => "00010101T000000Z".to_owned(),
        None => "99991231T235959Z".to_owned(),
    }
}

/// `20060104` for a date.
pub(crate) fn format_date(date: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

/// `local` moved by whole wall-clock days; `None` beyond chrono's range.
pub(crate) fn add_days(local: NaiveDateTime, days: i64) -> Option<NaiveDateTime> {
    local.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// Seconds since the epoch of a wall-clock reading taken as UTC.
pub(crate) fn naive_seconds(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp()
}

/// The wall-clock reading of `seconds` taken as UTC; `None` out of range.
pub(crate) fn naive_from_seconds(seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    #[test]
    fn parses_all_time_forms() {
        assert_eq!(
            parse_time("20060104", None, false),
            Some(TimeValue::Date(
                NaiveDate::from_ymd_opt(2006, 1, 4).unwrap()
            ))
        );
        assert_eq!(
            parse_time("20060104T100000Z", Some("X"), false),
            Some(TimeValue::Utc(dt(2006, 1, 4, 10, 0, 0)))
        );
        assert_eq!(
            parse_time("20060104T100000", Some("US/Eastern"), false),
            Some(TimeValue::Zoned(dt(2006, 1, 4, 10, 0, 0), "US/Eastern"))
        );
        assert_eq!(
            parse_time("20161231T235960", None, false),
            Some(TimeValue::Floating(dt(2016, 12, 31, 23, 59, 59)))
        );
        assert_eq!(parse_time("20060104T1000", None, false), None);
        assert_eq!(parse_time("20060230", None, false), None);
        assert_eq!(parse_time("20060104T100000", None, true), None);
    }

    #[test]
    fn reads_multi_valued_properties() {
        let p = Property::new("EXDATE", "20060103T120000,20060105T120000")
            .with_param("TZID", "Europe/Berlin");
        let values: Vec<_> = property_times(&p).collect();
        assert_eq!(
            values,
            vec![
                TimeValue::Zoned(dt(2006, 1, 3, 12, 0, 0), "Europe/Berlin"),
                TimeValue::Zoned(dt(2006, 1, 5, 12, 0, 0), "Europe/Berlin"),
            ]
        );
        let date = Property::new("DTSTART", "20060103").with_param("VALUE", "DATE");
        assert!(property_time(&date).unwrap().is_date());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("PT1H"), Some(Length::seconds(3600)));
        assert_eq!(parse_duration("-PT10M"), Some(Length::seconds(-600)));
        assert_eq!(
            parse_duration("P1DT2H3M4S"),
            Some(Length {
                days: 1,
                seconds: 7384
            })
        );
        assert_eq!(parse_duration("P2W"), Some(Length::days(14)));
        assert_eq!(parse_duration("+P0D"), Some(Length::ZERO));
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT5"), None);
        assert_eq!(parse_duration("P1H"), None);
        assert_eq!(parse_duration("1H"), None);
    }

    #[test]
    fn parses_periods() {
        assert_eq!(
            parse_period("20060102T100000Z/PT2H", None),
            Some((
                TimeValue::Utc(dt(2006, 1, 2, 10, 0, 0)),
                PeriodEnd::After(Length::seconds(7200))
            ))
        );
        assert_eq!(
            parse_period("20060102T100000Z/20060102T120000Z", None),
            Some((
                TimeValue::Utc(dt(2006, 1, 2, 10, 0, 0)),
                PeriodEnd::At(TimeValue::Utc(dt(2006, 1, 2, 12, 0, 0)))
            ))
        );
        assert_eq!(parse_period("20060102T100000Z", None), None);
    }

    #[test]
    fn unescapes_text() {
        assert_eq!(unescape_text("plain"), Cow::Borrowed("plain"));
        assert_eq!(unescape_text(r"a\, b\; c\nd\Ne\\f"), "a, b; c\nd\ne\\f");
        assert_eq!(unescape_text("trailing\\"), "trailing\\");
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(1_136_386_800), "20060104T150000Z");
        assert_eq!(format_utc(i64::MAX), "99991231T235959Z");
        assert_eq!(
            format_date(NaiveDate::from_ymd_opt(2006, 1, 4).unwrap()),
            "20060104"
        );
    }
}
