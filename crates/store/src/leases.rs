//! Leases on jobs that must run once across instances.

use crate::error::StoreError;
use crate::handle::{now, Store};

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
