//! The access-log parser on any line: a record or a `Malformed`, never a
//! panic, and a record's fields are slices of the line.
#![no_main]

use almanac_metrics::LineParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parser = LineParser::default();
    for line in text.split('\n') {
        let _ = parser.parse(line);
    }
});
