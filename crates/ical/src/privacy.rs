//! What a calendar shows to people who are not its owner (share links):
//! events marked CLASS:PRIVATE or CONFIDENTIAL keep only their times, and a
//! free-busy view keeps only the times of everything.

use crate::model::{Component, Property};

/// Properties that say when, not what.
const TIME_ONLY: &[&str] = &[
    "UID",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "DURATION",
    "DUE",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "SEQUENCE",
    "STATUS",
    "TRANSP",
    "CLASS",
];

/// Whether a component's CLASS keeps its details from everyone else.
pub fn is_private(component: &Component) -> bool {
    component.property("CLASS").is_some_and(|c| {
        c.value.eq_ignore_ascii_case("PRIVATE") || c.value.eq_ignore_ascii_case("CONFIDENTIAL")
    })
}

/// Whether any component of the object is private.
pub fn has_private(calendar: &Component) -> bool {
    calendar.components.iter().any(is_private)
}

/// The calendar with its private components reduced to their times
/// (`busy_only`: every event so, and tasks and journals left out).
pub fn redact(calendar: &Component, busy_only: bool) -> Component {
    let mut out = calendar.clone();
    out.components
        .retain(|c| !busy_only || !matches!(c.name.as_str(), "VTODO" | "VJOURNAL"));
    for component in &mut out.components {
        let schedulable = matches!(component.name.as_str(), "VEVENT" | "VTODO" | "VJOURNAL");
        if schedulable && (busy_only || is_private(component)) {
            component
                .properties
                .retain(|p| TIME_ONLY.iter().any(|t| p.name.eq_ignore_ascii_case(t)));
            component.properties.push(Property::new("SUMMARY", "Busy"));
            component.components.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse, ParseLimits};

    const OBJECT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n\
        DTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\nSUMMARY:Doctor\r\nLOCATION:Clinic\r\nCLASS:PRIVATE\r\n\
        BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Doctor\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260109T100000Z\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260109T120000Z\r\n\
        SUMMARY:Lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn private_events_keep_only_their_times() {
        let calendar = parse(OBJECT, &ParseLimits::default()).unwrap();
        assert!(has_private(&calendar));
        let text = redact(&calendar, false).to_ics();
        assert!(
            !text.contains("Doctor") && !text.contains("Clinic"),
            "{text}"
        );
        assert!(text.contains("DTSTART:20260102T100000Z") && text.contains("SUMMARY:Busy"));
        assert!(text.contains("SUMMARY:Lunch"), "public parts stay");
        let busy = redact(&calendar, true).to_ics();
        assert!(
            !busy.contains("Lunch") && busy.matches("SUMMARY:Busy").count() == 2,
            "{busy}"
        );
    }
}
