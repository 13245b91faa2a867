//! From the web calendar's forms to iCalendar: new events and tasks, a
//! whole series changed, one occurrence moved or cancelled. Everything else
//! a client stored in an object (alarms, attendees, X- properties) is kept.

use almanac_ical::{Component, Property};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::fmt::Write as _;

/// The event form as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventForm {
    pub csrf: String,
    pub calendar: String,
    pub title: String,
    pub location: String,
    pub description: String,
    /// "yes": share links show only that the time is busy (CLASS:PRIVATE).
    pub private: String,
    pub all_day: String,
    pub start_date: String,
    pub start_time: String,
    pub end_date: String,
    pub end_time: String,
    pub tz: String,
    /// none, daily, weekly, monthly, yearly
    pub repeat: String,
    pub interval: String,
    pub day_mo: String,
    pub day_tu: String,
    pub day_we: String,
    pub day_th: String,
    pub day_fr: String,
    pub day_sa: String,
    pub day_su: String,
    /// never, until, count
    pub ends: String,
    pub until: String,
    pub count: String,
    /// all (the whole series) or this (one occurrence)
    pub scope: String,
    /// The occurrence being edited: its original start, UTC seconds.
    pub occurrence: String,
    /// save or delete
    pub action: String,
    /// The zone the reader asked for with `?tz=` (no script to set the
    /// cookie): carried back to the calendar after saving.
    pub view_tz: String,
    /// The reminder's TRIGGER (see `details::REMINDER_CHOICES`), "" for
    /// none, or "keep" for reminders another app set.
    pub reminder: String,
    /// Guests' addresses (commas or new lines); absent: the guests stay.
    pub guests: Option<String>,
    /// One more guest, picked from earlier guests (the suggestions list).
    pub add_guest: String,
    /// Shown, never read from the form: who is invited, and the reminders
    /// in words.
    #[serde(skip)]
    pub people: Vec<crate::details::Person>,
    #[serde(skip)]
    pub reminders: Vec<String>,
    #[serde(skip)]
    pub notice: String,
    /// An invitation the person received: (who sent it, their answer so
    /// far in words).
    #[serde(skip)]
    pub invitation: Option<(String, &'static str)>,
    /// Addresses of earlier guests, offered when adding one.
    #[serde(skip)]
    pub suggestions: Vec<String>,
    /// Guests with an account here who have something else at that time.
    #[serde(skip)]
    pub busy: Vec<String>,
}

/// A checked event: what goes into the VEVENT.
#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    pub title: String,
    pub location: String,
    pub description: String,
    pub private: bool,
    pub timing: Timing,
    pub zone: Tz,
    pub rule: Option<String>,
    pub reminder: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// First and last day, inclusive.
    AllDay(NaiveDate, NaiveDate),
    /// Start and end in the event's zone.
    Timed(NaiveDateTime, NaiveDateTime),
}

/// What the person reads when a field holds a character calendars cannot
/// store.
pub const CONTROL_CHARACTERS: &str = "The text holds an invisible control character (perhaps pasted from another program). Please remove it and save again.";

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

impl EventForm {
    fn weekdays(&self) -> Vec<&'static str> {
        let checked = [
            &self.day_mo,
            &self.day_tu,
            &self.day_we,
            &self.day_th,
            &self.day_fr,
            &self.day_sa,
            &self.day_su,
        ];
        DAYS.iter()
            .zip(checked)
            .filter(|(_, v)| !v.is_empty())
            .map(|(d, _)| *d)
            .collect()
    }

    /// The guests the form names (lower-case addresses), `Some(empty)` for
    /// none; `None` when one is not an address or there are too many.
    pub fn guest_list(&self) -> Option<Vec<String>> {
        let Some(text) = &self.guests else {
            return Some(Vec::new());
        };
        let mut list: Vec<String> = Vec::new();
        for part in [text.as_str(), self.add_guest.as_str()]
            .into_iter()
            .flat_map(|t| t.split([',', ';', '\n', '\r']))
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let address = part.trim_start_matches("mailto:").to_ascii_lowercase();
            let (local, domain) = address.split_once('@')?;
            let plain = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
            };
            if !plain(local) || !plain(domain) || !domain.contains('.') || address.len() > 254 {
                return None;
            }
            if !list.contains(&address) {
                list.push(address);
            }
        }
        (list.len() <= almanac_service::invitations::MAX_GUESTS).then_some(list)
    }

    /// Checks the form; the errors are sentences for the person.
    pub fn check(&self) -> Result<EventData, Vec<&'static str>> {
        let mut errors = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 500 {
            errors.push("Give the event a title (at most 500 characters).");
        }
        if self.location.chars().count() > 500 || self.description.chars().count() > 10_000 {
            errors.push("The place may have 500 characters and the description 10,000.");
        }
        let typed = [&self.title, &self.location, &self.description];
        if typed
            .iter()
            .any(|text| almanac_ical::forbidden_control(text).is_some())
        {
            errors.push(CONTROL_CHARACTERS);
        }
        let zone: Option<Tz> = almanac_ical::timezone::named_zone(self.tz.trim());
        if zone.is_none() {
            errors.push("Choose a time zone from the list, like Europe/Berlin.");
        }
        let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
        let time = |text: &str| NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
        let start_date = date(&self.start_date);
        let end_date = if self.end_date.trim().is_empty() {
            start_date
        } else {
            date(&self.end_date)
        };
        let timing = match (start_date, end_date) {
            (Some(first), Some(last)) if !self.all_day.is_empty() => {
                if last < first {
                    errors.push("The event cannot end before it starts.");
                }
                Some(Timing::AllDay(first, last))
            }
            (Some(first), Some(last)) => {
                if let (Some(from), Some(to)) = (time(&self.start_time), time(&self.end_time)) {
                    let (start, end) = (first.and_time(from), last.and_time(to));
                    if end < start {
                        errors.push("The event cannot end before it starts.");
                    }
                    Some(Timing::Timed(start, end))
                } else {
                    errors.push("Give a start and end time (like 09:30), or tick All day.");
                    None
                }
            }
            _ => {
                errors.push("Give the start date (and end date) as dates.");
                None
            }
        };
        let rule = self.rule(&mut errors, zone.unwrap_or(Tz::UTC), timing);
        if !crate::details::is_reminder_choice(&self.reminder) {
            errors.push("Choose a reminder from the list.");
        }
        if self.guest_list().is_none() {
            errors.push("Give each guest's email address (like ana@example.org), at most 50, separated by commas.");
        }
        match (timing, zone) {
            (Some(timing), Some(zone)) if errors.is_empty() => Ok(EventData {
                title: title.to_owned(),
                location: self.location.trim().to_owned(),
                description: self.description.trim().to_owned(),
                private: self.private == "yes",
                timing,
                zone,
                rule,
                reminder: self.reminder.clone(),
            }),
            _ => Err(errors),
        }
    }

    /// The RRULE the repeat fields describe.
    fn rule(
        &self,
        errors: &mut Vec<&'static str>,
        zone: Tz,
        timing: Option<Timing>,
    ) -> Option<String> {
        let freq = match self.repeat.as_str() {
            "" | "none" => return None,
            "daily" => "DAILY",
            "weekly" => "WEEKLY",
            "monthly" => "MONTHLY",
            "yearly" => "YEARLY",
            _ => {
                errors.push("Choose how the event repeats from the list.");
                return None;
            }
        };
        let mut rule = format!("FREQ={freq}");
        let interval = self.interval.trim();
        if !interval.is_empty() && interval != "1" {
            match interval.parse::<u32>() {
                Ok(n @ 1..=999) => {
                    let _ = write!(rule, ";INTERVAL={n}");
                }
                _ => errors.push("Repeat every 1 to 999 days, weeks, months or years."),
            }
        }
        let days = self.weekdays();
        if freq == "WEEKLY" && !days.is_empty() {
            rule.push_str(";BYDAY=");
            rule.push_str(&days.join(","));
        }
        match self.ends.as_str() {
            "until" => match NaiveDate::parse_from_str(self.until.trim(), "%Y-%m-%d") {
                Ok(last) => {
                    if let Some(Timing::AllDay(..)) = timing {
                        let _ = write!(rule, ";UNTIL={}", last.format("%Y%m%d"));
                    } else {
                        // The end of that day where the event happens, in UTC.
                        let end = last.and_hms_opt(23, 59, 59).unwrap_or_default();
                        let utc = zone
                            .from_local_datetime(&end)
                            .earliest()
                            .map_or(end, |t| t.with_timezone(&Utc).naive_utc());
                        let _ = write!(rule, ";UNTIL={}", utc.format("%Y%m%dT%H%M%SZ"));
                    }
                }
                Err(_) => errors.push("Give the date the repetition ends."),
            },
            "count" => match self.count.trim().parse::<u32>() {
                Ok(n @ 1..=5000) => {
                    let _ = write!(rule, ";COUNT={n}");
                }
                _ => errors.push("Repeat 1 to 5000 times."),
            },
            _ => {}
        }
        Some(rule)
    }
}

pub(crate) fn stamp() -> String {
    Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// A new calendar object holding one component.
pub fn new_object(component: Component) -> Component {
    let mut calendar = Component::new("VCALENDAR");
    calendar.properties = vec![
        Property::new("VERSION", "2.0"),
        Property::new("PRODID", almanac_ical::PRODID),
    ];
    calendar.components.push(component);
    calendar
}

pub fn new_uid() -> String {
    format!("{}@almanac", almanac_service::token::new_token())
}

/// The resource name an object made here with [`new_uid`] is stored under.
pub fn resource_name(uid: &str) -> String {
    format!("{}.ics", uid.trim_end_matches("@almanac"))
}

/// A new VEVENT from checked data.
pub fn new_event(uid: &str, data: &EventData) -> Component {
    let mut event = Component::new("VEVENT");
    event.properties = vec![
        Property::new("UID", uid),
        Property::new("DTSTAMP", stamp()),
        Property::new("CREATED", stamp()),
        Property::new("SEQUENCE", "0"),
    ];
    apply(&mut event, data, true);
    event
}

/// Writes the data's properties into an event (`with_rule`: a master).
fn apply(event: &mut Component, data: &EventData, with_rule: bool) {
    let replaced = [
        "SUMMARY",
        "LOCATION",
        "DESCRIPTION",
        "DTSTART",
        "DTEND",
        "DURATION",
        "LAST-MODIFIED",
        "DTSTAMP",
        "RRULE",
    ];
    event
        .properties
        .retain(|p| !replaced.iter().any(|r| p.name.eq_ignore_ascii_case(r)));
    event.properties.push(Property::new("DTSTAMP", stamp()));
    event
        .properties
        .push(Property::new("LAST-MODIFIED", stamp()));
    event.properties.push(Property::new(
        "SUMMARY",
        almanac_ical::escape_text(&data.title),
    ));
    if !data.location.is_empty() {
        event.properties.push(Property::new(
            "LOCATION",
            almanac_ical::escape_text(&data.location),
        ));
    }
    if !data.description.is_empty() {
        event.properties.push(Property::new(
            "DESCRIPTION",
            almanac_ical::escape_text(&data.description),
        ));
    }
    let (start, end) = times(data);
    event.properties.push(start);
    event.properties.push(end);
    // CONFIDENTIAL set by another app counts as private and is kept.
    if data.private != almanac_ical::privacy::is_private(event) {
        event
            .properties
            .retain(|p| !p.name.eq_ignore_ascii_case("CLASS"));
        if data.private {
            event.properties.push(Property::new("CLASS", "PRIVATE"));
        }
    }
    if with_rule {
        if let Some(rule) = &data.rule {
            event.properties.push(Property::new("RRULE", rule.clone()));
        }
    }
    crate::details::set_reminder(event, &data.reminder);
}

/// DTSTART and DTEND (exclusive end day for all-day events).
fn times(data: &EventData) -> (Property, Property) {
    match data.timing {
        Timing::AllDay(first, last) => {
            let after = last.succ_opt().unwrap_or(last);
            (
                Property::new("DTSTART", first.format("%Y%m%d").to_string())
                    .with_param("VALUE", "DATE"),
                Property::new("DTEND", after.format("%Y%m%d").to_string())
                    .with_param("VALUE", "DATE"),
            )
        }
        Timing::Timed(start, end) => {
            let at = |name: &str, t: NaiveDateTime| {
                if data.zone == Tz::UTC {
                    Property::new(name, t.format("%Y%m%dT%H%M%SZ").to_string())
                } else {
                    Property::new(name, t.format("%Y%m%dT%H%M%S").to_string())
                        .with_param("TZID", data.zone.name())
                }
            };
            (at("DTSTART", start), at("DTEND", end))
        }
    }
}

pub(crate) fn bump_sequence(event: &mut Component) {
    let next = event
        .property("SEQUENCE")
        .and_then(|p| p.value.trim().parse::<i64>().ok())
        .map_or(1, |n| n + 1);
    set_in_place(event, Property::new("SEQUENCE", next.to_string()));
}

/// Replaces the first property called like `property` where it stands (and
/// drops any repeat of it), or appends it.
pub(crate) fn set_in_place(component: &mut Component, property: Property) {
    let name = property.name.clone();
    let mut slot = Some(property);
    component.properties.retain_mut(|p| {
        if !p.name.eq_ignore_ascii_case(&name) {
            return true;
        }
        match slot.take() {
            Some(new) => {
                *p = new;
                true
            }
            None => false,
        }
    });
    if let Some(new) = slot {
        component.properties.push(new);
    }
}

/// The master component (the one without RECURRENCE-ID) of the object.
pub(crate) fn master_index(calendar: &Component, kind: &str) -> Option<usize> {
    calendar
        .components
        .iter()
        .position(|c| c.is(kind) && c.property("RECURRENCE-ID").is_none())
}

/// The whole series (or lone event) takes the new data.
pub fn edit_series(calendar: &mut Component, data: &EventData) -> bool {
    let Some(index) = master_index(calendar, "VEVENT") else {
        return false;
    };
    let master = &mut calendar.components[index];
    apply(master, data, true);
    bump_sequence(master);
    true
}

/// The value a RECURRENCE-ID or EXDATE must have to name the occurrence
/// that starts at `original` (UTC seconds), in the form of the master's
/// DTSTART (a date, a UTC time, or a local time with its TZID).
pub(crate) fn occurrence_id(
    master: &Component,
    original: i64,
    name: &str,
    floating: Tz,
) -> Option<Property> {
    let start = master.property("DTSTART")?;
    let utc = Utc.timestamp_opt(original, 0).single()?;
    if start.param("VALUE") == Some("DATE") || start.value.len() == 8 {
        let day = utc.with_timezone(&floating).date_naive();
        return Some(
            Property::new(name, day.format("%Y%m%d").to_string()).with_param("VALUE", "DATE"),
        );
    }
    if let Some(tzid) = start.param("TZID") {
        let zone = almanac_ical::timezone::named_zone(tzid)?;
        let local = utc.with_timezone(&zone).naive_local();
        return Some(
            Property::new(name, local.format("%Y%m%dT%H%M%S").to_string()).with_param("TZID", tzid),
        );
    }
    if start.value.ends_with('Z') {
        return Some(Property::new(
            name,
            utc.format("%Y%m%dT%H%M%SZ").to_string(),
        ));
    }
    let local = utc.with_timezone(&floating).naive_local();
    Some(Property::new(
        name,
        local.format("%Y%m%dT%H%M%S").to_string(),
    ))
}

fn same_value(a: &Property, b: &Property) -> bool {
    a.value == b.value
}

/// The override component of the occurrence `rid` names: found, or made
/// as a copy of the master (at `index`) without its series properties.
fn override_for(calendar: &mut Component, index: usize, rid: Property) -> usize {
    let existing = calendar.components.iter().position(|c| {
        c.is("VEVENT")
            && c.property("RECURRENCE-ID")
                .is_some_and(|r| same_value(r, &rid))
    });
    if let Some(position) = existing {
        return position;
    }
    let mut copy = calendar.components[index].clone();
    let series_only = ["RRULE", "RDATE", "EXDATE", "EXRULE"];
    copy.properties
        .retain(|p| !series_only.iter().any(|s| p.name.eq_ignore_ascii_case(s)));
    copy.properties.push(rid);
    calendar.components.push(copy);
    calendar.components.len() - 1
}

/// The component a change to `occurrence` (or to the lone event, `None`)
/// goes to: the master, or the occurrence's override (made if needed).
pub fn target_for(
    calendar: &mut Component,
    occurrence: Option<i64>,
    floating: Tz,
) -> Option<usize> {
    let index = master_index(calendar, "VEVENT")?;
    let Some(original) = occurrence else {
        return Some(index);
    };
    let rid = occurrence_id(
        &calendar.components[index],
        original,
        "RECURRENCE-ID",
        floating,
    )?;
    Some(override_for(calendar, index, rid))
}

/// One occurrence takes the new data: its override is made or updated.
pub fn edit_occurrence(
    calendar: &mut Component,
    original: i64,
    data: &EventData,
    floating: Tz,
) -> bool {
    let Some(position) = target_for(calendar, Some(original), floating) else {
        return false;
    };
    let occurrence = &mut calendar.components[position];
    apply(occurrence, data, false);
    bump_sequence(occurrence);
    true
}

/// Cancels one occurrence: an EXDATE on the master, and its override goes.
pub fn delete_occurrence(calendar: &mut Component, original: i64, floating: Tz) -> bool {
    let Some(index) = master_index(calendar, "VEVENT") else {
        return false;
    };
    let Some(exdate) = occurrence_id(&calendar.components[index], original, "EXDATE", floating)
    else {
        return false;
    };
    calendar.components.retain(|c| {
        !(c.is("VEVENT")
            && c.property("RECURRENCE-ID")
                .is_some_and(|r| r.value == exdate.value))
    });
    if let Some(index) = master_index(calendar, "VEVENT") {
        let master = &mut calendar.components[index];
        master.properties.push(exdate);
        bump_sequence(master);
    }
    true
}

/// A copy of a calendar object under a new UID: each component (the series
/// and its overrides) keeps everything but its UID, stamps and sequence.
pub fn duplicate(calendar: &Component, uid: &str) -> Component {
    let mut copy = calendar.clone();
    for component in copy
        .components
        .iter_mut()
        .filter(|c| c.property("UID").is_some())
    {
        // A copy is a new event of one's own: nobody is invited to it
        // until the person adds guests and saves.
        component
            .properties
            .retain(|p| p.name != "ATTENDEE" && p.name != "ORGANIZER");
        set_in_place(component, Property::new("UID", uid));
        set_in_place(component, Property::new("DTSTAMP", stamp()));
        if component.property("CREATED").is_some() {
            set_in_place(component, Property::new("CREATED", stamp()));
        }
        set_in_place(component, Property::new("SEQUENCE", "0"));
    }
    copy
}

/// A new task with an optional due date.
pub fn new_task(uid: &str, title: &str, due: Option<NaiveDate>) -> Component {
    let mut task = Component::new("VTODO");
    task.properties = vec![
        Property::new("UID", uid),
        Property::new("DTSTAMP", stamp()),
        Property::new("CREATED", stamp()),
        Property::new("SUMMARY", almanac_ical::escape_text(title)),
        Property::new("STATUS", "NEEDS-ACTION"),
    ];
    if let Some(due) = due {
        task.properties.push(
            Property::new("DUE", due.format("%Y%m%d").to_string()).with_param("VALUE", "DATE"),
        );
    }
    task
}

/// What the task form edits.
pub struct TaskEdit<'a> {
    pub title: &'a str,
    pub due: Option<NaiveDate>,
    pub notes: &'a str,
    /// RFC 5545 PRIORITY: 1 high, 5 medium, 9 low, 0 none.
    pub priority: u8,
}

/// The task takes the form's title, due date, notes and priority; a due
/// time another app set stays when the day is the same.
pub fn edit_task(calendar: &mut Component, edit: &TaskEdit<'_>) -> bool {
    let Some(index) = master_index(calendar, "VTODO") else {
        return false;
    };
    let task = &mut calendar.components[index];
    set_in_place(
        task,
        Property::new("SUMMARY", almanac_ical::escape_text(edit.title)),
    );
    let same_day = |p: &Property| {
        p.value.get(..8) == edit.due.map(|d| d.format("%Y%m%d").to_string()).as_deref()
    };
    match edit.due {
        Some(_) if task.property("DUE").is_some_and(same_day) => {}
        Some(due) => set_in_place(
            task,
            Property::new("DUE", due.format("%Y%m%d").to_string()).with_param("VALUE", "DATE"),
        ),
        None => task
            .properties
            .retain(|p| !p.name.eq_ignore_ascii_case("DUE")),
    }
    let notes = edit.notes.trim();
    if notes.is_empty() {
        task.properties
            .retain(|p| !p.name.eq_ignore_ascii_case("DESCRIPTION"));
    } else {
        set_in_place(
            task,
            Property::new("DESCRIPTION", almanac_ical::escape_text(notes)),
        );
    }
    if edit.priority == 0 {
        task.properties
            .retain(|p| !p.name.eq_ignore_ascii_case("PRIORITY"));
    } else {
        set_in_place(task, Property::new("PRIORITY", edit.priority.to_string()));
    }
    set_in_place(task, Property::new("DTSTAMP", stamp()));
    set_in_place(task, Property::new("LAST-MODIFIED", stamp()));
    bump_sequence(task);
    true
}

/// Marks the task done or open again, as clients do.
pub fn set_task_done(calendar: &mut Component, done: bool) -> bool {
    let Some(index) = master_index(calendar, "VTODO") else {
        return false;
    };
    let task = &mut calendar.components[index];
    let touched = [
        "STATUS",
        "COMPLETED",
        "PERCENT-COMPLETE",
        "DTSTAMP",
        "LAST-MODIFIED",
    ];
    task.properties
        .retain(|p| !touched.iter().any(|t| p.name.eq_ignore_ascii_case(t)));
    task.properties.push(Property::new("DTSTAMP", stamp()));
    task.properties
        .push(Property::new("LAST-MODIFIED", stamp()));
    if done {
        task.properties.push(Property::new("STATUS", "COMPLETED"));
        task.properties.push(Property::new("COMPLETED", stamp()));
        task.properties
            .push(Property::new("PERCENT-COMPLETE", "100"));
    } else {
        task.properties
            .push(Property::new("STATUS", "NEEDS-ACTION"));
    }
    true
}

/// The form's fields for an existing occurrence (or event), in `zone`.
pub fn form_for(
    component: &Component,
    start: chrono::DateTime<Tz>,
    end: chrono::DateTime<Tz>,
    all_day: bool,
) -> EventForm {
    let text = |name| crate::occurrences::text_value(component, name);
    let mut form = EventForm {
        title: text("SUMMARY"),
        location: text("LOCATION"),
        description: text("DESCRIPTION"),
        private: if almanac_ical::privacy::is_private(component) {
            "yes".to_owned()
        } else {
            String::new()
        },
        tz: component
            .property("DTSTART")
            .and_then(|p| p.param("TZID"))
            .and_then(almanac_ical::timezone::named_zone)
            .map_or_else(
                || start.timezone().name().to_owned(),
                |z| z.name().to_owned(),
            ),
        start_date: start.format("%Y-%m-%d").to_string(),
        start_time: start.format("%H:%M").to_string(),
        end_time: end.format("%H:%M").to_string(),
        ..EventForm::default()
    };
    // Show times in the event's own zone when it has one.
    if let Some(zone) = almanac_ical::timezone::named_zone(&form.tz) {
        let (s, e) = (start.with_timezone(&zone), end.with_timezone(&zone));
        form.start_date = s.format("%Y-%m-%d").to_string();
        form.start_time = s.format("%H:%M").to_string();
        form.end_time = e.format("%H:%M").to_string();
        form.end_date = e.format("%Y-%m-%d").to_string();
    }
    if all_day {
        "yes".clone_into(&mut form.all_day);
        let last = (end - Duration::days(1)).max(start);
        form.end_date = last.format("%Y-%m-%d").to_string();
    }
    if let Some(rule) = component.property("RRULE") {
        fill_rule(&mut form, &rule.value);
    }
    form.reminder = crate::details::reminder_choice(component);
    form.guests = Some(almanac_service::invitations::guests(component).join(", "));
    form.people = crate::details::people(component);
    form.reminders = crate::details::reminders(component);
    form
}

fn fill_rule(form: &mut EventForm, rule: &str) {
    "never".clone_into(&mut form.ends);
    for part in rule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.to_ascii_uppercase().as_str() {
            "FREQ" => form.repeat = value.to_ascii_lowercase(),
            "INTERVAL" => value.clone_into(&mut form.interval),
            "COUNT" => {
                "count".clone_into(&mut form.ends);
                value.clone_into(&mut form.count);
            }
            "UNTIL" => {
                "until".clone_into(&mut form.ends);
                if let Some(day) = value
                    .get(..8)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
                {
                    form.until = day.format("%Y-%m-%d").to_string();
                }
            }
            "BYDAY" => {
                for day in value.split(',') {
                    let day = day
                        .trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
                    let slot = match day {
                        "MO" => &mut form.day_mo,
                        "TU" => &mut form.day_tu,
                        "WE" => &mut form.day_we,
                        "TH" => &mut form.day_th,
                        "FR" => &mut form.day_fr,
                        "SA" => &mut form.day_sa,
                        "SU" => &mut form.day_su,
                        _ => continue,
                    };
                    "yes".clone_into(slot);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_ical::{EvalContext, TimeSpan};

    fn form() -> EventForm {
        EventForm {
            title: "Team, sync; weekly".into(),
            start_date: "2026-03-02".into(),
            start_time: "09:30".into(),
            end_time: "10:00".into(),
            tz: "Europe/Berlin".into(),
            repeat: "weekly".into(),
            day_mo: "yes".into(),
            day_we: "yes".into(),
            ends: "count".into(),
            count: "4".into(),
            ..EventForm::default()
        }
    }

    fn starts(calendar: &Component) -> Vec<i64> {
        let ctx = EvalContext {
            floating_tz: None,
            max_instances: 100,
        };
        almanac_ical::instances(calendar, Some(TimeSpan::ALL), &ctx)
            .iter()
            .map(|i| i.start)
            .collect()
    }

    #[test]
    fn private_is_class_private_and_another_app_s_confidential_is_kept() {
        let private = EventForm {
            private: "yes".into(),
            ..form()
        };
        let mut event = new_event("u2", &private.check().unwrap());
        assert_eq!(
            event.property("CLASS").map(|p| p.value.as_str()),
            Some("PRIVATE")
        );
        event
            .properties
            .retain(|p| !p.name.eq_ignore_ascii_case("CLASS"));
        event
            .properties
            .push(Property::new("CLASS", "CONFIDENTIAL"));
        apply(&mut event, &private.check().unwrap(), true);
        assert_eq!(
            event.property("CLASS").map(|p| p.value.as_str()),
            Some("CONFIDENTIAL"),
            "still private, in the other app's words"
        );
        apply(&mut event, &form().check().unwrap(), true);
        assert!(event.property("CLASS").is_none(), "unchecked: public again");
    }

    #[test]
    fn a_weekly_event_from_the_form() {
        let data = form().check().unwrap();
        assert_eq!(
            data.rule.as_deref(),
            Some("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4")
        );
        let calendar = new_object(new_event("u1", &data));
        let text = calendar.to_ics();
        assert!(text.contains("SUMMARY:Team\\, sync\\; weekly"), "{text}");
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20260302T093000"),
            "{text}"
        );
        let reparsed = almanac_ical::parse(&text, &almanac_ical::ParseLimits::default()).unwrap();
        // Mon 2 Mar, Wed 4 Mar, Mon 9, Wed 11 at 08:30 UTC.
        assert_eq!(
            starts(&reparsed),
            vec![1_772_440_200, 1_772_613_000, 1_773_045_000, 1_773_217_800]
        );
    }

    #[test]
    fn moving_and_cancelling_one_occurrence() {
        let data = form().check().unwrap();
        let mut calendar = new_object(new_event("u1", &data));
        let mut moved = data.clone();
        moved.rule = None;
        moved.timing = Timing::Timed(
            NaiveDate::from_ymd_opt(2026, 3, 5)
                .unwrap()
                .and_hms_opt(14, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 5)
                .unwrap()
                .and_hms_opt(15, 0, 0)
                .unwrap(),
        );
        assert!(edit_occurrence(
            &mut calendar,
            1_772_613_000,
            &moved,
            Tz::UTC
        ));
        let text = calendar.to_ics();
        assert!(
            text.contains("RECURRENCE-ID;TZID=Europe/Berlin:20260304T093000"),
            "{text}"
        );
        let reparsed = almanac_ical::parse(&text, &almanac_ical::ParseLimits::default()).unwrap();
        // Thu 5 Mar 14:00 Berlin = 13:00 UTC replaces Wed 4 Mar.
        assert_eq!(
            starts(&reparsed),
            vec![1_772_440_200, 1_772_715_600, 1_773_045_000, 1_773_217_800]
        );
        assert!(delete_occurrence(&mut calendar, 1_772_613_000, Tz::UTC));
        assert!(delete_occurrence(&mut calendar, 1_773_045_000, Tz::UTC));
        let text = calendar.to_ics();
        let reparsed = almanac_ical::parse(&text, &almanac_ical::ParseLimits::default()).unwrap();
        assert_eq!(
            starts(&reparsed),
            vec![1_772_440_200, 1_773_217_800],
            "{text}"
        );
    }

    #[test]
    fn form_errors_are_sentences() {
        let bad = EventForm {
            tz: "Mars/Olympus".into(),
            start_date: "soon".into(),
            ..EventForm::default()
        };
        let errors = bad.check().unwrap_err();
        assert!(errors.len() >= 3, "{errors:?}");
        let backwards = EventForm {
            end_date: "2026-03-01".into(),
            repeat: "none".into(),
            ..form()
        };
        assert!(backwards.check().is_err());
    }

    #[test]
    fn all_day_events_end_the_next_day() {
        let data = EventForm {
            all_day: "yes".into(),
            end_date: "2026-03-03".into(),
            repeat: "none".into(),
            ..form()
        }
        .check()
        .unwrap();
        let text = new_object(new_event("u2", &data)).to_ics();
        assert!(
            text.contains("DTSTART;VALUE=DATE:20260302")
                && text.contains("DTEND;VALUE=DATE:20260304"),
            "{text}"
        );
    }

    #[test]
    fn the_form_reads_a_rule_back() {
        let mut form = EventForm::default();
        fill_rule(
            &mut form,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR;UNTIL=20261231T235959Z",
        );
        assert_eq!(
            (form.repeat.as_str(), form.interval.as_str()),
            ("weekly", "2")
        );
        assert_eq!(
            (
                form.day_tu.as_str(),
                form.day_fr.as_str(),
                form.until.as_str()
            ),
            ("yes", "yes", "2026-12-31")
        );
    }
}
