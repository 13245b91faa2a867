//! Log-in sessions and single-use mail links. Both are found by the SHA-256
//! digest of their token: the tokens themselves are never stored.

use crate::error::StoreError;
use crate::handle::{now, Store};
use crate::model::User;
use crate::users::USER_COLUMNS;

/// What a mail link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Validates a new account's address.
    Verify,
    /// Confirms a changed address (kept in [`MailToken::new_email`]).
    Email,
    /// Lets a person who forgot their password choose a new one.
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Email => "email",
            Self::Reset => "reset",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "verify" => Some(Self::Verify),
            "email" => Some(Self::Email),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }
}

/// A mail link taken from the database (it cannot be used twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailToken {
    pub user_id: i64,
    pub purpose: TokenPurpose,
    pub new_email: Option<String>,
    pub expires_at: i64,
}

impl MailToken {
    pub fn is_expired(&self) -> bool {
        self.expires_at <= now()
    }
}

impl Store {
    /// Starts a session; expired sessions of everyone are cleared on the way.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let now = now();
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account of a live session.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(token_hash)
            .bind(now())
            .fetch_optional(&self.pool)
            .await?)
    }

    /// (open web sessions, when the newest began) of an account, for the
    /// staff's page of one user. A session ends at log-out, so this is
    /// the last web log-in still open, not every one there was.
    pub async fn session_summary(&self, user_id: i64) -> Result<(i64, Option<i64>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MAX(created_at) FROM sessions WHERE user_id = $1 AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of an account except `keep` (the one in use).
    pub async fn delete_sessions_of(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or_default())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a mail link, replacing any earlier link of the same purpose
    /// for the account (only the newest link works).
    pub async fn create_mail_token(
        &self,
        token_hash: &str,
        user_id: i64,
        purpose: TokenPurpose,
        new_email: Option<&str>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM mail_tokens WHERE user_id = $1 AND purpose = $2")
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mail_tokens (token_hash, user_id, purpose, new_email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(new_email)
        .bind(now())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Looks a mail link up without using it (a reset form shows first).
    pub async fn peek_mail_token(&self, token_hash: &str) -> Result<Option<MailToken>, StoreError> {
        let row: Option<(i64, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT user_id, purpose, new_email, expires_at FROM mail_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(user_id, purpose, new_email, expires_at)| {
            Some(MailToken {
                user_id,
                purpose: TokenPurpose::parse(&purpose)?,
                new_email,
                expires_at,
            })
        }))
    }

    /// Uses up a mail link: whoever deletes the row first gets it.
    pub async fn take_mail_token(&self, token_hash: &str) -> Result<Option<MailToken>, StoreError> {
        let Some(token) = self.peek_mail_token(token_hash).await? else {
            return Ok(None);
        };
        let done = sqlx::query("DELETE FROM mail_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok((done.rows_affected() == 1).then_some(token))
    }
}
