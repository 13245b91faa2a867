//! Reminders by mail (VALARM, RFC 5545 §3.6.6): EMAIL alarms, and DISPLAY
//! alarms for people who choose it, mailed to the calendar's owner at the
//! trigger time. Every write keeps `items.alarm_at` (the next trigger) up
//! to date, so each check reads only the objects that are due. A reminder
//! is claimed in the database before it is mailed, so it goes out once
//! across restarts and however many instances share one PostgreSQL; a
//! claim whose instance stopped before mailing is mailed by another.

use crate::mail::{Mail, Mailer};
use crate::next_alarm::next_alarm;
use almanac_ical::alarms::due_between;
use almanac_ical::{Component, EvalContext, ParseLimits};
use almanac_store::{DueObject, ReminderMail, Store};
use chrono::TimeZone;
use std::sync::Arc;
use std::time::Duration;

/// Objects read per check.
const BATCH: i64 = 200;
/// A reminder due longer ago than this (the service was down) is skipped:
/// a reminder hours late helps nobody.
const TOO_LATE: i64 = 3600;
/// A claim not mailed this long after it was taken is mailed again.
const STALE_CLAIM: i64 = 120;

/// Looks for due reminders every `every` until the process ends.
pub async fn run(
    store: Store,
    mailer: Arc<Mailer>,
    every: Duration,
    max_instances: usize,
    base_url: String,
) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(e) = check(&store, &mailer, max_instances, &base_url).await {
            tracing::warn!(error = %e, "reminders: check failed; trying again at the next one");
        }
    }
}

/// One check: claims due reminders and mails them, then mails claims
/// another instance left unsent.
async fn check(
    store: &Store,
    mailer: &Mailer,
    max_instances: usize,
    base_url: &str,
) -> Result<(), almanac_store::StoreError> {
    let now = chrono::Utc::now().timestamp();
    for due in store.due_alarms(now, BATCH).await? {
        let ctx = EvalContext {
            floating_tz: due.timezone.as_deref().and_then(crate::objects::zone_of),
            max_instances,
        };
        let parsed = std::str::from_utf8(&due.data)
            .ok()
            .and_then(|t| almanac_ical::parse(t, &ParseLimits::default()).ok());
        let (mails, next) = match &parsed {
            Some(calendar) => (
                compose(&due, calendar, &ctx, now, base_url),
                next_alarm(calendar, &ctx, now),
            ),
            None => (Vec::new(), None),
        };
        for mail in store.claim_reminders(&due, next, &mails).await? {
            deliver(store, mailer, &mail).await;
        }
    }
    for mail in store.take_over_unsent(STALE_CLAIM).await? {
        deliver(store, mailer, &mail).await;
    }
    Ok(())
}

async fn deliver(store: &Store, mailer: &Mailer, mail: &ReminderMail) {
    let sent = mailer
        .send(&Mail {
            to: &mail.recipient,
            reply_to: None,
            subject: &mail.subject,
            body: mail.body.clone(),
            link: None,
        })
        .await;
    match sent {
        Ok(()) => {
            if let Err(e) = store.reminder_sent(mail).await {
                tracing::warn!(error = %e, "reminders: mailed, but not noted as sent");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, to = %mail.recipient, "reminders: mail not sent; trying again later");
        }
    }
}

/// The mails for the alarms due since `due.alarm_at`, as the owner chose.
fn compose(
    due: &DueObject,
    calendar: &Component,
    ctx: &EvalContext,
    now: i64,
    base_url: &str,
) -> Vec<ReminderMail> {
    if !due.active || !due.settings.mail {
        return Vec::new();
    }
    let wanted = |action: &str| action == "EMAIL" || (action == "DISPLAY" && due.settings.display);
    due_between(calendar, (due.alarm_at - 1, now), ctx, wanted)
        .into_iter()
        .filter(|alarm| now - alarm.at <= TOO_LATE)
        .map(|alarm| {
            let component = &calendar.components[alarm.component_index];
            let text = |name| {
                component
                    .property(name)
                    .map(|p| almanac_ical::unescape_text(&p.value).into_owned())
                    .unwrap_or_default()
            };
            let title = Some(text("SUMMARY")).filter(|t| !t.is_empty()).unwrap_or_else(|| "(no title)".to_owned());
            // Times in the event's own zone, as its organiser wrote it.
            let zone = component
                .property("DTSTART")
                .and_then(|p| p.param("TZID"))
                .and_then(almanac_ical::timezone::named_zone)
                .or(ctx.floating_tz)
                .unwrap_or(chrono_tz::UTC);
            let when = zone
                .timestamp_opt(alarm.instance_start, 0)
                .single()
                .map(|t| t.format("%A %-d %B %Y, %H:%M (%Z)").to_string())
                .unwrap_or_default();
            let place = text("LOCATION");
            let place = if place.is_empty() {
                String::new()
            } else {
                format!("Where: {place}\n")
            };
            let body = format!(
                "Reminder: {title}\n\nWhen: {when}\n{place}\nYou get this mail because the event has a reminder.\nTo stop reminder mail: {base_url}/account/reminders\n"
            );
            ReminderMail {
                collection_id: due.collection_id,
                uid: due.uid.clone(),
                trigger_at: alarm.at,
                recipient: due.email.clone(),
                subject: format!("Reminder: {title} — {when}"),
                body,
            }
        })
        .collect()
}
