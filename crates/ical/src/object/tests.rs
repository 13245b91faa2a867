use super::*;
use crate::test_data::{appendix_b, utc};

fn object(text: &str) -> Result<CalendarObject, ObjectError> {
    parse_object(text, &ParseLimits::default(), &EvalContext::default())
}

fn calendar(body: &[&str]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//EN\r\n");
    for line in body {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn invalid_object(text: &str) -> String {
    match object(text) {
        Err(ObjectError::InvalidObject(message)) => message,
        other => panic!("expected InvalidObject, got {other:?}"),
    }
}

fn span(start: i64, end: i64) -> TimeSpan {
    // Spans are widened by one second at each end.
    TimeSpan {
        start: start - 1,
        end: end + 1,
    }
}

#[test]
fn component_kind_names() {
    assert_eq!(ComponentKind::from_name("vtodo"), Some(ComponentKind::Todo));
    assert_eq!(ComponentKind::from_name("VTIMEZONE"), None);
    assert_eq!(ComponentKind::FreeBusy.as_str(), "VFREEBUSY");
}

#[test]
fn appendix_b_objects_are_valid_with_expected_spans() {
    use ComponentKind::{Event, FreeBusy, Todo};
    let objects: Vec<CalendarObject> = appendix_b()
        .iter()
        .map(|(name, text)| object(text).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    let kinds: Vec<ComponentKind> = objects.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        vec![Event, Event, Event, Todo, Todo, Todo, Todo, FreeBusy]
    );
    assert_eq!(objects[1].uid, "00959BC664CA650E933C892C@example.com");
    // Event #1: 10:00 EST for an hour.
    assert_eq!(
        objects[0].span,
        span(utc(2006, 1, 2, 15, 0), utc(2006, 1, 2, 16, 0))
    );
    // Event #2: five daily instances at 17:00Z, one moved to 19:00Z.
    assert_eq!(
        objects[1].span,
        span(utc(2006, 1, 2, 17, 0), utc(2006, 1, 6, 18, 0))
    );
    // Task #1: due 2006-01-04 (UTC) with an alarm ten minutes before.
    assert_eq!(
        objects[3].span,
        span(utc(2006, 1, 3, 23, 50), utc(2006, 1, 4, 0, 0))
    );
    // Task #3: due 2005-12-25; COMPLETED does not matter when DUE is set.
    assert_eq!(
        objects[5].span,
        span(utc(2005, 12, 25, 0, 0), utc(2005, 12, 25, 0, 0))
    );
    assert_eq!(
        objects[7].span,
        span(utc(2006, 1, 1, 0, 0), utc(2006, 1, 8, 0, 0))
    );
}

#[test]
fn span_of_an_unbounded_rule_is_open_ended() {
    let obj = object(&calendar(&[
        "BEGIN:VEVENT",
        "UID:forever",
        "DTSTART:20240101T100000Z",
        "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY",
        "END:VEVENT",
    ]))
    .unwrap();
    assert_eq!(obj.span.start, utc(2024, 1, 1, 10, 0) - 1);
    assert_eq!(obj.span.end, i64::MAX);
}

#[test]
fn span_of_an_endless_rule_that_never_recurs_is_its_first_instance() {
    // 30 February never comes: only DTSTART happens, so queries for any
    // other time need not look at this object (and walk the rule) at all.
    let obj = object(&calendar(&[
        "BEGIN:VEVENT",
        "UID:never",
        "DTSTART:20240105T080000Z",
        "DURATION:PT1H",
        "RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
        "END:VEVENT",
    ]))
    .unwrap();
    assert_eq!(obj.span, span(utc(2024, 1, 5, 8, 0), utc(2024, 1, 5, 9, 0)));
}

#[test]
fn span_is_open_ended_when_the_instance_bound_is_hit() {
    let text = calendar(&[
        "BEGIN:VEVENT",
        "UID:many",
        "DTSTART:20240101T100000Z",
        "RRULE:FREQ=DAILY;COUNT=100",
        "END:VEVENT",
    ]);
    let bounded = EvalContext {
        max_instances: 10,
        ..EvalContext::default()
    };
    let obj = parse_object(&text, &ParseLimits::default(), &bounded).unwrap();
    assert_eq!(obj.span.end, i64::MAX);
    let full = object(&text).unwrap();
    assert_eq!(
        full.span,
        span(utc(2024, 1, 1, 10, 0), utc(2024, 4, 9, 10, 0))
    );
}

#[test]
fn span_covers_overrides_moved_before_the_series_and_alarms() {
    let obj = object(&calendar(&[
        "BEGIN:VEVENT",
        "UID:moved-early",
        "DTSTART:20240110T100000Z",
        "DTEND:20240110T110000Z",
        "RRULE:FREQ=DAILY;COUNT=2",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER;RELATED=END:PT2H",
        "END:VALARM",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:moved-early",
        "RECURRENCE-ID:20240110T100000Z",
        "DTSTART:20240105T100000Z",
        "DTEND:20240105T110000Z",
        "END:VEVENT",
    ]))
    .unwrap();
    // From the moved first instance to the alarm 2 h after the last one ends.
    assert_eq!(
        obj.span,
        span(utc(2024, 1, 5, 10, 0), utc(2024, 1, 11, 13, 0))
    );
}

#[test]
fn undated_todo_spans_all_time() {
    let obj = object(&calendar(&[
        "BEGIN:VTODO",
        "UID:someday",
        "SUMMARY:Later",
        "END:VTODO",
    ]))
    .unwrap();
    assert_eq!(obj.span, TimeSpan::ALL);
}

#[test]
fn rejects_what_rfc_4791_section_4_1_forbids() {
    let event = |uid: &str| {
        vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{uid}"),
            "DTSTART:20240101T100000Z".to_owned(),
            "END:VEVENT".to_owned(),
        ]
    };
    let text = |parts: Vec<String>| calendar(&parts.iter().map(String::as_str).collect::<Vec<_>>());

    let mut with_method = vec!["METHOD:REQUEST".to_owned()];
    with_method.extend(event("a"));
    assert_eq!(
        invalid_object(&text(with_method)),
        "calendar object resources must not contain a METHOD property"
    );

    let mut two_uids = event("a");
    two_uids.extend(event("b"));
    assert_eq!(
        invalid_object(&text(two_uids)),
        "several UIDs in one resource: a and b"
    );

    let mut mixed = event("a");
    mixed.extend(["BEGIN:VTODO", "UID:a", "END:VTODO"].map(str::to_owned));
    assert_eq!(
        invalid_object(&text(mixed)),
        "mixed component types VEVENT and VTODO"
    );

    let mut two_masters = event("a");
    two_masters.extend(event("a"));
    assert_eq!(
        invalid_object(&text(two_masters)),
        "several VEVENT components without RECURRENCE-ID share UID a"
    );

    let no_uid = vec![
        "BEGIN:VEVENT".to_owned(),
        "DTSTART:20240101T100000Z".to_owned(),
        "END:VEVENT".to_owned(),
    ];
    assert_eq!(invalid_object(&text(no_uid)), "VEVENT without UID");

    let only_timezone = ["BEGIN:VTIMEZONE", "TZID:X", "END:VTIMEZONE"]
        .map(str::to_owned)
        .to_vec();
    assert_eq!(
        invalid_object(&text(only_timezone)),
        "no VEVENT, VTODO, VJOURNAL or VFREEBUSY component"
    );
}

#[test]
fn unparseable_data_is_invalid_data() {
    assert_eq!(
        object("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n"),
        Err(ObjectError::InvalidData(
            "line 3: END:VCALENDAR does not match BEGIN:VEVENT on line 2".to_owned()
        ))
    );
    assert_eq!(
        object(&calendar(&["BEGIN:VEVENT", "UID:a", "END:VEVENT"])),
        Err(ObjectError::InvalidData(
            "VEVENT without DTSTART".to_owned()
        ))
    );
    assert_eq!(
        object(&calendar(&[
            "BEGIN:VEVENT",
            "UID:a",
            "DTSTART:2024-01-01",
            "END:VEVENT"
        ])),
        Err(ObjectError::InvalidData(
            "DTSTART of VEVENT has an invalid date or date-time value \"2024-01-01\"".to_owned()
        ))
    );
}

#[test]
fn extreme_values_do_not_panic() {
    let text = calendar(&[
        "BEGIN:VEVENT",
        "UID:extreme",
        "DTSTART;TZID=Europe/Berlin:99991231T230000",
        "DURATION:P999999999D",
        "RRULE:FREQ=SECONDLY;UNTIL=99991231T235959Z",
        "RDATE;VALUE=PERIOD:00010101T000000Z/P999999999W",
        "BEGIN:VALARM",
        "TRIGGER:-P999999999W",
        "REPEAT:10",
        "DURATION:P999999999W",
        "END:VALARM",
        "END:VEVENT",
    ]);
    let obj = object(&text).unwrap();
    // The 999 999 999-week RDATE period reaches far beyond the year 9999.
    assert!(obj.span.start < utc(1, 1, 2, 0, 0));
    assert!(obj.span.end > utc(9999, 12, 31, 23, 59));
    assert_eq!(
        object(&calendar(&[
            "BEGIN:VEVENT",
            "UID:x",
            "DTSTART:20240101T000000Z",
            "DURATION:P9999999999999999999W",
            "END:VEVENT"
        ])),
        Err(ObjectError::InvalidData(
            "DURATION of VEVENT has an invalid value \"P9999999999999999999W\"".to_owned()
        ))
    );
}
