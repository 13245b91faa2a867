//! What instances on one database must share: leases on jobs that run
//! once, and the counts behind form rate limits.

use crate::error::StoreError;
use crate::handle::{now, placeholders, Store};

impl Store {
    /// Whether `holder` may run `job` now: it gets (or keeps) the job's
    /// lease for `seconds` unless another holder's lease is still live.
    pub async fn take_turn(
        &self,
        job: &str,
        holder: &str,
        seconds: i64,
    ) -> Result<bool, StoreError> {
        let now = now();
        let mut tx = self.begin_write().await?;
        let taken: Option<(String,)> = sqlx::query_as(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $4 \
             RETURNING holder",
        )
        .bind(job)
        .bind(holder)
        .bind(now + seconds)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.is_some())
    }
}

impl Store {
    /// Counts an attempt on `key` in a fixed window of `window` seconds:
    /// (attempts in the window so far, this one included; when it began).
    pub async fn count_attempt(&self, key: &str, window: i64) -> Result<(i64, i64), StoreError> {
        self.count_attempts(key, window, 1).await
    }

    /// Counts `n` attempts at once (an invitation to many people).
    pub async fn count_attempts(
        &self,
        key: &str,
        window: i64,
        n: i64,
    ) -> Result<(i64, i64), StoreError> {
        let now = now();
        let mut tx = self.begin_write().await?;
        let counted: (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_windows (key, attempts, window_start) VALUES ($1, $4, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               attempts = CASE WHEN rate_windows.window_start <= $3 THEN $4 ELSE rate_windows.attempts + $4 END, \
               window_start = CASE WHEN rate_windows.window_start <= $3 THEN $2 ELSE rate_windows.window_start END \
             RETURNING attempts, window_start",
        )
        .bind(key)
        .bind(now)
        .bind(now - window)
        .bind(n)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counted)
    }

    /// The attempts counted on `keys` in windows of `window` seconds still
    /// running: (key, attempts, when the window began).
    pub async fn attempts(
        &self,
        keys: &[String],
        window: i64,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let list = placeholders(2, keys.len());
        let sql = format!(
            "SELECT key, attempts, window_start FROM rate_windows WHERE window_start > $1 AND key IN ({list})"
        );
        let mut query = sqlx::query_as(&sql).bind(now() - window);
        for key in keys {
            query = query.bind(key);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Forgets the attempts counted on `key`.
    pub async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_windows WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets windows that ended more than a day ago.
    pub async fn prune_rate_windows(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
            .bind(now() - 86_400)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
