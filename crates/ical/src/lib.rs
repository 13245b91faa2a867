//! iCalendar (RFC 5545) support for the Almanac calendar server: pure data
//! processing, no I/O. All instants are `i64` UNIX seconds in UTC.
//!
//! - [`model`]: the component/property/parameter tree, [`parse`] and
//!   [`Component::to_ics`]; unknown data is preserved.
//! - [`object`]: validation of calendar object resources (RFC 4791 §4.1)
//!   and the time span the store indexes them by.
//! - [`timezone`]: the [`EvalContext`] and TZID resolution (IANA names,
//!   vendor-prefixed names, Windows names, then the object's VTIMEZONE).
//! - [`recurrence`]: recurrence sets — RRULE, RDATE, EXDATE, overrides.
//! - [`filter`]: CALDAV:filter evaluation with the §9.9 time-range rules.
//! - [`retrieval`]: CALDAV:calendar-data rendering — partial retrieval,
//!   expand, limit-recurrence-set, limit-freebusy-set (§9.6).
//! - [`freebusy`]: busy time and the free-busy-query response (§7.10).
//! - [`privacy`]: what share-link readers see of private events.
//! - [`scheduling`]: iTIP roles, copies, messages and answers (RFC 6638).
//! - [`zone_definition`]: a VTIMEZONE for an IANA zone.
//! - [`bundle`]: merging objects into one calendar (webcal export) and
//!   splitting an imported calendar into objects.
//!
//! Internal helpers: `parser` (text to tree), `value` (typed values),
//! `rule` (RRULE expansion in local time), `vtimezone` (zones defined in
//! the data), `windows_zones` (Windows to IANA names) and `overlap` (the
//! §9.9 tables).

pub mod alarms;
pub mod bundle;
pub mod filter;
pub mod freebusy;
pub mod model;
pub mod object;
mod overlap;
mod parser;
pub mod privacy;
pub mod recurrence;
pub mod retrieval;
mod rule;
pub mod scheduling;
mod span;
pub mod timezone;
mod value;
mod vtimezone;
mod windows_zones;
mod words;
pub mod zone_definition;

pub use bundle::{merge_calendars, split_calendar, SplitItem, PRODID};
pub use filter::{matches, Collation, CompFilter, ParamFilter, PropFilter, TextMatch, TimeRange};
pub use freebusy::{busy_periods, freebusy_calendar, freebusy_component, BusyKind, BusyPeriod};
pub use model::{Component, Param, Property};
pub use object::{parse_object, CalendarObject, ComponentKind, ObjectError};
pub use parser::{parse, ParseError, ParseLimits};
pub use recurrence::instances;
pub use retrieval::{render, CompSelector, DataRequest};
pub use span::{Instance, TimeSpan};
pub use timezone::EvalContext;
pub use value::{escape_text, forbidden_control, unescape_text};
pub use words::search_text;

#[cfg(test)]
mod test_data;
