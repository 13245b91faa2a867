//! Time zones: the evaluation context, TZID resolution and conversion
//! between wall-clock readings and UTC.

use std::cell::RefCell;
use std::rc::Rc;
use std::str::FromStr;

use chrono::{NaiveDateTime, Offset, TimeZone};

use crate::model::Component;
use crate::value::{naive_from_seconds, naive_seconds, TimeValue};
use crate::vtimezone::DefinedZone;
use crate::windows_zones::iana_for_windows_name;

/// Settings that evaluation needs beyond the calendar data itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalContext {
    /// Zone for floating times and DATE values (the collection's
    /// CALDAV:calendar-timezone); `None` means UTC.
    pub floating_tz: Option<chrono_tz::Tz>,
    /// Upper bound on recurrence instances generated per recurrence set.
    pub max_instances: usize,
}

impl Default for EvalContext {
    fn default() -> Self {
        Self {
            floating_tz: None,
            max_instances: 10_000,
        }
    }
}

/// A resolved time zone.
#[derive(Debug, Clone)]
pub(crate) enum Zone {
    Utc,
    Named(chrono_tz::Tz),
    /// Interpreted from a VTIMEZONE in the object.
    Defined(Rc<DefinedZone>),
}

impl Zone {
    /// Offset east of UTC, in seconds, in force at `utc`.
    pub(crate) fn offset_at(&self, utc: i64) -> i64 {
        match self {
            Self::Utc => 0,
            Self::Named(tz) => naive_from_seconds(utc).map_or(0, |t| {
                i64::from(tz.offset_from_utc_datetime(&t).fix().local_minus_utc())
            }),
            Self::Defined(zone) => zone.offset_at(utc),
        }
    }

    /// UTC seconds of a wall-clock reading. Ambiguous readings (DST end) take
    /// the first occurrence and readings in a DST gap use the offset before
    /// the gap, both as RFC 5545 §3.3.5 prescribes.
    pub(crate) fn to_utc(&self, local: NaiveDateTime) -> i64 {
        let seconds = naive_seconds(local);
        match self {
            Self::Utc => seconds,
            Self::Named(tz) => match tz.from_local_datetime(&local).earliest() {
                Some(t) => t.timestamp(),
                None => seconds - self.offset_at(seconds - 86_400),
            },
            Self::Defined(_) => {
                let before = self.offset_at(seconds - 86_400);
                let after = self.offset_at(seconds + 86_400);
                let (first, second) = (before.max(after), before.min(after));
                [first, second]
                    .into_iter()
                    .find(|&offset| self.offset_at(seconds - offset) == offset)
                    .map_or(seconds - before, |offset| seconds - offset)
            }
        }
    }

    /// The wall-clock reading at `utc`.
    pub(crate) fn to_local(&self, utc: i64) -> Option<NaiveDateTime> {
        naive_from_seconds(utc.checked_add(self.offset_at(utc))?)
    }
}

/// Resolves TZIDs of one calendar, remembering each answer.
pub(crate) struct Zones<'a> {
    calendar: &'a Component,
    floating: Zone,
    cache: RefCell<Vec<(String, Zone)>>,
}

impl<'a> Zones<'a> {
    pub(crate) fn new(calendar: &'a Component, ctx: &EvalContext) -> Self {
        Self {
            calendar,
            floating: ctx.floating_tz.map_or(Zone::Utc, Zone::Named),
            cache: RefCell::new(Vec::new()),
        }
    }

    /// The zone of floating times and DATE values.
    pub(crate) fn floating(&self) -> Zone {
        self.floating.clone()
    }

    /// The zone a value's wall-clock reading is in.
    pub(crate) fn zone_of(&self, value: &TimeValue<'_>) -> Zone {
        match value {
            TimeValue::Utc(_) => Zone::Utc,
            TimeValue::Date(_) | TimeValue::Floating(_) => self.floating.clone(),
            TimeValue::Zoned(_, tzid) => self.by_tzid(tzid),
        }
    }

    pub(crate) fn to_utc(&self, value: &TimeValue<'_>) -> i64 {
        self.zone_of(value).to_utc(value.local())
    }

    pub(crate) fn by_tzid(&self, tzid: &str) -> Zone {
        if let Some((_, zone)) = self.cache.borrow().iter().find(|(id, _)| *id == tzid) {
            return zone.clone();
        }
        let zone = self.resolve(tzid);
        self.cache
            .borrow_mut()
            .push((tzid.to_owned(), zone.clone()));
        zone
    }

    fn resolve(&self, tzid: &str) -> Zone {
        if let Some(tz) = named_zone(tzid) {
            return Zone::Named(tz);
        }
        self.calendar
            .components_named("VTIMEZONE")
            .find(|vtz| vtz.property("TZID").is_some_and(|p| p.value == tzid))
            .and_then(DefinedZone::from_vtimezone)
            .map_or(Zone::Utc, |zone| Zone::Defined(Rc::new(zone)))
    }
}

/// Maps a TZID to an IANA zone: the name itself, the name after a vendor
/// prefix (`/mozilla.org/20050126_1/Europe/Berlin`), or a Windows name.
pub fn named_zone(tzid: &str) -> Option<chrono_tz::Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = chrono_tz::Tz::from_str(tzid) {
        return Some(tz);
    }
    let suffixes = tzid
        .match_indices('/')
        .map(|(i, _)| &tzid[i + 1..])
        .filter(|rest| !rest.is_empty());
    for suffix in suffixes {
        if let Ok(tz) = chrono_tz::Tz::from_str(suffix) {
            return Some(tz);
        }
    }
    iana_for_windows_name(tzid).and_then(|name| chrono_tz::Tz::from_str(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn resolves_iana_vendor_prefixed_and_windows_names() {
        use chrono_tz::{America, Europe};
        assert_eq!(named_zone("Europe/Berlin"), Some(Europe::Berlin));
        assert_eq!(
            named_zone("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(Europe::Berlin)
        );
        assert_eq!(
            named_zone("/citadel.org/20190914_1/America/New_York"),
            Some(America::New_York)
        );
        assert_eq!(named_zone("W. Europe Standard Time"), Some(Europe::Berlin));
        assert_eq!(named_zone("Eastern Standard Time"), Some(America::New_York));
        assert_eq!(named_zone("GMT Standard Time"), Some(Europe::London));
        assert_eq!(named_zone("US/Eastern"), Some(chrono_tz::US::Eastern));
        assert_eq!(named_zone("Nowhere/Special"), None);
    }

    #[test]
    fn named_zone_handles_gaps_and_ambiguity() {
        let berlin = Zone::Named(chrono_tz::Europe::Berlin);
        // 2024-03-31 02:30 does not exist in Berlin: read with +01:00 → 01:30Z.
        assert_eq!(
            berlin.to_utc(local(2024, 3, 31, 2, 30)),
            naive_seconds(local(2024, 3, 31, 1, 30))
        );
        // 2024-10-27 02:30 happens twice: the first (+02:00) is 00:30Z.
        assert_eq!(
            berlin.to_utc(local(2024, 10, 27, 2, 30)),
            naive_seconds(local(2024, 10, 27, 0, 30))
        );
        assert_eq!(
            berlin.to_local(naive_seconds(local(2024, 7, 1, 10, 0))),
            Some(local(2024, 7, 1, 12, 0))
        );
    }
}
