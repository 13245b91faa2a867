//! Parsing REPORT bodies: calendar-query, calendar-multiget, free-busy-query
//! (RFC 4791 §7) and sync-collection (RFC 6578).

use crate::error::DavError;
use crate::names::PropName;
use crate::requests::{prop_request, PropRequest};
use crate::xml::{self, Element, XmlLimits, CALDAV, DAV};
use almanac_ical::{
    Collation, CompFilter, CompSelector, DataRequest, ParamFilter, PropFilter, TextMatch,
    TimeRange, TimeSpan,
};

pub const CALENDAR_DATA: PropName = PropName::new(CALDAV, "calendar-data");

#[derive(Debug, Clone)]
pub enum Report {
    CalendarQuery(CalendarQuery),
    Multiget(Multiget),
    SyncCollection(SyncCollection),
    FreeBusy(TimeSpan),
    PrincipalSearch(PrincipalSearch),
    PrincipalSearchPropertySet,
}

/// RFC 3744 §9.4 principal-property-search: principals whose named
/// properties contain the match texts (all of them, or any with `test="anyof"`).
#[derive(Debug, Clone)]
pub struct PrincipalSearch {
    pub searches: Vec<(Vec<PropName>, String)>,
    pub any_of: bool,
    pub props: PropRequest,
}

#[derive(Debug, Clone)]
pub struct CalendarQuery {
    pub props: PropRequest,
    /// How to render CALDAV:calendar-data when it is asked for.
    pub data: Option<DataRequest>,
    pub filter: CompFilter,
    /// CALDAV:timezone of the query: the zone for floating times (a VTIMEZONE).
    pub timezone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Multiget {
    pub props: PropRequest,
    pub data: Option<DataRequest>,
    pub hrefs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SyncCollection {
    pub token: String,
    pub props: PropRequest,
    pub data: Option<DataRequest>,
    pub limit: Option<usize>,
}

pub fn parse_report(body: &[u8], limits: XmlLimits) -> Result<Report, DavError> {
    let root = xml::parse(body, limits)?;
    if root.is(CALDAV, "calendar-query") {
        let filter = root.child(CALDAV, "filter").ok_or_else(|| {
            DavError::caldav(403, "valid-filter", "calendar-query needs a CALDAV:filter")
        })?;
        let top = filter.child(CALDAV, "comp-filter").ok_or_else(|| {
            DavError::caldav(403, "valid-filter", "CALDAV:filter needs a comp-filter")
        })?;
        let filter = comp_filter(top)?;
        if filter.name != "VCALENDAR" {
            return Err(DavError::caldav(
                403,
                "valid-filter",
                "the top comp-filter must name VCALENDAR",
            ));
        }
        let (props, data) = props_and_data(&root)?;
        Ok(Report::CalendarQuery(CalendarQuery {
            props,
            data,
            filter,
            timezone: root.child(CALDAV, "timezone").map(Element::text),
        }))
    } else if root.is(CALDAV, "calendar-multiget") {
        let (props, data) = props_and_data(&root)?;
        let hrefs = root
            .elements()
            .filter(|e| e.is(DAV, "href"))
            .map(|e| e.text().trim().to_owned())
            .collect();
        Ok(Report::Multiget(Multiget { props, data, hrefs }))
    } else if root.is(DAV, "sync-collection") {
        // sync-level 1 and infinite mean the same here: calendars hold no
        // sub-collections.
        let limit =
            match root
                .child(DAV, "limit")
                .and_then(|l| l.child(DAV, "nresults"))
            {
                Some(n) => Some(n.text().trim().parse::<usize>().map_err(|_| {
                    DavError::bad_request("DAV:nresults must be a positive number")
                })?),
                None => None,
            };
        let (props, data) = props_and_data(&root)?;
        Ok(Report::SyncCollection(SyncCollection {
            token: root
                .child(DAV, "sync-token")
                .map(|e| e.text().trim().to_owned())
                .unwrap_or_default(),
            props,
            data,
            limit,
        }))
    } else if root.is(DAV, "principal-property-search") {
        Ok(Report::PrincipalSearch(principal_search(&root)))
    } else if root.is(DAV, "principal-search-property-set") {
        Ok(Report::PrincipalSearchPropertySet)
    } else if root.is(CALDAV, "free-busy-query") {
        let range = root
            .child(CALDAV, "time-range")
            .ok_or_else(|| DavError::bad_request("free-busy-query needs a CALDAV:time-range"))?;
        let range = time_range(range)?;
        Ok(Report::FreeBusy(TimeSpan {
            start: range.start.unwrap_or(i64::MIN),
            end: range.end.unwrap_or(i64::MAX),
        }))
    } else {
        Err(DavError::dav(
            403,
            "supported-report",
            format!(
                "the report {{{}}}{} is not supported here",
                root.ns, root.name
            ),
        ))
    }
}

fn principal_search(root: &Element) -> PrincipalSearch {
    let searches = root
        .elements()
        .filter(|e| e.is(DAV, "property-search"))
        .map(|search| {
            let names = search
                .child(DAV, "prop")
                .map(crate::requests::prop_names)
                .unwrap_or_default();
            let text = search
                .child(DAV, "match")
                .map(Element::text)
                .unwrap_or_default();
            (names, text)
        })
        .collect();
    let mut props = prop_request(root).unwrap_or(PropRequest::Prop(vec![]));
    if props == PropRequest::Prop(vec![]) {
        // The python caldav library (3.6) writes an empty DAV:prop and the
        // wanted properties beside it; read those rather than nothing.
        let stray = root
            .elements()
            .filter(|e| !e.is(DAV, "prop") && !e.is(DAV, "property-search"))
            .filter(|e| !e.is(DAV, "apply-to-principal-collection-set"))
            .map(|e| PropName::owned(&e.ns, &e.name))
            .collect();
        props = PropRequest::Prop(stray);
    }
    PrincipalSearch {
        searches,
        any_of: root.attr("test") == Some("anyof"),
        props,
    }
}

fn props_and_data(root: &Element) -> Result<(PropRequest, Option<DataRequest>), DavError> {
    let props = prop_request(root).unwrap_or(PropRequest::AllProp { include: vec![] });
    let data = match root
        .child(DAV, "prop")
        .and_then(|p| p.child(CALDAV, "calendar-data"))
    {
        Some(element) => Some(data_request(element)?),
        None => None,
    };
    Ok((props, data))
}

/// CALDAV:calendar-data as a request (RFC 4791 §9.6).
pub fn data_request(element: &Element) -> Result<DataRequest, DavError> {
    let span = |name: &str| -> Result<Option<TimeSpan>, DavError> {
        match element.child(CALDAV, name) {
            Some(e) => {
                let range = time_range(e)?;
                match (range.start, range.end) {
                    (Some(start), Some(end)) => Ok(Some(TimeSpan { start, end })),
                    _ => Err(DavError::bad_request(format!(
                        "CALDAV:{name} needs start and end"
                    ))),
                }
            }
            None => Ok(None),
        }
    };
    Ok(DataRequest {
        select: element.child(CALDAV, "comp").map(comp_selector),
        expand: span("expand")?,
        limit_recurrence_set: span("limit-recurrence-set")?,
        limit_freebusy_set: span("limit-freebusy-set")?,
    })
}

fn comp_selector(comp: &Element) -> CompSelector {
    CompSelector {
        name: comp.attr("name").unwrap_or_default().to_ascii_uppercase(),
        all_props: comp.child(CALDAV, "allprop").is_some(),
        props: comp
            .elements()
            .filter(|e| e.is(CALDAV, "prop"))
            .filter_map(|e| e.attr("name").map(str::to_ascii_uppercase))
            .collect(),
        all_comps: comp.child(CALDAV, "allcomp").is_some(),
        comps: comp
            .elements()
            .filter(|e| e.is(CALDAV, "comp"))
            .map(comp_selector)
            .collect(),
    }
}

fn name_attr(element: &Element) -> Result<String, DavError> {
    element
        .attr("name")
        .map(str::to_ascii_uppercase)
        .ok_or_else(|| {
            DavError::caldav(
                403,
                "valid-filter",
                format!("CALDAV:{} needs a name", element.name),
            )
        })
}

fn comp_filter(element: &Element) -> Result<CompFilter, DavError> {
    Ok(CompFilter {
        name: name_attr(element)?,
        is_not_defined: element.child(CALDAV, "is-not-defined").is_some(),
        time_range: element
            .child(CALDAV, "time-range")
            .map(time_range)
            .transpose()?,
        prop_filters: element
            .elements()
            .filter(|e| e.is(CALDAV, "prop-filter"))
            .map(prop_filter)
            .collect::<Result<_, _>>()?,
        comp_filters: element
            .elements()
            .filter(|e| e.is(CALDAV, "comp-filter"))
            .map(comp_filter)
            .collect::<Result<_, _>>()?,
    })
}

fn prop_filter(element: &Element) -> Result<PropFilter, DavError> {
    Ok(PropFilter {
        name: name_attr(element)?,
        is_not_defined: element.child(CALDAV, "is-not-defined").is_some(),
        time_range: element
            .child(CALDAV, "time-range")
            .map(time_range)
            .transpose()?,
        text_match: element
            .child(CALDAV, "text-match")
            .map(text_match)
            .transpose()?,
        param_filters: element
            .elements()
            .filter(|e| e.is(CALDAV, "param-filter"))
            .map(|e| {
                Ok(ParamFilter {
                    name: name_attr(e)?,
                    is_not_defined: e.child(CALDAV, "is-not-defined").is_some(),
                    text_match: e.child(CALDAV, "text-match").map(text_match).transpose()?,
                })
            })
            .collect::<Result<_, DavError>>()?,
    })
}

fn text_match(element: &Element) -> Result<TextMatch, DavError> {
    let name = element.attr("collation").unwrap_or("i;ascii-casemap");
    let collation = Collation::from_name(name).ok_or_else(|| {
        DavError::caldav(
            403,
            "supported-collation",
            format!("the collation {name} is not supported"),
        )
    })?;
    Ok(TextMatch {
        text: element.text(),
        collation,
        negate: element.attr("negate-condition") == Some("yes"),
    })
}

fn time_range(element: &Element) -> Result<TimeRange, DavError> {
    let parse = |name: &str| -> Result<Option<i64>, DavError> {
        element
            .attr(name)
            .map(|v| {
                parse_utc(v).ok_or_else(|| {
                    DavError::caldav(
                        403,
                        "valid-filter",
                        format!("{name}={v:?} is not a UTC date-time like 20260101T000000Z"),
                    )
                })
            })
            .transpose()
    };
    let range = TimeRange {
        start: parse("start")?,
        end: parse("end")?,
    };
    if range.start.is_none() && range.end.is_none() {
        return Err(DavError::caldav(
            403,
            "valid-filter",
            "a time-range needs start or end",
        ));
    }
    Ok(range)
}

/// Parses `YYYYMMDDTHHMMSSZ` into UNIX seconds.
pub fn parse_utc(value: &str) -> Option<i64> {
    let value = value.strip_suffix('Z')?;
    chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_time_range_query() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data><C:expand start="20060103T000000Z" end="20060105T000000Z"/></C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20060104T000000Z" end="20060105T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#;
        let Report::CalendarQuery(q) = parse_report(body, XmlLimits::default()).unwrap() else {
            panic!("not a calendar-query")
        };
        assert_eq!(q.filter.comp_filters[0].name, "VEVENT");
        let range = q.filter.comp_filters[0].time_range.as_ref().unwrap();
        assert_eq!(range.start, Some(1_136_332_800));
        assert_eq!(q.data.unwrap().expand.unwrap().start, 1_136_246_400);
    }

    #[test]
    fn unknown_collation_is_a_precondition() {
        let body = br#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
        let err = parse_report(body, XmlLimits::default()).unwrap_err();
        assert_eq!(err.condition, Some((CALDAV, "supported-collation")));
    }
}
