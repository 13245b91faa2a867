use crate::error::unique_violation;
use crate::{now, Store, StoreError, User};

const USER_COLUMNS: &str = "id, name, email, password_hash, is_admin, created_at";

impl Store {
    pub async fn create_user(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        let sql = format!(
            "INSERT INTO users (name, email, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
        );
        sqlx::query_as(&sql)
            .bind(name)
            .bind(email)
            .bind(password_hash)
            .bind(i64::from(is_admin))
            .bind(now())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| unique_violation(e, &format!("user {name}")))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        Ok(sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(password_hash)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes the user and, by cascade, every collection and item they own.
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// (accounts, calendars, calendar objects) in the whole service, for
    /// the metrics that come from the database rather than the log.
    pub async fn totals(&self) -> Result<(i64, i64, i64), StoreError> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM users), \
             (SELECT COUNT(*) FROM collections WHERE is_calendar = 1), \
             (SELECT COUNT(*) FROM items i JOIN collections c ON c.id = i.collection_id \
              WHERE c.is_calendar = 1)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Bytes of all items the user owns (RFC 4331 quota-used-bytes).
    pub async fn bytes_used(&self, owner_id: i64) -> Result<i64, StoreError> {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(i.size), 0) AS BIGINT) FROM items i \
             JOIN collections c ON c.id = i.collection_id WHERE c.owner_id = $1",
        )
        .bind(owner_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(used)
    }
}
