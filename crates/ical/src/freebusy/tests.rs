use super::*;
use crate::test_data::{appendix_b_parsed, utc, wrap};

/// Busy time of the whole Appendix B collection, ordered by start.
fn collection_busy(range: TimeSpan) -> Vec<BusyPeriod> {
    let mut periods: Vec<BusyPeriod> = appendix_b_parsed()
        .iter()
        .flat_map(|(_, cal)| busy_periods(cal, range, &EvalContext::default()))
        .collect();
    periods.sort_by_key(|p| p.start);
    periods
}

fn period(start: i64, end: i64, kind: BusyKind) -> BusyPeriod {
    BusyPeriod { start, end, kind }
}

#[test]
fn rfc_7_10_1_free_busy_query() {
    // The example asks for 9:00-17:00 EST on January 4 (14:00Z-22:00Z).
    let range = TimeSpan {
        start: utc(2006, 1, 4, 14, 0),
        end: utc(2006, 1, 4, 22, 0),
    };
    let periods = collection_busy(range);
    assert_eq!(
        periods,
        vec![
            period(
                utc(2006, 1, 4, 15, 0),
                utc(2006, 1, 4, 16, 0),
                BusyKind::Tentative
            ),
            period(
                utc(2006, 1, 4, 19, 0),
                utc(2006, 1, 4, 20, 0),
                BusyKind::Busy
            ),
        ]
    );
    let now = utc(2005, 1, 25, 9, 0);
    assert_eq!(
        freebusy_calendar(periods, range, now),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//Almanac//EN\r\n\
         BEGIN:VFREEBUSY\r\nDTSTAMP:20050125T090000Z\r\nDTSTART:20060104T140000Z\r\n\
         DTEND:20060104T220000Z\r\n\
         FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060104T150000Z/20060104T160000Z\r\n\
         FREEBUSY:20060104T190000Z/20060104T200000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    );
}

#[test]
fn rfc_7_10_1_with_the_literal_request_end_also_sees_january_5() {
    // The request element says end="20060105T220000Z".
    let range = TimeSpan {
        start: utc(2006, 1, 4, 14, 0),
        end: utc(2006, 1, 5, 22, 0),
    };
    assert_eq!(
        collection_busy(range),
        vec![
            period(
                utc(2006, 1, 4, 15, 0),
                utc(2006, 1, 4, 16, 0),
                BusyKind::Tentative
            ),
            period(
                utc(2006, 1, 4, 19, 0),
                utc(2006, 1, 4, 20, 0),
                BusyKind::Busy
            ),
            period(
                utc(2006, 1, 5, 10, 0),
                utc(2006, 1, 5, 12, 0),
                BusyKind::Unavailable
            ),
            period(
                utc(2006, 1, 5, 17, 0),
                utc(2006, 1, 5, 18, 0),
                BusyKind::Busy
            ),
        ]
    );
}

#[test]
fn transparent_cancelled_and_free_time_is_not_busy() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:series",
        "DTSTART:20240101T100000Z",
        "DTEND:20240101T110000Z",
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:series",
        "RECURRENCE-ID:20240102T100000Z",
        "DTSTART:20240102T100000Z",
        "DTEND:20240102T110000Z",
        "STATUS:CANCELLED",
        "END:VEVENT",
    ]);
    let range = TimeSpan {
        start: utc(2024, 1, 1, 0, 0),
        end: utc(2024, 1, 4, 0, 0),
    };
    let ctx = EvalContext::default();
    assert_eq!(
        busy_periods(&cal, range, &ctx),
        vec![
            period(
                utc(2024, 1, 1, 10, 0),
                utc(2024, 1, 1, 11, 0),
                BusyKind::Busy
            ),
            period(
                utc(2024, 1, 3, 10, 0),
                utc(2024, 1, 3, 11, 0),
                BusyKind::Busy
            ),
        ]
    );
    let transparent = wrap(&[
        "BEGIN:VEVENT",
        "UID:t",
        "DTSTART:20240101T100000Z",
        "DTEND:20240101T110000Z",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]);
    assert!(busy_periods(&transparent, range, &ctx).is_empty());
    let free = wrap(&[
        "BEGIN:VFREEBUSY",
        "UID:f",
        "FREEBUSY;FBTYPE=FREE:20240101T100000Z/PT1H",
        "FREEBUSY;FBTYPE=X-OUT-OF-OFFICE:20240102T100000Z/PT1H",
        "END:VFREEBUSY",
    ]);
    assert_eq!(
        busy_periods(&free, range, &ctx),
        vec![period(
            utc(2024, 1, 2, 10, 0),
            utc(2024, 1, 2, 11, 0),
            BusyKind::Busy
        )]
    );
}

#[test]
fn periods_are_clipped_to_the_range() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:long",
        "DTSTART;VALUE=DATE:20240101",
        "DTEND;VALUE=DATE:20240105",
        "END:VEVENT",
    ]);
    let range = TimeSpan {
        start: utc(2024, 1, 2, 12, 0),
        end: utc(2024, 1, 3, 12, 0),
    };
    assert_eq!(
        busy_periods(&cal, range, &EvalContext::default()),
        vec![period(range.start, range.end, BusyKind::Busy)]
    );
}

#[test]
fn merges_overlapping_and_adjacent_periods_of_the_same_kind() {
    let h = |hour| utc(2024, 1, 1, hour, 0);
    let periods = vec![
        period(h(9), h(10), BusyKind::Busy),
        period(h(13), h(14), BusyKind::Busy),
        period(h(10), h(11), BusyKind::Busy),
        period(h(9), h(12), BusyKind::Tentative),
        period(h(10), h(12), BusyKind::Busy),
        period(h(11), h(13), BusyKind::Tentative),
    ];
    let range = TimeSpan {
        start: h(0),
        end: utc(2024, 1, 2, 0, 0),
    };
    let text = freebusy_calendar(periods, range, h(0));
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("FREEBUSY")).collect();
    assert_eq!(
        lines,
        vec![
            "FREEBUSY:20240101T090000Z/20240101T120000Z",
            "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240101T090000Z/20240101T130000Z",
            "FREEBUSY:20240101T130000Z/20240101T140000Z",
        ]
    );
    let empty = freebusy_calendar(Vec::new(), range, h(0));
    assert!(!empty.contains("FREEBUSY:") && empty.contains("BEGIN:VFREEBUSY"));
}
