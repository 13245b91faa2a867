//! Implicit scheduling (RFC 6638 §3): what a write or deletion of a
//! scheduling object sends, and its delivery. Attendees with an account
//! here get the event straight into their calendar (NEEDS-ACTION) plus an
//! inbox message; everyone else gets an iMIP mail (`invitations`).
//! Answers go back the same ways and land in the organizer's copy.
//!
//! A door that writes (PUT, DELETE, the web calendar) first asks for a
//! [`Plan`] (which checks the RFC's preconditions and may rewrite the
//! object with SCHEDULE-STATUS), writes, then runs the plan.

use crate::auth::Principal;
use crate::invitations;
use crate::objects::{internal, resource_name, Writer};
use crate::share_link::acting_owner;
use crate::state::AppState;
use almanac_dav::DavError;
use almanac_ical::scheduling as itip;
use almanac_ical::{Component, ParseLimits};
use almanac_store::{Collection, NewCollection, NewItem, Origin, User, WriteCondition};
use sha2::Digest;

/// The Schedule-Tag of a scheduling object (one with an ORGANIZER), `None`
/// for other data. It changes with what the organizer decides, not with
/// answers (RFC 6638 §3.2.10).
pub fn schedule_tag(data: &[u8]) -> Option<String> {
    let calendar = parse(data)?;
    itip::organizer(&calendar)?;
    let digest = sha2::Sha256::digest(itip::significant_text(&calendar).as_bytes());
    Some(format!("\"{}\"", almanac_store::hex(&digest[..12])))
}

fn parse(data: &[u8]) -> Option<Component> {
    if !may_schedule(data) {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    almanac_ical::parse(text, &ParseLimits::default()).ok()
}

/// Whether bytes may hold a scheduling object: the cheap test before
/// parsing, since most objects schedule nothing.
pub fn may_schedule(data: &[u8]) -> bool {
    data.windows(9).any(|w| w == b"ORGANIZER")
}

/// Whether an address (as `itip::address` writes it) is this account's.
fn is_mine(user: &User, address: &str) -> bool {
    address.eq_ignore_ascii_case(&user.email)
        || principal_name(address).is_some_and(|name| name == user.name)
}

/// The user a principal URL (RFC 6638 §2.4.1 lets it stand for an address) names.
fn principal_name(address: &str) -> Option<String> {
    match almanac_dav::paths::DavPath::parse(almanac_dav::paths::path_of(address))? {
        almanac_dav::paths::DavPath::Principal(name) => Some(name),
        _ => None,
    }
}

/// The account behind a calendar user address, if it has one here that
/// may receive (validated, not locked).
pub async fn local_user(state: &AppState, address: &str) -> Result<Option<User>, DavError> {
    let store = &state.store;
    let found = if let Some(name) = principal_name(address) {
        store.user_by_name(&name).await.map_err(internal)?
    } else if address.contains('@') {
        store
            .users_by_email(address)
            .await
            .map_err(internal)?
            .into_iter()
            .find(User::may_sign_in)
    } else {
        None
    };
    Ok(found.filter(User::may_sign_in))
}

/// What a write or deletion will send, once it is stored.
#[derive(Default)]
pub struct Plan {
    /// The object to store instead of the one sent (SCHEDULE-STATUS set,
    /// SCHEDULE-FORCE-SEND taken out); `None`: store it as sent.
    pub rewritten: Option<String>,
    requests: Option<(Vec<String>, Component)>,
    cancels: Option<(Vec<String>, Component)>,
    reply: Option<(String, Component)>,
}

/// Messages one write may send at most.
const MAX_RECIPIENTS: usize = invitations::MAX_GUESTS;

impl Plan {
    /// Plans the write of `new` over `old` (the stored object, if any) by
    /// `owner`, checking RFC 6638's preconditions.
    pub async fn for_write(
        state: &AppState,
        owner: &User,
        (calendar, name): (&Collection, &str),
        old: Option<&[u8]>,
        new: &[u8],
    ) -> Result<Self, DavError> {
        let old = old.and_then(parse);
        let Some(mut new) = parse(new) else {
            // No organizer any more: if it was ours, the attendees are off.
            return Ok(match old {
                Some(old) if is_organizer(owner, &old) => Self {
                    cancels: Some((itip::server_attendees(&old), old)),
                    ..Self::default()
                },
                _ => Self::default(),
            });
        };
        if !itip::same_organizer_everywhere(&new) {
            return Err(DavError::caldav(
                403,
                "same-organizer-in-all-components",
                "Every component of a scheduling object must name the same ORGANIZER.",
            ));
        }
        let uid = itip::uid(&new).unwrap_or_default();
        let elsewhere = state
            .store
            .uid_locations(owner.id, &uid)
            .await
            .map_err(internal)?
            .into_iter()
            .any(|(collection, item)| collection != calendar.id || item != name);
        if elsewhere {
            return Err(DavError::caldav(
                403,
                "unique-scheduling-object-resource",
                "Another of your calendars already holds a scheduling object with this UID.",
            ));
        }
        if is_organizer(owner, &new) {
            Self::as_organizer(state, owner, old.as_ref(), &mut new).await
        } else if let Some(me) = my_attendee(owner, &new) {
            Self::as_attendee(state, old.as_ref(), new, me).await
        } else {
            if old.as_ref().is_some_and(|o| is_organizer(owner, o)) {
                return Err(DavError::caldav(
                    403,
                    "allowed-organizer-scheduling-object-change",
                    "The organizer of an event cannot hand it to another organizer.",
                ));
            }
            Ok(Self::default())
        }
    }

    async fn as_organizer(
        state: &AppState,
        owner: &User,
        old: Option<&Component>,
        new: &mut Component,
    ) -> Result<Self, DavError> {
        let as_sent = new.to_ics();
        let (forced, _) = itip::take_force_send(new);
        let old = old.filter(|o| is_organizer(owner, o));
        if let Some(who) = old.and_then(|o| itip::forged_answer(o, new)) {
            return Err(DavError::caldav(
                403,
                "allowed-organizer-scheduling-object-change",
                format!(
                    "Only {who} can answer for {who}; the organizer cannot change their answer."
                ),
            ));
        }
        let before = old.map(itip::server_attendees).unwrap_or_default();
        let now = itip::server_attendees(new);
        let changed = old.is_none_or(|o| itip::significant_text(o) != itip::significant_text(new));
        if let (Some(old), false) = (old, changed) {
            itip::keep_answers(old, new);
        }
        let request_to: Vec<String> = now
            .iter()
            .filter(|a| changed || !before.contains(a) || forced.contains(a))
            .cloned()
            .collect();
        let cancel_to: Vec<String> = before.into_iter().filter(|a| !now.contains(a)).collect();
        if request_to.len() + cancel_to.len() > MAX_RECIPIENTS {
            return Err(DavError::new(
                403,
                format!("An event may invite at most {MAX_RECIPIENTS} people at once."),
            ));
        }
        if !request_to.is_empty() || !cancel_to.is_empty() {
            let count = request_to.len() + cancel_to.len();
            if !invitations::within_allowance(state, owner, count)
                .await
                .map_err(internal)?
            {
                return Err(DavError::new(
                    403,
                    format!(
                        "You have sent {} invitations in the last hour, the most an account may; \
                         nothing was saved. Try again later.",
                        invitations::PER_HOUR
                    ),
                ));
            }
        }
        for attendee in &request_to {
            // 1.2: delivered here; 1.1: sent by mail; 3.7: not an address we can reach.
            let status = if local_user(state, attendee).await?.is_some() {
                "1.2"
            } else if attendee.contains('@') && !attendee.contains('/') {
                "1.1"
            } else {
                "3.7"
            };
            itip::set_schedule_status(new, attendee, status);
        }
        Ok(Self {
            rewritten: rewritten(&as_sent, new),
            requests: (!request_to.is_empty()).then(|| (request_to, new.clone())),
            cancels: match old {
                Some(old) if !cancel_to.is_empty() => Some((cancel_to, old.clone())),
                _ => None,
            },
            reply: None,
        })
    }

    async fn as_attendee(
        state: &AppState,
        old: Option<&Component>,
        mut new: Component,
        me: String,
    ) -> Result<Self, DavError> {
        if let Some(old) = old {
            if !itip::attendee_change_allowed(old, &new) {
                return Err(DavError::caldav(
                    403,
                    "allowed-attendee-scheduling-object-change",
                    "Only the organizer can change this event; as a guest you can answer, \
                     set your reminders and show it as free or busy.",
                ));
            }
        }
        let as_sent = new.to_ics();
        let (_, forced) = itip::take_force_send(&mut new);
        let answered = match old {
            Some(old) => itip::answers_of(old, &me) != itip::answers_of(&new, &me),
            None => itip::answers_of(&new, &me)
                .iter()
                .any(|(_, partstat)| partstat != "NEEDS-ACTION"),
        };
        let Some(organizer) = itip::organizer(&new) else {
            return Ok(Self::default());
        };
        if !(answered || forced) || !itip::organizer_lets_server_reply(&new) {
            return Ok(Self {
                rewritten: rewritten(&as_sent, &new),
                ..Self::default()
            });
        }
        let status = if local_user(state, &organizer).await?.is_some() {
            "1.2"
        } else {
            "1.1"
        };
        itip::set_schedule_status(&mut new, &organizer, status);
        Ok(Self {
            rewritten: rewritten(&as_sent, &new),
            reply: Some((organizer, itip::reply(&new, &me, false))),
            ..Self::default()
        })
    }

    /// Plans the deletion of `old` by `owner`: the organizer cancels, an
    /// attendee declines.
    pub fn for_delete(owner: &User, old: &[u8]) -> Self {
        let Some(old) = parse(old) else {
            return Self::default();
        };
        if is_organizer(owner, &old) {
            let to = itip::server_attendees(&old);
            return Self {
                cancels: (!to.is_empty()).then_some((to, old)),
                ..Self::default()
            };
        }
        match (my_attendee(owner, &old), itip::organizer(&old)) {
            (Some(me), Some(organizer))
                if !itip::is_cancelled(&old) && itip::organizer_lets_server_reply(&old) =>
            {
                Self {
                    reply: Some((organizer, itip::reply(&old, &me, true))),
                    ..Self::default()
                }
            }
            _ => Self::default(),
        }
    }

    /// Sends what was planned, once the write of `calendar/name` is
    /// stored. The write stands whatever happens; an invitation that could
    /// not be delivered (the attendee's storage is full, say) turns its
    /// SCHEDULE-STATUS in the organizer's copy to 5.1.
    pub async fn run(
        self,
        state: &AppState,
        owner: &User,
        (calendar, name): (&Collection, &str),
        base: &str,
    ) {
        let deliver = Delivery {
            state,
            owner,
            calendar,
            base,
        };
        if let Some((to, object)) = &self.requests {
            let failed = deliver.requests(to, object).await;
            if !failed.is_empty() {
                if let Err(e) = mark_undelivered(state, owner, (calendar, name), &failed).await {
                    tracing::warn!(error = %e.message, "undelivered invitations not marked");
                }
            }
        }
        if let Some((to, object)) = &self.cancels {
            deliver.cancels(to, object).await;
        }
        if let Some((organizer, reply)) = &self.reply {
            deliver.reply(organizer, reply).await;
        }
    }
}

/// The object to store when planning changed it from what was sent.
fn rewritten(as_sent: &str, planned: &Component) -> Option<String> {
    let text = planned.to_ics();
    (text != as_sent).then_some(text)
}

fn is_organizer(owner: &User, calendar: &Component) -> bool {
    itip::organizer(calendar).is_some_and(|o| is_mine(owner, &o))
}

/// The address `owner` is listed under as an attendee.
fn my_attendee(owner: &User, calendar: &Component) -> Option<String> {
    calendar
        .components
        .iter()
        .flat_map(|c| c.properties_named("ATTENDEE"))
        .map(itip::address)
        .find(|a| is_mine(owner, a))
}

struct Delivery<'a> {
    state: &'a AppState,
    owner: &'a User,
    calendar: &'a Collection,
    base: &'a str,
}

impl Delivery<'_> {
    /// Invitations; gives the local attendees they could not reach.
    async fn requests(&self, to: &[String], object: &Component) -> Vec<String> {
        self.send("REQUEST", to, object).await
    }

    async fn cancels(&self, to: &[String], object: &Component) {
        self.send("CANCEL", to, object).await;
    }

    /// A REQUEST or CANCEL: into the calendars of accounts here, by mail
    /// to everyone else. Gives the local attendees it could not reach.
    async fn send(&self, method: &str, to: &[String], object: &Component) -> Vec<String> {
        let mut failed = Vec::new();
        let mut external = Vec::new();
        for attendee in to {
            match local_user(self.state, attendee).await {
                Ok(Some(user)) if user.id != self.owner.id => {
                    let delivered = if method == "CANCEL" {
                        deliver_cancel(self.state, &user, object).await
                    } else {
                        deliver_request(self.state, &user, attendee, object).await
                    };
                    if let Err(e) = delivered {
                        tracing::warn!(error = %e.message, method, "a scheduling message was not delivered");
                        failed.push(attendee.clone());
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) if attendee.contains('@') && !attendee.contains('/') => {
                    external.push(attendee.clone());
                }
                Ok(None) | Err(_) => {}
            }
        }
        if !external.is_empty() {
            invitations::send(
                self.state,
                self.owner,
                self.calendar,
                object,
                (method, &external),
                self.base,
            )
            .await;
        }
        failed
    }

    async fn reply(&self, organizer: &str, reply: &Component) {
        let result = match local_user(self.state, organizer).await {
            Ok(Some(user)) => apply_local_reply(self.state, &user, reply).await,
            Ok(None) if organizer.contains('@') => {
                invitations::mail_reply(self.state, self.owner, organizer, reply).await;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e.message, "an answer did not reach its organizer");
        }
    }
}

/// The attendee's copy of an invitation, written where the attendee keeps
/// this UID, else into their default calendar; and the REQUEST in their inbox.
async fn deliver_request(
    state: &AppState,
    user: &User,
    address: &str,
    object: &Component,
) -> Result<(), DavError> {
    let store = &state.store;
    let uid = itip::uid(object).unwrap_or_default();
    let existing = existing_copy(state, user, &uid).await?;
    let Some(copy) = itip::attendee_copy(object, address, existing.as_ref().map(|(_, _, c)| c))
    else {
        return Ok(());
    };
    let (calendar, name, condition) = match existing {
        Some((calendar, name, _)) => (calendar, name, WriteCondition::Always),
        None => {
            let component = copy
                .components
                .iter()
                .find(|c| c.is("VEVENT") || c.is("VTODO"))
                .map_or("VEVENT", |c| c.name.as_str())
                .to_owned();
            let calendar = delivery_calendar(state, user, &component).await?;
            (calendar, resource_name(&uid), WriteCondition::IfAbsent)
        }
    };
    write_copy(state, user, (&calendar, &name), &copy, &condition).await?;
    let message = itip::message(&copy, "REQUEST").to_ics();
    store
        .add_inbox_message(
            (user.id, &inbox_name()),
            (&uid, "REQUEST"),
            message.as_bytes(),
        )
        .await
        .map_err(internal)
}

/// The attendee's copy marked cancelled, and the CANCEL in their inbox.
async fn deliver_cancel(state: &AppState, user: &User, object: &Component) -> Result<(), DavError> {
    let uid = itip::uid(object).unwrap_or_default();
    if let Some((calendar, name, copy)) = existing_copy(state, user, &uid).await? {
        write_copy(
            state,
            user,
            (&calendar, &name),
            &itip::cancelled(&copy),
            &WriteCondition::Always,
        )
        .await?;
    }
    let message = itip::message(object, "CANCEL").to_ics();
    state
        .store
        .add_inbox_message(
            (user.id, &inbox_name()),
            (&uid, "CANCEL"),
            message.as_bytes(),
        )
        .await
        .map_err(internal)
}

/// An answer applied to the organizer's copy (its Schedule-Tag stays), and
/// the REPLY in the organizer's inbox.
async fn apply_local_reply(
    state: &AppState,
    organizer: &User,
    reply: &Component,
) -> Result<(), DavError> {
    let uid = itip::uid(reply).unwrap_or_default();
    let Some((calendar, name, mut copy)) = existing_copy(state, organizer, &uid).await? else {
        return Ok(());
    };
    if !is_organizer(organizer, &copy) || itip::apply_reply(&mut copy, reply).is_empty() {
        return Ok(());
    }
    write_copy(
        state,
        organizer,
        (&calendar, &name),
        &copy,
        &WriteCondition::Always,
    )
    .await?;
    state
        .store
        .add_inbox_message(
            (organizer.id, &inbox_name()),
            (&uid, "REPLY"),
            reply.to_ics().as_bytes(),
        )
        .await
        .map_err(internal)
}

/// SCHEDULE-STATUS 5.1 (could not be delivered) for `attendees` in the
/// organizer's stored copy, unless it changed meanwhile.
async fn mark_undelivered(
    state: &AppState,
    owner: &User,
    (calendar, name): (&Collection, &str),
    attendees: &[String],
) -> Result<(), DavError> {
    let Some(item) = state
        .store
        .item(calendar.id, name)
        .await
        .map_err(internal)?
    else {
        return Ok(());
    };
    let Some(mut copy) = parse(&item.data) else {
        return Ok(());
    };
    for attendee in attendees {
        itip::set_schedule_status(&mut copy, attendee, "5.1");
    }
    write_copy(
        state,
        owner,
        (calendar, name),
        &copy,
        &WriteCondition::IfMatch(item.meta.etag),
    )
    .await
}

/// Where `user` keeps `uid`: (calendar, resource name, the object).
async fn existing_copy(
    state: &AppState,
    user: &User,
    uid: &str,
) -> Result<Option<(Collection, String, Component)>, DavError> {
    let store = &state.store;
    let Some((collection_id, name)) = store
        .uid_locations(user.id, uid)
        .await
        .map_err(internal)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let Some(calendar) = store
        .collection_by_id(collection_id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let item = store.item(collection_id, &name).await.map_err(internal)?;
    let parsed = item.and_then(|i| {
        let text = String::from_utf8(i.data).ok()?;
        almanac_ical::parse(&text, &ParseLimits::default()).ok()
    });
    Ok(parsed.map(|c| (calendar, name, c)))
}

async fn write_copy(
    state: &AppState,
    user: &User,
    (calendar, name): (&Collection, &str),
    copy: &Component,
    condition: &WriteCondition,
) -> Result<(), DavError> {
    let principal: Principal = acting_owner(user);
    let writer = Writer {
        state,
        owner: &principal,
        origin: Origin::Scheduling,
    };
    let text = copy.to_ics();
    let index = writer.check(calendar, None, text.as_bytes())?;
    let item = NewItem {
        content_type: "text/calendar; charset=utf-8",
        data: text.as_bytes(),
        calendar: Some(index),
        origin: Origin::Scheduling,
    };
    writer
        .write(calendar, name, &item, condition)
        .await
        .map(|_| ())
}

/// Busy time of `user` in `range`, over all their calendars (free-busy,
/// RFC 6638 §5), leaving out the event `except_uid` (the one being planned).
pub async fn busy_time(
    state: &AppState,
    user: &User,
    range: almanac_ical::TimeSpan,
    except_uid: Option<&str>,
) -> Result<Vec<almanac_ical::BusyPeriod>, DavError> {
    let store = &state.store;
    let mut periods = Vec::new();
    for calendar in store
        .child_collections(user.id, "")
        .await
        .map_err(internal)?
        .into_iter()
        .filter(Collection::is_calendar)
    {
        let ctx = crate::objects::eval_context(state, &calendar);
        for item in store
            .items_overlapping(calendar.id, None, range.start, range.end)
            .await
            .map_err(internal)?
        {
            let Some(parsed) = std::str::from_utf8(&item.data)
                .ok()
                .and_then(|t| almanac_ical::parse(t, &ParseLimits::default()).ok())
            else {
                continue;
            };
            if except_uid.is_some() && itip::uid(&parsed).as_deref() == except_uid {
                continue;
            }
            periods.extend(almanac_ical::busy_periods(&parsed, range, &ctx));
        }
    }
    Ok(periods)
}

/// The calendar invitations land in (RFC 6638 §9.2
/// schedule-default-calendar-URL): the one the account chose, else its
/// first calendar that takes `component`; `None` when it has no calendar.
pub async fn default_calendar(
    state: &AppState,
    user: &User,
    component: &str,
) -> Result<Option<Collection>, DavError> {
    let store = &state.store;
    if let Some(id) = store.schedule_default(user.id).await.map_err(internal)? {
        if let Some(chosen) = store.collection_by_id(id).await.map_err(internal)? {
            if chosen.owner_id == user.id && chosen.is_calendar() && chosen.accepts(component) {
                return Ok(Some(chosen));
            }
        }
    }
    let calendars = store
        .child_collections(user.id, "")
        .await
        .map_err(internal)?;
    Ok(calendars
        .into_iter()
        .filter(|c| c.is_calendar() && c.accepts(component))
        .min_by_key(|c| (c.created_at, c.id)))
}

/// Where a delivered invitation goes: the default calendar, or a new
/// "Calendar" for an account that has none.
async fn delivery_calendar(
    state: &AppState,
    user: &User,
    component: &str,
) -> Result<Collection, DavError> {
    if let Some(calendar) = default_calendar(state, user, component).await? {
        return Ok(calendar);
    }
    state
        .store
        .create_collection(
            user.id,
            &NewCollection::calendar("calendar", Some("Calendar")),
        )
        .await
        .map_err(internal)
}

fn inbox_name() -> String {
    format!("{}.ics", &crate::token::new_token()[..32])
}
