//! Calendar object resources (RFC 4791 §4.1): validation of uploads and the
//! time span the store indexes them by.

use crate::model::Component;
use crate::overlap::alarm_triggers;
use crate::parser::{parse, ParseLimits};
use crate::recurrence::expand;
use crate::span::{Instance, TimeSpan};
use crate::timezone::{EvalContext, Zones};
use crate::value::{parse_duration, property_time};

/// The component types a calendar object resource can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Event,
    Todo,
    Journal,
    FreeBusy,
}

impl ComponentKind {
    pub const ALL: [Self; 4] = [Self::Event, Self::Todo, Self::Journal, Self::FreeBusy];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "VEVENT",
            Self::Todo => "VTODO",
            Self::Journal => "VJOURNAL",
            Self::FreeBusy => "VFREEBUSY",
        }
    }

    /// Case-insensitive; `None` for other component names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name))
    }
}

/// A validated calendar object resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarObject {
    pub calendar: Component,
    pub uid: String,
    pub kind: ComponentKind,
    /// Covers every instance and alarm trigger, widened by a second at each
    /// end, so every component or VALARM time-range that §9.9 matches
    /// intersects it. Property time-ranges (DTSTAMP, LAST-MODIFIED, ...)
    /// are not covered.
    pub span: TimeSpan,
}

/// Why an upload is not a valid calendar object resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// Not parseable iCalendar: CALDAV:valid-calendar-data.
    #[error("invalid calendar data: {0}")]
    InvalidData(String),
    /// Valid iCalendar that breaks RFC 4791 §4.1:
    /// CALDAV:valid-calendar-object-resource.
    #[error("invalid calendar object resource: {0}")]
    InvalidObject(String),
}

/// Parses and validates one calendar object resource.
pub fn parse_object(
    text: &str,
    limits: &ParseLimits,
    ctx: &EvalContext,
) -> Result<CalendarObject, ObjectError> {
    let calendar = parse(text, limits).map_err(|e| ObjectError::InvalidData(e.message))?;
    if calendar.property("METHOD").is_some() {
        return Err(ObjectError::InvalidObject(
            "calendar object resources must not contain a METHOD property".to_owned(),
        ));
    }
    let (kind, uid) = check_components(&calendar)?;
    let span = object_span(&calendar, ctx);
    Ok(CalendarObject {
        calendar,
        uid,
        kind,
        span,
    })
}

/// One component type, one UID, one master, valid dates.
pub(crate) fn check_components(
    calendar: &Component,
) -> Result<(ComponentKind, String), ObjectError> {
    let mut kind: Option<ComponentKind> = None;
    let mut uid: Option<&str> = None;
    let mut masters = 0;
    let mut recurrence_ids: Vec<&str> = Vec::new();
    for component in &calendar.components {
        let Some(this_kind) = ComponentKind::from_name(&component.name) else {
            // VTIMEZONE and unknown (X-) components are carried along.
            continue;
        };
        match kind {
            Some(kind) if kind != this_kind => {
                return Err(ObjectError::InvalidObject(format!(
                    "mixed component types {} and {}",
                    kind.as_str(),
                    this_kind.as_str()
                )))
            }
            _ => kind = Some(this_kind),
        }
        let this_uid = component
            .property("UID")
            .map(|p| p.value.trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ObjectError::InvalidObject(format!("{} without UID", component.name)))?;
        match uid {
            Some(uid) if uid != this_uid => {
                return Err(ObjectError::InvalidObject(format!(
                    "several UIDs in one resource: {uid} and {this_uid}"
                )))
            }
            _ => uid = Some(this_uid),
        }
        match component.property("RECURRENCE-ID") {
            Some(rid) if recurrence_ids.contains(&rid.value.as_str()) => {
                return Err(ObjectError::InvalidObject(format!(
                    "two overrides with RECURRENCE-ID {}",
                    rid.value
                )))
            }
            Some(rid) => recurrence_ids.push(&rid.value),
            None => masters += 1,
        }
        if masters > 1 {
            return Err(ObjectError::InvalidObject(format!(
                "several {} components without RECURRENCE-ID share UID {this_uid}",
                component.name
            )));
        }
        check_dates(component)?;
    }
    match (kind, uid) {
        (Some(kind), Some(uid)) => Ok((kind, uid.to_owned())),
        _ => Err(ObjectError::InvalidObject(
            "no VEVENT, VTODO, VJOURNAL or VFREEBUSY component".to_owned(),
        )),
    }
}

fn check_dates(component: &Component) -> Result<(), ObjectError> {
    if component.is("VEVENT") && component.property("DTSTART").is_none() {
        return Err(ObjectError::InvalidData(
            "VEVENT without DTSTART".to_owned(),
        ));
    }
    for name in ["DTSTART", "DTEND", "DUE", "RECURRENCE-ID"] {
        if let Some(property) = component.property(name) {
            if property_time(property).is_none() {
                return Err(ObjectError::InvalidData(format!(
                    "{} of {} has an invalid date or date-time value {:?}",
                    name, component.name, property.value
                )));
            }
        }
    }
    if let Some(duration) = component.property("DURATION") {
        if parse_duration(&duration.value).is_none() {
            return Err(ObjectError::InvalidData(format!(
                "DURATION of {} has an invalid value {:?}",
                component.name, duration.value
            )));
        }
    }
    Ok(())
}

/// UTC bounds of all instances and their alarms; unbounded when a rule
/// never ends or has more instances than `ctx.max_instances`.
pub(crate) fn object_span(calendar: &Component, ctx: &EvalContext) -> TimeSpan {
    let zones = Zones::new(calendar, ctx);
    let expanded = expand(calendar, &zones, TimeSpan::ALL, ctx.max_instances, true);
    let mut start = i64::MAX;
    let mut end = i64::MIN;
    for instance in &expanded.instances {
        let (first, last) = reach(calendar, instance, &zones);
        start = start.min(first);
        end = end.max(last);
    }
    if expanded.instances.is_empty() {
        // Nothing scheduled (only unbounded rules, or nothing at all).
        start = i64::MIN;
    }
    if expanded.unbounded || expanded.truncated || expanded.instances.is_empty() {
        end = i64::MAX;
    }
    TimeSpan {
        start: start.saturating_sub(1),
        end: end.saturating_add(1),
    }
}

/// Earliest and latest moment an instance or one of its alarms touches.
fn reach(calendar: &Component, instance: &Instance, zones: &Zones<'_>) -> (i64, i64) {
    let component = &calendar.components[instance.component_index];
    let mut first = instance.start;
    let mut last = instance.end.max(instance.start);
    for alarm in component.components_named("VALARM") {
        for trigger in alarm_triggers(alarm, instance, zones) {
            first = first.min(trigger);
            last = last.max(trigger);
        }
    }
    (first, last)
}

#[cfg(test)]
mod tests;
