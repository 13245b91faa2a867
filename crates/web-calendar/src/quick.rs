//! Quick add: one line of English ("Lunch with Ana tomorrow 1pm",
//! "Dentist fri 8:30-9:15", "Trip 3 dec all day", "Call Bo at noon for 30
//! min") to an event. What is not a date, a time or a duration is the title.

use crate::editor::Timing;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};

/// What a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quick {
    pub title: String,
    pub timing: Timing,
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Words that only join a date or time to the title ("at 1pm", "on fri").
const JOINERS: [&str; 5] = ["at", "on", "from", "to", "for"];

/// A weekday or month by its name or its first three letters or more.
fn named<T: Copy>(word: &str, names: &[(&str, T)]) -> Option<T> {
    (word.len() >= 3)
        .then(|| names.iter().find(|(name, _)| name.starts_with(word)))
        .flatten()
        .map(|(_, value)| *value)
}

fn weekday(word: &str) -> Option<Weekday> {
    named(word, &WEEKDAYS)
}

fn month(word: &str) -> Option<u32> {
    let numbered: Vec<(&str, u32)> = MONTHS.iter().copied().zip(1..).collect();
    named(word, &numbered)
}

fn day_number(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ',');
    let suffix = &word[digits.len()..].trim_end_matches(',');
    if !suffix.is_empty() && !["st", "nd", "rd", "th"].contains(suffix) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// "1pm", "1:30pm", "13:00", "9", "noon", "midnight" (a bare number only
/// when `bare` allows it: after "at", or in a range).
fn time(word: &str, bare: bool) -> Option<NaiveTime> {
    match word {
        "noon" | "midday" => return NaiveTime::from_hms_opt(12, 0, 0),
        "midnight" => return NaiveTime::from_hms_opt(0, 0, 0),
        _ => {}
    }
    let (body, half) = if let Some(b) = word.strip_suffix("am") {
        (b, Some(false))
    } else if let Some(b) = word.strip_suffix("pm") {
        (b, Some(true))
    } else {
        (word, None)
    };
    let (hour, minute) = match body.split_once(':').or_else(|| body.split_once('.')) {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if half.is_some() || bare => (body.parse::<u32>().ok()?, 0),
        _ => return None,
    };
    let hour = match half {
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        // "at 3" means the afternoon: nobody meets at 3 at night.
        None if (1..=7).contains(&hour) && !body.contains([':', '.']) => hour + 12,
        None => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

/// "30 min", "2 hours", "1h", "90m": minutes.
fn duration(words: &[&str]) -> Option<(i64, usize)> {
    let first = *words.first()?;
    let split = first
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(first.len());
    let (number, unit, used) = if split == first.len() {
        (first.parse::<i64>().ok()?, *words.get(1)?, 2)
    } else {
        (first[..split].parse::<i64>().ok()?, &first[split..], 1)
    };
    let minutes = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => number,
        "h" | "hr" | "hrs" | "hour" | "hours" => number * 60,
        _ => return None,
    };
    (1..=7 * 24 * 60)
        .contains(&minutes)
        .then_some((minutes, used))
}

/// The date named at `words[0..]`, and how many words it took.
fn date(words: &[&str], today: NaiveDate) -> Option<(NaiveDate, usize)> {
    let first = *words.first()?;
    match first {
        "today" | "tonight" => return Some((today, 1)),
        "tomorrow" | "tmrw" => return Some((today.succ_opt()?, 1)),
        _ => {}
    }
    if let Ok(day) = NaiveDate::parse_from_str(first, "%Y-%m-%d") {
        return Some((day, 1));
    }
    let (next, rest) = if first == "next" {
        (true, &words[1..])
    } else {
        (false, words)
    };
    if let Some(day) = rest.first().and_then(|w| weekday(w.trim_end_matches(','))) {
        // "fri": the coming Friday (today if it is one); "next fri": after today.
        let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        let ahead = if ahead == 0 && next { 7 } else { ahead };
        return Some((
            today + Duration::days(i64::from(ahead)),
            usize::from(next) + 1,
        ));
    }
    if next {
        return None;
    }
    // "3 dec", "dec 3", "december 3rd", with an optional year after.
    let (day, month_number) = match (words.first(), words.get(1)) {
        (Some(a), Some(b)) => {
            if let (Some(d), Some(m)) = (day_number(a), month(b.trim_end_matches(','))) {
                (d, m)
            } else if let (Some(m), Some(d)) = (month(a), day_number(b)) {
                (d, m)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    if let Some(year) = words
        .get(2)
        .and_then(|y| y.parse::<i32>().ok())
        .filter(|y| (1900..=2200).contains(y))
    {
        return NaiveDate::from_ymd_opt(year, month_number, day).map(|d| (d, 3));
    }
    let this_year = NaiveDate::from_ymd_opt(today.year(), month_number, day)?;
    let date = if this_year < today {
        NaiveDate::from_ymd_opt(today.year() + 1, month_number, day)?
    } else {
        this_year
    };
    Some((date, 2))
}

/// Reads a quick-add line; `today` in the reader's zone. An error is a
/// sentence for the person.
pub fn parse(line: &str, today: NaiveDate) -> Result<Quick, &'static str> {
    let original: Vec<&str> = line.split_whitespace().collect();
    let lower: Vec<String> = original.iter().map(|w| w.to_lowercase()).collect();
    let words: Vec<&str> = lower.iter().map(String::as_str).collect();
    let mut used = vec![false; words.len()];
    let (mut day, mut start, mut end, mut minutes, mut all_day) = (None, None, None, None, false);
    let mut i = 0;
    while i < words.len() {
        let rest = &words[i..];
        let mark =
            |used: &mut Vec<bool>, n: usize| used[i..i + n].iter_mut().for_each(|u| *u = true);
        if rest.len() >= 2 && rest[0] == "all" && rest[1] == "day" {
            all_day = true;
            mark(&mut used, 2);
            i += 2;
        } else if let (None, Some((d, n))) = (day, date(rest, today)) {
            day = Some(d);
            mark(&mut used, n);
            i += n;
        } else if let Some((from, to)) = rest[0]
            .split_once('-')
            .and_then(|(a, b)| Some((time(a, true)?, time(b, true)?)))
        {
            start = Some(from);
            end = Some(to);
            mark(&mut used, 1);
            i += 1;
        } else if let Some(t) = time(
            rest[0],
            i > 0 && matches!(words[i - 1], "at" | "from" | "to"),
        ) {
            if start.is_none() {
                start = Some(t);
            } else if end.is_none() {
                end = Some(t);
            }
            mark(&mut used, 1);
            i += 1;
        } else if let Some((m, n)) = (i > 0 && words[i - 1] == "for")
            .then(|| duration(rest))
            .flatten()
        {
            minutes = Some(m);
            mark(&mut used, n);
            i += n;
        } else {
            i += 1;
        }
    }
    // Joiners next to what was read go too ("at", "on", "for").
    for i in 0..words.len() {
        if !used[i] && JOINERS.contains(&words[i]) && used.get(i + 1) == Some(&true) {
            used[i] = true;
        }
    }
    let title: Vec<&str> = original
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(w, _)| *w)
        .collect();
    let title = title
        .join(" ")
        .trim_matches(|c: char| c == ',' || c == '-' || c.is_whitespace())
        .to_owned();
    if title.is_empty() {
        return Err("Say what the event is, for example “Lunch with Ana tomorrow 1pm”.");
    }
    let day = day.unwrap_or(today);
    let timing = match start {
        Some(start) if !all_day => {
            let start = day.and_time(start);
            let end = match (end, minutes) {
                (Some(end), _) => {
                    let end = day.and_time(end);
                    if end <= start {
                        end + Duration::days(1)
                    } else {
                        end
                    }
                }
                (None, Some(m)) => start + Duration::minutes(m),
                (None, None) => start + Duration::hours(1),
            };
            Timing::Timed(start, end)
        }
        _ => Timing::AllDay(day, day),
    };
    Ok(Quick { title, timing })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saturday 28 November 2026.
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn at(d: u32, m: u32, h: u32, min: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn timed(line: &str) -> (String, chrono::NaiveDateTime, chrono::NaiveDateTime) {
        match parse(line, today()).unwrap() {
            Quick {
                title,
                timing: Timing::Timed(s, e),
            } => (title, s, e),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn lunch_with_ana_tomorrow_at_one() {
        assert_eq!(
            timed("Lunch with Ana tomorrow 1pm"),
            (
                "Lunch with Ana".to_owned(),
                at(29, 11, 13, 0),
                at(29, 11, 14, 0)
            )
        );
        assert_eq!(
            timed("Lunch with Ana tomorrow at 1"),
            (
                "Lunch with Ana".to_owned(),
                at(29, 11, 13, 0),
                at(29, 11, 14, 0)
            )
        );
    }

    #[test]
    fn weekdays_ranges_and_durations() {
        assert_eq!(
            timed("Dentist fri 8:30-9:15"),
            ("Dentist".to_owned(), at(4, 12, 8, 30), at(4, 12, 9, 15))
        );
        assert_eq!(
            timed("Standup next monday 9am for 15 min"),
            ("Standup".to_owned(), at(30, 11, 9, 0), at(30, 11, 9, 15))
        );
        assert_eq!(
            timed("Brunch next sat 11am"),
            ("Brunch".to_owned(), at(5, 12, 11, 0), at(5, 12, 12, 0))
        );
        assert_eq!(
            timed("Call Bo at noon for 2 hours"),
            ("Call Bo".to_owned(), at(28, 11, 12, 0), at(28, 11, 14, 0))
        );
        assert_eq!(
            timed("Gym 6-7pm"),
            ("Gym".to_owned(), at(28, 11, 18, 0), at(28, 11, 19, 0))
        );
        assert_eq!(
            timed("Review on Dec 3 from 14:00 to 15:30"),
            ("Review".to_owned(), at(3, 12, 14, 0), at(3, 12, 15, 30))
        );
    }

    #[test]
    fn dates_without_times_are_all_day() {
        let trip = parse("Trip to Oslo 3 december", today()).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(
            trip,
            Quick {
                title: "Trip to Oslo".to_owned(),
                timing: Timing::AllDay(day, day)
            }
        );
        let past = parse("Anniversary march 1st", today()).unwrap();
        let next_year = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(
            past.timing,
            Timing::AllDay(next_year, next_year),
            "a past date means next year"
        );
    }

    #[test]
    fn a_line_of_only_times_asks_for_a_title() {
        assert!(parse("tomorrow 3pm", today()).is_err());
        assert!(parse("   ", today()).is_err());
    }
}
