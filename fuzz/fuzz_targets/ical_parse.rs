//! The iCalendar parser on any text: it never panics, and what it accepts
//! survives writing out and reading back unchanged.
#![no_main]

use almanac_ical::{parse, parse_object, EvalContext, ParseLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = ParseLimits::default();
    if let Ok(calendar) = parse(text, &limits) {
        let written = calendar.to_ics();
        let again = parse(
            &written,
            &ParseLimits {
                max_bytes: usize::MAX,
                ..limits
            },
        )
        .expect("what the parser accepted and wrote out parses again");
        assert_eq!(
            again, calendar,
            "writing out and reading back changed the data"
        );
    }
    let _ = parse_object(text, &limits, &EvalContext::default());
});
