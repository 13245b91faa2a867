use super::*;
use crate::test_data::{appendix_b_parsed, utc, wrap};

fn selector(name: &str, props: &[&str], comps: Vec<CompSelector>) -> CompSelector {
    CompSelector {
        name: name.to_owned(),
        all_props: false,
        props: props.iter().map(|p| (*p).to_owned()).collect(),
        all_comps: false,
        comps,
    }
}

fn span(start: i64, end: i64) -> TimeSpan {
    TimeSpan { start, end }
}

fn crlf(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

const EASTERN_LINES: [&str; 18] = [
    "BEGIN:VTIMEZONE",
    "LAST-MODIFIED:20040110T032845Z",
    "TZID:US/Eastern",
    "BEGIN:DAYLIGHT",
    "DTSTART:20000404T020000",
    "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4",
    "TZNAME:EDT",
    "TZOFFSETFROM:-0500",
    "TZOFFSETTO:-0400",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "DTSTART:20001026T020000",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    "TZNAME:EST",
    "TZOFFSETFROM:-0400",
    "TZOFFSETTO:-0500",
    "END:STANDARD",
    "END:VTIMEZONE",
];

fn eastern() -> String {
    EASTERN_LINES.join("\r\n") + "\r\n"
}

#[test]
fn rfc_7_8_1_partial_retrieval() {
    let event = selector(
        "VEVENT",
        &[
            "SUMMARY",
            "UID",
            "DTSTART",
            "DTEND",
            "DURATION",
            "RRULE",
            "RDATE",
            "EXRULE",
            "EXDATE",
            "RECURRENCE-ID",
        ],
        Vec::new(),
    );
    let request = DataRequest {
        select: Some(selector(
            "VCALENDAR",
            &["VERSION"],
            vec![event, selector("VTIMEZONE", &[], Vec::new())],
        )),
        ..DataRequest::default()
    };
    let (_, abcd2) = &appendix_b_parsed()[1];
    let expected = crlf(&["BEGIN:VCALENDAR", "VERSION:2.0"])
        + &eastern()
        + &crlf(&[
            "BEGIN:VEVENT",
            "DTSTART;TZID=US/Eastern:20060102T120000",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=5",
            "SUMMARY:Event #2",
            "UID:00959BC664CA650E933C892C@example.com",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;TZID=US/Eastern:20060104T140000",
            "DURATION:PT1H",
            "RECURRENCE-ID;TZID=US/Eastern:20060104T120000",
            "SUMMARY:Event #2 bis",
            "UID:00959BC664CA650E933C892C@example.com",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
    assert_eq!(render(abcd2, &request, &EvalContext::default()), expected);
}

#[test]
fn rfc_7_8_2_limit_recurrence_set() {
    let (_, abcd2) = &appendix_b_parsed()[1];
    // Add the "Event #2 bis bis" override of §7.8.1 (Jan 6, outside the range)
    // and one whose original slot (Jan 3) is in range but that moved out.
    let mut cal = abcd2.clone();
    let bis = cal.components[2].clone();
    let mut bis_bis = bis.clone();
    for (name, value) in [
        ("DTSTART", "20060106T140000"),
        ("RECURRENCE-ID", "20060106T120000"),
        ("SUMMARY", "Event #2 bis bis"),
    ] {
        bis_bis
            .properties
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap()
            .value = value.to_owned();
    }
    let mut moved_away = bis.clone();
    for (name, value) in [
        ("DTSTART", "20060110T140000"),
        ("RECURRENCE-ID", "20060103T120000"),
        ("SUMMARY", "Event #2 moved away"),
    ] {
        moved_away
            .properties
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap()
            .value = value.to_owned();
    }
    cal.components.push(bis_bis);
    cal.components.push(moved_away);
    let request = DataRequest {
        limit_recurrence_set: Some(span(utc(2006, 1, 3, 0, 0), utc(2006, 1, 5, 0, 0))),
        ..DataRequest::default()
    };
    let rendered = render(&cal, &request, &EvalContext::default());
    assert!(rendered.contains("SUMMARY:Event #2\r\n"));
    assert!(rendered.contains("SUMMARY:Event #2 bis\r\n"));
    assert!(rendered.contains("SUMMARY:Event #2 moved away\r\n"));
    assert!(!rendered.contains("bis bis"));
    assert!(
        rendered.contains("TZID:US/Eastern"),
        "limit keeps the VTIMEZONE"
    );
}

#[test]
fn rfc_7_8_3_expanded_retrieval() {
    let request = DataRequest {
        expand: Some(span(utc(2006, 1, 3, 0, 0), utc(2006, 1, 5, 0, 0))),
        ..DataRequest::default()
    };
    let ctx = EvalContext::default();
    let objects = appendix_b_parsed();
    // RFC 4791 errata: the expanded times are UTC ("Z"), unlike the RFC text.
    assert_eq!(
        render(&objects[1].1, &request, &ctx),
        crlf(&[
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp.//CalDAV Client//EN",
            "BEGIN:VEVENT",
            "DTSTAMP:20060206T001121Z",
            "DTSTART:20060103T170000Z",
            "RECURRENCE-ID:20060103T170000Z",
            "DURATION:PT1H",
            "SUMMARY:Event #2",
            "UID:00959BC664CA650E933C892C@example.com",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTAMP:20060206T001121Z",
            "DTSTART:20060104T190000Z",
            "RECURRENCE-ID:20060104T170000Z",
            "DURATION:PT1H",
            "SUMMARY:Event #2 bis",
            "UID:00959BC664CA650E933C892C@example.com",
            "END:VEVENT",
            "END:VCALENDAR",
        ])
    );
    let abcd3 = render(&objects[2].1, &request, &ctx);
    assert!(abcd3.contains("\r\nDTSTART:20060104T150000Z\r\n"));
    assert!(!abcd3.contains("VTIMEZONE"));
    assert!(
        !abcd3.contains("RECURRENCE-ID"),
        "a lone event is not a recurrence"
    );
}

#[test]
fn rfc_7_8_4_limit_freebusy_set() {
    let request = DataRequest {
        limit_freebusy_set: Some(span(utc(2006, 1, 2, 0, 0), utc(2006, 1, 3, 0, 0))),
        ..DataRequest::default()
    };
    let (_, abcd8) = &appendix_b_parsed()[7];
    assert_eq!(
        render(abcd8, &request, &EvalContext::default()),
        crlf(&[
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp.//CalDAV Client//EN",
            "BEGIN:VFREEBUSY",
            "ORGANIZER;CN=\"Bernard Desruisseaux\":mailto:bernard@example.com",
            "UID:76ef34-54a3d2@example.com",
            "DTSTAMP:20050530T123421Z",
            "DTSTART:20060101T000000Z",
            "DTEND:20060108T000000Z",
            "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z",
            "END:VFREEBUSY",
            "END:VCALENDAR",
        ])
    );
}

#[test]
fn expand_converts_zoned_times_and_keeps_all_day_dates() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:weekly",
        "DTSTART;TZID=Europe/Berlin:20240325T090000",
        "DTEND;TZID=Europe/Berlin:20240325T100000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "EXDATE;TZID=Europe/Berlin:20240408T090000",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT5M",
        "END:VALARM",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:holiday",
        "DTSTART;VALUE=DATE:20240401",
        "RRULE:FREQ=YEARLY",
        "END:VEVENT",
    ]);
    let request = DataRequest {
        expand: Some(span(utc(2024, 3, 25, 0, 0), utc(2024, 4, 9, 0, 0))),
        ..DataRequest::default()
    };
    let text = render(&cal, &request, &EvalContext::default());
    let expected_events = [
        // CET until March 31, then CEST; April 8 is excluded.
        "DTSTART:20240325T080000Z\r\nRECURRENCE-ID:20240325T080000Z\r\nDTEND:20240325T090000Z\r\n",
        "DTSTART;VALUE=DATE:20240401\r\nRECURRENCE-ID;VALUE=DATE:20240401\r\n",
        "DTSTART:20240401T070000Z\r\nRECURRENCE-ID:20240401T070000Z\r\nDTEND:20240401T080000Z\r\n",
    ];
    let mut position = 0;
    for expected in expected_events {
        let found = text[position..]
            .find(expected)
            .unwrap_or_else(|| panic!("{expected:?} missing after {position} in\n{text}"));
        position += found + expected.len();
    }
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 3);
    assert_eq!(text.matches("BEGIN:VALARM").count(), 2);
    assert!(!text.contains("RRULE") && !text.contains("EXDATE") && !text.contains("TZID"));
}

#[test]
fn selectors_allprop_allcomp_and_empty() {
    let (_, abcd4) = &appendix_b_parsed()[3];
    let ctx = EvalContext::default();
    let whole = DataRequest {
        select: Some(selector("VCALENDAR", &[], Vec::new())),
        ..DataRequest::default()
    };
    assert_eq!(render(abcd4, &whole, &ctx), abcd4.to_ics());
    let todo_summary_only = DataRequest {
        select: Some(CompSelector {
            all_props: true,
            ..selector(
                "VCALENDAR",
                &[],
                vec![selector("VTODO", &["summary"], Vec::new())],
            )
        }),
        ..DataRequest::default()
    };
    assert_eq!(
        render(abcd4, &todo_summary_only, &ctx),
        crlf(&[
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp.//CalDAV Client//EN",
            "BEGIN:VTODO",
            "SUMMARY:Task #1",
            "END:VTODO",
            "END:VCALENDAR",
        ])
    );
    let all_comps = DataRequest {
        select: Some(CompSelector {
            all_comps: true,
            ..selector("VCALENDAR", &["VERSION"], Vec::new())
        }),
        ..DataRequest::default()
    };
    let rendered = render(abcd4, &all_comps, &ctx);
    assert!(!rendered.contains("PRODID"));
    assert!(rendered.contains("TRIGGER;RELATED=START:-PT10M"));
}
