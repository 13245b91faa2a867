//! Scheduling (RFC 6638, iTIP RFC 5546) on the object tree: who organizes
//! and who attends, what of an object counts as a change worth telling
//! attendees (also what its Schedule-Tag is made of), the copies and
//! messages implicit scheduling sends, and an answer applied to the
//! organizer's copy. No I/O: the service decides who is local.

use crate::model::{Component, Property};

/// The components that carry ORGANIZER and ATTENDEE for scheduling.
fn is_scheduled(component: &Component) -> bool {
    component.is("VEVENT") || component.is("VTODO")
}

fn scheduled(calendar: &Component) -> impl Iterator<Item = &Component> {
    calendar.components.iter().filter(|c| is_scheduled(c))
}

/// A calendar user address as written in ORGANIZER or ATTENDEE, without
/// `mailto:` and lower-case, so that two spellings of one address compare
/// equal.
pub fn address(property: &Property) -> String {
    let value = property.value.trim();
    value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(value, |_| &value[7..])
        .to_ascii_lowercase()
}

pub fn uid(calendar: &Component) -> Option<String> {
    scheduled(calendar)
        .find_map(|c| c.property("UID"))
        .map(|p| p.value.trim().to_owned())
}

/// The organizer's address, if any component names one.
pub fn organizer(calendar: &Component) -> Option<String> {
    scheduled(calendar)
        .find_map(|c| c.property("ORGANIZER"))
        .map(address)
}

/// RFC 6638 §3.2.4.2: every component names the same organizer (or none does).
pub fn same_organizer_everywhere(calendar: &Component) -> bool {
    let mut organizers = scheduled(calendar).map(|c| c.property("ORGANIZER").map(address));
    let Some(first) = organizers.next() else {
        return true;
    };
    organizers.all(|o| o == first)
}

/// Whether the server handles scheduling for this ATTENDEE or ORGANIZER
/// (SCHEDULE-AGENT absent or SERVER).
fn server_schedules(property: &Property) -> bool {
    property
        .param("SCHEDULE-AGENT")
        .is_none_or(|agent| agent.eq_ignore_ascii_case("SERVER"))
}

/// Whether the organizer wants the server to answer for attendees.
pub fn organizer_lets_server_reply(calendar: &Component) -> bool {
    scheduled(calendar)
        .find_map(|c| c.property("ORGANIZER"))
        .is_some_and(server_schedules)
}

/// The attendees the server sends messages to: every ATTENDEE but the
/// organizer and those a client schedules for itself, each once.
pub fn server_attendees(calendar: &Component) -> Vec<String> {
    let organizer = organizer(calendar);
    let mut found: Vec<String> = Vec::new();
    for component in scheduled(calendar) {
        for attendee in component.properties_named("ATTENDEE") {
            let who = address(attendee);
            if Some(&who) != organizer.as_ref()
                && server_schedules(attendee)
                && !found.contains(&who)
            {
                found.push(who);
            }
        }
    }
    found
}

/// Whether `who` is listed as an ATTENDEE anywhere.
pub fn lists_attendee(calendar: &Component, who: &str) -> bool {
    scheduled(calendar).any(|c| c.properties_named("ATTENDEE").any(|a| address(a) == who))
}

/// Parameters that only say how scheduling went or how one attendee
/// answered: none of them is a change the organizer makes.
const ANSWER_PARAMS: [&str; 4] = ["PARTSTAT", "RSVP", "SCHEDULE-STATUS", "SCHEDULE-FORCE-SEND"];

/// The object as the organizer's decisions make it: without answers,
/// scheduling status, alarms, stamps, transparency and X- properties.
/// Two versions with the same text need no new REQUEST, and the
/// Schedule-Tag is a hash of it (so an attendee's answer, or the server
/// recording one, leaves the tag alone — RFC 6638 §3.2.10).
pub fn significant_text(calendar: &Component) -> String {
    significant(calendar, &[]).to_ics()
}

fn significant(calendar: &Component, also_ignored: &[&str]) -> Component {
    let mut copy = Component::new("VCALENDAR");
    for component in scheduled(calendar) {
        let mut c = Component::new(&component.name);
        for property in &component.properties {
            let name = property.name.as_str();
            if ["DTSTAMP", "LAST-MODIFIED", "TRANSP", "SEQUENCE"].contains(&name)
                || also_ignored.contains(&name)
                || name.starts_with("X-")
            {
                continue;
            }
            let mut p = property.clone();
            p.params.retain(|param| {
                !ANSWER_PARAMS.contains(&param.name.as_str()) && !param.name.starts_with("X-")
            });
            c.properties.push(p);
        }
        c.properties
            .sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
        copy.components.push(c);
    }
    copy.components
        .sort_by_key(|c| c.property("RECURRENCE-ID").map(|p| p.value.clone()));
    copy
}

/// Whether an attendee's new version of their copy changes only what an
/// attendee may change (RFC 6638 §3.2.2.1): their answer, alarms,
/// transparency, X- properties, excluded occurrences and overrides they add.
pub fn attendee_change_allowed(old: &Component, new: &Component) -> bool {
    let organizer = organizer(old);
    let old = significant(old, &["EXDATE"]);
    let new = significant(new, &["EXDATE"]);
    let kept = old.components.iter().all(|before| {
        let id = before.property("RECURRENCE-ID").map(|p| &p.value);
        new.components
            .iter()
            .find(|after| after.property("RECURRENCE-ID").map(|p| &p.value) == id)
            .is_some_and(|after| after == before)
    });
    kept && new
        .components
        .iter()
        .all(|c| c.property("ORGANIZER").map(address) == organizer)
}

/// `who`'s answers: (RECURRENCE-ID, PARTSTAT) of each component listing them.
pub fn answers_of(calendar: &Component, who: &str) -> Vec<(Option<String>, String)> {
    scheduled(calendar)
        .filter_map(|c| {
            let attendee = c.properties_named("ATTENDEE").find(|a| address(a) == who)?;
            Some((
                c.property("RECURRENCE-ID").map(|p| p.value.clone()),
                attendee
                    .param("PARTSTAT")
                    .unwrap_or("NEEDS-ACTION")
                    .to_ascii_uppercase(),
            ))
        })
        .collect()
}

/// The PARTSTAT of each server-scheduled attendee, by component.
fn answer_table(calendar: &Component) -> Vec<(Option<String>, String, String)> {
    let organizer = organizer(calendar);
    scheduled(calendar)
        .flat_map(|c| {
            let id = c
                .property("RECURRENCE-ID")
                .map(|p| p.value.trim().to_owned());
            c.properties_named("ATTENDEE")
                .filter(|a| server_schedules(a) && Some(address(a)) != organizer)
                .map(move |a| {
                    let partstat = a
                        .param("PARTSTAT")
                        .unwrap_or("NEEDS-ACTION")
                        .to_ascii_uppercase();
                    (id.clone(), address(a), partstat)
                })
        })
        .collect()
}

/// An attendee whose answer the organizer's new version makes up (RFC
/// 6638 §3.2.4.3): listed before with one answer, now with another that
/// only the attendee can give.
pub fn forged_answer(old: &Component, new: &Component) -> Option<String> {
    let before = answer_table(old);
    answer_table(new)
        .into_iter()
        .find_map(|(id, who, partstat)| {
            let previous = before.iter().find(|(i, w, _)| *i == id && *w == who)?;
            (partstat != previous.2 && partstat != "NEEDS-ACTION").then_some(who)
        })
}

/// Puts the answers recorded in `old` back into `new` (an organizer's
/// version that changed nothing attendees see, from a client that had not
/// seen the latest answers yet).
pub fn keep_answers(old: &Component, new: &mut Component) {
    let before = answer_table(old);
    for component in new.components.iter_mut().filter(|c| is_scheduled(c)) {
        let id = component
            .property("RECURRENCE-ID")
            .map(|p| p.value.trim().to_owned());
        for attendee in component
            .properties
            .iter_mut()
            .filter(|p| p.name == "ATTENDEE")
        {
            let who = address(attendee);
            if let Some((_, _, partstat)) = before.iter().find(|(i, w, _)| *i == id && *w == who) {
                attendee.remove_param("PARTSTAT");
                *attendee = attendee.clone().with_param("PARTSTAT", partstat);
            }
        }
    }
}

/// Sets `who`'s PARTSTAT in every component that lists them; false when
/// none does.
pub fn set_answer(calendar: &mut Component, who: &str, partstat: &str) -> bool {
    let mut listed = false;
    for component in calendar.components.iter_mut().filter(|c| is_scheduled(c)) {
        for attendee in component
            .properties
            .iter_mut()
            .filter(|p| p.name == "ATTENDEE" && address(p) == who)
        {
            attendee.remove_param("PARTSTAT");
            attendee.remove_param("RSVP");
            *attendee = attendee.clone().with_param("PARTSTAT", partstat);
            listed = true;
        }
    }
    listed
}

/// What SCHEDULE-FORCE-SEND asked for, removed from the object as RFC 6638
/// §7.2 requires: (attendees to send a REQUEST to anyway, whether a REPLY
/// must go to the organizer anyway).
pub fn take_force_send(calendar: &mut Component) -> (Vec<String>, bool) {
    let mut requests = Vec::new();
    let mut reply = false;
    for component in calendar.components.iter_mut().filter(|c| is_scheduled(c)) {
        for property in &mut component.properties {
            let Some(force) = property
                .param("SCHEDULE-FORCE-SEND")
                .map(str::to_ascii_uppercase)
            else {
                continue;
            };
            if property.name == "ATTENDEE" && force == "REQUEST" {
                requests.push(address(property));
            } else if property.name == "ORGANIZER" && force == "REPLY" {
                reply = true;
            }
            property.remove_param("SCHEDULE-FORCE-SEND");
        }
    }
    (requests, reply)
}

/// Sets SCHEDULE-STATUS on the ATTENDEE lines of `who` (or on ORGANIZER
/// when `who` is the organizer).
pub fn set_schedule_status(calendar: &mut Component, who: &str, status: &str) {
    for component in calendar.components.iter_mut().filter(|c| is_scheduled(c)) {
        for property in &mut component.properties {
            if (property.name == "ATTENDEE" || property.name == "ORGANIZER")
                && address(property) == who
            {
                property.remove_param("SCHEDULE-STATUS");
                *property = property.clone().with_param("SCHEDULE-STATUS", status);
            }
        }
    }
}

/// The attendee's copy of the organizer's object: the components that
/// list them (with the time zones), without the organizer's alarms and
/// scheduling status; the attendee's own alarms from `previous` are kept.
/// `None` when no component lists them.
pub fn attendee_copy(
    organizer_copy: &Component,
    who: &str,
    previous: Option<&Component>,
) -> Option<Component> {
    let mut copy = Component::new("VCALENDAR");
    copy.properties = organizer_copy
        .properties
        .iter()
        .filter(|p| p.name != "METHOD")
        .cloned()
        .collect();
    for component in &organizer_copy.components {
        if !is_scheduled(component) {
            copy.components.push(component.clone());
            continue;
        }
        if !component
            .properties_named("ATTENDEE")
            .any(|a| address(a) == who)
        {
            continue;
        }
        let mut c = component.clone();
        c.components.retain(|sub| !sub.is("VALARM"));
        for property in &mut c.properties {
            property.remove_param("SCHEDULE-STATUS");
            property.remove_param("SCHEDULE-FORCE-SEND");
        }
        let id = c.property("RECURRENCE-ID").map(|p| p.value.clone());
        if let Some(before) = previous.and_then(|p| {
            scheduled(p).find(|b| b.property("RECURRENCE-ID").map(|p| p.value.clone()) == id)
        }) {
            c.components
                .extend(before.components.iter().filter(|s| s.is("VALARM")).cloned());
        }
        copy.components.push(c);
    }
    let any = scheduled(&copy).next().is_some();
    any.then_some(copy)
}

/// The iTIP message: the object's components (without alarms, which are
/// the sender's own) and time zones, under METHOD; a CANCEL marks the
/// components cancelled.
pub fn message(calendar: &Component, method: &str) -> Component {
    let mut message = Component::new("VCALENDAR");
    message.properties = vec![
        Property::new("VERSION", "2.0"),
        Property::new("PRODID", crate::bundle::PRODID),
        Property::new("METHOD", method),
    ];
    for component in &calendar.components {
        let mut copy = component.clone();
        copy.components.retain(|c| !c.is("VALARM"));
        if method == "CANCEL" && is_scheduled(&copy) {
            copy.properties.retain(|p| p.name != "STATUS");
            copy.properties.push(Property::new("STATUS", "CANCELLED"));
        }
        message.components.push(copy);
    }
    message
}

/// An attendee's copy marked cancelled, as a CANCEL leaves it.
pub fn cancelled(calendar: &Component) -> Component {
    let mut copy = calendar.clone();
    for component in copy.components.iter_mut().filter(|c| is_scheduled(c)) {
        component.properties.retain(|p| p.name != "STATUS");
        component
            .properties
            .push(Property::new("STATUS", "CANCELLED"));
    }
    copy
}

pub fn is_cancelled(calendar: &Component) -> bool {
    scheduled(calendar)
        .filter(|c| c.property("RECURRENCE-ID").is_none())
        .any(|c| {
            c.property("STATUS")
                .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("CANCELLED"))
        })
}

/// `who`'s REPLY (RFC 5546 §3.2.3) from their copy: each component with
/// only their own ATTENDEE line; `decline` answers DECLINED everywhere
/// (their copy was deleted).
pub fn reply(attendee_copy: &Component, who: &str, decline: bool) -> Component {
    let mut reply = message(attendee_copy, "REPLY");
    reply
        .components
        .retain(|c| !is_scheduled(c) || c.properties_named("ATTENDEE").any(|a| address(a) == who));
    for component in reply.components.iter_mut().filter(|c| is_scheduled(c)) {
        component
            .properties
            .retain(|p| p.name != "ATTENDEE" || address(p) == who);
        for property in component
            .properties
            .iter_mut()
            .filter(|p| p.name == "ATTENDEE")
        {
            property.remove_param("SCHEDULE-STATUS");
            property.remove_param("RSVP");
            if decline {
                property.remove_param("PARTSTAT");
                *property = property.clone().with_param("PARTSTAT", "DECLINED");
            }
        }
    }
    reply
}

/// Applies the answers of a REPLY to the organizer's copy: each replying
/// attendee's PARTSTAT in the component with the same RECURRENCE-ID, and
/// SCHEDULE-STATUS 2.0 (delivered). Gives (attendee, PARTSTAT) of each
/// answer applied.
pub fn apply_reply(organizer_copy: &mut Component, reply: &Component) -> Vec<(String, String)> {
    let mut applied = Vec::new();
    for answer in scheduled(reply) {
        let id = answer
            .property("RECURRENCE-ID")
            .map(|p| p.value.trim().to_owned());
        let found = organizer_copy.components.iter().position(|c| {
            is_scheduled(c)
                && c.property("RECURRENCE-ID")
                    .map(|p| p.value.trim().to_owned())
                    == id
        });
        let index = match (found, answer.property("RECURRENCE-ID")) {
            (Some(index), _) => index,
            // An answer for one occurrence of the series only: that
            // occurrence gets its own component to carry it.
            (None, Some(recurrence_id)) => {
                let Some(occurrence) = scheduled(organizer_copy)
                    .find(|c| c.property("RECURRENCE-ID").is_none())
                    .and_then(|master| occurrence_of(master, recurrence_id))
                else {
                    continue;
                };
                organizer_copy.components.push(occurrence);
                organizer_copy.components.len() - 1
            }
            (None, None) => continue,
        };
        let target = &mut organizer_copy.components[index];
        for from in answer.properties_named("ATTENDEE") {
            let who = address(from);
            let partstat = from
                .param("PARTSTAT")
                .unwrap_or("NEEDS-ACTION")
                .to_ascii_uppercase();
            for attendee in target
                .properties
                .iter_mut()
                .filter(|p| p.name == "ATTENDEE" && address(p) == who)
            {
                attendee.remove_param("PARTSTAT");
                attendee.remove_param("RSVP");
                attendee.remove_param("SCHEDULE-STATUS");
                *attendee = attendee
                    .clone()
                    .with_param("PARTSTAT", &partstat)
                    .with_param("SCHEDULE-STATUS", "2.0");
                applied.push((who.clone(), partstat.clone()));
            }
        }
    }
    applied
}

/// One occurrence of a series as a component of its own (an override):
/// the master without its recurrence rules, starting at `recurrence_id`,
/// as long as the master lasts. `None` when the master's times are unclear.
fn occurrence_of(master: &Component, recurrence_id: &Property) -> Option<Component> {
    let start = crate::value::property_time(master.property("DTSTART")?)?;
    let length = master
        .property("DTEND")
        .and_then(crate::value::property_time)
        .map(|end| (end.local() - start.local()).num_seconds());
    let mut occurrence = master.clone();
    occurrence.properties.retain(|p| {
        ![
            "RRULE",
            "RDATE",
            "EXDATE",
            "DTSTART",
            "DTEND",
            "RECURRENCE-ID",
        ]
        .contains(&p.name.as_str())
    });
    let mut dtstart = recurrence_id.clone();
    dtstart.name = "DTSTART".to_owned();
    occurrence.properties.push(dtstart);
    let mut id = recurrence_id.clone();
    id.name = "RECURRENCE-ID".to_owned();
    occurrence.properties.push(id);
    if let Some(seconds) = length.filter(|s| *s >= 0) {
        let duration = if start.is_date() {
            format!("P{}D", seconds / 86_400)
        } else {
            format!("PT{seconds}S")
        };
        occurrence
            .properties
            .push(Property::new("DURATION", duration));
    }
    Some(occurrence)
}

/// The answer to a free-busy request (RFC 6638 §5, RFC 5546 §3.3.2):
/// `freebusy` (a VFREEBUSY of busy periods) under METHOD:REPLY, with the
/// request's UID and ORGANIZER and the recipient as ATTENDEE.
pub fn freebusy_reply(
    mut freebusy: Component,
    (uid, organizer, attendee): (Option<&str>, Option<&Property>, &str),
) -> String {
    if let Some(uid) = uid {
        freebusy.properties.push(Property::new("UID", uid));
    }
    if let Some(organizer) = organizer {
        freebusy.properties.push(organizer.clone());
    }
    freebusy
        .properties
        .push(Property::new("ATTENDEE", attendee));
    let mut reply = message(&Component::new("VCALENDAR"), "REPLY");
    reply.components.push(freebusy);
    reply.to_ics()
}

#[cfg(test)]
mod tests;
