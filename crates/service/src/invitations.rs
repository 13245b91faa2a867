//! Invitations by mail (iMIP, RFC 6047) for guests without an account
//! here: a REQUEST with Accept / Maybe / Decline links that need no
//! account (unguessable, one answer each, expiring), a CANCEL when a guest
//! is taken off or the event is deleted, and the organizer told of each
//! answer, which also lands in the organizer's copy.

use crate::mail::Mail;
use crate::objects::Writer;
use crate::share_link::acting_owner;
use crate::AppState;
use almanac_ical::{Component, ParseLimits, Property};
use almanac_store::{Collection, Invitation, NewItem, Origin, StoreError, User, WriteCondition};
use chrono::TimeZone;

/// Invitation mails one account may send per hour: the service must not
/// become a way to mail strangers in bulk.
pub const PER_HOUR: i64 = 100;
/// Guests one event may have.
pub const MAX_GUESTS: usize = 50;
/// How long answer links work.
const LINK_DAYS: i64 = 90;

/// The answers a link can give: (form value, PARTSTAT, words).
pub const ANSWERS: [(&str, &str, &str); 3] = [
    ("accepted", "ACCEPTED", "accepted"),
    ("tentative", "TENTATIVE", "said maybe to"),
    ("declined", "DECLINED", "declined"),
];

/// An address from an ATTENDEE or ORGANIZER value, lower-case.
pub fn address(property: &Property) -> String {
    let value = property.value.trim();
    value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(value, |_| &value[7..])
        .to_ascii_lowercase()
}

/// The guests of an event (its ATTENDEEs but the organizer), lower-case.
pub fn guests(event: &Component) -> Vec<String> {
    let organizer = event.property("ORGANIZER").map(address);
    let mut found: Vec<String> = event
        .properties_named("ATTENDEE")
        .map(address)
        .filter(|a| Some(a) != organizer.as_ref())
        .collect();
    found.dedup();
    found
}

/// Counts `count` invitation mails against the account's hourly
/// allowance: false when they would go over it.
pub async fn within_allowance(
    state: &AppState,
    user: &User,
    count: usize,
) -> Result<bool, StoreError> {
    let key = format!("invitations|{}", user.id);
    let mut sent = 0;
    for _ in 0..count {
        sent = state.store.count_attempt(&key, 3600).await?.0;
    }
    Ok(sent <= PER_HOUR)
}

/// The iTIP message: the event's components (without alarms, which are
/// the organizer's own) and time zones, under METHOD.
fn itip(calendar: &Component, method: &str) -> String {
    let mut message = Component::new("VCALENDAR");
    message.properties = vec![
        Property::new("VERSION", "2.0"),
        Property::new("PRODID", almanac_ical::PRODID),
        Property::new("METHOD", method),
    ];
    for component in &calendar.components {
        let mut copy = component.clone();
        copy.components.retain(|c| !c.is("VALARM"));
        if method == "CANCEL" && copy.is("VEVENT") {
            copy.properties
                .retain(|p| !p.name.eq_ignore_ascii_case("STATUS"));
            copy.properties.push(Property::new("STATUS", "CANCELLED"));
        }
        message.components.push(copy);
    }
    message.to_ics()
}

/// The title and start of the event, in words.
pub fn describe(calendar: &Component) -> (String, String) {
    let Some(event) = calendar
        .components
        .iter()
        .find(|c| c.is("VEVENT") && c.property("RECURRENCE-ID").is_none())
    else {
        return (String::new(), String::new());
    };
    let title = event.property("SUMMARY").map_or_else(
        || "(no title)".to_owned(),
        |p| almanac_ical::unescape_text(&p.value).into_owned(),
    );
    let ctx = almanac_ical::EvalContext::default();
    let start = almanac_ical::instances(calendar, None, &ctx)
        .first()
        .map(|i| i.start);
    let zone = event
        .property("DTSTART")
        .and_then(|p| p.param("TZID"))
        .and_then(almanac_ical::timezone::named_zone)
        .unwrap_or(chrono_tz::UTC);
    let when = start
        .and_then(|s| zone.timestamp_opt(s, 0).single())
        .map(|t| t.format("%A %-d %B %Y, %H:%M (%Z)").to_string())
        .unwrap_or_default();
    (title, when)
}

/// Mails `method` (REQUEST or CANCEL) for the event to `to`, from `owner`;
/// a REQUEST carries answer links under `base` (the site's address).
pub async fn send(
    state: &AppState,
    owner: &User,
    collection: &Collection,
    calendar: &Component,
    (method, to): (&str, &[String]),
    base: &str,
) {
    let uid = calendar
        .components
        .iter()
        .find_map(|c| c.property("UID"))
        .map(|p| p.value.clone())
        .unwrap_or_default();
    let (title, when) = describe(calendar);
    let message = itip(calendar, method);
    for guest in to {
        let (subject, body) = if method == "CANCEL" {
            (
                format!("Cancelled: {title} — {when}"),
                format!(
                    "{} has cancelled “{title}” ({when}), or taken you off the guest list.\n",
                    owner.name
                ),
            )
        } else {
            let token = crate::token::new_token();
            let expires = chrono::Utc::now().timestamp() + LINK_DAYS * 86_400;
            if let Err(e) = state
                .store
                .create_invitation(
                    &crate::token::token_hash(&token),
                    (collection.id, &uid),
                    guest,
                    expires,
                )
                .await
            {
                tracing::warn!(error = %e, "invitation not sent: its link could not be stored");
                continue;
            }
            let link = format!("{base}/invitations/{token}");
            (
                format!("Invitation: {title} — {when}"),
                format!(
                    "{} ({}) invites you to “{title}”.\n\nWhen: {when}\n\nAnswer here (no account needed):\n{link}\n\nYour calendar app can also answer with the invitation attached to this mail.\nThe link works for {LINK_DAYS} days and answers once.\n",
                    owner.name, owner.email
                ),
            )
        };
        let mail = Mail {
            to: guest,
            reply_to: Some(&owner.email),
            subject: &subject,
            body,
            link: None,
        };
        if let Err(e) = state
            .mailer
            .send_with_calendar(&mail, Some((method, message.clone())))
            .await
        {
            tracing::warn!(error = %e, to = %guest, "invitation mail not sent");
        }
    }
}

/// What answering a link did, for the page that says so.
pub enum Answered {
    Done {
        title: String,
    },
    AlreadyAnswered(String),
    Expired,
    /// The event or the guest is gone from it.
    Gone,
}

/// Applies a guest's answer: the PARTSTAT in the organizer's copy (every
/// component that lists the guest), then a mail to the organizer.
pub async fn answer(
    state: &AppState,
    invitation: &Invitation,
    answer: &str,
) -> Result<Answered, StoreError> {
    let Some((_, partstat, words)) = ANSWERS.iter().find(|(value, _, _)| *value == answer) else {
        return Ok(Answered::Gone);
    };
    if let Some(previous) = &invitation.answer {
        return Ok(Answered::AlreadyAnswered(previous.clone()));
    }
    if invitation.expires_at < chrono::Utc::now().timestamp() {
        return Ok(Answered::Expired);
    }
    let store = &state.store;
    let Some(collection) = store.collection_by_id(invitation.collection_id).await? else {
        return Ok(Answered::Gone);
    };
    let Some(owner) = store.user_by_id(collection.owner_id).await? else {
        return Ok(Answered::Gone);
    };
    let Some(name) = store
        .item_name_for_uid(collection.id, &invitation.uid)
        .await?
    else {
        return Ok(Answered::Gone);
    };
    let Some(item) = store.item(collection.id, &name).await? else {
        return Ok(Answered::Gone);
    };
    let Some(mut calendar) = std::str::from_utf8(&item.data)
        .ok()
        .and_then(|t| almanac_ical::parse(t, &ParseLimits::default()).ok())
    else {
        return Ok(Answered::Gone);
    };
    let mut listed = false;
    for event in calendar.components.iter_mut().filter(|c| c.is("VEVENT")) {
        for attendee in event
            .properties
            .iter_mut()
            .filter(|p| p.name.eq_ignore_ascii_case("ATTENDEE"))
        {
            if address(attendee) == invitation.attendee {
                attendee.remove_param("PARTSTAT");
                attendee.remove_param("RSVP");
                *attendee = attendee.clone().with_param("PARTSTAT", partstat);
                listed = true;
            }
        }
    }
    if !listed {
        return Ok(Answered::Gone);
    }
    if !store.answer_invitation(invitation.id, answer).await? {
        return Ok(Answered::AlreadyAnswered(answer.to_owned()));
    }
    let text = calendar.to_ics();
    let principal = acting_owner(&owner);
    let writer = Writer {
        state,
        owner: &principal,
        origin: Origin::Web,
    };
    let written = match writer.check(&collection, None, text.as_bytes()) {
        Ok(index) => {
            let new = NewItem {
                content_type: "text/calendar; charset=utf-8",
                data: text.as_bytes(),
                calendar: Some(index),
                origin: Origin::Web,
            };
            writer
                .write(
                    &collection,
                    &name,
                    &new,
                    &WriteCondition::IfMatch(item.meta.etag.clone()),
                )
                .await
                .is_ok()
        }
        Err(_) => false,
    };
    if !written {
        // The organizer's copy changed meanwhile: the guest may answer again.
        store.unanswer_invitation(invitation.id).await?;
        return Err(StoreError::PreconditionFailed);
    }
    let (title, when) = describe(&calendar);
    let mail = Mail {
        to: &owner.email,
        reply_to: Some(&invitation.attendee),
        subject: &format!("{} {words} “{title}”", invitation.attendee),
        body: format!("{} {words} your invitation to “{title}” ({when}).\nTheir answer is in your calendar.\n", invitation.attendee),
        link: None,
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::warn!(error = %e, "the organizer was not told of an answer");
    }
    Ok(Answered::Done { title })
}
