//! The RFC 4791 §9.9 overlap conditions for VEVENT, VTODO, VJOURNAL,
//! VFREEBUSY and VALARM.

use crate::model::Component;
use crate::span::{Instance, TimeSpan};
use crate::timezone::Zones;
use crate::value::{parse_duration, parse_period, property_time, PeriodEnd, TimeValue};

/// Which row of the §9.9 tables applies to a component; the instance
/// supplies the (recurrence-adjusted) start and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// VEVENT and VJOURNAL: half-open [start, end), a zero-length instance
    /// being the single point `start`.
    Span,
    /// VTODO with DTSTART and DURATION.
    TodoStartDuration,
    /// VTODO with DTSTART and DUE.
    TodoStartDue,
    /// VTODO with DTSTART only.
    TodoStart,
    /// VTODO with DUE only.
    TodoDue,
    /// VTODO with neither: decided by COMPLETED and CREATED.
    TodoUndated {
        completed: Option<i64>,
        created: Option<i64>,
    },
    /// VFREEBUSY with DTSTART and DTEND (end inclusive).
    FreeBusyBounds,
    /// VFREEBUSY without bounds: its FREEBUSY periods.
    FreeBusyPeriods(Vec<(i64, i64)>),
    /// Never overlaps (a VJOURNAL without DTSTART, an empty VFREEBUSY).
    Never,
}

impl Shape {
    pub(crate) fn of(component: &Component, zones: &Zones<'_>) -> Self {
        let has = |name: &str| component.property(name).is_some();
        let utc_of = |name: &str| {
            component
                .property(name)
                .and_then(property_time)
                .map(|t| zones.to_utc(&t))
        };
        if component.is("VTODO") {
            return match (has("DTSTART"), has("DURATION"), has("DUE")) {
                (true, _, true) => Self::TodoStartDue,
                (true, true, false) => Self::TodoStartDuration,
                (true, false, false) => Self::TodoStart,
                (false, _, true) => Self::TodoDue,
                (false, _, false) => Self::TodoUndated {
                    completed: utc_of("COMPLETED"),
                    created: utc_of("CREATED"),
                },
            };
        }
        if component.is("VFREEBUSY") {
            if has("DTSTART") && has("DTEND") {
                return Self::FreeBusyBounds;
            }
            let periods = freebusy_periods(component, zones);
            return if periods.is_empty() {
                Self::Never
            } else {
                Self::FreeBusyPeriods(periods)
            };
        }
        if component.is("VJOURNAL") && !has("DTSTART") {
            return Self::Never;
        }
        Self::Span
    }

    /// Start and end of a VFREEBUSY: DTSTART/DTEND or the hull of its periods.
    pub(crate) fn freebusy_hull(component: &Component, zones: &Zones<'_>) -> Option<(i64, i64)> {
        let bound = |name: &str| {
            component
                .property(name)
                .and_then(property_time)
                .map(|t| zones.to_utc(&t))
        };
        if let (Some(start), Some(end)) = (bound("DTSTART"), bound("DTEND")) {
            return Some((start, end.max(start)));
        }
        let periods = freebusy_periods(component, zones);
        let start = periods.iter().map(|p| p.0).min()?;
        let end = periods.iter().map(|p| p.1).max()?;
        Some((start, end))
    }

    pub(crate) fn overlaps(&self, instance: &Instance, range: TimeSpan) -> bool {
        let (s, e) = (instance.start, instance.end);
        let TimeSpan { start, end } = range;
        match self {
            Self::Span => start < e.max(s.saturating_add(1)) && end > s,
            Self::TodoStartDuration => start <= e && (end > s || end >= e),
            Self::TodoStartDue => (start < e || start <= s) && (end > s || end >= e),
            Self::TodoStart => start <= s && end > s,
            Self::TodoDue => start < e && end >= e,
            Self::TodoUndated { completed, created } => match (completed, created) {
                (Some(done), Some(made)) => {
                    (start <= *made || start <= *done) && (end >= *made || end >= *done)
                }
                (Some(done), None) => start <= *done && end >= *done,
                (None, Some(made)) => end > *made,
                (None, None) => true,
            },
            Self::FreeBusyBounds => start <= e && end > s,
            Self::FreeBusyPeriods(periods) => {
                periods.iter().any(|&(ps, pe)| start < pe && end > ps)
            }
            Self::Never => false,
        }
    }
}

/// All periods of all FREEBUSY properties, in UTC.
pub(crate) fn freebusy_periods(component: &Component, zones: &Zones<'_>) -> Vec<(i64, i64)> {
    component
        .properties_named("FREEBUSY")
        .flat_map(|p| p.value.split(','))
        .filter_map(|text| period_utc(text, zones))
        .collect()
}

/// A PERIOD value as UTC start and end.
pub(crate) fn period_utc(text: &str, zones: &Zones<'_>) -> Option<(i64, i64)> {
    let (start, end) = parse_period(text, None)?;
    let start = zones.to_utc(&start);
    let end = match end {
        PeriodEnd::At(end) => zones.to_utc(&end),
        PeriodEnd::After(length) => start.saturating_add(length.approx_seconds()),
    };
    Some((start, end))
}

/// Trigger times of a VALARM for one instance of its parent, in UTC:
/// the first trigger and its REPEAT repetitions.
pub(crate) fn alarm_triggers(alarm: &Component, parent: &Instance, zones: &Zones<'_>) -> Vec<i64> {
    let Some(trigger) = alarm.property("TRIGGER") else {
        return Vec::new();
    };
    let is_absolute = trigger
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"));
    let first = if is_absolute {
        property_time(trigger).map(|t: TimeValue<'_>| zones.to_utc(&t))
    } else {
        let related_end = trigger
            .param("RELATED")
            .is_some_and(|r| r.eq_ignore_ascii_case("END"));
        // For a to-do with only DUE the instance starts at DUE, which is
        // also what RELATED=START falls back to (RFC 4791 §7.8.5).
        let base = if related_end {
            parent.end
        } else {
            parent.start
        };
        let offset = parse_duration(&trigger.value).map(crate::value::Length::approx_seconds);
        offset
            .filter(|_| base != i64::MIN && base != i64::MAX)
            .map(|o| base.saturating_add(o))
    };
    let Some(first) = first else {
        return Vec::new();
    };
    let repeat: i64 = alarm
        .property("REPEAT")
        .and_then(|p| p.value.trim().parse().ok())
        .unwrap_or(0)
        .clamp(0, 1000);
    let interval = alarm
        .property("DURATION")
        .and_then(|p| parse_duration(&p.value))
        .map_or(0, crate::value::Length::approx_seconds);
    if interval <= 0 {
        return vec![first];
    }
    (0..=repeat)
        .map(|k| first.saturating_add(k.saturating_mul(interval)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: i64, end: i64) -> TimeSpan {
        TimeSpan { start, end }
    }

    fn instance(start: i64, end: i64) -> Instance {
        Instance {
            start,
            end,
            recurrence_id: None,
            component_index: 0,
        }
    }

    #[test]
    fn event_rows_of_the_vevent_table() {
        let shape = Shape::Span;
        // DTEND / DURATION > 0: (start < DTEND AND end > DTSTART).
        let timed = instance(100, 200);
        assert!(shape.overlaps(&timed, span(199, 300)));
        assert!(!shape.overlaps(&timed, span(200, 300)));
        assert!(shape.overlaps(&timed, span(0, 101)));
        assert!(!shape.overlaps(&timed, span(0, 100)));
        // Zero duration: (start <= DTSTART AND end > DTSTART).
        let point = instance(100, 100);
        assert!(shape.overlaps(&point, span(100, 101)));
        assert!(!shape.overlaps(&point, span(0, 100)));
        assert!(!shape.overlaps(&point, span(101, 200)));
    }

    #[test]
    fn todo_rows_of_the_vtodo_table() {
        let r = |s, e| span(s, e);
        // Row 1, DTSTART+DURATION = [100, 200]: start <= 200 AND (end > 100 OR end >= 200).
        let with_duration = Shape::TodoStartDuration;
        assert!(with_duration.overlaps(&instance(100, 200), r(200, 300)));
        assert!(!with_duration.overlaps(&instance(100, 200), r(201, 300)));
        assert!(!with_duration.overlaps(&instance(100, 200), r(0, 100)));
        assert!(
            with_duration.overlaps(&instance(100, 100), r(0, 100)),
            "zero duration: end >= DTSTART+DURATION"
        );
        // Row 2, DTSTART=100, DUE=200.
        let with_due = Shape::TodoStartDue;
        assert!(!with_due.overlaps(&instance(100, 200), r(200, 300)));
        assert!(with_due.overlaps(&instance(100, 200), r(150, 160)));
        assert!(
            with_due.overlaps(&instance(100, 100), r(100, 100)),
            "start <= DTSTART and end >= DUE"
        );
        assert!(!with_due.overlaps(&instance(100, 200), r(0, 100)));
        // Row 3, DTSTART only.
        assert!(Shape::TodoStart.overlaps(&instance(100, 100), r(100, 101)));
        assert!(!Shape::TodoStart.overlaps(&instance(100, 100), r(0, 100)));
        // Row 4, DUE only: (start < DUE AND end >= DUE).
        assert!(Shape::TodoDue.overlaps(&instance(200, 200), r(0, 200)));
        assert!(!Shape::TodoDue.overlaps(&instance(200, 200), r(200, 300)));
        // Rows 5-8, COMPLETED / CREATED.
        let both = Shape::TodoUndated {
            completed: Some(300),
            created: Some(100),
        };
        assert!(both.overlaps(&instance(i64::MIN, i64::MAX), r(300, 400)));
        assert!(both.overlaps(&instance(i64::MIN, i64::MAX), r(0, 100)));
        assert!(!both.overlaps(&instance(i64::MIN, i64::MAX), r(301, 400)));
        let completed = Shape::TodoUndated {
            completed: Some(300),
            created: None,
        };
        assert!(completed.overlaps(&instance(i64::MIN, i64::MAX), r(0, 300)));
        assert!(!completed.overlaps(&instance(i64::MIN, i64::MAX), r(0, 299)));
        let created = Shape::TodoUndated {
            completed: None,
            created: Some(100),
        };
        assert!(created.overlaps(&instance(i64::MIN, i64::MAX), r(0, 101)));
        assert!(!created.overlaps(&instance(i64::MIN, i64::MAX), r(0, 100)));
        let neither = Shape::TodoUndated {
            completed: None,
            created: None,
        };
        assert!(neither.overlaps(&instance(i64::MIN, i64::MAX), r(0, 1)));
    }

    #[test]
    fn freebusy_and_journal_rows() {
        assert!(Shape::FreeBusyBounds.overlaps(&instance(100, 200), span(200, 300)));
        assert!(!Shape::FreeBusyBounds.overlaps(&instance(100, 200), span(0, 100)));
        let periods = Shape::FreeBusyPeriods(vec![(100, 200), (400, 500)]);
        assert!(periods.overlaps(&instance(100, 500), span(450, 460)));
        assert!(!periods.overlaps(&instance(100, 500), span(200, 400)));
        assert!(!Shape::Never.overlaps(&instance(i64::MIN, i64::MAX), TimeSpan::ALL));
    }
}
