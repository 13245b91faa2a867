use super::*;
use crate::test_data::{appendix_b_parsed, utc, wrap};

fn ctx() -> EvalContext {
    EvalContext::default()
}

fn in_tz(tz: chrono_tz::Tz) -> EvalContext {
    EvalContext {
        floating_tz: Some(tz),
        ..EvalContext::default()
    }
}

/// (start, end, recurrence id, component index) for compact assertions.
fn summary(found: &[Instance]) -> Vec<(i64, i64, Option<i64>, usize)> {
    found
        .iter()
        .map(|i| (i.start, i.end, i.recurrence_id, i.component_index))
        .collect()
}

fn range(start: i64, end: i64) -> TimeSpan {
    TimeSpan { start, end }
}

#[test]
fn appendix_b_event_2_with_its_override() {
    let (_, cal) = &appendix_b_parsed()[1];
    let found = instances(cal, None, &ctx());
    let hour = 3600;
    // 12:00 EST is 17:00Z; the override moves Jan 4 to 14:00 EST (19:00Z).
    let expected = vec![
        (
            utc(2006, 1, 2, 17, 0),
            utc(2006, 1, 2, 17, 0) + hour,
            Some(utc(2006, 1, 2, 17, 0)),
            1,
        ),
        (
            utc(2006, 1, 3, 17, 0),
            utc(2006, 1, 3, 17, 0) + hour,
            Some(utc(2006, 1, 3, 17, 0)),
            1,
        ),
        (
            utc(2006, 1, 4, 19, 0),
            utc(2006, 1, 4, 19, 0) + hour,
            Some(utc(2006, 1, 4, 17, 0)),
            2,
        ),
        (
            utc(2006, 1, 5, 17, 0),
            utc(2006, 1, 5, 17, 0) + hour,
            Some(utc(2006, 1, 5, 17, 0)),
            1,
        ),
        (
            utc(2006, 1, 6, 17, 0),
            utc(2006, 1, 6, 17, 0) + hour,
            Some(utc(2006, 1, 6, 17, 0)),
            1,
        ),
    ];
    assert_eq!(summary(&found), expected);
    // RFC 4791 §7.8.3: Jan 3 00:00Z to Jan 5 00:00Z holds the Jan 3 instance
    // and the moved Jan 4 one.
    let in_range = instances(
        cal,
        Some(range(utc(2006, 1, 3, 0, 0), utc(2006, 1, 5, 0, 0))),
        &ctx(),
    );
    assert_eq!(summary(&in_range), expected[1..3].to_vec());
}

#[test]
fn berlin_weekly_across_dst_with_exdate_and_override() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:weekly-berlin",
        "DTSTART;TZID=Europe/Berlin:20240318T090000",
        "DTEND;TZID=Europe/Berlin:20240318T100000",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE;TZID=Europe/Berlin:20240325T090000",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly-berlin",
        "RECURRENCE-ID;TZID=Europe/Berlin:20240401T090000",
        "DTSTART;TZID=Europe/Berlin:20240401T110000",
        "DTEND;TZID=Europe/Berlin:20240401T120000",
        "END:VEVENT",
    ]);
    let hour = 3600;
    assert_eq!(
        summary(&instances(&cal, None, &ctx())),
        vec![
            // CET (+01:00) before March 31, CEST (+02:00) after.
            (
                utc(2024, 3, 18, 8, 0),
                utc(2024, 3, 18, 8, 0) + hour,
                Some(utc(2024, 3, 18, 8, 0)),
                0
            ),
            (
                utc(2024, 4, 1, 9, 0),
                utc(2024, 4, 1, 9, 0) + hour,
                Some(utc(2024, 4, 1, 7, 0)),
                1
            ),
            (
                utc(2024, 4, 8, 7, 0),
                utc(2024, 4, 8, 7, 0) + hour,
                Some(utc(2024, 4, 8, 7, 0)),
                0
            ),
        ]
    );
}

#[test]
fn new_york_daily_across_dst_end_with_utc_until() {
    for tzid in [
        "America/New_York",
        "Eastern Standard Time",
        "/mozilla.org/20070129_1/America/New_York",
    ] {
        let cal = wrap(&[
            "BEGIN:VEVENT",
            "UID:ny",
            &format!("DTSTART;TZID={tzid}:20241028T100000"),
            "DURATION:PT30M",
            "RRULE:FREQ=DAILY;UNTIL=20241105T150000Z",
            "END:VEVENT",
        ]);
        let starts: Vec<i64> = instances(&cal, None, &ctx())
            .iter()
            .map(|i| i.start)
            .collect();
        let mut expected: Vec<i64> = (28..=31).map(|d| utc(2024, 10, d, 14, 0)).collect();
        expected.extend((1..=2).map(|d| utc(2024, 11, d, 14, 0)));
        // EST from November 3; UNTIL includes November 5 at 15:00Z.
        expected.extend((3..=5).map(|d| utc(2024, 11, d, 15, 0)));
        assert_eq!(starts, expected, "{tzid}");
    }
}

#[test]
fn nonexistent_local_time_uses_the_offset_before_the_gap() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:gap",
        "DTSTART;TZID=Europe/Berlin:20240324T023000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "END:VEVENT",
    ]);
    let starts: Vec<i64> = instances(&cal, None, &ctx())
        .iter()
        .map(|i| i.start)
        .collect();
    assert_eq!(
        starts,
        vec![
            utc(2024, 3, 24, 1, 30),
            utc(2024, 3, 31, 1, 30),
            utc(2024, 4, 7, 0, 30)
        ]
    );
}

#[test]
fn all_day_yearly_event_in_the_floating_zone() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:new-year",
        "DTSTART;VALUE=DATE:20240101",
        "DTEND;VALUE=DATE:20240102",
        "RRULE:FREQ=YEARLY",
        "END:VEVENT",
    ]);
    let year_2024 = Some(range(utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0)));
    // In Berlin, the 2025 holiday starts 2024-12-31T23:00Z, inside 2024 UTC.
    let berlin = instances(&cal, year_2024, &in_tz(chrono_tz::Europe::Berlin));
    assert_eq!(
        summary(&berlin),
        vec![
            (
                utc(2023, 12, 31, 23, 0),
                utc(2024, 1, 1, 23, 0),
                Some(utc(2023, 12, 31, 23, 0)),
                0
            ),
            (
                utc(2024, 12, 31, 23, 0),
                utc(2025, 1, 1, 23, 0),
                Some(utc(2024, 12, 31, 23, 0)),
                0
            ),
        ]
    );
    let in_utc = instances(&cal, year_2024, &ctx());
    assert_eq!(
        summary(&in_utc),
        vec![(
            utc(2024, 1, 1, 0, 0),
            utc(2024, 1, 2, 0, 0),
            Some(utc(2024, 1, 1, 0, 0)),
            0
        )]
    );
}

#[test]
fn floating_times_follow_the_floating_zone() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:floating",
        "DTSTART:20240615T090000",
        "DURATION:PT30M",
        "END:VEVENT",
    ]);
    let ny = instances(&cal, None, &in_tz(chrono_tz::America::New_York));
    assert_eq!(
        summary(&ny),
        vec![(utc(2024, 6, 15, 13, 0), utc(2024, 6, 15, 13, 30), None, 0)]
    );
    let plain = instances(&cal, None, &ctx());
    assert_eq!(
        summary(&plain),
        vec![(utc(2024, 6, 15, 9, 0), utc(2024, 6, 15, 9, 30), None, 0)]
    );
}

#[test]
fn default_durations_without_dtend_or_duration() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:day",
        "DTSTART;VALUE=DATE:20240301",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:moment",
        "DTSTART:20240301T120000Z",
        "END:VEVENT",
    ]);
    assert_eq!(
        summary(&instances(&cal, None, &ctx())),
        vec![
            (utc(2024, 3, 1, 0, 0), utc(2024, 3, 2, 0, 0), None, 0),
            (utc(2024, 3, 1, 12, 0), utc(2024, 3, 1, 12, 0), None, 1),
        ]
    );
}

#[test]
fn nominal_day_durations_follow_the_wall_clock() {
    // P1D from 12:00 on the day before DST starts ends at 12:00 next day,
    // which is 23 hours later.
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:p1d",
        "DTSTART;TZID=Europe/Berlin:20240330T120000",
        "DURATION:P1D",
        "END:VEVENT",
    ]);
    assert_eq!(
        summary(&instances(&cal, None, &ctx())),
        vec![(utc(2024, 3, 30, 11, 0), utc(2024, 3, 31, 10, 0), None, 0)]
    );
}

#[test]
fn rdate_periods_dates_and_date_times() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:rdates",
        "DTSTART:20240101T100000Z",
        "DURATION:PT1H",
        "RDATE;VALUE=PERIOD:20240105T120000Z/PT3H",
        "RDATE:20240110T100000Z,20240111T100000Z",
        "RDATE;VALUE=PERIOD:20240112T080000Z/20240112T083000Z",
        "END:VEVENT",
    ]);
    let found: Vec<(i64, i64)> = instances(&cal, None, &ctx())
        .iter()
        .map(|i| (i.start, i.end))
        .collect();
    assert_eq!(
        found,
        vec![
            (utc(2024, 1, 1, 10, 0), utc(2024, 1, 1, 11, 0)),
            (utc(2024, 1, 5, 12, 0), utc(2024, 1, 5, 15, 0)),
            (utc(2024, 1, 10, 10, 0), utc(2024, 1, 10, 11, 0)),
            (utc(2024, 1, 11, 10, 0), utc(2024, 1, 11, 11, 0)),
            (utc(2024, 1, 12, 8, 0), utc(2024, 1, 12, 8, 30)),
        ]
    );
    let all_day = wrap(&[
        "BEGIN:VEVENT",
        "UID:rdate-day",
        "DTSTART;VALUE=DATE:20240101",
        "RDATE;VALUE=DATE:20240201",
        "EXDATE;VALUE=DATE:20240101",
        "END:VEVENT",
    ]);
    let found: Vec<(i64, i64)> = instances(&all_day, None, &ctx())
        .iter()
        .map(|i| (i.start, i.end))
        .collect();
    assert_eq!(found, vec![(utc(2024, 2, 1, 0, 0), utc(2024, 2, 2, 0, 0))]);
}

#[test]
fn date_exdate_removes_the_whole_day_of_a_timed_series() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:exdate-day",
        "DTSTART;TZID=America/New_York:20240102T090000",
        "RRULE:FREQ=DAILY;COUNT=3",
        "EXDATE;VALUE=DATE:20240103",
        "END:VEVENT",
    ]);
    let starts: Vec<i64> = instances(&cal, None, &ctx())
        .iter()
        .map(|i| i.start)
        .collect();
    assert_eq!(starts, vec![utc(2024, 1, 2, 14, 0), utc(2024, 1, 4, 14, 0)]);
}

#[test]
fn overrides_move_instances_into_and_out_of_the_range() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:moved",
        "DTSTART:20240101T100000Z",
        "DURATION:PT1H",
        "RRULE:FREQ=DAILY;COUNT=5",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:moved",
        "RECURRENCE-ID:20240103T100000Z",
        "DTSTART:20240110T100000Z",
        "DURATION:PT1H",
        "END:VEVENT",
    ]);
    let moved_in = instances(
        &cal,
        Some(range(utc(2024, 1, 9, 0, 0), utc(2024, 1, 11, 0, 0))),
        &ctx(),
    );
    assert_eq!(
        summary(&moved_in),
        vec![(
            utc(2024, 1, 10, 10, 0),
            utc(2024, 1, 10, 11, 0),
            Some(utc(2024, 1, 3, 10, 0)),
            1
        )]
    );
    let moved_out = instances(
        &cal,
        Some(range(utc(2024, 1, 3, 0, 0), utc(2024, 1, 4, 0, 0))),
        &ctx(),
    );
    assert!(moved_out.is_empty(), "{moved_out:?}");
}

#[test]
fn old_unbounded_series_is_evaluated_cheaply_in_a_far_range() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:standup",
        "DTSTART;TZID=Europe/Berlin:19990104T091500",
        "DURATION:PT15M",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "END:VEVENT",
    ]);
    // More than 10 000 instances lie before 2040; only June 2040's week is asked.
    let found = instances(
        &cal,
        Some(range(utc(2040, 6, 4, 0, 0), utc(2040, 6, 9, 0, 0))),
        &ctx(),
    );
    let starts: Vec<i64> = found.iter().map(|i| i.start).collect();
    let expected: Vec<i64> = (4..=8).map(|d| utc(2040, 6, d, 7, 15)).collect();
    assert_eq!(starts, expected);
}

#[test]
fn expansion_is_bounded_by_max_instances() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:forever",
        "DTSTART:20240101T100000Z",
        "RRULE:FREQ=SECONDLY",
        "END:VEVENT",
    ]);
    let bounded = EvalContext {
        max_instances: 7,
        ..EvalContext::default()
    };
    let found = instances(&cal, None, &bounded);
    assert_eq!(found.len(), 7);
    assert_eq!(found[6].start, utc(2024, 1, 1, 10, 0) + 6);
}

#[test]
fn todos_and_journals_produce_instances() {
    let cal = wrap(&[
        "BEGIN:VTODO",
        "UID:due-only",
        "DUE:20240105T170000Z",
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:start-due",
        "DTSTART:20240101T090000Z",
        "DUE:20240101T110000Z",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:undated",
        "END:VTODO",
        "BEGIN:VJOURNAL",
        "UID:journal",
        "DTSTART;VALUE=DATE:20240103",
        "END:VJOURNAL",
    ]);
    assert_eq!(
        summary(&instances(&cal, None, &ctx())),
        vec![
            (i64::MIN, i64::MAX, None, 2),
            (
                utc(2024, 1, 1, 9, 0),
                utc(2024, 1, 1, 11, 0),
                Some(utc(2024, 1, 1, 9, 0)),
                1
            ),
            (utc(2024, 1, 3, 0, 0), utc(2024, 1, 4, 0, 0), None, 3),
            (utc(2024, 1, 5, 17, 0), utc(2024, 1, 5, 17, 0), None, 0),
            (
                utc(2024, 1, 8, 9, 0),
                utc(2024, 1, 8, 11, 0),
                Some(utc(2024, 1, 8, 9, 0)),
                1
            ),
        ]
    );
}

#[test]
fn invalid_rule_leaves_the_first_instance() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:broken-rule",
        "DTSTART:20240101T100000Z",
        "RRULE:FREQ=SOMETIMES",
        "END:VEVENT",
    ]);
    let starts: Vec<i64> = instances(&cal, None, &ctx())
        .iter()
        .map(|i| i.start)
        .collect();
    assert_eq!(starts, vec![utc(2024, 1, 1, 10, 0)]);
}

#[test]
fn outlook_display_name_falls_back_to_the_vtimezone() {
    let tzid = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna";
    let cal = wrap(&[
        "BEGIN:VTIMEZONE",
        &format!("TZID:{tzid}"),
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:040000008200E00074C5B7101A82E008",
        &format!("DTSTART;TZID=\"{tzid}\":20241021T140000"),
        &format!("DTEND;TZID=\"{tzid}\":20241021T150000"),
        "RRULE:FREQ=WEEKLY;COUNT=2;BYDAY=MO",
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "END:VEVENT",
    ]);
    let starts: Vec<i64> = instances(&cal, None, &ctx())
        .iter()
        .map(|i| i.start)
        .collect();
    // CEST until October 27, CET after.
    assert_eq!(
        starts,
        vec![utc(2024, 10, 21, 12, 0), utc(2024, 10, 28, 13, 0)]
    );
}
