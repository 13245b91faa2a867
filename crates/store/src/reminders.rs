//! Reminders by mail: the objects whose next alarm is due (by the
//! `items.alarm_at` index), claims that make each reminder go out once
//! however many instances share the database, and each person's choice.

use crate::error::StoreError;
use crate::handle::{now, Store};
use sqlx::Row;

/// An object with an alarm due, and who it reminds.
#[derive(Debug, Clone)]
pub struct DueObject {
    pub item_id: i64,
    pub collection_id: i64,
    pub uid: String,
    pub data: Vec<u8>,
    /// The calendar's CALDAV:calendar-timezone (for floating times).
    pub timezone: Option<String>,
    /// The `alarm_at` read (the claim moves it on only from this value).
    pub alarm_at: i64,
    pub email: String,
    /// The account may sign in (validated, not locked).
    pub active: bool,
    pub settings: ReminderSettings,
}

/// A person's choice about reminder mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderSettings {
    /// Reminder mail at all (EMAIL alarms).
    pub mail: bool,
    /// DISPLAY alarms by mail too.
    pub display: bool,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            mail: true,
            display: false,
        }
    }
}

/// One reminder to mail, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderMail {
    pub collection_id: i64,
    pub uid: String,
    pub trigger_at: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

fn flag(row: &sqlx::any::AnyRow, name: &str, default: bool) -> Result<bool, StoreError> {
    let value: Option<i64> = row.try_get(name)?;
    Ok(value.map_or(default, |v| v != 0))
}

impl Store {
    /// Objects whose next alarm is due at or before `now`, oldest first.
    pub async fn due_alarms(&self, now: i64, limit: i64) -> Result<Vec<DueObject>, StoreError> {
        let rows = sqlx::query(
            "SELECT items.id AS item_id, items.collection_id AS collection_id, items.uid AS uid, \
             items.data AS data, items.alarm_at AS alarm_at, users.email AS email, \
             collections.timezone AS timezone, \
             users.verified_at AS verified_at, users.locked AS locked, \
             reminder_settings.mail AS mail, reminder_settings.display AS display \
             FROM items JOIN collections ON collections.id = items.collection_id \
             JOIN users ON users.id = collections.owner_id \
             LEFT JOIN reminder_settings ON reminder_settings.user_id = users.id \
             WHERE items.alarm_at IS NOT NULL AND items.alarm_at <= $1 \
             ORDER BY items.alarm_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let verified: Option<i64> = row.try_get("verified_at")?;
                let locked: i64 = row.try_get("locked")?;
                Ok(DueObject {
                    item_id: row.try_get("item_id")?,
                    collection_id: row.try_get("collection_id")?,
                    uid: row.try_get::<Option<String>, _>("uid")?.unwrap_or_default(),
                    data: row.try_get("data")?,
                    timezone: row.try_get("timezone")?,
                    alarm_at: row.try_get("alarm_at")?,
                    email: row.try_get("email")?,
                    active: verified.is_some() && locked == 0,
                    settings: ReminderSettings {
                        mail: flag(row, "mail", true)?,
                        display: flag(row, "display", false)?,
                    },
                })
            })
            .collect()
    }

    /// Moves the object's `alarm_at` from `due.alarm_at` to `next` and
    /// claims `mails`, in one transaction. Gives the mails this call
    /// claimed: none when another instance moved `alarm_at` first, and
    /// never one claimed before.
    pub async fn claim_reminders(
        &self,
        due: &DueObject,
        next: Option<i64>,
        mails: &[ReminderMail],
    ) -> Result<Vec<ReminderMail>, StoreError> {
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query("UPDATE items SET alarm_at = $1 WHERE id = $2 AND alarm_at = $3")
            .bind(next)
            .bind(due.item_id)
            .bind(due.alarm_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 0 {
            return Ok(Vec::new());
        }
        let now = now();
        let mut claimed = Vec::new();
        for mail in mails {
            let inserted = sqlx::query(
                "INSERT INTO reminder_claims (collection_id, uid, trigger_at, recipient, subject, \
                 body, claimed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(mail.collection_id)
            .bind(&mail.uid)
            .bind(mail.trigger_at)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.body)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                claimed.push(mail.clone());
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Notes that a claimed reminder went out.
    pub async fn reminder_sent(&self, mail: &ReminderMail) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE reminder_claims SET sent_at = $1 \
             WHERE collection_id = $2 AND uid = $3 AND trigger_at = $4",
        )
        .bind(now())
        .bind(mail.collection_id)
        .bind(&mail.uid)
        .bind(mail.trigger_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims not sent `stale` seconds after they were taken (the instance
    /// stopped in between), taken over by this caller: each goes to one
    /// caller only.
    pub async fn take_over_unsent(&self, stale: i64) -> Result<Vec<ReminderMail>, StoreError> {
        let now = now();
        let rows = sqlx::query(
            "SELECT collection_id, uid, trigger_at, recipient, subject, body, claimed_at \
             FROM reminder_claims WHERE sent_at IS NULL AND claimed_at <= $1 LIMIT 100",
        )
        .bind(now - stale)
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::new();
        for row in &rows {
            let mail = ReminderMail {
                collection_id: row.try_get("collection_id")?,
                uid: row.try_get("uid")?,
                trigger_at: row.try_get("trigger_at")?,
                recipient: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
            };
            let claimed_at: i64 = row.try_get("claimed_at")?;
            let mut tx = self.begin_write().await?;
            let moved = sqlx::query(
                "UPDATE reminder_claims SET claimed_at = $1 WHERE collection_id = $2 \
                 AND uid = $3 AND trigger_at = $4 AND claimed_at = $5 AND sent_at IS NULL",
            )
            .bind(now)
            .bind(mail.collection_id)
            .bind(&mail.uid)
            .bind(mail.trigger_at)
            .bind(claimed_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            if moved == 1 {
                taken.push(mail);
            }
        }
        Ok(taken)
    }

    pub async fn reminder_settings(&self, user_id: i64) -> Result<ReminderSettings, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT mail, display FROM reminder_settings WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(
            row.map_or_else(ReminderSettings::default, |(mail, display)| {
                ReminderSettings {
                    mail: mail != 0,
                    display: display != 0,
                }
            }),
        )
    }

    pub async fn set_reminder_settings(
        &self,
        user_id: i64,
        settings: ReminderSettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO reminder_settings (user_id, mail, display) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET mail = excluded.mail, display = excluded.display",
        )
        .bind(user_id)
        .bind(i64::from(settings.mail))
        .bind(i64::from(settings.display))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
