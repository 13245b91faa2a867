//! App passwords: a random password per device, shown once, verified by
//! the digest of it the database keeps.

use crate::error::StoreError;
use crate::handle::{now, placeholders, Store};
use crate::model::User;
use crate::users::USER_COLUMNS;

/// One app password, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppPassword {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What a request signed in with an app password needs to know to note
/// its use without writing on every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppPasswordUse {
    pub id: i64,
    pub last_used_at: Option<i64>,
    /// When the account last synced, whatever the password.
    pub last_sync_sign_in: Option<i64>,
}

/// An account holds at most this many: one per device is a handful.
pub const APP_PASSWORDS_PER_ACCOUNT: i64 = 50;

impl Store {
    /// Adds an app password; `Ok(None)` when the account holds the most.
    pub async fn create_app_password(
        &self,
        user_id: i64,
        label: &str,
        secret_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let (held,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM app_passwords WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        if held >= APP_PASSWORDS_PER_ACCOUNT {
            return Ok(None);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO app_passwords (user_id, label, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(label)
        .bind(secret_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// The account's app passwords, newest first.
    pub async fn app_passwords(&self, user_id: i64) -> Result<Vec<AppPassword>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, label, created_at, last_used_at FROM app_passwords \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The account an app password lets in, with the password's use: the
    /// user name must be the password's own.
    pub async fn app_password_user(
        &self,
        name: &str,
        secret_hash: &str,
    ) -> Result<Option<(User, AppPasswordUse)>, StoreError> {
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, a.id AS app_password_id, a.last_used_at AS app_password_used, \
             u.last_sync_sign_in AS synced FROM app_passwords a JOIN users u ON u.id = a.user_id \
             WHERE a.secret_hash = $1 AND u.name = $2"
        );
        let row: Option<(User, AppPasswordUse)> = sqlx::query(&sql)
            .bind(secret_hash)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                use sqlx::Row;
                let user = <User as sqlx::FromRow<_>>::from_row(&row)?;
                let password_use = AppPasswordUse {
                    id: row.try_get("app_password_id")?,
                    last_used_at: row.try_get("app_password_used")?,
                    last_sync_sign_in: row.try_get("synced")?,
                };
                Ok::<_, sqlx::Error>((user, password_use))
            })
            .transpose()?;
        Ok(row)
    }

    /// Notes that these app passwords were just used (batched like
    /// [`Store::record_sign_ins`]).
    pub async fn touch_app_passwords(&self, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(1000) {
            let list = placeholders(2, chunk.len());
            let sql = format!("UPDATE app_passwords SET last_used_at = $1 WHERE id IN ({list})");
            let mut query = sqlx::query(&sql).bind(now());
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Revokes one of the account's app passwords; false when it has no
    /// such password.
    pub async fn delete_app_password(&self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM app_passwords WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
