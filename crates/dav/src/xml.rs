//! A small, bounded XML element tree for DAV request bodies.
//!
//! quick-xml never expands entities beyond the five predefined ones, and a
//! DOCTYPE is refused outright, so entity-expansion attacks cannot start.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::borrow::Cow;
use std::fmt::Write;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CALSERVER: &str = "http://calendarserver.org/ns/";
pub const APPLE: &str = "http://apple.com/ns/ical/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_elements: 20_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed XML body: {0}")]
pub struct XmlError(pub String);

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All text content, concatenated (for href, sync-token, text-match ...).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for node in &self.children {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text()),
            }
        }
        out
    }

    /// The children serialized as self-contained XML: every element declares
    /// its own namespace, so the fragment means the same wherever it is pasted.
    pub fn inner_xml(&self) -> String {
        let mut out = String::new();
        for node in &self.children {
            write_node(&mut out, node);
        }
        out
    }
}

fn write_node(out: &mut String, node: &Node) {
    match node {
        Node::Text(t) => out.push_str(&escape(t)),
        Node::Element(e) => {
            let _ = write!(out, "<{} xmlns=\"{}\"", e.name, escape(&e.ns));
            for (k, v) in &e.attrs {
                let _ = write!(out, " {k}=\"{}\"", escape(v));
            }
            if e.children.is_empty() {
                out.push_str("/>");
            } else {
                out.push('>');
                for child in &e.children {
                    write_node(out, child);
                }
                let _ = write!(out, "</{}>", e.name);
            }
        }
    }
}

/// Escapes text for element content and attribute values. Characters XML
/// 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD,
/// so no answer is ever malformed, whatever was stored.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(&*without_forbidden(text)).into_owned()
}

/// `text` with the characters XML 1.0 forbids replaced by U+FFFD; for XML
/// written before that rule (dead properties stored as they came).
pub fn without_forbidden(text: &str) -> Cow<'_, str> {
    let suspicious = text
        .bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        || text.contains(['\u{fffe}', '\u{ffff}']);
    if !suspicious {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_forbidden_in_xml(c) {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect(),
    )
}

fn is_forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Parses a request body into its root element.
pub fn parse(body: &[u8], limits: XmlLimits) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError("body is not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError(e.to_string()))?;
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                elements += 1;
                if elements > limits.max_elements || stack.len() >= limits.max_depth {
                    return Err(XmlError("body too large or nested too deeply".into()));
                }
                let ns = match resolved {
                    ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                    ResolveResult::Unbound => String::new(),
                    ResolveResult::Unknown(prefix) => {
                        return Err(XmlError(format!(
                            "undeclared namespace prefix {:?}",
                            String::from_utf8_lossy(&prefix)
                        )))
                    }
                };
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| XmlError(e.to_string()))?;
                    if attr.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    let value = attr
                        .unescape_value()
                        .map_err(|e| XmlError(e.to_string()))?
                        .into_owned();
                    attrs.push((key, value));
                }
                let element = Element {
                    ns,
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    attrs,
                    children: Vec::new(),
                };
                if is_empty {
                    if let Some(done) = attach(&mut stack, element) {
                        return Ok(done);
                    }
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError("unbalanced end tag".into()))?;
                if let Some(done) = attach(&mut stack, element) {
                    return Ok(done);
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| XmlError(e.to_string()))?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Text(text.into_owned()));
                } else if !text.trim().is_empty() {
                    return Err(XmlError("text outside the root element".into()));
                }
            }
            Event::CData(c) => {
                if let Some(parent) = stack.last_mut() {
                    parent
                        .children
                        .push(Node::Text(String::from_utf8_lossy(&c).into_owned()));
                }
            }
            Event::DocType(_) => return Err(XmlError("DOCTYPE is not allowed".into())),
            Event::Eof => return Err(XmlError("no root element".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

/// Adds a finished element to its parent; returns it when it was the root.
fn attach(stack: &mut [Element], element: Element) -> Option<Element> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(element));
            None
        }
        None => Some(element),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_and_text() {
        let root = parse(
            br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:x="urn:x"><D:prop><x:a>1 &amp; 2</x:a></D:prop></D:propfind>"#,
            XmlLimits::default(),
        )
        .unwrap();
        assert!(root.is(DAV, "propfind"));
        let a = root
            .child(DAV, "prop")
            .unwrap()
            .child("urn:x", "a")
            .unwrap();
        assert_eq!(a.text(), "1 & 2");
    }

    #[test]
    fn refuses_doctype_and_deep_nesting() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert!(parse(bomb, XmlLimits::default()).is_err());
        let deep = "<a>".repeat(50) + &"</a>".repeat(50);
        assert!(parse(deep.as_bytes(), XmlLimits::default()).is_err());
    }

    #[test]
    fn escaping_never_writes_what_xml_forbids() {
        let escaped = escape("a\u{0}b\u{1b}c\td\ne<&\u{ffff}");
        assert_eq!(escaped, "a\u{fffd}b\u{fffd}c\td\ne&lt;&amp;\u{fffd}");
        let root = parse(
            format!("<x xmlns=\"DAV:\">{escaped}</x>").as_bytes(),
            XmlLimits::default(),
        )
        .unwrap();
        assert!(root.text().starts_with("a\u{fffd}b"));
    }

    #[test]
    fn inner_xml_is_self_contained() {
        let root = parse(
            br#"<p xmlns="urn:p"><v:x xmlns:v="urn:v" a="&lt;">t<y xmlns="bar"/></v:x></p>"#,
            XmlLimits::default(),
        )
        .unwrap();
        assert_eq!(
            root.inner_xml(),
            r#"<x xmlns="urn:v" a="&lt;">t<y xmlns="bar"/></x>"#
        );
    }
}
