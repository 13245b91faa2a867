use super::*;
use crate::parser::{parse, ParseLimits};

fn cal(text: &str) -> Component {
    parse(&text.replace('\n', "\r\n"), &ParseLimits::default()).unwrap()
}

const MEETING: &str = "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//t//EN
BEGIN:VEVENT
UID:meet-1
DTSTAMP:20300101T000000Z
DTSTART:20300601T100000Z
DURATION:PT1H
SUMMARY:Planning
ORGANIZER;CN=Olga:mailto:Olga@Example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:olga@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;SCHEDULE-FORCE-SEND=REQUEST:mailto:ana@example.com
ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:bo@example.com
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT5M
END:VALARM
END:VEVENT
END:VCALENDAR
";

#[test]
fn roles_and_attendees() {
    let c = cal(MEETING);
    assert_eq!(organizer(&c).as_deref(), Some("olga@example.com"));
    assert_eq!(uid(&c).as_deref(), Some("meet-1"));
    // The organizer and a client-scheduled attendee are not the server's to tell.
    assert_eq!(server_attendees(&c), vec!["ana@example.com".to_owned()]);
    assert!(same_organizer_everywhere(&c));
    let other = cal(&MEETING.replace(
        "END:VEVENT\nEND:VCALENDAR",
        "END:VEVENT\nBEGIN:VEVENT\nUID:meet-1\nRECURRENCE-ID:20300601T100000Z\nDTSTART:20300601T100000Z\nORGANIZER:mailto:eve@example.com\nEND:VEVENT\nEND:VCALENDAR",
    ));
    assert!(!same_organizer_everywhere(&other));
}

#[test]
fn answers_and_stamps_are_not_changes_but_times_are() {
    let c = cal(MEETING);
    let answered = cal(&MEETING
        .replace(
            "PARTSTAT=NEEDS-ACTION;RSVP=TRUE",
            "PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0",
        )
        .replace("DTSTAMP:20300101T000000Z", "DTSTAMP:20300202T000000Z"));
    assert_eq!(significant_text(&c), significant_text(&answered));
    let moved = cal(&MEETING.replace("DTSTART:20300601T100000Z", "DTSTART:20300601T110000Z"));
    assert_ne!(significant_text(&c), significant_text(&moved));
    assert!(attendee_change_allowed(&c, &answered));
    assert!(!attendee_change_allowed(&c, &moved));
}

#[test]
fn force_send_is_taken_out() {
    let mut c = cal(MEETING);
    let (requests, reply) = take_force_send(&mut c);
    assert_eq!(requests, vec!["ana@example.com".to_owned()]);
    assert!(!reply);
    assert!(!c.to_ics().contains("SCHEDULE-FORCE-SEND"));
}

#[test]
fn attendee_copy_drops_organizer_alarms_and_keeps_their_own() {
    let c = cal(MEETING);
    let copy = attendee_copy(&c, "ana@example.com", None).unwrap();
    assert!(!copy.to_ics().contains("VALARM"));
    assert!(attendee_copy(&c, "zed@example.com", None).is_none());
    let previous = cal(&MEETING.replace("TRIGGER:-PT5M", "TRIGGER:-PT30M"));
    let again = attendee_copy(&c, "ana@example.com", Some(&previous)).unwrap();
    assert!(again.to_ics().contains("TRIGGER:-PT30M"));
}

#[test]
fn reply_carries_one_answer_and_lands_in_the_organizer_copy() {
    let accepted = cal(&MEETING.replace("PARTSTAT=NEEDS-ACTION;RSVP=TRUE", "PARTSTAT=ACCEPTED"));
    let answer = reply(&accepted, "ana@example.com", false);
    let text = answer.to_ics();
    assert!(text.contains("METHOD:REPLY"));
    assert!(
        !text.contains("olga@example.com\r\nATTENDEE"),
        "only Ana's line: {text}"
    );
    assert_eq!(answer.components[0].properties_named("ATTENDEE").count(), 1);
    let mut organizer_copy = cal(MEETING);
    let applied = apply_reply(&mut organizer_copy, &answer);
    assert_eq!(
        applied,
        vec![("ana@example.com".to_owned(), "ACCEPTED".to_owned())]
    );
    assert_eq!(
        answers_of(&organizer_copy, "ana@example.com"),
        vec![(None, "ACCEPTED".to_owned())]
    );
    let declined = reply(&cal(MEETING), "ana@example.com", true);
    assert!(declined.to_ics().contains("PARTSTAT=DECLINED"));
}

#[test]
fn cancel_marks_the_copy() {
    let c = cal(MEETING);
    assert!(!is_cancelled(&c));
    assert!(is_cancelled(&cancelled(&c)));
    let message = message(&c, "CANCEL").to_ics();
    assert!(message.contains("METHOD:CANCEL") && message.contains("STATUS:CANCELLED"));
}

#[test]
fn an_organizer_cannot_answer_for_a_guest_but_keeps_answers_given() {
    let asked = cal(MEETING);
    let forged = cal(&MEETING.replace("PARTSTAT=NEEDS-ACTION;RSVP=TRUE", "PARTSTAT=ACCEPTED"));
    assert_eq!(
        forged_answer(&asked, &forged).as_deref(),
        Some("ana@example.com")
    );
    assert_eq!(forged_answer(&asked, &asked), None);
    let mut stale = cal(MEETING);
    keep_answers(&forged, &mut stale);
    assert_eq!(
        answers_of(&stale, "ana@example.com"),
        vec![(None, "ACCEPTED".to_owned())]
    );
}

#[test]
fn an_answer_for_one_occurrence_gets_a_component_of_its_own() {
    let series = cal(&MEETING.replace(
        "DURATION:PT1H",
        "DTEND:20300601T113000Z\nRRULE:FREQ=WEEKLY;COUNT=4",
    ));
    let mut organizer_copy = series.clone();
    let mut declined_once = series.clone();
    let mut one = declined_once.components[0].clone();
    one.properties
        .retain(|p| p.name != "RRULE" && p.name != "DTSTART" && p.name != "DTEND");
    one.properties
        .push(Property::new("RECURRENCE-ID", "20300608T100000Z"));
    one.properties
        .push(Property::new("DTSTART", "20300608T100000Z"));
    declined_once.components.push(one);
    for attendee in declined_once.components[1]
        .properties
        .iter_mut()
        .filter(|p| p.name == "ATTENDEE" && address(p) == "ana@example.com")
    {
        attendee.remove_param("PARTSTAT");
        *attendee = attendee.clone().with_param("PARTSTAT", "DECLINED");
    }
    let answer = reply(&declined_once, "ana@example.com", false);
    let applied = apply_reply(&mut organizer_copy, &answer);
    assert!(applied.contains(&("ana@example.com".to_owned(), "DECLINED".to_owned())));
    let text = organizer_copy.to_ics();
    assert!(text.contains("RECURRENCE-ID:20300608T100000Z"), "{text}");
    assert!(
        text.contains("DURATION:PT5400S"),
        "lasts as the series does: {text}"
    );
    assert_eq!(
        answers_of(&organizer_copy, "ana@example.com"),
        vec![
            (None, "NEEDS-ACTION".to_owned()),
            (Some("20300608T100000Z".to_owned()), "DECLINED".to_owned())
        ]
    );
    // The new override replaces its occurrence: still four, none lost.
    let ctx = crate::timezone::EvalContext::default();
    assert_eq!(
        crate::recurrence::instances(&organizer_copy, None, &ctx).len(),
        4
    );
}
