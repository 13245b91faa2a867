//! The iCalendar object tree and its serialization.
//!
//! The tree is faithful to the input: unknown components, properties and
//! parameters are kept, and property values keep their escaping so that a
//! parse/serialize round trip does not alter data a client stored.

/// A component such as `VCALENDAR`, `VEVENT` or `VALARM`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Component {
    /// Upper-case component name.
    pub name: String,
    pub properties: Vec<Property>,
    pub components: Vec<Component>,
}

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Property {
    /// Upper-case property name.
    pub name: String,
    pub params: Vec<Param>,
    /// The value exactly as written (escapes such as `\,` are kept).
    pub value: String,
}

/// A property parameter; quoted values are stored without their quotes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param {
    /// Upper-case parameter name.
    pub name: String,
    pub values: Vec<String>,
    /// Whether the source quoted its values (`None`: made here), so that
    /// a round trip writes them as they came.
    pub quoted: Option<bool>,
}

impl Component {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_ascii_uppercase(),
            properties: Vec::new(),
            components: Vec::new(),
        }
    }

    /// The first property called `name` (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// All properties called `name` (case-insensitive), in file order.
    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// Sub-components called `name` (case-insensitive), in file order.
    pub fn components_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Serializes to iCalendar text: CRLF line ends, lines folded at 75 octets.
    pub fn to_ics(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_ics(&mut out);
        out
    }

    fn write_ics(&self, out: &mut String) {
        push_folded(out, &format!("BEGIN:{}", self.name));
        let mut line = String::new();
        for property in &self.properties {
            line.clear();
            property.write_line(&mut line);
            push_folded(out, &line);
        }
        for child in &self.components {
            child.write_ics(out);
        }
        push_folded(out, &format!("END:{}", self.name));
    }
}

impl Property {
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// Adds a single-valued parameter (builder style).
    #[must_use]
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.push(Param {
            name: name.to_ascii_uppercase(),
            values: vec![value.to_owned()],
            quoted: None,
        });
        self
    }

    /// The first value of the parameter called `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }

    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// The content line without folding or line end.
    fn write_line(&self, out: &mut String) {
        out.push_str(&self.name);
        for param in &self.params {
            out.push(';');
            out.push_str(&param.name);
            out.push('=');
            for (i, value) in param.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_param_value(out, value, param.quoted);
            }
        }
        out.push(':');
        out.push_str(&self.value);
    }
}

/// A parameter value with RFC 6868 caret encoding (`^^`, `^n`, `^'`),
/// quoted when it holds characters a bare value cannot, or as the source
/// had it (values made here with spaces are quoted too, as most clients do).
fn write_param_value(out: &mut String, value: &str, quoted: Option<bool>) {
    let needs_quotes = quoted.unwrap_or(false)
        || value
            .chars()
            .any(|c| matches!(c, ':' | ';' | ',') || (quoted.is_none() && c.is_whitespace()));
    if needs_quotes {
        out.push('"');
    }
    for c in value.chars() {
        match c {
            '^' => out.push_str("^^"),
            '\n' => out.push_str("^n"),
            '"' => out.push_str("^'"),
            c => out.push(c),
        }
    }
    if needs_quotes {
        out.push('"');
    }
}

/// Appends `line` folded so that no physical line exceeds 75 octets, never
/// splitting a UTF-8 sequence, followed by CRLF.
fn push_folded(out: &mut String, line: &str) {
    const LIMIT: usize = 75;
    let mut rest = line;
    let mut limit = LIMIT;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // The leading space of a continuation line counts towards the limit.
        limit = LIMIT - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Component {
        let mut event = Component::new("vevent");
        event.properties.push(Property::new("uid", "abc"));
        event
            .properties
            .push(Property::new("ATTENDEE", "mailto:a@example.com").with_param("CN", "Doe, Jane"));
        event
    }

    #[test]
    fn lookups_are_case_insensitive() {
        let event = event();
        assert_eq!(event.name, "VEVENT");
        assert_eq!(event.property("Uid").unwrap().value, "abc");
        assert_eq!(event.properties_named("attendee").count(), 1);
        assert_eq!(
            event.property("ATTENDEE").unwrap().param("cn"),
            Some("Doe, Jane")
        );
        assert!(event.property("SUMMARY").is_none());
    }

    #[test]
    fn serializes_with_crlf_and_quotes_params_that_need_it() {
        assert_eq!(
            event().to_ics(),
            "BEGIN:VEVENT\r\nUID:abc\r\nATTENDEE;CN=\"Doe, Jane\":mailto:a@example.com\r\nEND:VEVENT\r\n"
        );
    }

    #[test]
    fn folds_long_lines_at_75_octets_on_char_boundaries() {
        let mut c = Component::new("X");
        // "SUMMARY:" is 8 octets, each 'é' is 2 octets.
        c.properties.push(Property::new("SUMMARY", "é".repeat(100)));
        let text = c.to_ics();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[1].len(), 74, "75 would split an 'é'");
        assert!(lines[2].starts_with(' '));
        assert!(lines.iter().all(|l| l.len() <= 75));
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}", "é".repeat(100))));
    }
}
