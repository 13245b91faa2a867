//! The events and tasks of some calendars within a time range, as the web
//! calendar shows them: each occurrence of a recurring event on its own,
//! times in the reader's zone, private details hidden when asked.

use almanac_ical::{Component, EvalContext, ParseLimits, TimeSpan};
use almanac_store::{Collection, Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// How much of an event a reader may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything (the owner).
    Full,
    /// Everything but the details of CLASS:PRIVATE/CONFIDENTIAL events
    /// (a share link).
    Public,
    /// Only that the time is taken (a free-busy link).
    BusyOnly,
}

/// One occurrence on the page.
#[derive(Debug, Clone)]
pub struct Entry {
    pub calendar: String,
    pub color: String,
    pub item: String,
    pub title: String,
    pub location: String,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
    pub all_day: bool,
    pub recurring: bool,
    /// The occurrence's original start (UTC seconds) in a recurring event.
    pub recurrence_id: Option<i64>,
    /// Details withheld: the reader sees "Busy".
    pub hidden: bool,
    /// The stored object's ETag, for a safe write back.
    pub etag: String,
    pub description: String,
    pub people: Vec<crate::details::Person>,
    pub reminders: Vec<String>,
}

impl Entry {
    /// "09:30–10:30", or "All day".
    pub fn time_text(&self) -> String {
        if self.all_day {
            "All day".to_owned()
        } else {
            format!(
                "{}–{}",
                self.start.format("%H:%M"),
                self.end.format("%H:%M")
            )
        }
    }

    /// The days (in the reader's zone) the occurrence touches.
    pub fn touches(&self, day: NaiveDate) -> bool {
        let first = self.start.date_naive();
        // An event ending at midnight does not touch the next day.
        let last = if self.end > self.start && self.end.time() == chrono::NaiveTime::MIN {
            self.end.date_naive().pred_opt().unwrap_or(first)
        } else {
            self.end.date_naive()
        };
        first <= day && day <= last
    }
}

/// A task (VTODO) for the task list.
#[derive(Debug, Clone)]
pub struct Task {
    pub calendar: String,
    pub item: String,
    pub title: String,
    pub due: Option<NaiveDate>,
    pub done: bool,
    /// Open and due before today (the reader's today, set by the page).
    pub overdue: bool,
    pub notes: String,
    /// RFC 5545 PRIORITY (1 high … 9 low), 0 for none.
    pub priority: u8,
    pub etag: String,
}

impl Task {
    /// The priority in words, or "" for none.
    pub fn priority_text(&self) -> &'static str {
        match self.priority {
            1..=4 => "high",
            5 => "medium",
            6..=9 => "low",
            _ => "",
        }
    }
}

/// Limits for parsing stored objects: they were validated when written.
fn limits() -> ParseLimits {
    ParseLimits::default()
}

pub use almanac_ical::privacy::is_private;

/// Unescapes an iCalendar TEXT value for display.
pub fn text_value(component: &Component, name: &str) -> String {
    component
        .property(name)
        .map(|p| almanac_ical::unescape_text(&p.value).into_owned())
        .unwrap_or_default()
}

/// Every occurrence of the events of `calendars` within `[from, to)`.
pub async fn entries(
    store: &Store,
    calendars: &[Collection],
    zone: Tz,
    (from, to): (i64, i64),
    detail: Detail,
    max_instances: usize,
) -> Result<Vec<Entry>, StoreError> {
    let ctx = EvalContext {
        floating_tz: Some(zone),
        max_instances,
    };
    let mut entries = Vec::new();
    for calendar in calendars {
        let color = calendar.color.clone().unwrap_or_default();
        for item in store
            .items_overlapping(calendar.id, Some("VEVENT"), from, to)
            .await?
        {
            let Ok(text) = std::str::from_utf8(&item.data) else {
                continue;
            };
            let Ok(parsed) = almanac_ical::parse(text, &limits()) else {
                continue;
            };
            let range = TimeSpan {
                start: from,
                end: to,
            };
            for instance in almanac_ical::instances(&parsed, Some(range), &ctx) {
                let component = &parsed.components[instance.component_index];
                if !component.is("VEVENT") {
                    continue;
                }
                let hidden = match detail {
                    Detail::Full => false,
                    Detail::Public => is_private(component),
                    Detail::BusyOnly => true,
                };
                let all_day = component
                    .property("DTSTART")
                    .is_some_and(|p| p.param("VALUE") == Some("DATE") || p.value.len() == 8);
                let at = |t: i64| zone.timestamp_opt(t, 0).single();
                let (Some(start), Some(end)) =
                    (at(instance.start), at(instance.end.max(instance.start)))
                else {
                    continue;
                };
                entries.push(Entry {
                    calendar: calendar.path.clone(),
                    color: color.clone(),
                    item: item.meta.name.clone(),
                    title: if hidden {
                        "Busy".to_owned()
                    } else if is_cancelled(component) {
                        // The organizer called it off (a CANCEL delivered here).
                        format!("Cancelled: {}", text_value(component, "SUMMARY"))
                    } else {
                        text_value(component, "SUMMARY")
                    },
                    location: if hidden {
                        String::new()
                    } else {
                        text_value(component, "LOCATION")
                    },
                    start,
                    end,
                    all_day,
                    recurring: instance.recurrence_id.is_some(),
                    recurrence_id: instance.recurrence_id,
                    hidden,
                    etag: item.meta.etag.clone(),
                    description: if hidden {
                        String::new()
                    } else {
                        text_value(component, "DESCRIPTION")
                    },
                    people: if hidden {
                        Vec::new()
                    } else {
                        crate::details::people(component)
                    },
                    reminders: if detail == Detail::Full {
                        crate::details::reminders(component)
                    } else {
                        Vec::new()
                    },
                });
            }
        }
    }
    entries.sort_by(|a, b| (!a.all_day, a.start, &a.title).cmp(&(!b.all_day, b.start, &b.title)));
    Ok(entries)
}

/// Every occurrence from the start of day `first` to the start of day
/// `last`, days as the reader's zone has them.
pub async fn entries_on_days(
    store: &Store,
    calendars: &[Collection],
    zone: Tz,
    (first, last): (NaiveDate, NaiveDate),
    detail: Detail,
    max_instances: usize,
) -> Result<Vec<Entry>, StoreError> {
    let midnight = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(0, |t| t.timestamp())
    };
    let range = (midnight(first), midnight(last));
    entries(store, calendars, zone, range, detail, max_instances).await
}

/// The tasks of `calendars`, open ones first, then by due date.
pub async fn tasks(store: &Store, calendars: &[Collection]) -> Result<Vec<Task>, StoreError> {
    let mut tasks = Vec::new();
    for calendar in calendars.iter().filter(|c| c.accepts("VTODO")) {
        for item in store.items(calendar.id).await? {
            let Ok(text) = std::str::from_utf8(&item.data) else {
                continue;
            };
            let Ok(parsed) = almanac_ical::parse(text, &limits()) else {
                continue;
            };
            let Some(todo) = parsed
                .components
                .iter()
                .find(|c| c.is("VTODO") && c.property("RECURRENCE-ID").is_none())
            else {
                continue;
            };
            let due = todo
                .property("DUE")
                .and_then(|p| NaiveDate::parse_from_str(p.value.get(..8)?, "%Y%m%d").ok());
            tasks.push(Task {
                calendar: calendar.path.clone(),
                item: item.meta.name.clone(),
                title: text_value(todo, "SUMMARY"),
                due,
                done: todo
                    .property("STATUS")
                    .is_some_and(|s| s.value.eq_ignore_ascii_case("COMPLETED")),
                overdue: false,
                notes: text_value(todo, "DESCRIPTION"),
                priority: todo
                    .property("PRIORITY")
                    .and_then(|p| p.value.trim().parse().ok())
                    .filter(|p| *p <= 9)
                    .unwrap_or(0),
                etag: item.meta.etag.clone(),
            });
        }
    }
    tasks.sort_by(|a, b| {
        (a.done, a.due.is_none(), a.due, &a.title).cmp(&(b.done, b.due.is_none(), b.due, &b.title))
    });
    Ok(tasks)
}

/// Whether the organizer called this event (or occurrence) off.
fn is_cancelled(component: &Component) -> bool {
    component
        .property("STATUS")
        .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("CANCELLED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_ending_at_midnight_stays_on_its_day() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let entry = Entry {
            calendar: String::new(),
            color: String::new(),
            item: String::new(),
            title: String::new(),
            location: String::new(),
            start: zone.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(),
            end: zone.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap(),
            all_day: true,
            recurring: false,
            recurrence_id: None,
            hidden: false,
            etag: String::new(),
            description: String::new(),
            people: Vec::new(),
            reminders: Vec::new(),
        };
        assert!(entry.touches(day(2)));
        assert!(!entry.touches(day(3)));
        assert!(!entry.touches(day(1)));
    }
}
