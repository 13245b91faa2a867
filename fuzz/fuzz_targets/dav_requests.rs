//! The WebDAV/CalDAV request body parsers on any bytes: a clear error or a
//! request, never a panic. The first byte picks the parser.
#![no_main]

use almanac_dav::reports::parse_report;
use almanac_dav::requests::{parse_mkcol, parse_propfind, parse_proppatch};
use almanac_dav::xml::XmlLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let limits = XmlLimits::default();
    match which % 5 {
        0 => drop(parse_propfind(body, limits)),
        1 => drop(parse_proppatch(body, limits)),
        2 => drop(parse_mkcol(body, false, limits)),
        3 => drop(parse_mkcol(body, true, limits)),
        _ => drop(parse_report(body, limits)),
    }
});
