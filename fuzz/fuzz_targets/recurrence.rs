//! Recurrence expansion and time-range matching on any calendar object:
//! never a panic, never more instances than the limit per set, and every
//! instance reported for a window overlaps it or touches it.
#![no_main]

use almanac_ical::{instances, parse_object, EvalContext, ParseLimits, TimeSpan};
use libfuzzer_sys::fuzz_target;

/// 2026-01-01 and 2027-01-01, UTC.
const WINDOW: TimeSpan = TimeSpan {
    start: 1_767_225_600,
    end: 1_798_761_600,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = EvalContext {
        floating_tz: almanac_ical::timezone::named_zone("Europe/Berlin"),
        max_instances: 500,
    };
    let Ok(object) = parse_object(text, &ParseLimits::default(), &ctx) else {
        return;
    };
    let all = instances(&object.calendar, None, &ctx);
    let sets = object.calendar.components.len().max(1);
    assert!(
        all.len() <= ctx.max_instances * sets * 2,
        "{} instances",
        all.len()
    );
    for instance in instances(&object.calendar, Some(WINDOW), &ctx) {
        assert!(
            instance.start <= WINDOW.end,
            "{instance:?} starts after the window"
        );
    }
});
