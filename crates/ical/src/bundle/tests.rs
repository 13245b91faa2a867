use super::*;
use crate::test_data::{appendix_b_parsed, parse_ok, wrap};

fn names(calendar: &Component) -> Vec<String> {
    calendar
        .components
        .iter()
        .map(
            |c| match c.property("SUMMARY").or_else(|| c.property("TZID")) {
                Some(p) => format!("{} {}", c.name, p.value),
                None => c.name.clone(),
            },
        )
        .collect()
}

#[test]
fn merge_keeps_each_timezone_once_and_components_in_order() {
    let objects = appendix_b_parsed();
    let chosen = [&objects[0].1, &objects[1].1, &objects[3].1];
    let merged = merge_calendars(chosen, Some("Work, Bernard"));
    assert!(merged.starts_with(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//Almanac//EN\r\nX-WR-CALNAME:Work\\, Bernard\r\n"
    ));
    let calendar = parse_ok(&merged);
    assert_eq!(
        names(&calendar),
        vec![
            "VTIMEZONE US/Eastern",
            "VEVENT Event #1",
            "VEVENT Event #2",
            "VEVENT Event #2 bis",
            "VTODO Task #1"
        ]
    );
    let unnamed = merge_calendars(std::iter::empty(), None);
    assert_eq!(
        unnamed,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//Almanac//EN\r\nEND:VCALENDAR\r\n"
    );
}

fn import() -> Component {
    wrap(&[
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "BEGIN:STANDARD",
        "DTSTART:19701101T020000",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:a",
        "SUMMARY:Series",
        "DTSTART;TZID=Europe/Berlin:20240101T090000",
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VTODO",
        "UID:b",
        "SUMMARY:Todo",
        "END:VTODO",
        "BEGIN:VEVENT",
        "SUMMARY:Orphan",
        "DTSTART:20240101T090000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:a",
        "SUMMARY:Moved",
        "RECURRENCE-ID;TZID=Europe/Berlin:20240102T090000",
        "DTSTART;TZID=Europe/Berlin:20240102T100000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:c",
        "SUMMARY:Mixed event",
        "DTSTART:20240101T090000Z",
        "END:VEVENT",
        "BEGIN:VTODO",
        "UID:c",
        "SUMMARY:Mixed todo",
        "END:VTODO",
    ])
}

#[test]
fn split_groups_by_uid_with_referenced_timezones() {
    let (items, rejected) = split_calendar(&import());
    let uids: Vec<&str> = items.iter().map(|i| i.uid.as_str()).collect();
    assert_eq!(uids, vec!["a", "b"]);
    assert_eq!(
        names(&items[0].calendar),
        vec!["VTIMEZONE Europe/Berlin", "VEVENT Series", "VEVENT Moved"]
    );
    assert_eq!(names(&items[1].calendar), vec!["VTODO Todo"]);
    assert_eq!(
        items[0].calendar.property("PRODID").unwrap().value,
        "-//Test//EN"
    );
    assert_eq!(
        rejected,
        vec![
            "VEVENT #5 (SUMMARY \"Orphan\") has no UID".to_owned(),
            "UID c: invalid calendar object resource: mixed component types VEVENT and VTODO"
                .to_owned(),
        ]
    );
}

#[test]
fn split_and_merge_round_trip() {
    let (items, _) = split_calendar(&import());
    let merged = merge_calendars(items.iter().map(|i| &i.calendar), Some("Import"));
    let (again, rejected) = split_calendar(&parse_ok(&merged));
    assert!(rejected.is_empty());
    assert_eq!(again.len(), items.len());
    for (first, second) in items.iter().zip(&again) {
        assert_eq!(first.uid, second.uid);
        assert_eq!(first.calendar.components, second.calendar.components);
    }
}
