//! Writing 207 Multi-Status bodies and DAV error bodies.

use crate::names::PropName;
use crate::xml::{escape, APPLE, CALDAV, CALSERVER, DAV};
use std::fmt::Write;

const PREFIXES: [(&str, &str); 4] = [(DAV, "D"), (CALDAV, "C"), (CALSERVER, "CS"), (APPLE, "A")];
const ROOT_NAMESPACES: &str = r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/""#;

/// One property in a response: its name and, for 200, its value as XML.
#[derive(Debug, Clone)]
pub struct PropValue {
    pub name: PropName,
    pub xml: String,
}

/// Properties of one resource grouped by status, as in a `DAV:propstat`.
#[derive(Debug, Default, Clone)]
pub struct PropStats {
    pub found: Vec<PropValue>,
    pub not_found: Vec<PropName>,
    pub forbidden: Vec<PropName>,
    /// 424 Failed Dependency: the rest of a PROPPATCH that failed.
    pub failed_dependency: Vec<PropName>,
    /// 507 Insufficient Storage: too large, too many, or over the quota.
    pub insufficient_storage: Vec<PropName>,
    /// Why, for a person reading the answer.
    pub description: Option<String>,
}

pub struct Multistatus {
    out: String,
}

impl Default for Multistatus {
    fn default() -> Self {
        Self::new()
    }
}

impl Multistatus {
    pub fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
        let _ = write!(out, "\n<D:multistatus {ROOT_NAMESPACES}>");
        Self { out }
    }

    /// A `DAV:response` with propstats; `href` is already percent-encoded.
    pub fn response(&mut self, href: &str, stats: &PropStats) {
        let _ = write!(self.out, "<D:response><D:href>{}</D:href>", escape(href));
        let nothing_asked = stats.found.is_empty()
            && stats.not_found.is_empty()
            && stats.forbidden.is_empty()
            && stats.failed_dependency.is_empty()
            && stats.insufficient_storage.is_empty();
        if !stats.found.is_empty() || nothing_asked {
            // A response needs a propstat even when no property was asked for.
            self.out.push_str("<D:propstat><D:prop>");
            for prop in &stats.found {
                write_property(&mut self.out, &prop.name, Some(&prop.xml));
            }
            self.out
                .push_str("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
        }
        for (names, status) in [
            (&stats.not_found, "404 Not Found"),
            (&stats.forbidden, "403 Forbidden"),
            (&stats.failed_dependency, "424 Failed Dependency"),
            (&stats.insufficient_storage, "507 Insufficient Storage"),
        ] {
            if names.is_empty() {
                continue;
            }
            self.out.push_str("<D:propstat><D:prop>");
            for name in names {
                write_property(&mut self.out, name, None);
            }
            let _ = write!(
                self.out,
                "</D:prop><D:status>HTTP/1.1 {status}</D:status></D:propstat>"
            );
        }
        if let Some(description) = &stats.description {
            let _ = write!(
                self.out,
                "<D:responsedescription>{}</D:responsedescription>",
                escape(description)
            );
        }
        self.out.push_str("</D:response>");
    }

    /// A `DAV:response` that carries only a status (a deleted member in sync).
    pub fn status_response(&mut self, href: &str, status: &str) {
        let _ = write!(
            self.out,
            "<D:response><D:href>{}</D:href><D:status>HTTP/1.1 {status}</D:status></D:response>",
            escape(href)
        );
    }

    pub fn finish(mut self, sync_token: Option<&str>) -> String {
        if let Some(token) = sync_token {
            let _ = write!(self.out, "<D:sync-token>{}</D:sync-token>", escape(token));
        }
        self.out.push_str("</D:multistatus>\n");
        self.out
    }
}

fn write_property(out: &mut String, name: &PropName, value: Option<&str>) {
    let known = PREFIXES.iter().find(|(ns, _)| *ns == name.ns);
    let (open, close) = match known {
        Some((_, prefix)) => (
            format!("{prefix}:{}", name.name),
            format!("{prefix}:{}", name.name),
        ),
        None if name.ns.is_empty() => (format!("{} xmlns=\"\"", name.name), name.name.to_string()),
        None => (
            format!("X:{} xmlns:X=\"{}\"", name.name, escape(&name.ns)),
            format!("X:{}", name.name),
        ),
    };
    match value {
        Some(v) if !v.is_empty() => {
            let _ = write!(out, "<{open}>{v}</{close}>");
        }
        _ => {
            let _ = write!(out, "<{open}/>");
        }
    }
}

/// A DAV:error body that only explains (no precondition applies).
pub fn description_body(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\">\
         <D:responsedescription>{}</D:responsedescription></D:error>\n",
        escape(message)
    )
}

/// A DAV error body naming the failed precondition (RFC 4918 §16).
pub fn error_body(ns: &str, condition: &str, message: &str) -> String {
    let prefix = PREFIXES
        .iter()
        .find(|(n, _)| *n == ns)
        .map_or("X", |(_, p)| p);
    let declare = if prefix == "X" {
        format!(" xmlns:X=\"{}\"", escape(ns))
    } else {
        String::new()
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error {ROOT_NAMESPACES}{declare}><{prefix}:{condition}/>\
         <D:responsedescription>{}</D:responsedescription></D:error>\n",
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_found_and_missing_properties() {
        let mut ms = Multistatus::new();
        ms.response(
            "/dav/a/",
            &PropStats {
                found: vec![PropValue {
                    name: PropName::new(DAV, "displayname"),
                    xml: "A &amp; B".into(),
                }],
                not_found: vec![PropName::owned("urn:x", "y")],
                ..PropStats::default()
            },
        );
        let body = ms.finish(Some("tok"));
        assert!(body.contains("<D:displayname>A &amp; B</D:displayname>"));
        assert!(body.contains(r#"<X:y xmlns:X="urn:x"/></D:prop><D:status>HTTP/1.1 404 Not Found"#));
        assert!(body.contains("<D:sync-token>tok</D:sync-token></D:multistatus>"));
    }
}
