//! iCalendar text to [`Component`] tree (RFC 5545 §3.1).
//!
//! Lenient where real clients deviate (LF line ends, blank lines, a UTF-8
//! BOM, lower-case names) and strict where data would be lost or ambiguous
//! (missing colons, unbalanced BEGIN/END, size limits).

use std::borrow::Cow;

use crate::model::{Component, Param, Property};
use crate::value::is_forbidden_control;

/// Bounds that protect the server from hostile or broken uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_properties: usize,
    /// Let control characters through (RFC 5545 allows none but HTAB).
    /// Only for a whole file that is split into objects afterwards, each of
    /// them checked again strictly, so one bad object does not fail the rest.
    pub allow_control_characters: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 16,
            max_properties: 10_000,
            allow_control_characters: false,
        }
    }
}

/// Why text is not acceptable iCalendar; the message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    fn at(line: usize, message: impl std::fmt::Display) -> Self {
        Self {
            message: format!("line {line}: {message}"),
        }
    }
}

/// Parses one `VCALENDAR` object.
pub fn parse(text: &str, limits: &ParseLimits) -> Result<Component, ParseError> {
    if text.len() > limits.max_bytes {
        return Err(ParseError {
            message: format!(
                "calendar data is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = TreeBuilder::new(limits);
    for (line_no, line) in LogicalLines::new(text) {
        if line.trim().is_empty() {
            continue;
        }
        builder.content_line(line_no, &line)?;
    }
    builder.finish()
}

/// Collects components while tracking nesting and limits.
struct TreeBuilder<'l> {
    limits: &'l ParseLimits,
    /// Open components with the line of their BEGIN.
    stack: Vec<(Component, usize)>,
    root: Option<Component>,
    property_count: usize,
}

impl<'l> TreeBuilder<'l> {
    fn new(limits: &'l ParseLimits) -> Self {
        Self {
            limits,
            stack: Vec::new(),
            root: None,
            property_count: 0,
        }
    }

    fn content_line(&mut self, line_no: usize, line: &str) -> Result<(), ParseError> {
        let control = if self.limits.allow_control_characters {
            None
        } else {
            line.chars().find(|&c| is_forbidden_control(c, false))
        };
        if let Some(c) = control {
            return Err(ParseError::at(
                line_no,
                format!(
                    "the control character U+{:04X} is not allowed in calendar data (only tab is)",
                    u32::from(c)
                ),
            ));
        }
        if self.root.is_some() {
            return Err(ParseError::at(line_no, "data after END:VCALENDAR"));
        }
        let property = parse_content_line(line_no, line)?;
        match property.name.as_str() {
            "BEGIN" => self.begin(line_no, &property.value),
            "END" => self.end(line_no, &property.value),
            _ => {
                let Some((current, _)) = self.stack.last_mut() else {
                    return Err(ParseError::at(
                        line_no,
                        format!("property {} outside of BEGIN:VCALENDAR", property.name),
                    ));
                };
                self.property_count += 1;
                if self.property_count > self.limits.max_properties {
                    return Err(ParseError::at(
                        line_no,
                        format!("more than {} properties", self.limits.max_properties),
                    ));
                }
                current.properties.push(property);
                Ok(())
            }
        }
    }

    fn begin(&mut self, line_no: usize, name: &str) -> Result<(), ParseError> {
        let name = name.trim();
        if !is_valid_name(name) {
            return Err(ParseError::at(
                line_no,
                "BEGIN without a valid component name",
            ));
        }
        if self.stack.is_empty() && !name.eq_ignore_ascii_case("VCALENDAR") {
            return Err(ParseError::at(
                line_no,
                format!("expected BEGIN:VCALENDAR, found BEGIN:{name}"),
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ParseError::at(
                line_no,
                format!(
                    "components nested deeper than {} levels",
                    self.limits.max_depth
                ),
            ));
        }
        self.stack.push((Component::new(name), line_no));
        Ok(())
    }

    fn end(&mut self, line_no: usize, name: &str) -> Result<(), ParseError> {
        let name = name.trim();
        let Some((component, begin_line)) = self.stack.pop() else {
            return Err(ParseError::at(line_no, format!("END:{name} without BEGIN")));
        };
        if !component.name.eq_ignore_ascii_case(name) {
            return Err(ParseError::at(
                line_no,
                format!(
                    "END:{name} does not match BEGIN:{} on line {begin_line}",
                    component.name
                ),
            ));
        }
        match self.stack.last_mut() {
            Some((parent, _)) => parent.components.push(component),
            None => self.root = Some(component),
        }
        Ok(())
    }

    fn finish(self) -> Result<Component, ParseError> {
        if let Some((open, line)) = self.stack.last() {
            return Err(ParseError {
                message: format!(
                    "unexpected end of data: BEGIN:{} on line {line} is not closed",
                    open.name
                ),
            });
        }
        self.root.ok_or_else(|| ParseError {
            message: "no BEGIN:VCALENDAR found".to_owned(),
        })
    }
}

/// Iterates unfolded content lines with the number of their first physical line.
struct LogicalLines<'t> {
    rest: &'t str,
    next_line_no: usize,
}

impl<'t> LogicalLines<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            rest: text,
            next_line_no: 1,
        }
    }

    /// Splits off one physical line without its line end.
    fn physical(&mut self) -> &'t str {
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.next_line_no += 1;
        line.strip_suffix('\r').unwrap_or(line)
    }

    fn continues(&self) -> bool {
        self.rest.starts_with([' ', '\t'])
    }
}

impl<'t> Iterator for LogicalLines<'t> {
    type Item = (usize, Cow<'t, str>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let line_no = self.next_line_no;
        let first = self.physical();
        if !self.continues() {
            return Some((line_no, Cow::Borrowed(first)));
        }
        let mut joined = first.to_owned();
        while self.continues() {
            joined.push_str(&self.physical()[1..]);
        }
        Some((line_no, Cow::Owned(joined)))
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses `NAME *(;PARAM=VALUE[,VALUE]) : value`.
fn parse_content_line(line_no: usize, line: &str) -> Result<Property, ParseError> {
    let name_end = line
        .find([';', ':'])
        .ok_or_else(|| ParseError::at(line_no, "property without a colon"))?;
    let name = &line[..name_end];
    if !is_valid_name(name) {
        return Err(ParseError::at(
            line_no,
            format!("invalid property name {:?}", truncate(name, 40)),
        ));
    }
    let mut property = Property {
        name: name.to_ascii_uppercase(),
        params: Vec::new(),
        value: String::new(),
    };
    let bytes = line.as_bytes();
    let mut pos = name_end;
    while bytes[pos] == b';' {
        let (param, next) = parse_param(line_no, line, pos + 1)?;
        property.params.push(param);
        pos = next;
        if pos >= bytes.len() {
            return Err(ParseError::at(line_no, "property without a colon"));
        }
    }
    // `pos` is now at the colon that starts the value.
    line[pos + 1..].clone_into(&mut property.value);
    Ok(property)
}

/// Parses one parameter starting at `start`; returns it and the index of the
/// `;` or `:` that follows it.
fn parse_param(line_no: usize, line: &str, start: usize) -> Result<(Param, usize), ParseError> {
    let bytes = line.as_bytes();
    let eq = line[start..]
        .find(['=', ';', ':'])
        .map(|i| i + start)
        .filter(|&i| bytes[i] == b'=')
        .ok_or_else(|| ParseError::at(line_no, "parameter without '='"))?;
    let name = &line[start..eq];
    if !is_valid_name(name) {
        return Err(ParseError::at(
            line_no,
            format!("invalid parameter name {:?}", truncate(name, 40)),
        ));
    }
    let mut param = Param {
        name: name.to_ascii_uppercase(),
        values: Vec::new(),
        quoted: Some(false),
    };
    let mut pos = eq + 1;
    loop {
        if bytes.get(pos) == Some(&b'"') {
            let close = line[pos + 1..]
                .find('"')
                .map(|i| i + pos + 1)
                .ok_or_else(|| ParseError::at(line_no, "unterminated quoted parameter value"))?;
            param.values.push(caret_decoded(&line[pos + 1..close]));
            param.quoted = Some(true);
            pos = close + 1;
        } else {
            let end = line[pos..]
                .find([',', ';', ':'])
                .map_or(line.len(), |i| i + pos);
            param.values.push(caret_decoded(&line[pos..end]));
            pos = end;
        }
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b';' | b':') => return Ok((param, pos)),
            Some(_) => {
                return Err(ParseError::at(
                    line_no,
                    format!("unexpected character after quoted value of {}", param.name),
                ))
            }
            None => return Err(ParseError::at(line_no, "property without a colon")),
        }
    }
}

/// A parameter value with RFC 6868 escapes decoded: `^n` is a newline,
/// `^'` a double quote, `^^` a caret; any other `^` stays as it is.
fn caret_decoded(raw: &str) -> String {
    if !raw.contains('^') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let decoded = match (c, chars.peek()) {
            ('^', Some('n' | 'N')) => Some('\n'),
            ('^', Some('\'')) => Some('"'),
            ('^', Some('^')) => Some('^'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                chars.next();
                out.push(d);
            }
            None => out.push(c),
        }
    }
    out
}

fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => Cow::Owned(format!("{}…", &text[..i])),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_the_quoting_they_came_with() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nATTENDEE;CN=Olga Organizer;X-A=\"plain\":mailto:o@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let parsed = parse(text, &ParseLimits::default()).unwrap();
        assert_eq!(parsed.to_ics(), text);
    }

    fn parse_default(text: &str) -> Result<Component, ParseError> {
        parse(text, &ParseLimits::default())
    }

    fn error(text: &str) -> String {
        parse_default(text).unwrap_err().message
    }

    #[test]
    fn parses_nested_components_params_and_unfolds_lines() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n\
                    ATTENDEE;CN=\"Doe, Jane\";ROLE=REQ-PARTICIPANT;DELEGATED-TO=\"mailto:a@x\",\"mailto:b@x\":mailto:j@x\r\n\
                    DESCRIPTION:first \r\n  second\r\n\tthird\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n\
                    END:VEVENT\r\nEND:VCALENDAR\r\n";
        let cal = parse_default(text).unwrap();
        assert_eq!(cal.name, "VCALENDAR");
        assert_eq!(cal.property("VERSION").unwrap().value, "2.0");
        let event = &cal.components[0];
        assert_eq!(event.name, "VEVENT");
        let attendee = event.property("ATTENDEE").unwrap();
        assert_eq!(attendee.value, "mailto:j@x");
        assert_eq!(attendee.param("CN"), Some("Doe, Jane"));
        assert_eq!(attendee.param("ROLE"), Some("REQ-PARTICIPANT"));
        assert_eq!(
            attendee.params[2].values,
            vec!["mailto:a@x".to_owned(), "mailto:b@x".to_owned()]
        );
        assert_eq!(
            event.property("DESCRIPTION").unwrap().value,
            "first  secondthird"
        );
        assert_eq!(
            event.components[0].property("TRIGGER").unwrap().value,
            "-PT5M"
        );
    }

    #[test]
    fn accepts_lf_line_ends_lower_case_names_bom_and_blank_lines() {
        let text =
            "\u{feff}begin:vcalendar\n\nversion:2.0\nx-custom;x-param=1:a:b;c\nend:vcalendar\n\n";
        let cal = parse_default(text).unwrap();
        assert_eq!(cal.name, "VCALENDAR");
        let custom = cal.property("X-CUSTOM").unwrap();
        assert_eq!(custom.value, "a:b;c");
        assert_eq!(custom.param("X-PARAM"), Some("1"));
    }

    #[test]
    fn round_trips_through_to_ics() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n\
                    SUMMARY:a\\, b\\nc\r\nORGANIZER;CN=\"A B\":mailto:a@x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let cal = parse_default(text).unwrap();
        assert_eq!(cal.to_ics(), text);
        assert_eq!(parse_default(&cal.to_ics()).unwrap(), cal);
    }

    #[test]
    fn reports_missing_colon_with_line_number() {
        let text = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:1\nDTSTART:20060102T100000Z\nSUMMARY:x\nBROKEN LINE\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(error(text), "line 7: property without a colon");
    }

    #[test]
    fn parameter_values_use_rfc6868_caret_encoding() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nATTENDEE;CN=\"Ana ^'Bo^' ^^ ^nx\";X-A=q\"^x:mailto:a@example.org\nEND:VEVENT\nEND:VCALENDAR\n";
        let calendar = parse_default(text).unwrap();
        let attendee = calendar.components[0].property("ATTENDEE").unwrap();
        assert_eq!(attendee.param("CN"), Some("Ana \"Bo\" ^ \nx"));
        assert_eq!(attendee.param("X-A"), Some("q\"^x"));
        let written = calendar.to_ics();
        assert!(
            written.contains("CN=\"Ana ^'Bo^' ^^ ^nx\";X-A=q^'^^x:"),
            "{written}"
        );
        assert_eq!(parse_default(&written).unwrap(), calendar);
    }

    #[test]
    fn refuses_control_characters_but_tab() {
        for control in ['\u{0}', '\u{1}', '\u{b}', '\u{1b}', '\u{7f}', '\r'] {
            let text = format!(
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:a{control}b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            );
            let message = error(&text);
            assert!(
                message.starts_with("line 4: the control character U+00"),
                "{control:?}: {message}"
            );
        }
        // Also in a folded continuation, and in parameters.
        let folded = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nSUMMARY:ab\n c\u{1}d\nEND:VEVENT\nEND:VCALENDAR\n";
        assert!(error(folded).starts_with("line 4: the control character U+0001"));
        let tab = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nSUMMARY:a\tb\nEND:VEVENT\nEND:VCALENDAR\n";
        assert!(parse_default(tab).is_ok());
    }

    #[test]
    fn line_numbers_count_physical_lines_of_folded_input() {
        let text = "BEGIN:VCALENDAR\nX-A:1\n 2\n 3\nBAD\nEND:VCALENDAR\n";
        assert_eq!(error(text), "line 5: property without a colon");
    }

    #[test]
    fn rejects_mismatched_and_unbalanced_begin_end() {
        assert_eq!(
            error("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VTODO\nEND:VCALENDAR\n"),
            "line 3: END:VTODO does not match BEGIN:VEVENT on line 2"
        );
        assert_eq!(
            error("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\n"),
            "unexpected end of data: BEGIN:VEVENT on line 2 is not closed"
        );
        assert_eq!(
            error("BEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VCALENDAR\n"),
            "line 3: data after END:VCALENDAR"
        );
        assert_eq!(error("END:VEVENT\n"), "line 1: END:VEVENT without BEGIN");
    }

    #[test]
    fn root_must_be_vcalendar() {
        assert_eq!(
            error("BEGIN:VCARD\nEND:VCARD\n"),
            "line 1: expected BEGIN:VCALENDAR, found BEGIN:VCARD"
        );
        assert_eq!(error(""), "no BEGIN:VCALENDAR found");
        assert_eq!(
            error("VERSION:2.0\n"),
            "line 1: property VERSION outside of BEGIN:VCALENDAR"
        );
    }

    #[test]
    fn rejects_malformed_names_and_params() {
        assert_eq!(
            error("BEGIN:VCALENDAR\nX Y:1\nEND:VCALENDAR\n"),
            "line 2: invalid property name \"X Y\""
        );
        assert_eq!(
            error("BEGIN:VCALENDAR\nX-Y;CN:1\nEND:VCALENDAR\n"),
            "line 2: parameter without '='"
        );
        assert_eq!(
            error("BEGIN:VCALENDAR\nX-Y;CN=\"open:1\nEND:VCALENDAR\n"),
            "line 2: unterminated quoted parameter value"
        );
        assert_eq!(
            error("BEGIN:VCALENDAR\nX-Y;CN=a\nEND:VCALENDAR\n"),
            "line 2: property without a colon"
        );
    }

    #[test]
    fn enforces_size_limit() {
        let limits = ParseLimits {
            max_bytes: 20,
            ..ParseLimits::default()
        };
        let err = parse("BEGIN:VCALENDAR\nEND:VCALENDAR\n", &limits).unwrap_err();
        assert_eq!(
            err.message,
            "calendar data is 30 bytes, more than the limit of 20 bytes"
        );
    }

    #[test]
    fn enforces_depth_limit() {
        let limits = ParseLimits {
            max_depth: 2,
            ..ParseLimits::default()
        };
        let two = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VEVENT\nEND:VCALENDAR\n";
        assert!(parse(two, &limits).is_ok());
        let three =
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nBEGIN:VALARM\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(
            parse(three, &limits).unwrap_err().message,
            "line 3: components nested deeper than 2 levels"
        );
    }

    #[test]
    fn enforces_property_count_limit() {
        let limits = ParseLimits {
            max_properties: 2,
            ..ParseLimits::default()
        };
        let text = "BEGIN:VCALENDAR\nA:1\nB:2\nC:3\nEND:VCALENDAR\n";
        assert_eq!(
            parse(text, &limits).unwrap_err().message,
            "line 4: more than 2 properties"
        );
    }
}
