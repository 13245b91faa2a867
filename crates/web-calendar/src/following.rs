//! "This and following": a series split in two at one occurrence. The old
//! series ends just before it; the new one (a new UID) starts there with
//! the form's data.

use crate::editor::{bump_sequence, master_index, set_in_place, EventData};
use almanac_ical::{Component, EvalContext, Property};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// Ends the series just before the occurrence that starts at `original`
/// (UTC seconds): its rule gets an UNTIL, and the overrides and extra
/// dates from there on go. False when the object has no series, or when
/// `original` is its first occurrence (then "following" is "all").
pub fn end_before(calendar: &mut Component, original: i64, floating: Tz) -> bool {
    let ctx = EvalContext {
        floating_tz: Some(floating),
        max_instances: 50_000,
    };
    let instances = almanac_ical::instances(calendar, None, &ctx);
    let Some(first) = instances.iter().filter_map(|i| i.recurrence_id).min() else {
        return false;
    };
    if original <= first {
        return false;
    }
    let later_overrides: Vec<usize> = instances
        .iter()
        .filter(|i| i.recurrence_id.is_some_and(|r| r >= original))
        .map(|i| i.component_index)
        .filter(|&index| {
            calendar.components[index]
                .property("RECURRENCE-ID")
                .is_some()
        })
        .collect();
    let Some(index) = master_index(calendar, "VEVENT") else {
        return false;
    };
    let Some(until) = until_value(&calendar.components[index], original - 1, floating) else {
        return false;
    };
    let master = &mut calendar.components[index];
    if let Some(rule) = master.property("RRULE").cloned() {
        let parts: Vec<&str> = rule
            .value
            .split(';')
            .filter(|part| {
                let key = part.split('=').next().unwrap_or("").to_ascii_uppercase();
                key != "UNTIL" && key != "COUNT"
            })
            .collect();
        let value = format!("{};UNTIL={until}", parts.join(";"));
        set_in_place(master, Property { value, ..rule });
    }
    // RDATEs after the split belong to the new series (which has its own rule).
    master
        .properties
        .retain(|p| !p.name.eq_ignore_ascii_case("RDATE") || rdate_before(p, original, floating));
    bump_sequence(master);
    let mut index = 0;
    calendar.components.retain(|_| {
        index += 1;
        !later_overrides.contains(&(index - 1))
    });
    true
}

/// UNTIL for a rule whose DTSTART is `master`'s: a date for all-day
/// series, UTC for zoned or UTC ones, local for floating ones (RFC 5545
/// §3.3.10).
fn until_value(master: &Component, last: i64, floating: Tz) -> Option<String> {
    let start = master.property("DTSTART")?;
    let utc = Utc.timestamp_opt(last, 0).single()?;
    if start.param("VALUE") == Some("DATE") || start.value.len() == 8 {
        return Some(utc.with_timezone(&floating).format("%Y%m%d").to_string());
    }
    if start.param("TZID").is_some() || start.value.ends_with('Z') {
        return Some(utc.format("%Y%m%dT%H%M%SZ").to_string());
    }
    Some(
        utc.with_timezone(&floating)
            .format("%Y%m%dT%H%M%S")
            .to_string(),
    )
}

/// Whether every date of an RDATE comes before `original`.
fn rdate_before(rdate: &Property, original: i64, floating: Tz) -> bool {
    let zone = rdate
        .param("TZID")
        .and_then(almanac_ical::timezone::named_zone)
        .unwrap_or(floating);
    rdate.value.split(',').all(|value| {
        let value = value.split('/').next().unwrap_or(value);
        let at = if let Some(utc) = value.strip_suffix('Z') {
            chrono::NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
                .ok()
                .map(|t| t.and_utc().timestamp())
        } else if value.len() == 8 {
            chrono::NaiveDate::parse_from_str(value, "%Y%m%d")
                .ok()
                .and_then(|d| {
                    zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                        .earliest()
                })
                .map(|t| t.timestamp())
        } else {
            chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
                .ok()
                .and_then(|t| zone.from_local_datetime(&t).earliest())
                .map(|t| t.timestamp())
        };
        at.is_some_and(|t| t < original)
    })
}

/// The new series that takes over from the split: a copy of the master
/// (alarms, guests and the rest kept) under a new UID, with the form's data.
pub fn new_series(calendar: &Component, uid: &str, data: &EventData) -> Option<Component> {
    let master = calendar
        .components
        .get(master_index(calendar, "VEVENT")?)?
        .clone();
    let mut series = calendar.clone();
    series.components.retain(|c| !c.is("VEVENT"));
    series.components.push(master);
    let mut series = crate::editor::duplicate(&series, uid);
    crate::editor::edit_series(&mut series, data).then_some(series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_ical::{parse, ParseLimits};

    const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261102T100000\r\nDTEND;TZID=Europe/Berlin:20261102T110000\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Team\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261123T100000\r\nDTSTART;TZID=Europe/Berlin:20261123T120000\r\nDTEND;TZID=Europe/Berlin:20261123T130000\r\nSUMMARY:Team (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn berlin(d: u32, m: u32) -> i64 {
        chrono_tz::Europe::Berlin
            .with_ymd_and_hms(2026, m, d, 10, 0, 0)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn the_series_ends_before_the_split_and_later_overrides_go() {
        let mut calendar = parse(WEEKLY, &ParseLimits::default()).unwrap();
        assert!(end_before(&mut calendar, berlin(16, 11), Tz::UTC));
        let rule = &calendar.components[0].property("RRULE").unwrap().value;
        assert_eq!(rule, "FREQ=WEEKLY;UNTIL=20261116T085959Z");
        assert_eq!(
            calendar.components.len(),
            1,
            "the override of the 23rd went"
        );
        let ctx = EvalContext {
            floating_tz: None,
            max_instances: 100,
        };
        let left = almanac_ical::instances(&calendar, None, &ctx);
        assert_eq!(left.len(), 2, "2 and 9 November stay");
    }

    #[test]
    fn splitting_at_the_first_occurrence_is_the_whole_series() {
        let mut calendar = parse(WEEKLY, &ParseLimits::default()).unwrap();
        let before = calendar.clone();
        assert!(!end_before(&mut calendar, berlin(2, 11), Tz::UTC));
        assert_eq!(calendar, before);
    }
}
