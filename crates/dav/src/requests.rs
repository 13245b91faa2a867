//! Parsing PROPFIND, PROPPATCH and MKCOL/MKCALENDAR bodies.

use crate::error::DavError;
use crate::names::PropName;
use crate::xml::{self, Element, XmlLimits, CALDAV, DAV};

/// What a PROPFIND (or a REPORT's `DAV:prop`) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropRequest {
    AllProp { include: Vec<PropName> },
    PropName,
    Prop(Vec<PropName>),
}

impl PropRequest {
    pub fn wants(&self, name: &PropName) -> bool {
        match self {
            Self::Prop(names) => names.contains(name),
            Self::AllProp { include } => include.contains(name),
            Self::PropName => false,
        }
    }
}

pub fn prop_names(prop: &Element) -> Vec<PropName> {
    prop.elements()
        .map(|e| PropName::owned(&e.ns, &e.name))
        .collect()
}

/// An empty body means allprop (RFC 4918 §9.1).
pub fn parse_propfind(body: &[u8], limits: XmlLimits) -> Result<PropRequest, DavError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PropRequest::AllProp { include: vec![] });
    }
    let root = xml::parse(body, limits)?;
    if !root.is(DAV, "propfind") {
        return Err(DavError::bad_request(
            "PROPFIND body must be a DAV:propfind element",
        ));
    }
    prop_request(&root)
        .ok_or_else(|| DavError::bad_request("DAV:propfind needs prop, allprop or propname"))
}

/// Reads `prop`, `allprop` (+`include`) or `propname` from a parent element.
pub fn prop_request(parent: &Element) -> Option<PropRequest> {
    if let Some(prop) = parent.child(DAV, "prop") {
        return Some(PropRequest::Prop(prop_names(prop)));
    }
    if parent.child(DAV, "propname").is_some() {
        return Some(PropRequest::PropName);
    }
    if parent.child(DAV, "allprop").is_some() {
        let include = parent
            .child(DAV, "include")
            .map(prop_names)
            .unwrap_or_default();
        return Some(PropRequest::AllProp { include });
    }
    None
}

/// One instruction of a PROPPATCH, in document order: set (with the property
/// element itself) or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    Set(PropName, Element),
    Remove(PropName),
}

impl PatchOp {
    pub fn name(&self) -> &PropName {
        match self {
            Self::Set(name, _) | Self::Remove(name) => name,
        }
    }
}

pub fn parse_proppatch(body: &[u8], limits: XmlLimits) -> Result<Vec<PatchOp>, DavError> {
    let root = xml::parse(body, limits)?;
    if !root.is(DAV, "propertyupdate") {
        return Err(DavError::bad_request(
            "PROPPATCH body must be a DAV:propertyupdate element",
        ));
    }
    let mut ops = Vec::new();
    for action in root.elements() {
        let set = if action.is(DAV, "set") {
            true
        } else if action.is(DAV, "remove") {
            false
        } else {
            continue;
        };
        let Some(prop) = action.child(DAV, "prop") else {
            return Err(DavError::bad_request(
                "DAV:set and DAV:remove need a DAV:prop",
            ));
        };
        for element in prop.elements() {
            let name = PropName::owned(&element.ns, &element.name);
            ops.push(if set {
                PatchOp::Set(name, element.clone())
            } else {
                PatchOp::Remove(name)
            });
        }
    }
    if ops.is_empty() {
        return Err(DavError::bad_request("PROPPATCH names no property"));
    }
    Ok(ops)
}

/// An extended MKCOL (RFC 5689) or MKCALENDAR (RFC 4791 §5.3.1) body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MkcolRequest {
    pub calendar: bool,
    /// Properties to set, as `Set` operations (resourcetype excluded).
    pub props: Vec<PatchOp>,
}

pub fn parse_mkcol(
    body: &[u8],
    mkcalendar: bool,
    limits: XmlLimits,
) -> Result<MkcolRequest, DavError> {
    let mut request = MkcolRequest {
        calendar: mkcalendar,
        props: Vec::new(),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(request);
    }
    let root = xml::parse(body, limits)?;
    let expected = if mkcalendar {
        root.is(CALDAV, "mkcalendar")
    } else {
        root.is(DAV, "mkcol")
    };
    if !expected {
        return Err(DavError::new(
            415,
            "MKCOL body must be DAV:mkcol (RFC 5689), MKCALENDAR body CALDAV:mkcalendar",
        ));
    }
    for set in root.elements().filter(|e| e.is(DAV, "set")) {
        let Some(prop) = set.child(DAV, "prop") else {
            continue;
        };
        for element in prop.elements() {
            if element.is(DAV, "resourcetype") {
                for kind in element.elements() {
                    if kind.is(CALDAV, "calendar") {
                        request.calendar = true;
                    } else if !kind.is(DAV, "collection") {
                        return Err(DavError::dav(
                            403,
                            "valid-resourcetype",
                            format!(
                                "cannot create a collection of type {{{}}}{}",
                                kind.ns, kind.name
                            ),
                        ));
                    }
                }
            } else {
                let name = PropName::owned(&element.ns, &element.name);
                request.props.push(PatchOp::Set(name, element.clone()));
            }
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_propfind_is_allprop() {
        assert_eq!(
            parse_propfind(b"", XmlLimits::default()).unwrap(),
            PropRequest::AllProp { include: vec![] }
        );
    }

    #[test]
    fn proppatch_keeps_order_and_values() {
        let ops = parse_proppatch(
            br#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>x</Z:a></D:prop></D:set><D:remove><D:prop><Z:b/></D:prop></D:remove></D:propertyupdate>"#,
            XmlLimits::default(),
        )
        .unwrap();
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[0], PatchOp::Set(n, e) if n.name == "a" && e.text() == "x"));
        assert!(matches!(&ops[1], PatchOp::Remove(n) if n.name == "b"));
    }

    #[test]
    fn extended_mkcol_detects_calendar() {
        let req = parse_mkcol(
            br#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Work</D:displayname></D:prop></D:set></D:mkcol>"#,
            false,
            XmlLimits::default(),
        )
        .unwrap();
        assert!(req.calendar);
        assert_eq!(req.props.len(), 1);
    }
}
