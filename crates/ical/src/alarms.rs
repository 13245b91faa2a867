//! When reminders are due: the trigger times of the VALARMs of an object's
//! instances (RFC 5545 §3.6.6), for the scheduler that mails them. Each
//! instance has the alarms of the component it comes from (an override's
//! own, or the master's).

use crate::filter::alarm_window;
use crate::model::Component;
use crate::overlap::alarm_triggers;
use crate::recurrence::instances;
use crate::span::TimeSpan;
use crate::timezone::{EvalContext, Zones};

/// How far ahead the next reminder is looked for.
const LOOK_AHEAD: i64 = 400 * 86_400;

/// One alarm of one instance, due at `at` (UTC seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAlarm {
    pub at: i64,
    /// The start of the instance it reminds of.
    pub instance_start: i64,
    /// Index into the object's components of the event or task.
    pub component_index: usize,
    /// The VALARM's ACTION, upper-case (EMAIL, DISPLAY, AUDIO, ...).
    pub action: String,
}

/// The alarms that trigger after `after` and at or before `until`, in
/// time order, whose ACTION `wanted` accepts.
pub fn due_between(
    calendar: &Component,
    (after, until): (i64, i64),
    ctx: &EvalContext,
    wanted: impl Fn(&str) -> bool,
) -> Vec<DueAlarm> {
    let zones = Zones::new(calendar, ctx);
    let range = TimeSpan {
        start: after.saturating_add(1),
        end: until.saturating_add(1),
    };
    let mut due = Vec::new();
    for (index, component) in calendar.components.iter().enumerate() {
        if !(component.is("VEVENT") || component.is("VTODO")) {
            continue;
        }
        for alarm in component.components_named("VALARM") {
            let action = alarm
                .property("ACTION")
                .map(|a| a.value.trim().to_ascii_uppercase())
                .unwrap_or_default();
            if !wanted(&action) {
                continue;
            }
            let window = alarm_window(alarm, range);
            let mut parents: Vec<_> = instances(calendar, Some(window), ctx)
                .into_iter()
                .filter(|i| i.component_index == index)
                .collect();
            if window == TimeSpan::ALL {
                // An absolute trigger fires once, not once per instance.
                parents.truncate(1);
            }
            for parent in parents {
                for at in alarm_triggers(alarm, &parent, &zones) {
                    if at > after && at <= until {
                        due.push(DueAlarm {
                            at,
                            instance_start: parent.start,
                            component_index: index,
                            action: action.clone(),
                        });
                    }
                }
            }
        }
    }
    due.sort_by_key(|d| (d.at, d.component_index));
    due.dedup();
    due
}

/// The first trigger after `after` (within about a year), of the alarms
/// whose ACTION `wanted` accepts.
pub fn next_after(
    calendar: &Component,
    after: i64,
    ctx: &EvalContext,
    wanted: impl Fn(&str) -> bool,
) -> Option<i64> {
    due_between(
        calendar,
        (after, after.saturating_add(LOOK_AHEAD)),
        ctx,
        wanted,
    )
    .first()
    .map(|d| d.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse, ParseLimits};

    fn calendar(events: &str) -> Component {
        let text =
            format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n{events}END:VCALENDAR\r\n");
        parse(&text, &ParseLimits::default()).unwrap()
    }

    fn utc(text: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    fn any(_: &str) -> bool {
        true
    }

    const WEEKLY: &str = "BEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261102T100000Z\r\nDTEND:20261102T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Team\r\nBEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20261109T100000Z\r\nDTSTART:20261109T140000Z\r\nDTEND:20261109T150000Z\r\nSUMMARY:Team (moved)\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:PT0S\r\nEND:VALARM\r\nEND:VEVENT\r\n";

    #[test]
    fn each_instance_has_its_components_alarms() {
        let cal = calendar(WEEKLY);
        let ctx = EvalContext::default();
        let due = due_between(&cal, (0, i64::MAX / 2), &ctx, any);
        let times: Vec<(i64, &str)> = due.iter().map(|d| (d.at, d.action.as_str())).collect();
        assert_eq!(
            times,
            [
                (utc("20261102T094500Z"), "EMAIL"),
                (utc("20261109T150000Z"), "DISPLAY"),
                (utc("20261116T094500Z"), "EMAIL"),
            ]
        );
        assert_eq!(
            next_after(&cal, utc("20261102T094500Z"), &ctx, |a| a == "EMAIL"),
            Some(utc("20261116T094500Z")),
            "strictly after, and only the actions asked for"
        );
        assert_eq!(
            next_after(&cal, utc("20261116T094500Z"), &ctx, any),
            None,
            "the series is over"
        );
    }

    #[test]
    fn an_absolute_trigger_fires_once() {
        let cal = calendar("BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\nRRULE:FREQ=DAILY\r\nBEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER;VALUE=DATE-TIME:20261130T080000Z\r\nEND:VALARM\r\nEND:VEVENT\r\n");
        let ctx = EvalContext::default();
        let due = due_between(&cal, (0, utc("20270101T000000Z")), &ctx, any);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].at, utc("20261130T080000Z"));
    }
}
