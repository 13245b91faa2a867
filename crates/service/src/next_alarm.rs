//! The next moment an object's reminder can be mailed: what every write
//! stores in `items.alarm_at`, and what the reminder scheduler moves on to.

use almanac_ical::alarms::next_after;
use almanac_ical::{Component, EvalContext};

/// Alarms that can become mail (the rest, AUDIO and PROCEDURE, belong to
/// devices).
pub fn mailable(action: &str) -> bool {
    action == "EMAIL" || action == "DISPLAY"
}

/// The next moment one of the object's mailable alarms is due, after `now`.
pub fn next_alarm(calendar: &Component, ctx: &EvalContext, now: i64) -> Option<i64> {
    next_after(calendar, now, ctx, mailable)
}
