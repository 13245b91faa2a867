//! What the status site shows: probe results per component, and incidents
//! (or planned maintenance) with their updates.

use crate::error::StoreError;
use crate::handle::{now, Store};
use crate::model::Flag;

/// One check of one part of the service.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProbeResult {
    pub at: i64,
    pub component: String,
    #[sqlx(try_from = "i64")]
    pub ok: Flag,
    pub latency_ms: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Incident {
    pub id: i64,
    /// "incident" or "maintenance".
    pub kind: String,
    pub title: String,
    /// investigating, identified, monitoring, resolved; or scheduled,
    /// in-progress, completed for maintenance.
    pub status: String,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    #[sqlx(skip)]
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// Over: a resolved incident, or completed maintenance.
    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "resolved" | "completed")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IncidentUpdate {
    pub incident_id: i64,
    pub at: i64,
    pub status: String,
    pub message: String,
}

/// Share of successful checks of a component since some time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uptime {
    pub checks: i64,
    pub ok: i64,
}

impl Uptime {
    pub fn percent(self) -> Option<f64> {
        (self.checks > 0).then(|| {
            #[allow(clippy::cast_precision_loss)] // counts far below 2^52
            let share = self.ok as f64 / self.checks as f64;
            share * 100.0
        })
    }
}

pub const INCIDENT_STATUSES: &[&str] = &["investigating", "identified", "monitoring", "resolved"];
pub const MAINTENANCE_STATUSES: &[&str] = &["scheduled", "in-progress", "completed"];

impl Store {
    pub async fn record_probe_results(&self, results: &[ProbeResult]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for r in results {
            sqlx::query(
                "INSERT INTO probe_results (at, component, ok, latency_ms, message) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(r.at)
            .bind(&r.component)
            .bind(i64::from(r.ok.0))
            .bind(r.latency_ms)
            .bind(&r.message)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest result of each component.
    pub async fn latest_probe_results(&self) -> Result<Vec<ProbeResult>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT p.at, p.component, p.ok, p.latency_ms, p.message FROM probe_results p \
             JOIN (SELECT component, MAX(at) AS at FROM probe_results GROUP BY component) newest \
             ON newest.component = p.component AND newest.at = p.at ORDER BY p.component",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Checks and successes per component since `since`.
    pub async fn uptime_since(&self, since: i64) -> Result<Vec<(String, Uptime)>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT component, COUNT(*), CAST(COALESCE(SUM(ok), 0) AS BIGINT) FROM probe_results \
             WHERE at >= $1 GROUP BY component ORDER BY component",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(c, checks, ok)| (c, Uptime { checks, ok }))
            .collect())
    }

    /// Forgets probe results older than `before` (the site shows 90 days).
    pub async fn prune_probe_results(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM probe_results WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Opens an incident (or announces maintenance) with its first update.
    pub async fn open_incident(
        &self,
        kind: &str,
        title: &str,
        status: &str,
        message: &str,
        window: (i64, Option<i64>),
    ) -> Result<i64, StoreError> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO incidents (kind, title, status, starts_at, ends_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(kind)
        .bind(title)
        .bind(status)
        .bind(window.0)
        .bind(window.1)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        insert_update(&mut tx, id, at, status, message).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds an update; a closing status also ends the incident now, unless
    /// it already has an end.
    pub async fn update_incident(
        &self,
        id: i64,
        status: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let closing = i64::from(matches!(status, "resolved" | "completed"));
        let done = sqlx::query(
            "UPDATE incidents SET status = $2, updated_at = $3, \
             ends_at = CASE WHEN $4 = 1 AND ends_at IS NULL THEN $3 ELSE ends_at END WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(at)
        .bind(closing)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        insert_update(&mut tx, id, at, status, message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The most recently updated incidents with their updates, newest first.
    pub async fn incidents(&self, limit: i64) -> Result<Vec<Incident>, StoreError> {
        let mut incidents: Vec<Incident> = sqlx::query_as(
            "SELECT id, kind, title, status, starts_at, ends_at, created_at, updated_at \
             FROM incidents ORDER BY updated_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let updates: Vec<IncidentUpdate> = sqlx::query_as(
            "SELECT incident_id, at, status, message FROM incident_updates WHERE incident_id IN \
             (SELECT id FROM incidents ORDER BY updated_at DESC, id DESC LIMIT $1) \
             ORDER BY at DESC, id DESC",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        for incident in &mut incidents {
            incident.updates = updates
                .iter()
                .filter(|u| u.incident_id == incident.id)
                .cloned()
                .collect();
        }
        Ok(incidents)
    }
}

async fn insert_update(
    tx: &mut sqlx::AnyConnection,
    incident_id: i64,
    at: i64,
    status: &str,
    message: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO incident_updates (incident_id, at, status, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(incident_id)
    .bind(at)
    .bind(status)
    .bind(message)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
