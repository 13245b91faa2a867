//! Invitations mailed to people without an account: the token of each
//! mail's answer links (kept hashed), what it is for, and its one answer.

use crate::error::StoreError;
use crate::handle::{now, Store};

/// An invitation link, looked up by its token's hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    pub id: i64,
    pub collection_id: i64,
    pub uid: String,
    /// The invited address, lower-case.
    pub attendee: String,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    pub answer: Option<String>,
}

impl Store {
    pub async fn create_invitation(
        &self,
        token_hash: &str,
        (collection_id, uid): (i64, &str),
        attendee: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO invitations (token_hash, collection_id, uid, attendee, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(collection_id)
        .bind(uid)
        .bind(attendee)
        .bind(now())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, collection_id, uid, attendee, expires_at, answered_at, answer \
             FROM invitations WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records the link's answer, if it has none yet: false when another
    /// request answered first.
    pub async fn answer_invitation(&self, id: i64, answer: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE invitations SET answered_at = $1, answer = $2 WHERE id = $3 AND answered_at IS NULL",
        )
        .bind(now())
        .bind(answer)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    /// The calendars whose event `uid` this service invited `attendee` to.
    pub async fn invited_collections(
        &self,
        uid: &str,
        attendee: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT collection_id FROM invitations WHERE uid = $1 AND attendee = $2",
        )
        .bind(uid)
        .bind(attendee)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Takes an answer back (the organizer's copy could not be changed).
    pub async fn unanswer_invitation(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE invitations SET answered_at = NULL, answer = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
