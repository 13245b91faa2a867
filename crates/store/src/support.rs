//! The support queue: requests from the Contact form and the messages
//! exchanged on each.

use crate::error::StoreError;
use crate::handle::{now, Store};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SupportRequest {
    pub id: i64,
    pub user_id: Option<i64>,
    pub name: String,
    pub email: String,
    pub subject: String,
    /// "open" or "closed".
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SupportMessage {
    pub id: i64,
    /// "requester" or "staff".
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

/// A new request as the Contact form takes it.
#[derive(Debug, Clone, Default)]
pub struct NewSupportRequest<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub email: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

const REQUEST_COLUMNS: &str = "id, user_id, name, email, subject, status, created_at, updated_at";

impl Store {
    pub async fn create_support_request(
        &self,
        new: &NewSupportRequest<'_>,
    ) -> Result<i64, StoreError> {
        let now = now();
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO support_requests (user_id, name, email, subject, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id",
        )
        .bind(new.user_id)
        .bind(new.name)
        .bind(new.email)
        .bind(new.subject)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO support_messages (request_id, author, body, created_at) \
             VALUES ($1, 'requester', $2, $3)",
        )
        .bind(id)
        .bind(new.body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests with a status ("open", "closed"; `None`: all), newest first.
    pub async fn support_requests(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SupportRequest>, StoreError> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM support_requests \
             WHERE $1 = '' OR status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(status.unwrap_or_default())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn support_request(
        &self,
        id: i64,
    ) -> Result<Option<(SupportRequest, Vec<SupportMessage>)>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM support_requests WHERE id = $1");
        let Some(request) = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let messages = sqlx::query_as(
            "SELECT id, author, body, created_at FROM support_messages \
             WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((request, messages)))
    }

    /// Adds a message (a staff reply) and sets the request's status.
    pub async fn answer_support_request(
        &self,
        id: i64,
        reply: Option<&str>,
        status: &str,
    ) -> Result<(), StoreError> {
        let now = now();
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE support_requests SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(body) = reply {
            sqlx::query(
                "INSERT INTO support_messages (request_id, author, body, created_at) \
                 VALUES ($1, 'staff', $2, $3)",
            )
            .bind(id)
            .bind(body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
