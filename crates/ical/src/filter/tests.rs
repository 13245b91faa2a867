use super::*;
use crate::test_data::{appendix_b_parsed, parse_ok, utc, wrap};

fn comp(name: &str) -> CompFilter {
    CompFilter {
        name: name.to_owned(),
        is_not_defined: false,
        time_range: None,
        prop_filters: Vec::new(),
        comp_filters: Vec::new(),
    }
}

fn prop(name: &str) -> PropFilter {
    PropFilter {
        name: name.to_owned(),
        is_not_defined: false,
        time_range: None,
        text_match: None,
        param_filters: Vec::new(),
    }
}

fn text(text: &str, collation: Collation) -> TextMatch {
    TextMatch {
        text: text.to_owned(),
        collation,
        negate: false,
    }
}

fn range(start: i64, end: i64) -> TimeRange {
    TimeRange {
        start: Some(start),
        end: Some(end),
    }
}

fn calendar_filter(child: CompFilter) -> CompFilter {
    CompFilter {
        comp_filters: vec![child],
        ..comp("VCALENDAR")
    }
}

/// Names of the Appendix B resources that match `filter`.
fn matching(filter: &CompFilter, ctx: &EvalContext) -> Vec<&'static str> {
    appendix_b_parsed()
        .into_iter()
        .filter(|(_, cal)| matches(cal, filter, ctx))
        .map(|(name, _)| name)
        .collect()
}

fn events_in(start: i64, end: i64) -> CompFilter {
    calendar_filter(CompFilter {
        time_range: Some(range(start, end)),
        ..comp("VEVENT")
    })
}

#[test]
fn rfc_7_8_1_events_overlapping_january_4() {
    let filter = events_in(utc(2006, 1, 4, 0, 0), utc(2006, 1, 5, 0, 0));
    assert_eq!(
        matching(&filter, &EvalContext::default()),
        vec!["abcd2", "abcd3"]
    );
}

#[test]
fn rfc_7_8_2_and_7_8_3_events_overlapping_january_3_and_4() {
    let filter = events_in(utc(2006, 1, 3, 0, 0), utc(2006, 1, 5, 0, 0));
    assert_eq!(
        matching(&filter, &EvalContext::default()),
        vec!["abcd2", "abcd3"]
    );
}

#[test]
fn rfc_7_8_4_freebusy_components_overlapping_january_2() {
    let filter = calendar_filter(CompFilter {
        time_range: Some(range(utc(2006, 1, 2, 0, 0), utc(2006, 1, 3, 0, 0))),
        ..comp("VFREEBUSY")
    });
    assert_eq!(matching(&filter, &EvalContext::default()), vec!["abcd8"]);
}

#[test]
fn rfc_7_8_5_todos_by_alarm_time_range() {
    let filter = calendar_filter(CompFilter {
        comp_filters: vec![CompFilter {
            time_range: Some(range(utc(2006, 1, 6, 10, 0), utc(2006, 1, 7, 10, 0))),
            ..comp("VALARM")
        }],
        ..comp("VTODO")
    });
    // The Appendix B tasks are due on DATEs whose alarms (10 minutes before
    // midnight) fall outside the range ...
    assert!(matching(&filter, &EvalContext::default()).is_empty());
    // ... the task as the §7.8.5 response shows it, due 12:00 US/Eastern
    // (17:00Z), has its alarm at 16:50Z: RELATED=START falls back to DUE.
    let (_, abcd5) = &appendix_b_parsed()[4];
    let mut task = abcd5.clone();
    let todo = &mut task.components[0];
    let due = todo
        .properties
        .iter_mut()
        .find(|p| p.name == "DUE")
        .unwrap();
    *due = crate::model::Property::new("DUE", "20060106T120000").with_param("TZID", "US/Eastern");
    task.components
        .insert(0, appendix_b_parsed()[0].1.components[0].clone());
    assert!(matches(&task, &filter, &EvalContext::default()));
}

#[test]
fn rfc_7_8_6_event_by_uid() {
    let filter = calendar_filter(CompFilter {
        prop_filters: vec![PropFilter {
            text_match: Some(text(
                "DC6C50A017428C5216A2F1CD@example.com",
                Collation::Octet,
            )),
            ..prop("UID")
        }],
        ..comp("VEVENT")
    });
    assert_eq!(matching(&filter, &EvalContext::default()), vec!["abcd3"]);
}

#[test]
fn rfc_7_8_7_events_by_partstat() {
    let filter = calendar_filter(CompFilter {
        prop_filters: vec![PropFilter {
            text_match: Some(text("mailto:lisa@example.com", Collation::AsciiCasemap)),
            param_filters: vec![ParamFilter {
                name: "PARTSTAT".to_owned(),
                is_not_defined: false,
                text_match: Some(text("NEEDS-ACTION", Collation::AsciiCasemap)),
            }],
            ..prop("ATTENDEE")
        }],
        ..comp("VEVENT")
    });
    assert_eq!(matching(&filter, &EvalContext::default()), vec!["abcd3"]);
    // Cyrus has ACCEPTED, so asking for him with NEEDS-ACTION finds nothing.
    let mut cyrus = filter.clone();
    cyrus.comp_filters[0].prop_filters[0].text_match = Some(text("cyrus", Collation::AsciiCasemap));
    assert!(matching(&cyrus, &EvalContext::default()).is_empty());
}

#[test]
fn rfc_7_8_8_events_only() {
    let filter = calendar_filter(comp("VEVENT"));
    assert_eq!(
        matching(&filter, &EvalContext::default()),
        vec!["abcd1", "abcd2", "abcd3"]
    );
}

#[test]
fn rfc_7_8_9_pending_todos() {
    let filter = calendar_filter(CompFilter {
        prop_filters: vec![
            PropFilter {
                is_not_defined: true,
                ..prop("COMPLETED")
            },
            PropFilter {
                text_match: Some(TextMatch {
                    negate: true,
                    ..text("CANCELLED", Collation::AsciiCasemap)
                }),
                ..prop("STATUS")
            },
        ],
        ..comp("VTODO")
    });
    assert_eq!(
        matching(&filter, &EvalContext::default()),
        vec!["abcd4", "abcd5"]
    );
}

#[test]
fn todo_time_ranges_follow_the_due_only_row() {
    let todos = |start, end| {
        calendar_filter(CompFilter {
            time_range: Some(range(start, end)),
            ..comp("VTODO")
        })
    };
    // Task #1 is due 2006-01-04 00:00Z: (start < DUE AND end >= DUE).
    let ctx = EvalContext::default();
    assert_eq!(
        matching(&todos(utc(2006, 1, 3, 0, 0), utc(2006, 1, 5, 0, 0)), &ctx),
        vec!["abcd4"]
    );
    assert_eq!(
        matching(&todos(utc(2006, 1, 3, 0, 0), utc(2006, 1, 4, 0, 0)), &ctx),
        vec!["abcd4"]
    );
    assert!(matching(&todos(utc(2006, 1, 4, 0, 0), utc(2006, 1, 5, 0, 0)), &ctx).is_empty());
    // With the collection in New York, the DATE is due at 05:00Z.
    let ny = EvalContext {
        floating_tz: Some(chrono_tz::America::New_York),
        ..EvalContext::default()
    };
    assert_eq!(
        matching(&todos(utc(2006, 1, 4, 4, 0), utc(2006, 1, 4, 6, 0)), &ny),
        vec!["abcd4"]
    );
    assert!(matching(&todos(utc(2006, 1, 4, 4, 0), utc(2006, 1, 4, 6, 0)), &ctx).is_empty());
}

#[test]
fn an_override_counts_as_the_instance_it_replaces() {
    let ctx = EvalContext::default();
    // Event #2's Jan 4 instance moved from 17:00Z to 19:00Z.
    let original_slot = events_in(utc(2006, 1, 4, 17, 0), utc(2006, 1, 4, 18, 0));
    assert!(matching(&original_slot, &ctx).is_empty());
    let new_slot = events_in(utc(2006, 1, 4, 19, 30), utc(2006, 1, 4, 19, 45));
    assert_eq!(matching(&new_slot, &ctx), vec!["abcd2"]);
    // Open-ended ranges.
    let after = calendar_filter(CompFilter {
        time_range: Some(TimeRange {
            start: Some(utc(2006, 1, 6, 17, 30)),
            end: None,
        }),
        ..comp("VEVENT")
    });
    assert_eq!(matching(&after, &ctx), vec!["abcd2"]);
}

#[test]
fn prop_filters_apply_to_the_component_that_produced_the_instance() {
    // Only the override is called "Event #2 bis" and only it is on Jan 4.
    let filter = |day: u32| {
        calendar_filter(CompFilter {
            time_range: Some(range(utc(2006, 1, day, 0, 0), utc(2006, 1, day + 1, 0, 0))),
            prop_filters: vec![PropFilter {
                text_match: Some(text("bis", Collation::AsciiCasemap)),
                ..prop("SUMMARY")
            }],
            ..comp("VEVENT")
        })
    };
    let ctx = EvalContext::default();
    assert_eq!(matching(&filter(4), &ctx), vec!["abcd2"]);
    assert!(matching(&filter(5), &ctx).is_empty());
}

#[test]
fn property_time_ranges() {
    let ctx = EvalContext::default();
    let with_prop = |name: &str, start, end| {
        calendar_filter(CompFilter {
            prop_filters: vec![PropFilter {
                time_range: Some(range(start, end)),
                ..prop(name)
            }],
            ..comp("VEVENT")
        })
    };
    // DTSTAMP of Event #1 is 2006-02-06T00:11:02Z.
    let stamp = utc(2006, 2, 6, 0, 11) + 2;
    assert_eq!(
        matching(&with_prop("DTSTAMP", stamp, stamp + 1), &ctx),
        vec!["abcd1"]
    );
    assert!(matching(&with_prop("DTSTAMP", stamp + 1, stamp + 2), &ctx).is_empty());
    // Event #1 has no DTEND: DTSTART+DURATION (16:00Z) stands in.
    let end = utc(2006, 1, 2, 16, 0);
    assert_eq!(
        matching(&with_prop("DTEND", end, end + 60), &ctx),
        vec!["abcd1"]
    );
    // DTSTART of a recurring event is tested per instance (Jan 5, 17:00Z).
    let fifth = utc(2006, 1, 5, 17, 0);
    assert_eq!(
        matching(&with_prop("DTSTART", fifth, fifth + 60), &ctx),
        vec!["abcd2"]
    );
    assert!(matching(&with_prop("DTSTART", fifth + 60, fifth + 120), &ctx).is_empty());
}

#[test]
fn text_match_unescapes_and_honours_collations() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:text",
        "DTSTART:20240101T100000Z",
        "SUMMARY:Ärger im Büro\\, Raum 5\\nzweite Zeile",
        "LOCATION:Room\\; B",
        "END:VEVENT",
    ]);
    let ctx = EvalContext::default();
    let summary_matches = |needle: &str, collation: Collation, negate: bool| {
        let filter = calendar_filter(CompFilter {
            prop_filters: vec![PropFilter {
                text_match: Some(TextMatch {
                    negate,
                    ..text(needle, collation)
                }),
                ..prop("SUMMARY")
            }],
            ..comp("VEVENT")
        });
        matches(&cal, &filter, &ctx)
    };
    assert!(summary_matches(
        "büro, raum 5\nzweite",
        Collation::AsciiCasemap,
        false
    ));
    assert!(
        !summary_matches("BÜRO", Collation::AsciiCasemap, false),
        "ü is not ASCII"
    );
    assert!(summary_matches(
        "ärger IM BÜRO",
        Collation::UnicodeCasemap,
        false
    ));
    assert!(!summary_matches("raum", Collation::Octet, false));
    assert!(summary_matches("Raum", Collation::Octet, false));
    assert!(summary_matches("Kantine", Collation::AsciiCasemap, true));
    assert!(!summary_matches("Raum", Collation::AsciiCasemap, true));
    assert_eq!(
        Collation::from_name("i;unicode-casemap"),
        Some(Collation::UnicodeCasemap)
    );
    assert_eq!(Collation::from_name("i;basic"), None);
}

#[test]
fn is_not_defined_on_components_properties_and_params() {
    let ctx = EvalContext::default();
    let no_todo = calendar_filter(CompFilter {
        is_not_defined: true,
        ..comp("VTODO")
    });
    assert_eq!(
        matching(&no_todo, &ctx),
        vec!["abcd1", "abcd2", "abcd3", "abcd8"]
    );
    let attendee_without_role = calendar_filter(CompFilter {
        prop_filters: vec![PropFilter {
            param_filters: vec![ParamFilter {
                name: "ROLE".to_owned(),
                is_not_defined: true,
                text_match: None,
            }],
            ..prop("ATTENDEE")
        }],
        ..comp("VEVENT")
    });
    assert_eq!(matching(&attendee_without_role, &ctx), vec!["abcd3"]);
    let wrong_root = CompFilter {
        is_not_defined: true,
        ..comp("VCARD")
    };
    assert_eq!(matching(&wrong_root, &ctx).len(), 8);
}

#[test]
fn alarm_time_range_on_a_recurring_event() {
    let cal = wrap(&[
        "BEGIN:VEVENT",
        "UID:alarm",
        "DTSTART;TZID=Europe/Berlin:20240101T090000",
        "DURATION:PT1H",
        "RRULE:FREQ=DAILY",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "TRIGGER:-PT15M",
        "REPEAT:2",
        "DURATION:PT5M",
        "END:VALARM",
        "END:VEVENT",
    ]);
    let alarm_in = |start, end| {
        let filter = calendar_filter(CompFilter {
            comp_filters: vec![CompFilter {
                time_range: Some(range(start, end)),
                ..comp("VALARM")
            }],
            ..comp("VEVENT")
        });
        matches(&cal, &filter, &EvalContext::default())
    };
    // 2024-06-10 09:00 CEST is 07:00Z; triggers at 06:45Z, 06:50Z, 06:55Z.
    assert!(alarm_in(utc(2024, 6, 10, 6, 45), utc(2024, 6, 10, 6, 46)));
    assert!(alarm_in(utc(2024, 6, 10, 6, 55), utc(2024, 6, 10, 6, 56)));
    assert!(!alarm_in(utc(2024, 6, 10, 6, 56), utc(2024, 6, 10, 7, 30)));
    assert!(!alarm_in(utc(2024, 6, 10, 6, 40), utc(2024, 6, 10, 6, 45)));
}

#[test]
fn journal_without_dtstart_never_matches_a_time_range() {
    let cal = parse_ok(
        "BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nUID:j\r\nSUMMARY:note\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n",
    );
    let filter = calendar_filter(CompFilter {
        time_range: Some(TimeRange {
            start: None,
            end: Some(utc(2100, 1, 1, 0, 0)),
        }),
        ..comp("VJOURNAL")
    });
    assert!(!matches(&cal, &filter, &EvalContext::default()));
    assert!(matches(
        &cal,
        &calendar_filter(comp("VJOURNAL")),
        &EvalContext::default()
    ));
}
