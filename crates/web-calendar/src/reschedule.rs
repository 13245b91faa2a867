//! Moving and resizing on the grid: only DTSTART and DTEND of the event (or
//! of the one occurrence) change; every other line stays as it was stored.

use crate::editor::{bump_sequence, set_in_place, stamp, target_for, Timing};
use almanac_ical::{Component, Property};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// How the event writes its times: in a named zone (kept as written), in
/// UTC, or floating (the same wall time wherever the reader is).
enum TimeForm {
    Zoned(Tz, String),
    Utc,
    Floating,
}

impl TimeForm {
    /// The form of an existing DTSTART; an all-day event given times takes
    /// the zone they were picked in.
    fn of(start: Option<&Property>, view_zone: Tz) -> Self {
        let picked = || {
            if view_zone == Tz::UTC {
                Self::Utc
            } else {
                Self::Zoned(view_zone, view_zone.name().to_owned())
            }
        };
        let Some(start) = start else {
            return picked();
        };
        if start.param("VALUE") == Some("DATE") || start.value.len() == 8 {
            return picked();
        }
        if let Some(tzid) = start.param("TZID") {
            return almanac_ical::timezone::named_zone(tzid)
                .map_or_else(picked, |zone| Self::Zoned(zone, tzid.to_owned()));
        }
        if start.value.ends_with('Z') {
            Self::Utc
        } else {
            Self::Floating
        }
    }

    /// `name` at `local`, a wall time in `view_zone`.
    fn property(&self, name: &str, local: NaiveDateTime, view_zone: Tz) -> Option<Property> {
        if let Self::Floating = self {
            return Some(Property::new(
                name,
                local.format("%Y%m%dT%H%M%S").to_string(),
            ));
        }
        let instant = view_zone.from_local_datetime(&local).earliest()?;
        Some(match self {
            Self::Zoned(zone, tzid) => Property::new(
                name,
                instant
                    .with_timezone(zone)
                    .naive_local()
                    .format("%Y%m%dT%H%M%S")
                    .to_string(),
            )
            .with_param("TZID", tzid),
            _ => Property::new(
                name,
                instant
                    .with_timezone(&chrono::Utc)
                    .format("%Y%m%dT%H%M%SZ")
                    .to_string(),
            ),
        })
    }
}

fn day(name: &str, date: NaiveDate) -> Property {
    Property::new(name, date.format("%Y%m%d").to_string()).with_param("VALUE", "DATE")
}

/// Gives the lone event, or one occurrence of a series (`occurrence`: its
/// original start in UTC seconds), new times picked in `view_zone`.
pub fn reschedule(
    calendar: &mut Component,
    occurrence: Option<i64>,
    timing: Timing,
    view_zone: Tz,
) -> bool {
    let Some(position) = target_for(calendar, occurrence, view_zone) else {
        return false;
    };
    let event = &mut calendar.components[position];
    let (start, end) = match timing {
        Timing::AllDay(first, last) => (
            day("DTSTART", first),
            day("DTEND", last.succ_opt().unwrap_or(last)),
        ),
        Timing::Timed(start, end) => {
            let form = TimeForm::of(event.property("DTSTART"), view_zone);
            let (Some(start), Some(end)) = (
                form.property("DTSTART", start, view_zone),
                form.property("DTEND", end, view_zone),
            ) else {
                return false;
            };
            (start, end)
        }
    };
    event
        .properties
        .retain(|p| !p.name.eq_ignore_ascii_case("DURATION"));
    set_in_place(event, start);
    set_in_place(event, end);
    set_in_place(event, Property::new("DTSTAMP", stamp()));
    if event.property("LAST-MODIFIED").is_some() {
        set_in_place(event, Property::new("LAST-MODIFIED", stamp()));
    }
    bump_sequence(event);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_ical::{parse, ParseLimits};

    const MEETING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:m1\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;TZID=America/New_York:20261201T090000\r\nDTEND;TZID=America/New_York:20261201T100000\r\nSUMMARY:Standup\r\nX-KEEP;X-P=1:kept\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn a_move_keeps_the_events_zone_and_every_other_line() {
        let mut calendar = parse(MEETING, &ParseLimits::default()).unwrap();
        // Picked in Berlin: 16:00–17:30 there is 10:00–11:30 in New York.
        let timing = Timing::Timed(at("2026-12-02T16:00"), at("2026-12-02T17:30"));
        assert!(reschedule(
            &mut calendar,
            None,
            timing,
            chrono_tz::Europe::Berlin
        ));
        let event = &calendar.components[0];
        let start = event.property("DTSTART").unwrap();
        assert_eq!(start.value, "20261202T100000");
        assert_eq!(start.param("TZID"), Some("America/New_York"));
        assert_eq!(event.property("DTEND").unwrap().value, "20261202T113000");
        assert_eq!(event.property("X-KEEP").unwrap().value, "kept");
        assert_eq!(event.components.len(), 1, "the alarm stays");
        assert_eq!(event.property("SEQUENCE").unwrap().value, "1");
        // The start line stays where it was.
        assert_eq!(event.properties[2].name, "DTSTART");
    }

    #[test]
    fn moving_one_occurrence_makes_its_override() {
        let text = MEETING.replace(
            "SUMMARY:Standup\r\n",
            "SUMMARY:Standup\r\nRRULE:FREQ=DAILY;COUNT=5\r\n",
        );
        let mut calendar = parse(&text, &ParseLimits::default()).unwrap();
        let original = chrono_tz::America::New_York
            .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
            .unwrap()
            .timestamp();
        let timing = Timing::Timed(at("2026-12-03T11:00"), at("2026-12-03T12:00"));
        assert!(reschedule(
            &mut calendar,
            Some(original),
            timing,
            chrono_tz::America::New_York
        ));
        assert_eq!(calendar.components.len(), 2);
        let moved = &calendar.components[1];
        assert_eq!(
            moved.property("RECURRENCE-ID").unwrap().value,
            "20261203T090000"
        );
        assert_eq!(moved.property("DTSTART").unwrap().value, "20261203T110000");
        assert!(moved.property("RRULE").is_none());
        assert_eq!(
            calendar.components[0].property("DTSTART").unwrap().value,
            "20261201T090000",
            "the series stays"
        );
    }

    #[test]
    fn a_timed_event_dropped_on_the_all_day_row_becomes_all_day() {
        let mut calendar = parse(MEETING, &ParseLimits::default()).unwrap();
        let first = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert!(reschedule(
            &mut calendar,
            None,
            Timing::AllDay(first, first),
            Tz::UTC
        ));
        let event = &calendar.components[0];
        assert_eq!(event.property("DTSTART").unwrap().value, "20261204");
        assert_eq!(event.property("DTEND").unwrap().value, "20261205");
        assert_eq!(
            event.property("DTEND").unwrap().param("VALUE"),
            Some("DATE")
        );
    }
}
