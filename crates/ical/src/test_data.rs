//! Shared test fixtures: the RFC 4791 Appendix B calendar collection and
//! small helpers.

use chrono::{NaiveDate, TimeZone};

use crate::model::Component;
use crate::parser::{parse, ParseLimits};

const EASTERN: &str = "BEGIN:VTIMEZONE\r\nLAST-MODIFIED:20040110T032845Z\r\nTZID:US/Eastern\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000404T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\n\
TZNAME:EDT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nDTSTART:20001026T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n\
TZNAME:EST\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

fn calendar(body: &str, with_timezone: bool) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Client//EN\r\n{}{}END:VCALENDAR\r\n",
        if with_timezone { EASTERN } else { "" },
        body
    )
}

/// The eight resources of RFC 4791 Appendix B, by name.
pub(crate) fn appendix_b() -> Vec<(&'static str, String)> {
    vec![
        ("abcd1", calendar("BEGIN:VEVENT\r\nDTSTAMP:20060206T001102Z\r\n\
DTSTART;TZID=US/Eastern:20060102T100000\r\nDURATION:PT1H\r\nSUMMARY:Event #1\r\n\
Description:Go Steelers!\r\nUID:74855313FA803DA593CD579A@example.com\r\nEND:VEVENT\r\n", true)),
        ("abcd2", calendar("BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\n\
DTSTART;TZID=US/Eastern:20060102T120000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\n\
SUMMARY:Event #2\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060104T140000\r\n\
DURATION:PT1H\r\nRECURRENCE-ID;TZID=US/Eastern:20060104T120000\r\nSUMMARY:Event #2 bis\r\n\
UID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n", true)),
        ("abcd3", calendar("BEGIN:VEVENT\r\n\
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com\r\nDTSTAMP:20060206T001220Z\r\n\
DTSTART;TZID=US/Eastern:20060104T100000\r\nDURATION:PT1H\r\nLAST-MODIFIED:20060206T001330Z\r\n\
ORGANIZER:mailto:cyrus@example.com\r\nSEQUENCE:1\r\nSTATUS:TENTATIVE\r\nSUMMARY:Event #3\r\n\
UID:DC6C50A017428C5216A2F1CD@example.com\r\nX-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com\r\n\
END:VEVENT\r\n", true)),
        ("abcd4", calendar("BEGIN:VTODO\r\nDTSTAMP:20060205T235335Z\r\nDUE;VALUE=DATE:20060104\r\n\
STATUS:NEEDS-ACTION\r\nSUMMARY:Task #1\r\nUID:DDDEEB7915FA61233B861457@example.com\r\n\
BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\nEND:VTODO\r\n", false)),
        ("abcd5", calendar("BEGIN:VTODO\r\nDTSTAMP:20060205T235300Z\r\nDUE;VALUE=DATE:20060106\r\n\
LAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:NEEDS-ACTION\r\nSUMMARY:Task #2\r\n\
UID:E10BA47467C5C69BB74E8720@example.com\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n\
TRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\nEND:VTODO\r\n", false)),
        ("abcd6", calendar("BEGIN:VTODO\r\nCOMPLETED:20051223T122322Z\r\nDTSTAMP:20060205T235400Z\r\n\
DUE;VALUE=DATE:20051225\r\nLAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:COMPLETED\r\n\
SUMMARY:Task #3\r\nUID:E10BA47467C5C69BB74E8722@example.com\r\nEND:VTODO\r\n", false)),
        ("abcd7", calendar("BEGIN:VTODO\r\nDTSTAMP:20060205T235600Z\r\nDUE;VALUE=DATE:20060101\r\n\
LAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:CANCELLED\r\nSUMMARY:Task #4\r\n\
UID:E10BA47467C5C69BB74E8725@example.com\r\nEND:VTODO\r\n", false)),
        ("abcd8", calendar("BEGIN:VFREEBUSY\r\n\
ORGANIZER;CN=\"Bernard Desruisseaux\":mailto:bernard@example.com\r\nUID:76ef34-54a3d2@example.com\r\n\
DTSTAMP:20050530T123421Z\r\nDTSTART:20060101T000000Z\r\nDTEND:20060108T000000Z\r\n\
FREEBUSY:20050531T230000Z/20050601T010000Z\r\n\
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z\r\n\
FREEBUSY:20060103T100000Z/20060103T120000Z\r\nFREEBUSY:20060104T100000Z/20060104T120000Z\r\n\
FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060105T100000Z/20060105T120000Z\r\n\
FREEBUSY:20060106T100000Z/20060106T120000Z\r\nEND:VFREEBUSY\r\n", false)),
    ]
}

/// Appendix B, parsed.
pub(crate) fn appendix_b_parsed() -> Vec<(&'static str, Component)> {
    appendix_b()
        .into_iter()
        .map(|(name, text)| (name, parse_ok(&text)))
        .collect()
}

pub(crate) fn parse_ok(text: &str) -> Component {
    parse(text, &ParseLimits::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Wraps components in a VCALENDAR; lines are joined with CRLF.
pub(crate) fn wrap(lines: &[&str]) -> Component {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n");
    for line in lines {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    parse_ok(&text)
}

/// UNIX seconds of a UTC wall-clock reading.
pub(crate) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    chrono::Utc
        .from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_opt(h, mi, 0)
                .unwrap(),
        )
        .timestamp()
}
