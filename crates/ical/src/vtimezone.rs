//! Time zones defined by a VTIMEZONE component (RFC 5545 §3.6.5), used when
//! a TZID is neither an IANA nor a known Windows name.

use std::cell::RefCell;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

use crate::model::Component;
use crate::rule::{Rule, Until};
use crate::value::{naive_from_seconds, naive_seconds, property_time, property_times};

/// One STANDARD or DAYLIGHT sub-component.
#[derive(Debug)]
struct Observance {
    /// First onset, in the local time before the change (TZOFFSETFROM).
    start: NaiveDateTime,
    offset_from: i64,
    offset_to: i64,
    rule: Option<Rule>,
    extra_onsets: Vec<NaiveDateTime>,
}

/// A zone as a set of observances; offsets are looked up by year and the
/// transitions of each year are remembered.
#[derive(Debug)]
pub(crate) struct DefinedZone {
    observances: Vec<Observance>,
    /// (year, transitions of that year and the one before, sorted).
    transitions: RefCell<Vec<(i32, Vec<Transition>)>>,
}

#[derive(Debug, Clone, Copy)]
struct Transition {
    utc: i64,
    offset_to: i64,
}

impl DefinedZone {
    pub(crate) fn from_vtimezone(vtimezone: &Component) -> Option<Self> {
        let observances: Vec<Observance> = vtimezone
            .components
            .iter()
            .filter(|c| c.is("STANDARD") || c.is("DAYLIGHT"))
            .filter_map(Observance::from_component)
            .collect();
        (!observances.is_empty()).then(|| Self {
            observances,
            transitions: RefCell::new(Vec::new()),
        })
    }

    /// Offset east of UTC in force at `utc`.
    pub(crate) fn offset_at(&self, utc: i64) -> i64 {
        let year = naive_from_seconds(utc).map_or(1970, |t| t.year());
        if let Some(offset) = self.with_transitions(year, |transitions| {
            transitions
                .iter()
                .rev()
                .find(|t| t.utc <= utc)
                .map(|t| t.offset_to)
        }) {
            return offset;
        }
        // No change in this or the previous year: the observance that began
        // last before `utc` still applies, or the oldest one's prior offset.
        self.observances
            .iter()
            .filter(|o| naive_seconds(o.start) - o.offset_from <= utc)
            .max_by_key(|o| o.start)
            .or_else(|| self.observances.iter().min_by_key(|o| o.start))
            .map_or(0, |o| {
                if naive_seconds(o.start) - o.offset_from <= utc {
                    o.offset_to
                } else {
                    o.offset_from
                }
            })
    }

    fn with_transitions<T>(&self, year: i32, read: impl Fn(&[Transition]) -> T) -> T {
        if let Some((_, cached)) = self.transitions.borrow().iter().find(|(y, _)| *y == year) {
            return read(cached);
        }
        let computed = self.compute_transitions(year);
        let result = read(&computed);
        self.transitions.borrow_mut().push((year, computed));
        result
    }

    fn compute_transitions(&self, year: i32) -> Vec<Transition> {
        let from = year_start(year - 1);
        let to = year_start(year + 1);
        let mut transitions = Vec::new();
        for observance in &self.observances {
            for onset in observance.onsets(from, to) {
                transitions.push(Transition {
                    utc: naive_seconds(onset) - observance.offset_from,
                    offset_to: observance.offset_to,
                });
            }
        }
        transitions.sort_by_key(|t| t.utc);
        transitions
    }
}

impl Observance {
    fn from_component(component: &Component) -> Option<Self> {
        let start = property_time(component.property("DTSTART")?)?.local();
        let offset_to = parse_offset(&component.property("TZOFFSETTO")?.value)?;
        let offset_from = component
            .property("TZOFFSETFROM")
            .and_then(|p| parse_offset(&p.value))
            .unwrap_or(offset_to);
        let extra_onsets = component
            .properties_named("RDATE")
            .flat_map(property_times)
            .map(|t| t.local())
            .collect();
        Some(Self {
            start,
            offset_from,
            offset_to,
            rule: component
                .property("RRULE")
                .and_then(|p| Rule::parse(&p.value)),
            extra_onsets,
        })
    }

    /// Local onsets within [from, to).
    fn onsets(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut onsets: Vec<NaiveDateTime> = std::iter::once(self.start)
            .chain(self.extra_onsets.iter().copied())
            .filter(|&t| t >= from && t < to)
            .collect();
        if let Some(rule) = &self.rule {
            // UNTIL is in UTC for VTIMEZONE rules; compare it in local time.
            let until = rule.until().map(|until| match until {
                Until::Date(date) => date.and_time(NaiveTime::MIN),
                Until::Local(t) => t,
                Until::Utc(t) => t
                    .checked_add_signed(chrono::TimeDelta::seconds(self.offset_from))
                    .unwrap_or(t),
            });
            let expansion = rule.expand(self.start, until, Some(from), Some(to), 64);
            onsets.extend(expansion.starts.into_iter().filter(|&t| t < to));
        }
        onsets
    }
}

fn year_start(year: i32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// `+0100`, `-0430`, `+013045` to seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    let text = text.trim();
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = &text[1..];
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[0..2].parse().ok()?;
    let minutes: i64 = digits[2..4].parse().ok()?;
    let seconds: i64 = digits.get(4..6).map_or(Some(0), |s| s.parse().ok())?;
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{parse, ParseLimits};
    use crate::timezone::Zone;
    use std::rc::Rc;

    /// The US/Eastern definition of RFC 4791 Appendix B (pre-2007 rules).
    const APPENDIX_B_EASTERN: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\n\
        TZID:US-Eastern-Custom\r\nBEGIN:DAYLIGHT\r\nDTSTART:20000404T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n\
        END:DAYLIGHT\r\nBEGIN:STANDARD\r\nDTSTART:20001026T020000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n\
        END:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    /// What Outlook writes for "W. Europe Standard Time", renamed.
    const OUTLOOK_BERLIN: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\n\
        TZID:Custom Berlin\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n\
        TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n\
        END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\n\
        TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n\
        END:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    fn zone(text: &str) -> Zone {
        let cal = parse(text, &ParseLimits::default()).unwrap();
        Zone::Defined(Rc::new(
            DefinedZone::from_vtimezone(&cal.components[0]).unwrap(),
        ))
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        naive_seconds(local(y, mo, d, h, mi))
    }

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn parses_offsets() {
        assert_eq!(parse_offset("-0500"), Some(-18_000));
        assert_eq!(parse_offset("+0530"), Some(19_800));
        assert_eq!(parse_offset("+013045"), Some(5445));
        assert_eq!(parse_offset("0100"), None);
    }

    #[test]
    fn appendix_b_eastern_follows_its_own_rules() {
        let zone = zone(APPENDIX_B_EASTERN);
        // January: EST.
        assert_eq!(
            zone.to_utc(local(2006, 1, 4, 10, 0)),
            utc(2006, 1, 4, 15, 0)
        );
        // Old rule: DST starts on the first Sunday of April (2006-04-02).
        assert_eq!(
            zone.to_utc(local(2006, 4, 1, 12, 0)),
            utc(2006, 4, 1, 17, 0)
        );
        assert_eq!(
            zone.to_utc(local(2006, 4, 2, 12, 0)),
            utc(2006, 4, 2, 16, 0)
        );
        // ... and ends on the last Sunday of October (2006-10-29).
        assert_eq!(
            zone.to_utc(local(2006, 10, 28, 12, 0)),
            utc(2006, 10, 28, 16, 0)
        );
        assert_eq!(
            zone.to_utc(local(2006, 10, 29, 12, 0)),
            utc(2006, 10, 29, 17, 0)
        );
        // The first observance (DAYLIGHT, April 2000) changes from -0500.
        assert_eq!(zone.to_utc(local(1990, 1, 1, 0, 0)), utc(1990, 1, 1, 5, 0));
    }

    #[test]
    fn outlook_style_definition_matches_iana_berlin() {
        let custom = zone(OUTLOOK_BERLIN);
        let iana = Zone::Named(chrono_tz::Europe::Berlin);
        for (y, mo, d, h) in [
            (2024, 1, 15, 9),
            (2024, 3, 30, 12),
            (2024, 3, 31, 1),
            (2024, 3, 31, 3),
            (2024, 7, 1, 9),
            (2024, 10, 26, 12),
            (2024, 10, 27, 4),
            (2030, 12, 24, 18),
        ] {
            let t = local(y, mo, d, h, 30);
            assert_eq!(custom.to_utc(t), iana.to_utc(t), "{t}");
        }
        // Ambiguous 02:30 on the last Sunday of October: first occurrence.
        assert_eq!(
            custom.to_utc(local(2024, 10, 27, 2, 30)),
            utc(2024, 10, 27, 0, 30)
        );
        // Nonexistent 02:30 on the last Sunday of March: offset before the gap.
        assert_eq!(
            custom.to_utc(local(2024, 3, 31, 2, 30)),
            utc(2024, 3, 31, 1, 30)
        );
    }
}
