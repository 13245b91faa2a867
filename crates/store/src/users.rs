use crate::credentials;
use crate::error::unique_violation;
use crate::error::StoreError;
use crate::handle::{now, placeholders, Store};
use crate::model::User;

/// How long the name of a deleted account stays unavailable to others, as
/// mail providers hold a closed address: mail and share links sent to the
/// old owner must not reach someone new.
pub const NAME_HOLD_SECONDS: i64 = 180 * 24 * 3600;

/// How an account signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInWay {
    /// The log-in form of the site.
    Web,
    /// A calendar app with Basic credentials.
    Sync,
}

/// When an account last signed in, each way (Unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastSignIns {
    pub web: Option<i64>,
    pub sync: Option<i64>,
}

pub(crate) const USER_COLUMNS: &str =
    "id, name, email, password_hash, is_admin, created_at, verified_at, locked";

impl Store {
    /// An account ready to use (made by an operator).
    pub async fn create_user(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        self.insert_user(name, email, password_hash, is_admin, Some(now()))
            .await
    }

    /// An account signed up on the site: it cannot log in or sync until its
    /// address is validated ([`Store::mark_verified`]).
    pub async fn create_pending_user(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        self.insert_user(name, email, password_hash, false, None)
            .await
    }

    async fn insert_user(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        is_admin: bool,
        verified_at: Option<i64>,
    ) -> Result<User, StoreError> {
        if self.name_is_held(name).await? {
            return Err(StoreError::AlreadyExists(format!("user {name}")));
        }
        let sql = format!(
            "INSERT INTO users (name, email, password_hash, is_admin, created_at, verified_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
        );
        sqlx::query_as(&sql)
            .bind(name)
            .bind(email)
            .bind(password_hash)
            .bind(i64::from(is_admin))
            .bind(now())
            .bind(verified_at)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| unique_violation(e, &format!("user {name}")))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Accounts with this address (case-insensitive), oldest first.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1) ORDER BY id");
        Ok(sqlx::query_as(&sql)
            .bind(email)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Accounts whose name or address contains `text`, at most `limit`.
    pub async fn search_users(&self, text: &str, limit: i64) -> Result<Vec<User>, StoreError> {
        let pattern = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE lower(name) LIKE $1 ESCAPE '\\' OR lower(email) LIKE $1 ESCAPE '\\' \
             ORDER BY name LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(pattern)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Removes sign-ups made before `before` whose address was never
    /// validated, freeing their names.
    pub async fn delete_stale_pending_users(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE verified_at IS NULL AND created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn mark_verified(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET verified_at = $1 WHERE id = $2 AND verified_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_email(&self, id: i64, email: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        credentials::record(&mut tx, id).await?;
        tx.commit().await
    }

    /// Locks or unlocks an account; a lock also ends its sessions.
    pub async fn set_locked(&self, name: &str, locked: bool) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let changed: Option<(i64,)> =
            sqlx::query_as("UPDATE users SET locked = $1 WHERE name = $2 RETURNING id")
                .bind(i64::from(locked))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((id,)) = changed else {
            return Err(StoreError::NotFound);
        };
        credentials::record(&mut tx, id).await?;
        if locked {
            sqlx::query(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = $1)",
            )
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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
        let mut tx = self.begin_write().await?;
        let changed: Option<(i64,)> =
            sqlx::query_as("UPDATE users SET password_hash = $1 WHERE name = $2 RETURNING id")
                .bind(password_hash)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((id,)) = changed else {
            return Err(StoreError::NotFound);
        };
        credentials::record(&mut tx, id).await?;
        tx.commit().await
    }

    /// Notes that these accounts just logged in on the web or synced (one
    /// statement per thousand accounts: instances batch their sync notes).
    pub async fn record_sign_ins(
        &self,
        user_ids: &[i64],
        way: SignInWay,
    ) -> Result<(), StoreError> {
        let column = match way {
            SignInWay::Web => "last_web_sign_in",
            SignInWay::Sync => "last_sync_sign_in",
        };
        for chunk in user_ids.chunks(1000) {
            let list = placeholders(2, chunk.len());
            let sql = format!("UPDATE users SET {column} = $1 WHERE id IN ({list})");
            let mut query = sqlx::query(&sql).bind(now());
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    /// When the account last logged in on the web and last synced.
    pub async fn last_sign_ins(&self, user_id: i64) -> Result<LastSignIns, StoreError> {
        let (web, sync): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT last_web_sign_in, last_sync_sign_in FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_default();
        Ok(LastSignIns { web, sync })
    }

    /// Deletes the user and, by cascade, every collection and item they
    /// own. The name of an account that was in use (its address validated)
    /// is held for [`NAME_HOLD_SECONDS`].
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted: Option<(i64, Option<i64>)> =
            sqlx::query_as("DELETE FROM users WHERE name = $1 RETURNING id, verified_at")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((id, verified_at)) = deleted else {
            return Err(StoreError::NotFound);
        };
        credentials::record(&mut tx, id).await?;
        if verified_at.is_some() {
            sqlx::query(
                "INSERT INTO held_names (name, held_until) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET held_until = excluded.held_until",
            )
            .bind(name)
            .bind(now() + NAME_HOLD_SECONDS)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Whether `name` belonged to an account deleted less than
    /// [`NAME_HOLD_SECONDS`] ago.
    pub async fn name_is_held(&self, name: &str) -> Result<bool, StoreError> {
        let held: Option<(i64,)> =
            sqlx::query_as("SELECT held_until FROM held_names WHERE name = $1 AND held_until > $2")
                .bind(name)
                .bind(now())
                .fetch_optional(&self.pool)
                .await?;
        Ok(held.is_some())
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

    /// Accounts made per UTC day (days since 1970-01-01, count), oldest
    /// first: what the account total was on days before it was snapshotted.
    pub async fn accounts_made_per_day(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT created_at / 86400 AS day, COUNT(*) FROM users GROUP BY created_at / 86400 ORDER BY day",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Bytes the user stores (RFC 4331 quota-used-bytes): items, dead
    /// properties (name and value) and the properties of collections.
    pub async fn bytes_used(&self, owner_id: i64) -> Result<i64, StoreError> {
        let (used,): (i64,) = sqlx::query_as(&self.stored_bytes_sql("c.owner_id = $1"))
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(used)
    }

    /// SQL for the bytes stored in the collections `c` that `condition`
    /// selects, counted as the quota counts them.
    pub(crate) fn stored_bytes_sql(&self, condition: &str) -> String {
        let bytes = |column: &str| match self.backend {
            crate::handle::Backend::Sqlite => {
                format!("COALESCE(length(CAST({column} AS BLOB)), 0)")
            }
            crate::handle::Backend::Postgres => format!("COALESCE(octet_length({column}), 0)"),
        };
        format!(
            "SELECT CAST(\
             COALESCE((SELECT SUM(i.size) FROM items i JOIN collections c ON c.id = i.collection_id \
                       WHERE {condition}), 0) + \
             COALESCE((SELECT SUM({dead_name} + {dead_value}) FROM dead_properties d \
                       JOIN collections c ON c.id = d.collection_id WHERE {condition}), 0) + \
             COALESCE((SELECT SUM({displayname} + {description} + {color} + {timezone}) \
                       FROM collections c WHERE {condition}), 0) AS BIGINT)",
            dead_name = bytes("d.name"),
            dead_value = bytes("d.value"),
            displayname = bytes("c.displayname"),
            description = bytes("c.description"),
            color = bytes("c.color"),
            timezone = bytes("c.timezone"),
        )
    }
}
