//! Recurrence sets (RFC 5545 §3.8.5): the instances that masters, their
//! RRULE/RDATE/EXDATE and RECURRENCE-ID overrides produce.

use chrono::{NaiveDateTime, NaiveTime};

use crate::model::Component;
use crate::overlap::Shape;
use crate::rule::{Rule, Until};
use crate::span::{Instance, TimeSpan};
use crate::timezone::{EvalContext, Zone, Zones};
use crate::value::{
    add_days, naive_from_seconds, parse_duration, parse_period, parse_time, property_time,
    property_times, Length, PeriodEnd, TimeValue,
};

/// All instances of the calendar's components that overlap `range` by the
/// RFC 4791 §9.9 rules (all instances when `range` is `None`), sorted by
/// start and bounded by `ctx.max_instances` per recurrence set.
pub fn instances(
    calendar: &Component,
    range: Option<TimeSpan>,
    ctx: &EvalContext,
) -> Vec<Instance> {
    let zones = Zones::new(calendar, ctx);
    let window = range.unwrap_or(TimeSpan::ALL);
    let mut expanded = expand(calendar, &zones, window, ctx.max_instances, false);
    if let Some(range) = range {
        let mut shapes = ShapeCache::default();
        expanded.instances.retain(|i| {
            shapes
                .get(calendar, i.component_index, &zones)
                .overlaps(i, range)
        });
    }
    expanded.instances
}

/// The result of expanding a calendar.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// Instances that may touch the window (a superset: callers apply the
    /// exact test), sorted by start.
    pub(crate) instances: Vec<Instance>,
    /// Some recurrence set had more instances than the limit.
    pub(crate) truncated: bool,
    /// Some set has an unbounded RRULE that was not expanded.
    pub(crate) unbounded: bool,
}

/// Expands every schedulable component of `calendar` within `window`.
/// With `skip_unbounded`, rules without COUNT or UNTIL are not expanded and
/// only reported, which is all that bounds computations need.
pub(crate) fn expand(
    calendar: &Component,
    zones: &Zones<'_>,
    window: TimeSpan,
    limit: usize,
    skip_unbounded: bool,
) -> Expanded {
    let mut expanded = Expanded::default();
    for group in group_by_uid(calendar) {
        let mut set = SetExpander {
            calendar,
            zones,
            window,
            limit,
            skip_unbounded,
            out: &mut expanded,
        };
        set.expand_group(&group);
    }
    expanded
        .instances
        .sort_by_key(|i| (i.start, i.component_index));
    expanded
}

/// A master and its overrides (or lone components), as indexes.
#[derive(Debug, Default)]
struct Group<'a> {
    uid: Option<&'a str>,
    master: Option<usize>,
    overrides: Vec<usize>,
}

pub(crate) fn is_schedulable(component: &Component) -> bool {
    ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"]
        .iter()
        .any(|name| component.is(name))
}

fn group_by_uid(calendar: &Component) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (index, component) in calendar.components.iter().enumerate() {
        if !is_schedulable(component) {
            continue;
        }
        let uid = component.property("UID").map(|p| p.value.as_str());
        let is_override = component.property("RECURRENCE-ID").is_some();
        // Lone components without UID each form their own group.
        let existing = uid.and_then(|uid| {
            groups
                .iter()
                .position(|g| g.uid == Some(uid) && (is_override || g.master.is_none()))
        });
        let position = existing.unwrap_or_else(|| {
            groups.push(Group {
                uid,
                ..Group::default()
            });
            groups.len() - 1
        });
        let group = &mut groups[position];
        if is_override {
            group.overrides.push(index);
        } else {
            group.master = Some(index);
        }
    }
    groups
}

/// Where a component sits in time before recurrence: its anchor (DTSTART,
/// or DUE for to-dos without DTSTART) and its length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing<'a> {
    pub(crate) anchor: TimeValue<'a>,
    pub(crate) length: Length,
}

impl<'a> Timing<'a> {
    /// `None` for components without a date to anchor on, and for
    /// VFREEBUSY, whose bounds are not a recurring start and length.
    pub(crate) fn of(component: &'a Component, zones: &Zones<'a>) -> Option<Self> {
        if component.is("VFREEBUSY") {
            return None;
        }
        let start = component.property("DTSTART").and_then(property_time);
        if component.is("VTODO") {
            let due = component.property("DUE").and_then(property_time);
            return match (start, due) {
                (Some(start), Some(due)) => Some(Self {
                    anchor: start,
                    length: length_between(&start, &due, zones),
                }),
                (Some(start), None) => Some(Self {
                    anchor: start,
                    length: duration_of(component).unwrap_or(Length::ZERO),
                }),
                (None, Some(due)) => Some(Self {
                    anchor: due,
                    length: Length::ZERO,
                }),
                (None, None) => None,
            };
        }
        let anchor = start?;
        let length = if component.is("VEVENT") {
            match component.property("DTEND").and_then(property_time) {
                Some(end) => length_between(&anchor, &end, zones),
                None => duration_of(component).unwrap_or_else(|| default_length(&anchor)),
            }
        } else {
            default_length(&anchor)
        };
        Some(Self { anchor, length })
    }

    /// End of an occurrence that starts at `start` (UTC) or at the local
    /// reading `local` in `zone`; nominal days follow the wall clock.
    pub(crate) fn end_of(&self, start: i64, local: Option<NaiveDateTime>, zone: &Zone) -> i64 {
        if self.length.days == 0 {
            return start.saturating_add(self.length.seconds);
        }
        match local
            .or_else(|| zone.to_local(start))
            .and_then(|local| add_days(local, self.length.days))
        {
            Some(end) => zone.to_utc(end).saturating_add(self.length.seconds),
            None => start.saturating_add(self.length.approx_seconds()),
        }
    }
}

/// DATE starts last one day, DATE-TIME starts no time (RFC 4791 §9.9).
fn default_length(anchor: &TimeValue<'_>) -> Length {
    if anchor.is_date() {
        Length::days(1)
    } else {
        Length::ZERO
    }
}

fn duration_of(component: &Component) -> Option<Length> {
    component
        .property("DURATION")
        .and_then(|p| parse_duration(&p.value))
        .filter(|length| !length.is_negative())
}

/// DATE to DATE counts nominal days; anything else the exact seconds.
fn length_between(start: &TimeValue<'_>, end: &TimeValue<'_>, zones: &Zones<'_>) -> Length {
    let length = match (start, end) {
        (TimeValue::Date(a), TimeValue::Date(b)) => Length::days((*b - *a).num_days()),
        _ => Length::seconds(zones.to_utc(end) - zones.to_utc(start)),
    };
    if length.is_negative() {
        Length::ZERO
    } else {
        length
    }
}

/// Cheap superset test: could an instance touch the window under any of
/// the §9.9 rules (some of which are inclusive at both ends)?
fn may_touch(start: i64, end: i64, window: TimeSpan) -> bool {
    start <= window.end && start.max(end) >= window.start
}

struct SetExpander<'c, 'z, 'o> {
    calendar: &'c Component,
    zones: &'z Zones<'c>,
    window: TimeSpan,
    limit: usize,
    skip_unbounded: bool,
    out: &'o mut Expanded,
}

impl<'c> SetExpander<'c, '_, '_> {
    fn expand_group(&mut self, group: &Group<'c>) {
        let overridden: Vec<(i64, usize)> = group
            .overrides
            .iter()
            .filter_map(|&index| {
                let rid =
                    property_time(self.calendar.components[index].property("RECURRENCE-ID")?)?;
                Some((self.zones.to_utc(&rid), index))
            })
            .collect();
        let master_timing = group.master.and_then(|index| {
            let timing = Timing::of(&self.calendar.components[index], self.zones);
            match timing {
                Some(timing) => self.expand_master(index, timing, group, &overridden),
                None => self.push_undated(index),
            }
            timing
        });
        for &index in &group.overrides {
            let rid = overridden
                .iter()
                .find(|(_, i)| *i == index)
                .map(|(rid, _)| *rid);
            self.push_override(index, rid, master_timing.as_ref());
        }
    }

    fn push(&mut self, instance: Instance) {
        if may_touch(instance.start, instance.end, self.window) {
            self.out.instances.push(instance);
        }
    }

    /// Components without any date: VFREEBUSY keeps its own bounds, the rest
    /// cover all time and let the §9.9 test decide.
    fn push_undated(&mut self, index: usize) {
        let component = &self.calendar.components[index];
        let (start, end) = if component.is("VFREEBUSY") {
            Shape::freebusy_hull(component, self.zones).unwrap_or((i64::MIN, i64::MAX))
        } else {
            (i64::MIN, i64::MAX)
        };
        self.push(Instance {
            start,
            end,
            recurrence_id: None,
            component_index: index,
        });
    }

    fn push_override(&mut self, index: usize, rid: Option<i64>, master: Option<&Timing<'c>>) {
        let component = &self.calendar.components[index];
        let (start, end) = match Timing::of(component, self.zones) {
            Some(timing) => {
                let zone = self.zones.zone_of(&timing.anchor);
                let local = timing.anchor.local();
                let start = zone.to_utc(local);
                (start, timing.end_of(start, Some(local), &zone))
            }
            // An override without its own times keeps the original slot.
            None => match (rid, master) {
                (Some(rid), Some(master)) => {
                    let zone = self.zones.zone_of(&master.anchor);
                    (rid, master.end_of(rid, None, &zone))
                }
                (Some(rid), None) => (rid, rid),
                (None, _) => (i64::MIN, i64::MAX),
            },
        };
        self.push(Instance {
            start,
            end,
            recurrence_id: rid,
            component_index: index,
        });
    }

    fn expand_master(
        &mut self,
        index: usize,
        timing: Timing<'c>,
        group: &Group<'c>,
        overridden: &[(i64, usize)],
    ) {
        let master = &self.calendar.components[index];
        let zone = self.zones.zone_of(&timing.anchor);
        let anchor_local = timing.anchor.local();
        let anchor_utc = zone.to_utc(anchor_local);
        let recurs = master.property("RRULE").is_some()
            || master.property("RDATE").is_some()
            || !group.overrides.is_empty();
        if !recurs {
            let end = timing.end_of(anchor_utc, Some(anchor_local), &zone);
            self.push(Instance {
                start: anchor_utc,
                end,
                recurrence_id: None,
                component_index: index,
            });
            return;
        }

        // (utc start, local start if known, explicit end from an RDATE PERIOD)
        let mut occurrences: Vec<(i64, Option<NaiveDateTime>, Option<i64>)> =
            vec![(anchor_utc, Some(anchor_local), None)];
        for rrule in master.properties_named("RRULE") {
            let Some(rule) = Rule::parse(&rrule.value) else {
                continue;
            };
            if rule.is_unbounded() && self.skip_unbounded {
                // A rule without an end may still never produce a second
                // occurrence (FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30): finding
                // that out costs a long walk once, here, instead of at every
                // query the span would otherwise let through.
                let probe = rule.expand(anchor_local, None, None, None, 2);
                if probe.truncated || probe.starts.len() >= 2 {
                    self.out.unbounded = true;
                    continue;
                }
                occurrences.extend(
                    probe
                        .starts
                        .into_iter()
                        .map(|local| (zone.to_utc(local), Some(local), None)),
                );
                continue;
            }
            let expansion = rule.expand(
                anchor_local,
                local_until(&rule, &timing.anchor, &zone),
                local_bound(self.window.start, -timing.length.approx_seconds()),
                local_bound(self.window.end, 0),
                self.limit,
            );
            self.out.truncated |= expansion.truncated;
            occurrences.extend(
                expansion
                    .starts
                    .into_iter()
                    .map(|local| (zone.to_utc(local), Some(local), None)),
            );
        }
        for rdate in master.properties_named("RDATE") {
            let tzid = rdate.param("TZID");
            for text in rdate.value.split(',') {
                if let Some((start, end)) = parse_period(text, tzid) {
                    let start_utc = self.zones.to_utc(&start);
                    let end_utc = match end {
                        PeriodEnd::At(end) => self.zones.to_utc(&end),
                        PeriodEnd::After(length) => {
                            start_utc.saturating_add(length.approx_seconds())
                        }
                    };
                    occurrences.push((start_utc, None, Some(end_utc)));
                } else if let Some(start) = parse_time(text, tzid, false) {
                    occurrences.push((self.zones.to_utc(&start), None, None));
                }
            }
        }
        occurrences.sort_by_key(|o| o.0);
        occurrences.dedup_by_key(|o| o.0);

        let excluded = Exclusions::of(master, self.zones);
        let mut pushed = 0;
        for (start, local, explicit_end) in occurrences {
            if excluded.contains(start, &zone) || overridden.iter().any(|(rid, _)| *rid == start) {
                continue;
            }
            if pushed >= self.limit {
                self.out.truncated = true;
                break;
            }
            pushed += 1;
            let end = explicit_end.unwrap_or_else(|| timing.end_of(start, local, &zone));
            self.push(Instance {
                start,
                end,
                recurrence_id: Some(start),
                component_index: index,
            });
        }
    }
}

/// A UTC window bound as a local reading, widened by two days for any
/// UTC offset plus `extra` seconds; `None` when unbounded.
fn local_bound(utc: i64, extra: i64) -> Option<NaiveDateTime> {
    if utc == i64::MIN || utc == i64::MAX {
        return None;
    }
    let margin = if extra < 0 {
        extra - 2 * 86_400
    } else {
        extra + 2 * 86_400
    };
    naive_from_seconds(utc.checked_add(margin)?)
}

/// UNTIL as a local reading comparable with the set's local starts.
fn local_until(rule: &Rule, anchor: &TimeValue<'_>, zone: &Zone) -> Option<NaiveDateTime> {
    Some(match rule.until()? {
        Until::Utc(t) => zone.to_local(t.and_utc().timestamp())?,
        Until::Local(t) => t,
        // A DATE bound includes that whole day.
        Until::Date(date) if anchor.is_date() => date.and_time(NaiveTime::MIN),
        Until::Date(date) => date.and_time(NaiveTime::from_hms_opt(23, 59, 59)?),
    })
}

/// EXDATE values; DATE values on a DATE-TIME set exclude the whole day.
struct Exclusions {
    instants: Vec<i64>,
    days: Vec<chrono::NaiveDate>,
}

impl Exclusions {
    fn of<'a>(master: &'a Component, zones: &Zones<'a>) -> Self {
        let mut exclusions = Self {
            instants: Vec::new(),
            days: Vec::new(),
        };
        for value in master.properties_named("EXDATE").flat_map(property_times) {
            if let TimeValue::Date(date) = value {
                exclusions.days.push(date);
            }
            exclusions.instants.push(zones.to_utc(&value));
        }
        exclusions
    }

    fn contains(&self, start: i64, zone: &Zone) -> bool {
        self.instants.contains(&start)
            || (!self.days.is_empty()
                && zone
                    .to_local(start)
                    .is_some_and(|local| self.days.contains(&local.date())))
    }
}

/// Per-component §9.9 shapes, computed once per component.
#[derive(Default)]
pub(crate) struct ShapeCache {
    shapes: Vec<(usize, Shape)>,
}

impl ShapeCache {
    pub(crate) fn get(&mut self, calendar: &Component, index: usize, zones: &Zones<'_>) -> &Shape {
        let position = self
            .shapes
            .iter()
            .position(|(i, _)| *i == index)
            .unwrap_or_else(|| {
                self.shapes
                    .push((index, Shape::of(&calendar.components[index], zones)));
                self.shapes.len() - 1
            });
        &self.shapes[position].1
    }
}

#[cfg(test)]
mod tests;
