//! Whole-calendar files: webcal export (many objects in one VCALENDAR) and
//! import (one VCALENDAR split into calendar object resources).

use crate::model::{Component, Property};
use crate::object::check_components;

/// PRODID of calendars this server generates.
pub const PRODID: &str = "-//Almanac//Almanac//EN";

/// One VCALENDAR holding every object's components, each VTIMEZONE once.
pub fn merge_calendars<'a>(
    objects: impl IntoIterator<Item = &'a Component>,
    name: Option<&str>,
) -> String {
    let mut header = Component::new("VCALENDAR");
    header.properties.push(Property::new("VERSION", "2.0"));
    header.properties.push(Property::new("PRODID", PRODID));
    if let Some(name) = name {
        header.properties.push(Property::new(
            "X-WR-CALNAME",
            crate::value::escape_text(name),
        ));
    }
    let mut timezones: Vec<&Component> = Vec::new();
    let mut others: Vec<&Component> = Vec::new();
    for object in objects {
        for component in &object.components {
            if !component.is("VTIMEZONE") {
                others.push(component);
                continue;
            }
            let tzid = component.property("TZID").map(|p| p.value.as_str());
            let seen = timezones
                .iter()
                .any(|tz| tz.property("TZID").map(|p| p.value.as_str()) == tzid);
            if !seen {
                timezones.push(component);
            }
        }
    }
    // Serialize in place rather than cloning every component into one tree.
    let mut text = header.to_ics();
    text.truncate(text.len() - "END:VCALENDAR\r\n".len());
    for component in timezones.into_iter().chain(others) {
        text.push_str(&component.to_ics());
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

/// A calendar object resource cut out of an imported calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitItem {
    pub uid: String,
    /// VCALENDAR with the components of that UID and the VTIMEZONEs they use.
    pub calendar: Component,
}

/// Splits an imported calendar by UID. Components that cannot form a valid
/// calendar object resource are left out, with a reason each.
pub fn split_calendar(calendar: &Component) -> (Vec<SplitItem>, Vec<String>) {
    let mut rejected = Vec::new();
    let mut groups: Vec<(&str, Vec<&Component>)> = Vec::new();
    for (position, component) in calendar.components.iter().enumerate() {
        if component.is("VTIMEZONE") {
            continue;
        }
        let Some(uid) = component
            .property("UID")
            .map(|p| p.value.trim())
            .filter(|uid| !uid.is_empty())
        else {
            rejected.push(format!(
                "{} #{} ({}) has no UID",
                component.name,
                position + 1,
                describe(component)
            ));
            continue;
        };
        match groups.iter_mut().find(|(u, _)| *u == uid) {
            Some((_, members)) => members.push(component),
            None => groups.push((uid, vec![component])),
        }
    }
    let mut items = Vec::with_capacity(groups.len());
    for (uid, members) in groups {
        let item = SplitItem {
            uid: uid.to_owned(),
            calendar: object_calendar(calendar, &members),
        };
        match check_components(&item.calendar) {
            Ok(_) => items.push(item),
            Err(error) => rejected.push(format!("UID {uid}: {error}")),
        }
    }
    (items, rejected)
}

/// A VCALENDAR for `members` with the source's VERSION/PRODID/CALSCALE and
/// the VTIMEZONEs the members refer to.
fn object_calendar(source: &Component, members: &[&Component]) -> Component {
    let mut calendar = Component::new("VCALENDAR");
    calendar.properties.push(
        source
            .property("VERSION")
            .cloned()
            .unwrap_or_else(|| Property::new("VERSION", "2.0")),
    );
    calendar.properties.push(
        source
            .property("PRODID")
            .cloned()
            .unwrap_or_else(|| Property::new("PRODID", PRODID)),
    );
    calendar
        .properties
        .extend(source.property("CALSCALE").cloned());
    let mut tzids: Vec<&str> = Vec::new();
    for member in members {
        collect_tzids(member, &mut tzids);
    }
    // Each referenced zone once, even if the source repeats it.
    for timezone in source.components_named("VTIMEZONE") {
        let Some(tzid) = timezone.property("TZID").map(|p| p.value.as_str()) else {
            continue;
        };
        if let Some(position) = tzids.iter().position(|t| *t == tzid) {
            tzids.swap_remove(position);
            calendar.components.push(timezone.clone());
        }
    }
    calendar
        .components
        .extend(members.iter().map(|&member| member.clone()));
    calendar
}

fn collect_tzids<'a>(component: &'a Component, tzids: &mut Vec<&'a str>) {
    for tzid in component.properties.iter().filter_map(|p| p.param("TZID")) {
        if !tzids.contains(&tzid) {
            tzids.push(tzid);
        }
    }
    for child in &component.components {
        collect_tzids(child, tzids);
    }
}

fn describe(component: &Component) -> String {
    match component.property("SUMMARY") {
        Some(summary) => format!("SUMMARY {:?}", crate::value::unescape_text(&summary.value)),
        None => "no SUMMARY".to_owned(),
    }
}

#[cfg(test)]
mod tests;
