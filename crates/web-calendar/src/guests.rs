//! Guests on the event form: the event's ATTENDEEs set from the list of
//! addresses (answers kept for those who stay), the owner as ORGANIZER.
//! What a change sends goes out with its write (`scope::store_object`).

use almanac_ical::{Component, Property};
use almanac_service::invitations::{self, address, guests};
use almanac_service::AppState;
use almanac_store::User;

/// Who is new on the guest list.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GuestChange {
    pub invited: Vec<String>,
}

/// Sets the guests of the event to `wanted` — in the series and in each
/// occurrence changed on its own, so that a guest taken off is off every
/// meeting and a new one is on all of them — the owner as organizer while
/// there are any.
pub fn set_guests(calendar: &mut Component, wanted: &[String], owner: &User) -> GuestChange {
    let Some(master) = calendar
        .components
        .iter()
        .find(|c| c.is("VEVENT") && c.property("RECURRENCE-ID").is_none())
    else {
        return GuestChange::default();
    };
    let before = guests(master);
    let change = GuestChange {
        invited: wanted
            .iter()
            .filter(|w| !before.contains(w))
            .cloned()
            .collect(),
    };
    for event in calendar.components.iter_mut().filter(|c| c.is("VEVENT")) {
        let organizer = event.property("ORGANIZER").map(address);
        event.properties.retain(|p| {
            !p.name.eq_ignore_ascii_case("ATTENDEE")
                || Some(address(p)) == organizer
                || wanted.contains(&address(p))
        });
        let listed = guests(event);
        for guest in wanted.iter().filter(|w| !listed.contains(w)) {
            event.properties.push(
                Property::new("ATTENDEE", format!("mailto:{guest}"))
                    .with_param("CUTYPE", "INDIVIDUAL")
                    .with_param("ROLE", "REQ-PARTICIPANT")
                    .with_param("PARTSTAT", "NEEDS-ACTION")
                    .with_param("RSVP", "TRUE"),
            );
        }
        if !wanted.is_empty() && organizer.is_none() {
            event.properties.push(
                Property::new("ORGANIZER", format!("mailto:{}", owner.email))
                    .with_param("CN", &owner.name),
            );
        }
    }
    change
}

/// What the form says when the account's invitations for the hour are used up.
pub const TOO_MANY: &str = "You have sent 100 invitations in the last hour, the most an account may. Save the event without new guests, or add them later.";

/// Before a save: whether the account may still invite the new guests.
pub async fn allowed(state: &AppState, owner: &User, change: &GuestChange) -> bool {
    change.invited.is_empty()
        || invitations::fit_allowance(state, owner, change.invited.len())
            .await
            .unwrap_or(false)
}

/// How many recent events the suggestions come from, at most.
const SUGGESTIONS_FROM: i64 = 200;

/// Addresses the owner invited before, newest events first (at most 50),
/// for the "Add an earlier guest" list.
pub async fn earlier(state: &AppState, owner: &User) -> Vec<String> {
    let recent = state
        .store
        .recent_objects(owner.id, SUGGESTIONS_FROM)
        .await
        .unwrap_or_default();
    let me = owner.email.to_ascii_lowercase();
    let mut found: Vec<String> = Vec::new();
    for data in recent
        .iter()
        .filter(|d| almanac_service::scheduling::may_schedule(d))
    {
        let Some(calendar) = std::str::from_utf8(data)
            .ok()
            .and_then(|t| almanac_ical::parse(t, &almanac_ical::ParseLimits::default()).ok())
        else {
            continue;
        };
        for guest in almanac_ical::scheduling::server_attendees(&calendar) {
            if guest != me && guest.contains('@') && !found.contains(&guest) && found.len() < 50 {
                found.push(guest);
            }
        }
    }
    found.sort();
    found
}

/// The guests with an account here who have something else during
/// `start..end` (their free-busy time, as their outbox would answer it;
/// this event itself left out).
pub async fn busy_then(
    state: &AppState,
    owner: &User,
    event: &Component,
    (start, end): (i64, i64),
) -> Vec<String> {
    let uid = almanac_ical::scheduling::uid(event);
    let range = almanac_ical::TimeSpan {
        start,
        end: end.max(start + 1),
    };
    let mut busy = Vec::new();
    for guest in almanac_ical::scheduling::server_attendees(event) {
        let Ok(Some(user)) = almanac_service::scheduling::local_user(state, &guest).await else {
            continue;
        };
        if user.id == owner.id {
            continue;
        }
        let periods =
            almanac_service::scheduling::busy_time(state, &user, range, uid.as_deref()).await;
        if periods.is_ok_and(|p| !p.is_empty()) {
            busy.push(guest);
        }
    }
    busy
}
