//! Invitations by mail (iMIP, RFC 6047) for guests without an account
//! here: a REQUEST with Accept / Maybe / Decline links that need no
//! account (unguessable, one answer each, expiring), a CANCEL when a guest
//! is taken off or the event is deleted, and the organizer told of each
//! answer, which also lands in the organizer's copy.

use crate::mail::Mail;
use crate::objects::Writer;
use crate::share_link::acting_owner;
use crate::state::AppState;
use almanac_ical::{Component, ParseLimits};
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

pub use almanac_ical::scheduling::address;

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

/// Whether `count` more invitations fit in the account's hourly
/// allowance (nothing is counted here; sending counts).
pub async fn fit_allowance(
    state: &AppState,
    user: &User,
    count: usize,
) -> Result<bool, StoreError> {
    let key = format!("invitations|{}", user.id);
    let sent = state
        .store
        .attempts(std::slice::from_ref(&key), 3600)
        .await?
        .first()
        .map_or(0, |(_, attempts, _)| *attempts);
    Ok(sent + i64::try_from(count).unwrap_or(i64::MAX) <= PER_HOUR)
}

/// Counts `count` invitation mails against the account's hourly
/// allowance: false when they would go over it.
pub async fn within_allowance(
    state: &AppState,
    user: &User,
    count: usize,
) -> Result<bool, StoreError> {
    let key = format!("invitations|{}", user.id);
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let sent = state.store.count_attempts(&key, 3600, count).await?.0;
    Ok(sent <= PER_HOUR)
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
    let message = almanac_ical::scheduling::message(calendar, method).to_ics();
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

/// Mails `from`'s answer (an iTIP REPLY) to an organizer without an
/// account here, so that their mail program applies it.
pub async fn mail_reply(state: &AppState, from: &User, organizer: &str, reply: &Component) {
    let (title, when) = describe(reply);
    let partstat = reply
        .components
        .iter()
        .flat_map(|c| c.properties_named("ATTENDEE"))
        .find_map(|a| a.param("PARTSTAT"))
        .unwrap_or("NEEDS-ACTION")
        .to_ascii_uppercase();
    let words = ANSWERS
        .iter()
        .find(|(_, known, _)| *known == partstat)
        .map_or("answered", |(_, _, words)| words);
    let mail = Mail {
        to: organizer,
        reply_to: Some(&from.email),
        subject: &format!("{} {words} “{title}”", from.name),
        body: format!(
            "{} ({}) {words} your invitation to “{title}” ({when}).\nYour calendar app can apply the answer attached to this mail.\n",
            from.name, from.email
        ),
        link: None,
    };
    if let Err(e) = state
        .mailer
        .send_with_calendar(&mail, Some(("REPLY", reply.to_ics())))
        .await
    {
        tracing::warn!(error = %e, "an answer was not mailed to its organizer");
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

/// Applies a guest's answer by link: once per link, before it expires.
pub async fn answer(
    state: &AppState,
    invitation: &Invitation,
    answer: &str,
) -> Result<Answered, StoreError> {
    let Some((_, partstat, _)) = ANSWERS.iter().find(|(value, _, _)| *value == answer) else {
        return Ok(Answered::Gone);
    };
    if let Some(previous) = &invitation.answer {
        return Ok(Answered::AlreadyAnswered(previous.clone()));
    }
    if invitation.expires_at < chrono::Utc::now().timestamp() {
        return Ok(Answered::Expired);
    }
    if !state.store.answer_invitation(invitation.id, answer).await? {
        return Ok(Answered::AlreadyAnswered(answer.to_owned()));
    }
    let set = set_answer(
        state,
        (invitation.collection_id, &invitation.uid),
        &invitation.attendee,
        partstat,
    )
    .await;
    match set {
        Ok(Some(title)) => Ok(Answered::Done { title }),
        other => {
            // Nothing changed: the link may answer again.
            state.store.unanswer_invitation(invitation.id).await?;
            other.map(|_| Answered::Gone)
        }
    }
}

/// Applies an iTIP REPLY that came by mail (from Gmail, Outlook, Apple
/// Mail...): each attendee's PARTSTAT, in the events this service invited
/// them to. Gives what it applied ("address PARTSTAT title").
pub async fn apply_reply(state: &AppState, reply: &Component) -> Result<Vec<String>, StoreError> {
    if !reply
        .property("METHOD")
        .is_some_and(|m| m.value.trim().eq_ignore_ascii_case("REPLY"))
    {
        return Ok(Vec::new());
    }
    let mut applied = Vec::new();
    for event in reply.components.iter().filter(|c| c.is("VEVENT")) {
        let Some(uid) = event.property("UID").map(|p| p.value.trim().to_owned()) else {
            continue;
        };
        for attendee in event.properties_named("ATTENDEE") {
            let Some(partstat) = attendee
                .param("PARTSTAT")
                .map(str::to_ascii_uppercase)
                .filter(|p| ANSWERS.iter().any(|(_, known, _)| known == p))
            else {
                continue;
            };
            let guest = address(attendee);
            // Only someone this service invited may answer, and only there.
            for collection in state.store.invited_collections(&uid, &guest).await? {
                if let Some(title) =
                    set_answer(state, (collection, &uid), &guest, &partstat).await?
                {
                    applied.push(format!("{guest} {partstat} {title}"));
                }
            }
        }
    }
    Ok(applied)
}

/// Sets the guest's PARTSTAT in the organizer's copy (every component that
/// lists the guest), then tells the organizer. `None`: the event or the
/// guest is gone.
async fn set_answer(
    state: &AppState,
    (collection_id, uid): (i64, &str),
    guest: &str,
    partstat: &str,
) -> Result<Option<String>, StoreError> {
    let words = ANSWERS
        .iter()
        .find(|(_, known, _)| *known == partstat)
        .map_or("answered", |(_, _, words)| words);
    let store = &state.store;
    let Some(collection) = store.collection_by_id(collection_id).await? else {
        return Ok(None);
    };
    let Some(owner) = store.user_by_id(collection.owner_id).await? else {
        return Ok(None);
    };
    let Some(name) = store.item_name_for_uid(collection.id, uid).await? else {
        return Ok(None);
    };
    let Some(item) = store.item(collection.id, &name).await? else {
        return Ok(None);
    };
    let Some(mut calendar) = std::str::from_utf8(&item.data)
        .ok()
        .and_then(|t| almanac_ical::parse(t, &ParseLimits::default()).ok())
    else {
        return Ok(None);
    };
    let listed = almanac_ical::scheduling::set_answer(&mut calendar, guest, partstat);
    if !listed {
        return Ok(None);
    }
    let text = calendar.to_ics();
    let principal = acting_owner(&owner);
    let writer = Writer {
        state,
        owner: &principal,
        origin: Origin::Web,
    };
    let index = writer
        .check(&collection, None, text.as_bytes())
        .map_err(|_| StoreError::PreconditionFailed)?;
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
        .map_err(|_| StoreError::PreconditionFailed)?;
    let (title, when) = describe(&calendar);
    let mail = Mail {
        to: &owner.email,
        reply_to: Some(guest),
        subject: &format!("{guest} {words} “{title}”"),
        body: format!("{guest} {words} your invitation to “{title}” ({when}).\nTheir answer is in your calendar.\n"),
        link: None,
    };
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::warn!(error = %e, "the organizer was not told of an answer");
    }
    Ok(Some(title))
}
