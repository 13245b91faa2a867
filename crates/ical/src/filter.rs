//! CALDAV:filter evaluation (RFC 4791 §9.7) against one calendar object.

use std::cell::RefCell;
use std::rc::Rc;

use crate::model::{Component, Property};
use crate::overlap::alarm_triggers;
use crate::recurrence::{expand, ShapeCache};
use crate::span::Instance;
use crate::span::TimeSpan;
use crate::timezone::{EvalContext, Zones};
use crate::value::{add_days, parse_duration, property_time, unescape_text, Length};

/// CALDAV:time-range; a missing bound is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl TimeRange {
    pub fn span(&self) -> TimeSpan {
        TimeSpan {
            start: self.start.unwrap_or(i64::MIN),
            end: self.end.unwrap_or(i64::MAX),
        }
    }

    fn contains(&self, moment: i64) -> bool {
        let span = self.span();
        span.start <= moment && moment < span.end
    }
}

/// Text comparison rules of CALDAV:text-match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    /// `i;ascii-casemap`, the default: ASCII letters match case-insensitively.
    #[default]
    AsciiCasemap,
    /// `i;unicode-casemap` (RFC 5051), approximated by Unicode lower-casing.
    UnicodeCasemap,
    /// `i;octet`: exact bytes.
    Octet,
}

impl Collation {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "i;ascii-casemap" => Some(Self::AsciiCasemap),
            "i;unicode-casemap" => Some(Self::UnicodeCasemap),
            "i;octet" => Some(Self::Octet),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsciiCasemap => "i;ascii-casemap",
            Self::UnicodeCasemap => "i;unicode-casemap",
            Self::Octet => "i;octet",
        }
    }

    /// Substring test under this collation.
    pub fn contains(self, haystack: &str, needle: &str) -> bool {
        match self {
            Self::Octet => haystack.contains(needle),
            Self::AsciiCasemap => {
                contains_ignore_ascii_case(haystack.as_bytes(), needle.as_bytes())
            }
            Self::UnicodeCasemap => haystack.to_lowercase().contains(&needle.to_lowercase()),
        }
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

/// CALDAV:text-match: a substring match, optionally negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    pub text: String,
    pub collation: Collation,
    pub negate: bool,
}

impl TextMatch {
    pub fn matches(&self, value: &str) -> bool {
        self.collation.contains(value, &self.text) != self.negate
    }
}

/// CALDAV:param-filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

/// CALDAV:prop-filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub text_match: Option<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

/// CALDAV:comp-filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub prop_filters: Vec<PropFilter>,
    pub comp_filters: Vec<CompFilter>,
}

/// Does the calendar object match the top-level (VCALENDAR) comp-filter?
pub fn matches(calendar: &Component, filter: &CompFilter, ctx: &EvalContext) -> bool {
    if !calendar.is(&filter.name) {
        return filter.is_not_defined;
    }
    if filter.is_not_defined {
        return false;
    }
    let evaluator = Evaluator {
        calendar,
        zones: Zones::new(calendar, ctx),
        limit: ctx.max_instances,
        expansions: RefCell::new(Vec::new()),
    };
    filter
        .prop_filters
        .iter()
        .all(|f| evaluator.prop_filter_matches(calendar, None, f))
        && filter
            .comp_filters
            .iter()
            .all(|f| evaluator.top_comp_filter_matches(f))
}

struct Evaluator<'a> {
    calendar: &'a Component,
    zones: Zones<'a>,
    limit: usize,
    /// Expansions already computed, by window.
    expansions: RefCell<Vec<(TimeSpan, Rc<[Instance]>)>>,
}

impl Evaluator<'_> {
    /// Instances of all components that may touch `window`.
    fn instances(&self, window: TimeSpan) -> Rc<[Instance]> {
        if let Some((_, cached)) = self.expansions.borrow().iter().find(|(w, _)| *w == window) {
            return Rc::clone(cached);
        }
        let expanded: Rc<[Instance]> =
            expand(self.calendar, &self.zones, window, self.limit, false)
                .instances
                .into();
        self.expansions
            .borrow_mut()
            .push((window, Rc::clone(&expanded)));
        expanded
    }

    /// A comp-filter on the components of the VCALENDAR; each candidate
    /// (master or override) is tested with the instances it produces.
    fn top_comp_filter_matches(&self, filter: &CompFilter) -> bool {
        let mut candidates = self
            .calendar
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is(&filter.name))
            .peekable();
        if filter.is_not_defined {
            return candidates.peek().is_none();
        }
        let mut shapes = ShapeCache::default();
        candidates.any(|(index, component)| {
            let in_range = filter.time_range.is_none_or(|range| {
                let span = range.span();
                self.instances(span).iter().any(|i| {
                    i.component_index == index
                        && shapes
                            .get(self.calendar, index, &self.zones)
                            .overlaps(i, span)
                })
            });
            in_range
                && filter
                    .prop_filters
                    .iter()
                    .all(|f| self.prop_filter_matches(component, Some(index), f))
                && filter
                    .comp_filters
                    .iter()
                    .all(|f| self.nested_comp_filter_matches(component, Some(index), f))
        })
    }

    /// A comp-filter below a calendar component, such as VALARM in VEVENT.
    /// `top_index` is the index of the enclosing top-level component.
    fn nested_comp_filter_matches(
        &self,
        parent: &Component,
        top_index: Option<usize>,
        filter: &CompFilter,
    ) -> bool {
        let mut candidates = parent.components_named(&filter.name).peekable();
        if filter.is_not_defined {
            return candidates.peek().is_none();
        }
        candidates.any(|component| {
            let in_range = match (filter.time_range, top_index) {
                (Some(range), Some(index)) if component.is("VALARM") => {
                    self.alarm_in_range(component, index, range)
                }
                // §9.9 defines no time-range for other nested components.
                _ => true,
            };
            in_range
                && filter
                    .prop_filters
                    .iter()
                    .all(|f| self.prop_filter_matches(component, None, f))
                && filter
                    .comp_filters
                    .iter()
                    .all(|f| self.nested_comp_filter_matches(component, None, f))
        })
    }

    /// Does any trigger of `alarm`, for any instance of its parent, fall in `range`?
    fn alarm_in_range(&self, alarm: &Component, parent_index: usize, range: TimeRange) -> bool {
        let span = range.span();
        let window = alarm_window(alarm, span);
        self.instances(window)
            .iter()
            .filter(|i| i.component_index == parent_index)
            .any(|instance| {
                alarm_triggers(alarm, instance, &self.zones)
                    .into_iter()
                    .any(|t| range.contains(t))
            })
    }

    /// `top_index` is set when `component` is a top-level component, whose
    /// DTSTART/DTEND/DUE then take their per-instance values.
    fn prop_filter_matches(
        &self,
        component: &Component,
        top_index: Option<usize>,
        filter: &PropFilter,
    ) -> bool {
        if filter.is_not_defined {
            // §9.7.4: about the property in the data, not a computed end.
            return component.property(&filter.name).is_none();
        }
        if let Some(range) = filter.time_range {
            if !self.property_in_range(component, top_index, &filter.name, range) {
                return false;
            }
            // The moment matched; parameter filters still apply to the
            // property itself (absent for an effective DTEND/DUE).
            return filter.param_filters.is_empty()
                || component
                    .properties_named(&filter.name)
                    .any(|p| param_filters_match(p, &filter.param_filters));
        }
        component.properties_named(&filter.name).any(|property| {
            filter
                .text_match
                .as_ref()
                .is_none_or(|m| m.matches(&text_of(property)))
                && param_filters_match(property, &filter.param_filters)
        })
    }

    fn property_in_range(
        &self,
        component: &Component,
        top_index: Option<usize>,
        name: &str,
        range: TimeRange,
    ) -> bool {
        let per_instance = ["DTSTART", "DTEND", "DUE"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name));
        let defined =
            component.property(name).is_some() || effective_end_name(component, name).is_some();
        if !defined {
            return false;
        }
        if let (true, Some(index)) = (per_instance, top_index) {
            let takes_start = name.eq_ignore_ascii_case("DTSTART")
                || (component.is("VTODO") && component.property("DTSTART").is_none());
            return self
                .instances(range.span())
                .iter()
                .filter(|i| i.component_index == index)
                .any(|i| range.contains(if takes_start { i.start } else { i.end }));
        }
        if let Some(end) = effective_end(component, name, &self.zones) {
            return range.contains(end);
        }
        component
            .properties_named(name)
            .filter_map(property_time)
            .any(|t| range.contains(self.zones.to_utc(&t)))
    }
}

/// The time window in which a parent instance must lie for `alarm` to
/// possibly trigger inside `range`.
pub(crate) fn alarm_window(alarm: &Component, range: TimeSpan) -> TimeSpan {
    let Some(trigger) = alarm.property("TRIGGER") else {
        return range;
    };
    if trigger
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"))
    {
        return TimeSpan::ALL;
    }
    let offset = parse_duration(&trigger.value).map_or(0, Length::approx_seconds);
    let repeat: i64 = alarm
        .property("REPEAT")
        .and_then(|p| p.value.trim().parse().ok())
        .unwrap_or(0)
        .clamp(0, 1000);
    let interval = alarm
        .property("DURATION")
        .and_then(|p| parse_duration(&p.value))
        .map_or(0, Length::approx_seconds)
        .max(0);
    let latest_offset = offset.saturating_add(repeat.saturating_mul(interval));
    TimeSpan {
        start: range.start.saturating_sub(latest_offset.max(offset)),
        end: range.end.saturating_sub(offset.min(latest_offset)),
    }
}

/// `Some` when `name` is an absent DTEND (VEVENT) or DUE (VTODO) that
/// DTSTART+DURATION stands in for (§9.9).
fn effective_end_name<'c>(component: &'c Component, name: &str) -> Option<&'c Property> {
    let stands_in = (component.is("VEVENT") && name.eq_ignore_ascii_case("DTEND"))
        || (component.is("VTODO") && name.eq_ignore_ascii_case("DUE"));
    if !stands_in || component.property(name).is_some() {
        return None;
    }
    component.property("DTSTART")?;
    component.property("DURATION")
}

fn effective_end(component: &Component, name: &str, zones: &Zones<'_>) -> Option<i64> {
    let duration = parse_duration(&effective_end_name(component, name)?.value)?;
    let start = property_time(component.property("DTSTART")?)?;
    let zone = zones.zone_of(&start);
    let local = add_days(start.local(), duration.days)?;
    Some(zone.to_utc(local).saturating_add(duration.seconds))
}

fn param_filters_match(property: &Property, filters: &[ParamFilter]) -> bool {
    filters.iter().all(|filter| {
        let param = property
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(&filter.name));
        match (param, filter.is_not_defined, &filter.text_match) {
            (None, is_not_defined, _) => is_not_defined,
            (Some(_), true, _) => false,
            (Some(_), false, None) => true,
            (Some(param), false, Some(text_match)) => {
                let any_contains = param
                    .values
                    .iter()
                    .any(|v| text_match.collation.contains(v, &text_match.text));
                any_contains != text_match.negate
            }
        }
    })
}

/// The value text-match compares: TEXT values unescaped, URIs as written.
fn text_of(property: &Property) -> std::borrow::Cow<'_, str> {
    const URI_VALUED: [&str; 7] = [
        "ATTENDEE",
        "ORGANIZER",
        "URL",
        "ATTACH",
        "TZURL",
        "SOURCE",
        "CONFERENCE",
    ];
    let is_text = match property.param("VALUE") {
        Some(value_type) => value_type.eq_ignore_ascii_case("TEXT"),
        None => !URI_VALUED
            .iter()
            .any(|n| property.name.eq_ignore_ascii_case(n)),
    };
    if is_text {
        unescape_text(&property.value)
    } else {
        std::borrow::Cow::Borrowed(&property.value)
    }
}

#[cfg(test)]
mod tests;
