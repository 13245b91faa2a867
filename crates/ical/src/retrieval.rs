//! CALDAV:calendar-data in REPORT responses (RFC 4791 §9.6): partial
//! retrieval, recurrence expansion and the limit-* reductions.

use std::borrow::Cow;

use crate::model::{Component, Property};
use crate::overlap::period_utc;
use crate::recurrence::{expand, is_schedulable, ShapeCache, Timing};
use crate::span::Instance;
use crate::span::TimeSpan;
use crate::timezone::{EvalContext, Zone, Zones};
use crate::value::{format_date, format_utc, property_time, TimeValue};

/// CALDAV:comp with its CALDAV:prop / allprop and nested comp / allcomp.
/// A selector that names no property and no component returns the whole
/// component, as the VTIMEZONE selector in RFC 4791 §7.8.1 does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompSelector {
    pub name: String,
    pub all_props: bool,
    pub props: Vec<String>,
    pub all_comps: bool,
    pub comps: Vec<CompSelector>,
}

/// The children of a CALDAV:calendar-data request element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataRequest {
    pub select: Option<CompSelector>,
    pub expand: Option<TimeSpan>,
    pub limit_recurrence_set: Option<TimeSpan>,
    pub limit_freebusy_set: Option<TimeSpan>,
}

/// The iCalendar text to return for one calendar object.
pub fn render(calendar: &Component, req: &DataRequest, ctx: &EvalContext) -> String {
    let mut result = Cow::Borrowed(calendar);
    if let Some(span) = req.expand {
        result = Cow::Owned(expand_instances(calendar, span, ctx));
    } else if let Some(span) = req.limit_recurrence_set {
        result = Cow::Owned(limit_recurrence_set(calendar, span, ctx));
    }
    if let Some(span) = req.limit_freebusy_set {
        result = Cow::Owned(limit_freebusy_set(&result, span, ctx));
    }
    match &req.select {
        Some(selector) => select(&result, selector).to_ics(),
        None => result.to_ics(),
    }
}

/// Partial retrieval (§9.6.1-9.6.4).
fn select(component: &Component, selector: &CompSelector) -> Component {
    let selects_nothing = !selector.all_props
        && selector.props.is_empty()
        && !selector.all_comps
        && selector.comps.is_empty();
    if selects_nothing {
        return component.clone();
    }
    let properties = component
        .properties
        .iter()
        .filter(|p| {
            selector.all_props
                || selector
                    .props
                    .iter()
                    .any(|n| p.name.eq_ignore_ascii_case(n))
        })
        .cloned()
        .collect();
    let components = component
        .components
        .iter()
        .filter_map(|child| {
            if selector.all_comps {
                return Some(child.clone());
            }
            selector
                .comps
                .iter()
                .find(|s| child.is(&s.name))
                .map(|s| select(child, s))
        })
        .collect();
    Component {
        name: component.name.clone(),
        properties,
        components,
    }
}

/// §9.6.5: one component per instance in range, times in UTC, no
/// recurrence properties and no VTIMEZONE.
fn expand_instances(calendar: &Component, span: TimeSpan, ctx: &EvalContext) -> Component {
    let zones = Zones::new(calendar, ctx);
    let mut shapes = ShapeCache::default();
    let expanded = expand(calendar, &zones, span, ctx.max_instances, false);
    let mut result = Component {
        name: calendar.name.clone(),
        properties: calendar.properties.clone(),
        components: Vec::new(),
    };
    // Components that never recur (X- components) are kept as they are.
    result.components.extend(
        calendar
            .components
            .iter()
            .filter(|c| !c.is("VTIMEZONE") && !is_schedulable(c))
            .cloned(),
    );
    for instance in &expanded.instances {
        if shapes
            .get(calendar, instance.component_index, &zones)
            .overlaps(instance, span)
        {
            let source = &calendar.components[instance.component_index];
            result
                .components
                .push(instance_component(source, instance, &zones));
        }
    }
    result
}

/// A copy of `source` describing exactly `instance`.
fn instance_component(source: &Component, instance: &Instance, zones: &Zones<'_>) -> Component {
    let mut component = source.clone();
    component.properties.retain(|p| {
        !["RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID"]
            .iter()
            .any(|n| p.name.eq_ignore_ascii_case(n))
    });
    let floating = zones.floating();
    let start_is_date = source
        .property("DTSTART")
        .or_else(|| source.property("DUE"))
        .and_then(property_time)
        .is_some_and(|t| t.is_date());
    for property in &mut component.properties {
        let value = match property.name.as_str() {
            "DTSTART" => Some(instance.start),
            "DTEND" | "DUE" => Some(instance.end),
            _ => None,
        };
        if let Some(moment) = value {
            let replacement = time_property(&property.name, moment, start_is_date, &floating);
            *property = replacement;
        } else {
            to_utc_in_place(property, zones);
        }
    }
    if let Some(rid) = instance.recurrence_id {
        let position = component
            .properties
            .iter()
            .position(|p| p.name == "DTSTART")
            .map_or(component.properties.len(), |i| i + 1);
        component.properties.insert(
            position,
            time_property("RECURRENCE-ID", rid, start_is_date, &floating),
        );
    }
    for child in &mut component.components {
        convert_tree_to_utc(child, zones);
    }
    component
}

fn convert_tree_to_utc(component: &mut Component, zones: &Zones<'_>) {
    for property in &mut component.properties {
        to_utc_in_place(property, zones);
    }
    for child in &mut component.components {
        convert_tree_to_utc(child, zones);
    }
}

/// Rewrites a DATE-TIME property that refers to a TZID in UTC.
fn to_utc_in_place(property: &mut Property, zones: &Zones<'_>) {
    let Some(tzid) = property.param("TZID").map(str::to_owned) else {
        return;
    };
    let values: Option<Vec<String>> = property
        .value
        .split(',')
        .map(
            |text| match crate::value::parse_time(text, Some(&tzid), false)? {
                date @ TimeValue::Date(_) => Some(format_date(date.local().date())),
                value => Some(format_utc(zones.zone_of(&value).to_utc(value.local()))),
            },
        )
        .collect();
    if let Some(values) = values {
        property.value = values.join(",");
        property.remove_param("TZID");
    }
}

/// A DTSTART-like property: a DATE in the floating zone or a UTC DATE-TIME.
fn time_property(name: &str, moment: i64, is_date: bool, floating: &Zone) -> Property {
    match floating.to_local(moment).filter(|_| is_date) {
        Some(local) => Property::new(name, format_date(local.date())).with_param("VALUE", "DATE"),
        None => Property::new(name, format_utc(moment)),
    }
}

/// §9.6.6: the master plus the overrides whose current or original time
/// touches `span`; THISANDFUTURE overrides also when they start before its end.
fn limit_recurrence_set(calendar: &Component, span: TimeSpan, ctx: &EvalContext) -> Component {
    let zones = Zones::new(calendar, ctx);
    let expanded = expand(calendar, &zones, span, ctx.max_instances, false);
    let mut shapes = ShapeCache::default();
    let mut keep = vec![true; calendar.components.len()];
    for (index, component) in calendar.components.iter().enumerate() {
        let Some(rid_property) = component.property("RECURRENCE-ID") else {
            continue;
        };
        let Some(rid) = property_time(rid_property).map(|t| zones.to_utc(&t)) else {
            continue;
        };
        let this_and_future = rid_property
            .param("RANGE")
            .is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE"));
        let now_in_span = expanded
            .instances
            .iter()
            .filter(|i| i.component_index == index)
            .any(|i| shapes.get(calendar, index, &zones).overlaps(i, span));
        let master = master_of(calendar, component);
        let originally_in_span = master.is_some_and(|master_index| {
            let master_component = &calendar.components[master_index];
            Timing::of(master_component, &zones).is_some_and(|timing| {
                let zone = zones.zone_of(&timing.anchor);
                let original = Instance {
                    start: rid,
                    end: timing.end_of(rid, None, &zone),
                    recurrence_id: Some(rid),
                    component_index: master_index,
                };
                shapes
                    .get(calendar, master_index, &zones)
                    .overlaps(&original, span)
            })
        });
        keep[index] = now_in_span || originally_in_span || (this_and_future && rid < span.end);
    }
    let mut keep = keep.into_iter();
    Component {
        name: calendar.name.clone(),
        properties: calendar.properties.clone(),
        components: calendar
            .components
            .iter()
            .filter(|_| keep.next().unwrap_or(true))
            .cloned()
            .collect(),
    }
}

fn master_of(calendar: &Component, override_component: &Component) -> Option<usize> {
    let uid = override_component.property("UID")?.value.as_str();
    calendar.components.iter().position(|c| {
        c.is(&override_component.name)
            && c.property("RECURRENCE-ID").is_none()
            && c.property("UID").is_some_and(|p| p.value == uid)
    })
}

/// §9.6.7: only the FREEBUSY periods that overlap `span`.
fn limit_freebusy_set(calendar: &Component, span: TimeSpan, ctx: &EvalContext) -> Component {
    let zones = Zones::new(calendar, ctx);
    let mut result = calendar.clone();
    for freebusy in result.components.iter_mut().filter(|c| c.is("VFREEBUSY")) {
        freebusy.properties.retain_mut(|property| {
            if !property.name.eq_ignore_ascii_case("FREEBUSY") {
                return true;
            }
            let kept: Vec<&str> = property
                .value
                .split(',')
                .filter(|text| {
                    period_utc(text, &zones)
                        .is_some_and(|(start, end)| span.start < end && span.end > start)
                })
                .collect();
            if kept.is_empty() {
                return false;
            }
            property.value = kept.join(",");
            true
        });
    }
    result
}

#[cfg(test)]
mod tests;
