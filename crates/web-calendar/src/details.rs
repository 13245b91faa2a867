//! What an event says beyond its times, in words: who is invited and how
//! they answered, and its reminders (shown, and set from one choice).

use almanac_ical::{Component, Property};

/// Someone on the event: the organizer or an attendee.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Person {
    pub name: String,
    /// "organizer", or the answer in words ("accepted", "not answered yet").
    pub answer: &'static str,
}

/// The organizer first, then the attendees, with their answers.
pub fn people(event: &Component) -> Vec<Person> {
    let name = |p: &Property| {
        p.param("CN").map_or_else(
            || {
                let value = p.value.trim();
                value
                    .strip_prefix("mailto:")
                    .or_else(|| value.strip_prefix("MAILTO:"))
                    .unwrap_or(value)
                    .to_owned()
            },
            str::to_owned,
        )
    };
    let organizer = event.property("ORGANIZER").map(|p| Person {
        name: name(p),
        answer: "organizer",
    });
    let attendees = event.properties_named("ATTENDEE").map(|p| Person {
        name: name(p),
        answer: answer_words(p.param("PARTSTAT")),
    });
    organizer.into_iter().chain(attendees).collect()
}

/// A PARTSTAT in words.
pub fn answer_words(partstat: Option<&str>) -> &'static str {
    match partstat.map(str::to_ascii_uppercase).as_deref() {
        Some("ACCEPTED") => "accepted",
        Some("DECLINED") => "declined",
        Some("TENTATIVE") => "maybe",
        Some("DELEGATED") => "delegated",
        _ => "not answered yet",
    }
}

/// The reminder choices of the event form: the TRIGGER each one writes.
pub const REMINDER_CHOICES: &[(&str, &str)] = &[
    (NO_REMINDER, "No reminder"),
    ("PT0S", "At the start"),
    ("-PT5M", "5 minutes before"),
    ("-PT10M", "10 minutes before"),
    ("-PT15M", "15 minutes before"),
    ("-PT30M", "30 minutes before"),
    ("-PT1H", "1 hour before"),
    ("-PT2H", "2 hours before"),
    ("-P1D", "1 day before"),
    ("-P2D", "2 days before"),
    ("-P1W", "1 week before"),
];

/// The form's value for reminders another app set that the choices cannot
/// say: they stay as they are. A form without the field keeps them too.
pub const KEEP_REMINDERS: &str = "keep";

/// The form's value for no reminder at all.
pub const NO_REMINDER: &str = "none";

/// A DURATION value (`-PT15M`, `P1DT2H`) in seconds.
fn duration_seconds(value: &str) -> Option<i64> {
    let value = value.trim();
    let (sign, rest) = match value.as_bytes().first()? {
        b'-' => (-1, &value[1..]),
        b'+' => (1, &value[1..]),
        _ => (1, value),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = 0i64;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            'T' => {}
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += n * match unit {
                    'W' => 604_800,
                    'D' => 86_400,
                    'H' => 3_600,
                    'M' => 60,
                    'S' => 1,
                    _ => return None,
                };
            }
        }
    }
    number.is_empty().then_some(sign * total)
}

fn amount(seconds: i64) -> String {
    let units = [
        (604_800, "week"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
    ];
    for (size, unit) in units {
        if seconds % size == 0 {
            let n = seconds / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{seconds} seconds")
}

/// One alarm in words: "15 minutes before", "at 2026-12-01 08:00 UTC".
fn describe(alarm: &Component) -> Option<String> {
    let trigger = alarm.property("TRIGGER")?;
    let how = match alarm
        .property("ACTION")
        .map(|a| a.value.to_ascii_uppercase())
        .as_deref()
    {
        Some("EMAIL") => " (by email)",
        Some("AUDIO") => " (with a sound)",
        _ => "",
    };
    if trigger.param("VALUE") == Some("DATE-TIME") {
        let at = chrono::NaiveDateTime::parse_from_str(&trigger.value, "%Y%m%dT%H%M%SZ").ok()?;
        return Some(format!("at {} UTC{how}", at.format("%Y-%m-%d %H:%M")));
    }
    let seconds = duration_seconds(&trigger.value)?;
    let anchor = if trigger.param("RELATED") == Some("END") {
        "the end"
    } else {
        "the start"
    };
    let when = match seconds {
        0 => format!("at {anchor}"),
        s if s < 0 => format!(
            "{} before{}",
            amount(-s),
            if anchor == "the end" { " the end" } else { "" }
        ),
        s => format!("{} after {anchor}", amount(s)),
    };
    Some(format!("{when}{how}"))
}

/// The event's reminders in words.
pub fn reminders(event: &Component) -> Vec<String> {
    event
        .components_named("VALARM")
        .filter_map(describe)
        .collect()
}

/// The form's choice for the event's reminders: one of [`REMINDER_CHOICES`],
/// or [`KEEP_REMINDERS`] when they say more than one choice can.
pub fn reminder_choice(event: &Component) -> String {
    let alarms: Vec<&Component> = event.components_named("VALARM").collect();
    match alarms.as_slice() {
        [] => NO_REMINDER.to_owned(),
        [alarm] => {
            let trigger = alarm.property("TRIGGER");
            let simple = trigger.is_some_and(|t| t.params.is_empty())
                && alarm
                    .property("ACTION")
                    .is_some_and(|a| a.value.eq_ignore_ascii_case("DISPLAY"));
            let seconds = trigger.and_then(|t| duration_seconds(&t.value));
            REMINDER_CHOICES
                .iter()
                .find(|(value, _)| {
                    *value != NO_REMINDER && simple && duration_seconds(value) == seconds
                })
                .map_or_else(
                    || KEEP_REMINDERS.to_owned(),
                    |(value, _)| (*value).to_owned(),
                )
        }
        _ => KEEP_REMINDERS.to_owned(),
    }
}

/// Whether `choice` is one the form offers.
pub fn is_reminder_choice(choice: &str) -> bool {
    choice.is_empty()
        || choice == KEEP_REMINDERS
        || REMINDER_CHOICES.iter().any(|(value, _)| *value == choice)
}

/// Sets the event's reminders to `choice` (a TRIGGER value, or
/// [`NO_REMINDER`]); [`KEEP_REMINDERS`] or nothing leaves them as they are.
pub fn set_reminder(event: &mut Component, choice: &str) {
    if choice.is_empty() || choice == KEEP_REMINDERS || reminder_choice(event) == choice {
        return;
    }
    event.components.retain(|c| !c.is("VALARM"));
    if choice == NO_REMINDER {
        return;
    }
    let mut alarm = Component::new("VALARM");
    alarm.properties = vec![
        Property::new("ACTION", "DISPLAY"),
        Property::new(
            "DESCRIPTION",
            event
                .property("SUMMARY")
                .map_or_else(|| "Reminder".to_owned(), |s| s.value.clone()),
        ),
        Property::new("TRIGGER", choice),
    ];
    event.components.push(alarm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_ical::{parse, ParseLimits};

    fn event(lines: &str) -> Component {
        let text = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T090000Z\r\nSUMMARY:Review\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        parse(&text, &ParseLimits::default())
            .unwrap()
            .components
            .remove(0)
    }

    #[test]
    fn attendees_are_named_with_their_answers() {
        let e = event("ORGANIZER;CN=Ana:mailto:ana@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bo@example.org\r\nATTENDEE;CN=Cy;PARTSTAT=TENTATIVE:mailto:cy@example.org\r\nATTENDEE:mailto:di@example.org\r\n");
        let answers: Vec<(String, &str)> =
            people(&e).into_iter().map(|p| (p.name, p.answer)).collect();
        assert_eq!(
            answers,
            vec![
                ("Ana".to_owned(), "organizer"),
                ("bo@example.org".to_owned(), "accepted"),
                ("Cy".to_owned(), "maybe"),
                ("di@example.org".to_owned(), "not answered yet"),
            ]
        );
    }

    #[test]
    fn reminders_read_as_words_and_round_trip_through_the_choice() {
        let e = event("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nBEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER;RELATED=END:PT1H\r\nEND:VALARM\r\n");
        assert_eq!(
            reminders(&e),
            vec!["15 minutes before", "1 hour after the end (by email)"]
        );
        assert_eq!(reminder_choice(&e), KEEP_REMINDERS);
        let mut one = event("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-P1D\r\nEND:VALARM\r\n");
        assert_eq!(reminder_choice(&one), "-P1D");
        set_reminder(&mut one, "-PT10M");
        assert_eq!(reminders(&one), vec!["10 minutes before"]);
        set_reminder(&mut one, "");
        assert_eq!(
            reminders(&one),
            vec!["10 minutes before"],
            "no choice keeps it"
        );
        set_reminder(&mut one, NO_REMINDER);
        assert!(reminders(&one).is_empty());
    }

    #[test]
    fn keeping_leaves_other_apps_alarms_untouched() {
        let mut e =
            event("BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT5M\r\nX-APPLE:1\r\nEND:VALARM\r\n");
        let before = e.clone();
        set_reminder(&mut e, KEEP_REMINDERS);
        assert_eq!(e, before);
    }
}
