//! CalDAV scheduling (RFC 6638) storage: each account's schedule inbox of
//! iTIP messages, the calendar invitations land in, and where a UID lives
//! across all of an account's calendars.

use crate::error::StoreError;
use crate::handle::{now, Store};
use sqlx::Row;

/// Messages an inbox keeps: the oldest go first beyond this, so a flood of
/// invitations cannot fill anyone's storage.
pub const INBOX_CAPACITY: i64 = 500;

/// One iTIP message in a schedule inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleMessage {
    pub name: String,
    pub uid: String,
    pub method: String,
    pub etag: String,
    pub created_at: i64,
    pub data: Vec<u8>,
}

fn message(row: &sqlx::any::AnyRow) -> Result<ScheduleMessage, StoreError> {
    Ok(ScheduleMessage {
        name: row.try_get("name")?,
        uid: row.try_get("uid")?,
        method: row.try_get("method")?,
        etag: row.try_get("etag")?,
        created_at: row.try_get("created_at")?,
        data: row.try_get("data")?,
    })
}

const MESSAGE_COLUMNS: &str = "name, uid, method, etag, created_at, data";

impl Store {
    /// The inbox's messages, oldest first.
    pub async fn inbox_messages(&self, owner_id: i64) -> Result<Vec<ScheduleMessage>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM schedule_messages WHERE owner_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(owner_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message).collect()
    }

    pub async fn inbox_message(
        &self,
        owner_id: i64,
        name: &str,
    ) -> Result<Option<ScheduleMessage>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM schedule_messages WHERE owner_id = $1 AND name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(owner_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message).transpose()
    }

    /// A tag that changes whenever a message arrives or goes: (newest id, count).
    pub async fn inbox_version(&self, owner_id: i64) -> Result<(i64, i64), StoreError> {
        let row: (Option<i64>, i64) =
            sqlx::query_as("SELECT MAX(id), COUNT(*) FROM schedule_messages WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_one(&self.pool)
                .await?;
        Ok((row.0.unwrap_or(0), row.1))
    }

    /// Delivers a message to the inbox as `name` (new, chosen by the
    /// caller); the oldest beyond [`INBOX_CAPACITY`] are dropped.
    pub async fn add_inbox_message(
        &self,
        (owner_id, name): (i64, &str),
        (uid, method): (&str, &str),
        data: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO schedule_messages (owner_id, name, uid, method, data, etag, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(owner_id)
        .bind(name)
        .bind(uid)
        .bind(method)
        .bind(data)
        .bind(crate::items::etag_of(data))
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM schedule_messages WHERE owner_id = $1 AND id NOT IN \
             (SELECT id FROM schedule_messages WHERE owner_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(owner_id)
        .bind(INBOX_CAPACITY)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a message; false when there was none of that name.
    pub async fn delete_inbox_message(
        &self,
        owner_id: i64,
        name: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM schedule_messages WHERE owner_id = $1 AND name = $2")
            .bind(owner_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    /// The calendar the account chose for invitations, if it chose one.
    pub async fn schedule_default(&self, user_id: i64) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT collection_id FROM schedule_defaults WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn set_schedule_default(
        &self,
        user_id: i64,
        collection_id: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO schedule_defaults (user_id, collection_id) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET collection_id = excluded.collection_id",
        )
        .bind(user_id)
        .bind(collection_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The data of the account's most recently changed events, at most `limit`.
    pub async fn recent_objects(
        &self,
        owner_id: i64,
        limit: i64,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT i.data FROM items i JOIN collections c ON c.id = i.collection_id \
             WHERE c.owner_id = $1 AND i.component = 'VEVENT' ORDER BY i.modified_at DESC LIMIT $2",
        )
        .bind(owner_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Where the account keeps calendar objects with this UID: (calendar
    /// id, resource name), in any of its calendars.
    pub async fn uid_locations(
        &self,
        owner_id: i64,
        uid: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT i.collection_id, i.name FROM items i JOIN collections c ON c.id = i.collection_id \
             WHERE c.owner_id = $1 AND i.uid = $2 ORDER BY i.collection_id",
        )
        .bind(owner_id)
        .bind(uid)
        .fetch_all(&self.pool)
        .await?)
    }
}
