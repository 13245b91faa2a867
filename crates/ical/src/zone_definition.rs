//! A VTIMEZONE for an IANA zone, so objects written here carry the
//! definition RFC 5545 §3.6.5 asks for with every TZID they use (Outlook
//! and some older clients rely on it rather than on the zone's name).
//!
//! The definition describes the zone's rules as they stand in the given
//! year: each yearly change becomes an observance with an
//! `RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..` (the n-th or last weekday of the
//! month); a zone without changes gets one STANDARD observance.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::model::{Component, Property};

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// A change of offset: the UTC instant and the offsets around it.
struct Change {
    at: NaiveDateTime,
    from: i32,
    to: i32,
}

fn offset_at(tz: Tz, utc: NaiveDateTime) -> i32 {
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
}

/// The offset changes of `year`, found day by day and then to the quarter
/// hour (every zone changes on a quarter hour).
fn changes(tz: Tz, year: i32) -> Vec<Change> {
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut day = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut offset = offset_at(tz, day);
    while day.year() == year {
        let next = day + Duration::days(1);
        let next_offset = offset_at(tz, next);
        if next_offset != offset {
            let mut at = day;
            while offset_at(tz, at) == offset {
                at += Duration::minutes(15);
            }
            found.push(Change {
                at,
                from: offset,
                to: next_offset,
            });
            offset = next_offset;
        }
        day = next;
    }
    found
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

/// The VTIMEZONE of `tz` under the rules of `year`.
pub fn vtimezone(tz: Tz, year: i32) -> Component {
    let mut zone = Component::new("VTIMEZONE");
    zone.properties.push(Property::new("TZID", tz.name()));
    let found = changes(tz, year);
    if found.is_empty() {
        let noon = NaiveDate::from_ymd_opt(year, 7, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        let offset = offset_at(tz, noon);
        let mut standard = Component::new("STANDARD");
        standard.properties = vec![
            Property::new("DTSTART", "19700101T000000"),
            Property::new("TZOFFSETFROM", offset_text(offset)),
            Property::new("TZOFFSETTO", offset_text(offset)),
        ];
        if let Some(name) = tz.offset_from_utc_datetime(&noon).abbreviation() {
            standard.properties.push(Property::new("TZNAME", name));
        }
        zone.components.push(standard);
        return zone;
    }
    for change in found {
        let after = tz.offset_from_utc_datetime(&change.at);
        let kind = if after.dst_offset().is_zero() {
            "STANDARD"
        } else {
            "DAYLIGHT"
        };
        // Onsets are written in the local time before the change.
        let local = change.at + Duration::seconds(i64::from(change.from));
        let date = local.date();
        let nth = (date.day0() / 7 + 1).to_string();
        let last = date + Duration::days(7);
        let which = if last.month() == date.month() {
            nth
        } else {
            "-1".to_owned()
        };
        let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
        let mut observance = Component::new(kind);
        observance.properties = vec![
            Property::new("DTSTART", local.format("%Y%m%dT%H%M%S").to_string()),
            Property::new("TZOFFSETFROM", offset_text(change.from)),
            Property::new("TZOFFSETTO", offset_text(change.to)),
            Property::new(
                "RRULE",
                format!(
                    "FREQ=YEARLY;BYMONTH={};BYDAY={which}{weekday}",
                    date.month()
                ),
            ),
        ];
        if let Some(name) = after.abbreviation() {
            observance.properties.push(Property::new("TZNAME", name));
        }
        zone.components.push(observance);
    }
    zone
}

/// Adds a VTIMEZONE for every IANA zone the object's components name in a
/// TZID but do not define, under the rules of the year the object starts.
pub fn add_missing(calendar: &mut Component) {
    let mut tzids: Vec<String> = Vec::new();
    let mut year: Option<i32> = None;
    for component in calendar.components.iter().filter(|c| !c.is("VTIMEZONE")) {
        for property in &component.properties {
            if let Some(tzid) = property.param("TZID") {
                if !tzids.iter().any(|t| t == tzid) {
                    tzids.push(tzid.to_owned());
                }
            }
            if property.name.eq_ignore_ascii_case("DTSTART") {
                let start = property.value.get(..4).and_then(|y| y.parse::<i32>().ok());
                year = match (year, start) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    let defined = |tzid: &str| {
        calendar
            .components_named("VTIMEZONE")
            .any(|z| z.property("TZID").is_some_and(|p| p.value == tzid))
    };
    let year = year.unwrap_or_else(|| chrono::Utc::now().year());
    let missing: Vec<Component> = tzids
        .iter()
        .filter(|tzid| !defined(tzid))
        .filter_map(|tzid| {
            crate::timezone::named_zone(tzid).filter(|tz| tz.name() == tzid.as_str())
        })
        .map(|tz| vtimezone(tz, year))
        .collect();
    // Definitions come first, as clients write them.
    for (i, zone) in missing.into_iter().enumerate() {
        calendar.components.insert(i, zone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse, ParseLimits};
    use crate::recurrence::instances;
    use crate::timezone::EvalContext;

    /// Times read through the generated definition (under a name no
    /// database knows) equal those of the IANA zone, across a few years.
    fn agrees_with_iana(name: &str) {
        let tz: Tz = name.parse().unwrap();
        let mut definition = vtimezone(tz, 2026);
        definition.properties[0] = Property::new("TZID", "Custom/Zone");
        for (month, day, hour) in [
            (1, 15, 9),
            (3, 29, 3),
            (4, 2, 10),
            (7, 1, 12),
            (10, 25, 2),
            (11, 5, 1),
            (12, 24, 18),
        ] {
            for year in [2026, 2027, 2030] {
                let local = NaiveDate::from_ymd_opt(year, month, day)
                    .unwrap()
                    .and_hms_opt(hour, 30, 0)
                    .unwrap();
                let text = format!(
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n{}BEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n\
                     DTSTART;TZID=Custom/Zone:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                    definition.to_ics(),
                    local.format("%Y%m%dT%H%M%S")
                );
                let calendar = parse(&text, &ParseLimits::default()).unwrap();
                let ctx = EvalContext {
                    floating_tz: None,
                    max_instances: 10,
                };
                let got = instances(&calendar, None, &ctx)[0].start;
                let want = tz
                    .from_local_datetime(&local)
                    .earliest()
                    .unwrap()
                    .timestamp();
                assert_eq!(got, want, "{name} {local}\n{}", definition.to_ics());
            }
        }
    }

    #[test]
    fn definitions_follow_the_iana_rules() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Sydney",
            "America/Sao_Paulo",
            "Asia/Tokyo",
            "Asia/Kolkata",
        ] {
            agrees_with_iana(name);
        }
    }

    #[test]
    fn objects_get_the_definitions_they_lack() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n\
                    DTSTART;TZID=Europe/Berlin:20270301T093000\r\nDTEND;TZID=America/New_York:20270301T050000\r\n\
                    END:VEVENT\r\nEND:VCALENDAR\r\n";
        let mut calendar = parse(text, &ParseLimits::default()).unwrap();
        add_missing(&mut calendar);
        add_missing(&mut calendar);
        let zones: Vec<_> = calendar
            .components_named("VTIMEZONE")
            .map(|z| z.property("TZID").unwrap().value.clone())
            .collect();
        assert_eq!(zones, ["Europe/Berlin", "America/New_York"], "once each");
        assert!(
            calendar.to_ics().contains("DTSTART:20270328T020000"),
            "rules of the event's year"
        );
    }

    #[test]
    fn berlin_changes_on_the_last_sundays() {
        let text = vtimezone("Europe/Berlin".parse().unwrap(), 2026).to_ics();
        assert!(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"), "{text}");
        assert!(text.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"), "{text}");
        let tokyo = vtimezone("Asia/Tokyo".parse().unwrap(), 2026).to_ics();
        assert!(
            tokyo.contains("TZOFFSETTO:+0900") && !tokyo.contains("RRULE"),
            "{tokyo}"
        );
    }
}
