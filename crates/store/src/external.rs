//! Series submitted from outside (e.g. client downloads counted elsewhere).

use crate::error::StoreError;
use crate::handle::Store;

impl Store {
    /// Stores values of a series; a day already there is replaced.
    pub async fn put_external_points(
        &self,
        series: &str,
        points: &[(String, f64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (day, value) in points {
            sqlx::query(
                "INSERT INTO external_points (series, day, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (series, day) DO UPDATE SET value = excluded.value",
            )
            .bind(series)
            .bind(day)
            .bind(*value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// (day as YYYY-MM-DD, value) of a series, oldest first.
    pub async fn external_points(&self, series: &str) -> Result<Vec<(String, f64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT day, value FROM external_points WHERE series = $1 ORDER BY day")
                .bind(series)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn external_series(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT series FROM external_points ORDER BY series")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }
}
