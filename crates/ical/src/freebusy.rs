//! Busy time for CALDAV:free-busy-query (RFC 4791 §7.10).

use crate::model::{Component, Property};
use crate::overlap::period_utc;
use crate::recurrence::expand;
use crate::span::TimeSpan;
use crate::timezone::{EvalContext, Zones};
use crate::value::format_utc;

/// The FBTYPE of a busy period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BusyKind {
    Busy,
    Tentative,
    Unavailable,
}

impl BusyKind {
    /// The FBTYPE parameter value.
    pub fn fbtype(self) -> &'static str {
        match self {
            Self::Busy => "BUSY",
            Self::Tentative => "BUSY-TENTATIVE",
            Self::Unavailable => "BUSY-UNAVAILABLE",
        }
    }

    /// Busy kind of an FBTYPE value; `None` for FREE. Unknown types count
    /// as busy, as RFC 5545 §3.2.9 requires.
    fn from_fbtype(fbtype: Option<&str>) -> Option<Self> {
        match fbtype.map(str::to_ascii_uppercase).as_deref() {
            Some("FREE") => None,
            Some("BUSY-TENTATIVE") => Some(Self::Tentative),
            Some("BUSY-UNAVAILABLE") => Some(Self::Unavailable),
            _ => Some(Self::Busy),
        }
    }
}

/// A busy interval in UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPeriod {
    pub start: i64,
    pub end: i64,
    pub kind: BusyKind,
}

/// Busy time of one calendar object within `range`, clipped to it, sorted.
pub fn busy_periods(calendar: &Component, range: TimeSpan, ctx: &EvalContext) -> Vec<BusyPeriod> {
    let zones = Zones::new(calendar, ctx);
    let mut periods = Vec::new();
    let mut add = |start: i64, end: i64, kind: BusyKind| {
        if start < range.end && end > range.start && start < end {
            periods.push(BusyPeriod {
                start: start.max(range.start),
                end: end.min(range.end),
                kind,
            });
        }
    };
    for instance in expand(calendar, &zones, range, ctx.max_instances, false).instances {
        let component = &calendar.components[instance.component_index];
        if let Some(kind) = event_busy_kind(component) {
            add(instance.start, instance.end, kind);
        }
    }
    for freebusy in calendar.components_named("VFREEBUSY") {
        for property in freebusy.properties_named("FREEBUSY") {
            let Some(kind) = BusyKind::from_fbtype(property.param("FBTYPE")) else {
                continue;
            };
            for (start, end) in property
                .value
                .split(',')
                .filter_map(|p| period_utc(p, &zones))
            {
                add(start, end, kind);
            }
        }
    }
    periods.sort_by_key(|p| (p.start, p.kind));
    periods
}

/// How a VEVENT counts (§7.10 table); `None` when it is free time.
fn event_busy_kind(component: &Component) -> Option<BusyKind> {
    if !component.is("VEVENT") {
        return None;
    }
    let is = |name: &str, value: &str| {
        component
            .property(name)
            .is_some_and(|p| p.value.trim().eq_ignore_ascii_case(value))
    };
    if is("TRANSP", "TRANSPARENT") || is("STATUS", "CANCELLED") {
        return None;
    }
    Some(if is("STATUS", "TENTATIVE") {
        BusyKind::Tentative
    } else {
        BusyKind::Busy
    })
}

/// The free-busy-query response: one VFREEBUSY with overlapping or adjacent
/// periods of the same kind coalesced, all in UTC.
pub fn freebusy_calendar(periods: Vec<BusyPeriod>, range: TimeSpan, now: i64) -> String {
    let mut calendar = Component::new("VCALENDAR");
    calendar.properties.push(Property::new("VERSION", "2.0"));
    calendar
        .properties
        .push(Property::new("PRODID", crate::bundle::PRODID));
    calendar
        .components
        .push(freebusy_component(periods, range, now));
    calendar.to_ics()
}

/// The VFREEBUSY of [`freebusy_calendar`] on its own.
pub fn freebusy_component(mut periods: Vec<BusyPeriod>, range: TimeSpan, now: i64) -> Component {
    periods.sort_by_key(|p| (p.kind, p.start));
    let mut merged: Vec<BusyPeriod> = Vec::with_capacity(periods.len());
    for period in periods {
        match merged.last_mut() {
            Some(last) if last.kind == period.kind && period.start <= last.end => {
                last.end = last.end.max(period.end);
            }
            _ => merged.push(period),
        }
    }
    merged.sort_by_key(|p| (p.start, p.kind));

    let mut freebusy = Component::new("VFREEBUSY");
    freebusy
        .properties
        .push(Property::new("DTSTAMP", format_utc(now)));
    freebusy
        .properties
        .push(Property::new("DTSTART", format_utc(range.start)));
    freebusy
        .properties
        .push(Property::new("DTEND", format_utc(range.end)));
    for period in merged {
        let value = format!("{}/{}", format_utc(period.start), format_utc(period.end));
        let mut property = Property::new("FREEBUSY", value);
        if period.kind != BusyKind::Busy {
            property = property.with_param("FBTYPE", period.kind.fbtype());
        }
        freebusy.properties.push(property);
    }
    freebusy
}

#[cfg(test)]
mod tests;
