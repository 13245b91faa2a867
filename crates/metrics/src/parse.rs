//! A fast parser for Apache/nginx "combined" lines plus the server's
//! `key=value` fields.
//!
//! ```text
//! host ident user [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD path proto" status bytes "referrer" "agent" k=v ...
//! ```
//!
//! The referrer and agent may be missing (common log format); the `k=v`
//! fields are optional and unknown keys are skipped. Anything else that does
//! not fit is a [`Malformed`] line.

use crate::day::Day;
use crate::record::{AuthKind, Events, ItemKind, LogRecord};
use memchr::memchr;

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("missing host, ident or user")]
    Prefix,
    #[error("bad timestamp")]
    Time,
    #[error("bad or unterminated request")]
    Request,
    #[error("bad status")]
    Status,
    #[error("bad byte count")]
    Bytes,
    #[error("unterminated referrer or user agent")]
    Quoted,
}

/// Parses lines; remembers the last date so that a day's thousands of lines
/// share one date computation.
#[derive(Debug, Default)]
pub struct LineParser {
    last_date: [u8; 11],
    last_day: Option<Day>,
}

impl LineParser {
    /// Parses one line without its line break.
    pub fn parse<'a>(&mut self, line: &'a str) -> Result<LogRecord<'a>, Malformed> {
        let bytes = line.as_bytes();
        let host_end = memchr(b' ', bytes).ok_or(Malformed::Prefix)?;
        let ident_end =
            host_end + 1 + memchr(b' ', &bytes[host_end + 1..]).ok_or(Malformed::Prefix)?;
        let open =
            ident_end + 1 + memchr(b'[', &bytes[ident_end + 1..]).ok_or(Malformed::Prefix)?;
        if open < ident_end + 2 || bytes[open - 1] != b' ' {
            return Err(Malformed::Prefix);
        }
        let user = &line[ident_end + 1..open - 1];
        let stamp = bytes.get(open + 1..open + 27).ok_or(Malformed::Time)?;
        if bytes.get(open + 27..open + 30) != Some(b"] \"") {
            return Err(Malformed::Time);
        }
        let (day, time) = self.timestamp(stamp)?;

        let request_start = open + 30;
        let request_end = closing_quote(bytes, request_start).ok_or(Malformed::Request)?;
        let request = &line[request_start..request_end];
        let (method, path) = split_request(request);

        let mut pos = request_end + 1;
        if bytes.get(pos) != Some(&b' ') {
            return Err(Malformed::Status);
        }
        let status = bytes
            .get(pos + 1..pos + 4)
            .and_then(parse_digits)
            .ok_or(Malformed::Status)?;
        pos += 4;
        if bytes.get(pos) != Some(&b' ') {
            return Err(Malformed::Bytes);
        }
        let size_end = memchr(b' ', &bytes[pos + 1..]).map_or(bytes.len(), |i| pos + 1 + i);
        let size = &bytes[pos + 1..size_end];
        let bytes_out = if size == b"-" {
            0
        } else {
            parse_digits(size).ok_or(Malformed::Bytes)?
        };
        pos = size_end;

        let mut referrer = "-";
        let mut user_agent = "-";
        if bytes.get(pos..pos + 2) == Some(b" \"") {
            let end = closing_quote(bytes, pos + 2).ok_or(Malformed::Quoted)?;
            referrer = &line[pos + 2..end];
            if bytes.get(end + 1..end + 3) != Some(b" \"") {
                return Err(Malformed::Quoted);
            }
            let agent_end = closing_quote(bytes, end + 3).ok_or(Malformed::Quoted)?;
            user_agent = &line[end + 3..agent_end];
            pos = agent_end + 1;
        }

        let mut record = LogRecord {
            host: &line[..host_end],
            user: (user != "-").then_some(user),
            day,
            time,
            method,
            path,
            status: u16::try_from(status).map_err(|_| Malformed::Status)?,
            bytes_out,
            bytes_in: None,
            duration_us: None,
            auth: AuthKind::Unspecified,
            referrer,
            user_agent,
            events: Events::default(),
            owner: None,
            item: None,
        };
        read_extra_fields(&line[pos..], &mut record);
        Ok(record)
    }

    fn timestamp(&mut self, stamp: &[u8]) -> Result<(Day, i64), Malformed> {
        // dd/Mon/yyyy:HH:MM:SS +zzzz
        let date = &stamp[..11];
        let day = match self.last_day {
            Some(day) if self.last_date == date => day,
            _ => {
                let day = parse_date(date).ok_or(Malformed::Time)?;
                self.last_date.copy_from_slice(date);
                self.last_day = Some(day);
                day
            }
        };
        let field =
            |range: std::ops::Range<usize>| parse_digits(&stamp[range]).ok_or(Malformed::Time);
        if stamp[11] != b':' || stamp[14] != b':' || stamp[17] != b':' || stamp[20] != b' ' {
            return Err(Malformed::Time);
        }
        let seconds = field(12..14)? * 3600 + field(15..17)? * 60 + field(18..20)?;
        let offset = field(22..24)? * 3600 + field(24..26)? * 60;
        let offset = match stamp[21] {
            b'+' => i64::try_from(offset).unwrap_or(0),
            b'-' => -i64::try_from(offset).unwrap_or(0),
            _ => return Err(Malformed::Time),
        };
        let local =
            i64::from(day.0) * 86_400 + i64::try_from(seconds).map_err(|_| Malformed::Time)?;
        Ok((day, local - offset))
    }
}

fn parse_date(date: &[u8]) -> Option<Day> {
    if date[2] != b'/' || date[6] != b'/' {
        return None;
    }
    let month = match &date[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let day_of_month = u32::try_from(parse_digits(&date[..2])?).ok()?;
    let year = i32::try_from(parse_digits(&date[7..11])?).ok()?;
    Day::from_ymd(year, month, day_of_month)
}

fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// The position of the quote that ends a field starting at `from`; Apache
/// escapes quotes inside fields as `\"`.
fn closing_quote(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let found = at + memchr(b'"', bytes.get(at..)?)?;
        if found == from || bytes[found - 1] != b'\\' {
            return Some(found);
        }
        at = found + 1;
    }
}

/// `METHOD path protocol`; a garbage request (`-`, a TLS handshake) becomes
/// a method with an empty path.
fn split_request(request: &str) -> (&str, &str) {
    let Some(space) = memchr(b' ', request.as_bytes()) else {
        return (request, "");
    };
    let rest = &request[space + 1..];
    let path = memchr(b' ', rest.as_bytes()).map_or(rest, |end| &rest[..end]);
    (&request[..space], path)
}

fn read_extra_fields<'a>(rest: &'a str, record: &mut LogRecord<'a>) {
    if rest.is_empty() {
        return;
    }
    for field in rest.split(' ') {
        let Some(equals) = memchr(b'=', field.as_bytes()) else {
            continue;
        };
        let (key, value) = (&field[..equals], &field[equals + 1..]);
        match key {
            "dur_us" => record.duration_us = value.parse().ok(),
            "in" => record.bytes_in = value.parse().ok(),
            "auth" => record.auth = AuthKind::parse(value),
            "ev" => record.events.add_list(value),
            "owner" => record.owner = Some(value).filter(|v| !v.is_empty()),
            "item" => record.item = ItemKind::parse(value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Event;

    const SERVER_LINE: &str = r#"127.0.0.1 - alice [26/Nov/2026:01:02:03 +0000] "PUT /dav/calendars/alice/calendar/x.ics HTTP/1.1" 201 - "-" "DAVx5/4.4 (Android 14)" dur_us=812 auth=password in=734 ev=sync_write"#;

    #[test]
    fn reads_every_field_of_a_server_line() {
        let record = LineParser::default().parse(SERVER_LINE).unwrap();
        assert_eq!(record.host, "127.0.0.1");
        assert_eq!(record.user, Some("alice"));
        assert_eq!(record.day, Day::from_ymd(2026, 11, 26).unwrap());
        assert_eq!(record.time, i64::from(record.day.0) * 86_400 + 3723);
        assert_eq!(record.method, "PUT");
        assert_eq!(record.path, "/dav/calendars/alice/calendar/x.ics");
        assert_eq!(record.status, 201);
        assert_eq!(record.bytes_out, 0);
        assert_eq!(record.bytes_in, Some(734));
        assert_eq!(record.duration_us, Some(812));
        assert_eq!(record.auth, AuthKind::Password);
        assert_eq!(record.referrer, "-");
        assert_eq!(record.user_agent, "DAVx5/4.4 (Android 14)");
        assert!(record.events.contains(Event::SyncWrite));
        assert!(!record.events.contains(Event::Login));
    }

    #[test]
    fn reads_a_plain_nginx_line_with_a_time_zone() {
        let line = r#"2001:db8::1 - - [01/Jan/2024:00:30:00 +0100] "GET /ics/bob/work.ics?x=1 HTTP/2.0" 200 5120 "https://example.org/a \"b\"" "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)" "-""#;
        let record = LineParser::default().parse(line).unwrap();
        assert_eq!(record.user, None);
        assert_eq!(record.day, Day::from_ymd(2024, 1, 1).unwrap());
        assert_eq!(record.time, i64::from(record.day.0) * 86_400 + 1800 - 3600);
        assert_eq!(record.path, "/ics/bob/work.ics?x=1");
        assert_eq!(record.referrer, r#"https://example.org/a \"b\""#);
        assert_eq!(record.auth, AuthKind::Unspecified);
        assert_eq!(record.bytes_in, None);
        assert!(record.events.is_empty());
    }

    #[test]
    fn reads_common_log_format_and_garbage_requests() {
        let record = LineParser::default()
            .parse(r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "-" 400 0"#)
            .unwrap();
        assert_eq!((record.method, record.path, record.status), ("-", "", 400));
        assert_eq!(record.user_agent, "-");
    }

    #[test]
    fn rejects_broken_lines_with_a_reason() {
        let mut parser = LineParser::default();
        let truncated = &SERVER_LINE[..SERVER_LINE.find("(Android").unwrap()];
        assert_eq!(parser.parse(truncated), Err(Malformed::Quoted));
        assert_eq!(parser.parse(""), Err(Malformed::Prefix));
        assert_eq!(parser.parse("garbage"), Err(Malformed::Prefix));
        assert_eq!(
            parser.parse(r#"h - u [31/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1"#),
            Err(Malformed::Time)
        );
        assert_eq!(
            parser.parse(r#"h - u [01/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1 200 1"#),
            Err(Malformed::Request)
        );
        assert_eq!(
            parser.parse(r#"h - u [01/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 2x0 1"#),
            Err(Malformed::Status)
        );
        assert_eq!(
            parser.parse(r#"h - u [01/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1k"#),
            Err(Malformed::Bytes)
        );
    }
}
