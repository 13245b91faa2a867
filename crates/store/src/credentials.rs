//! Credential changes, for instances to keep their caches right: an
//! account's password changed, it was locked, its address changed or it
//! was deleted. Every write that does one of these records it in the same
//! transaction.

use crate::error::StoreError;
use crate::handle::{now, Store};

/// Rows older than this are pruned: an instance that was away longer
/// starts with an empty cache anyway.
const KEPT_SECONDS: i64 = 24 * 3600;

impl Store {
    /// The newest change's number (0 when there is none): where an
    /// instance starts following.
    pub async fn latest_credential_change(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM credential_changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Changes after `seq`, oldest first, as (seq, account id).
    pub async fn credential_changes_since(&self, seq: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seq, user_id FROM credential_changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets changes older than a day.
    pub async fn prune_credential_changes(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM credential_changes WHERE changed_at < $1")
            .bind(now() - KEPT_SECONDS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Records, inside a write transaction, that account `user_id`'s
/// credentials changed.
pub(crate) async fn record(tx: &mut crate::write::WriteTx, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO credential_changes (user_id, changed_at) VALUES ($1, $2)")
        .bind(user_id)
        .bind(now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
