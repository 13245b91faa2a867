//! Share links (tickets): one calendar opened to whoever holds the link.
//! Links are found by the SHA-256 of their token; the token is not stored.

use crate::collections::COLLECTION_COLUMNS;
use crate::error::StoreError;
use crate::handle::{now, Store};
use crate::model::{Collection, User};
use crate::users::USER_COLUMNS;

/// What a share link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharePermission {
    /// See events (not the details of private ones) and subscribe.
    Read,
    /// Read, and add, change and delete events.
    Write,
    /// See only when the owner is busy: no titles, no details.
    FreeBusy,
}

impl SharePermission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::FreeBusy => "freebusy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "freebusy" => Some(Self::FreeBusy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ShareLink {
    pub id: i64,
    pub collection_id: i64,
    pub permission: String,
    pub label: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub use_count: i64,
}

impl ShareLink {
    pub fn permission(&self) -> SharePermission {
        SharePermission::parse(&self.permission).unwrap_or(SharePermission::FreeBusy)
    }

    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= now())
    }
}

/// What a live link opens: the link, its calendar and the calendar's owner.
#[derive(Debug, Clone)]
pub struct SharedCalendar {
    pub link: ShareLink,
    pub calendar: Collection,
    pub owner: User,
}

const LINK_COLUMNS: &str =
    "id, collection_id, permission, label, created_at, expires_at, last_used_at, use_count";

impl Store {
    pub async fn create_share_link(
        &self,
        collection_id: i64,
        token_hash: &str,
        permission: SharePermission,
        label: &str,
        expires_at: Option<i64>,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO share_links (collection_id, token_hash, permission, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(collection_id)
        .bind(token_hash)
        .bind(permission.as_str())
        .bind(label)
        .bind(now())
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The links of one calendar, newest first.
    pub async fn share_links(&self, collection_id: i64) -> Result<Vec<ShareLink>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM share_links WHERE collection_id = $1 ORDER BY id DESC"
        );
        Ok(sqlx::query_as(&sql)
            .bind(collection_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A live link (not expired) by its token's digest, with what it opens;
    /// each use is counted.
    pub async fn use_share_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<SharedCalendar>, StoreError> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM share_links WHERE token_hash = $1");
        let Some(link): Option<ShareLink> = sqlx::query_as(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        if link.is_expired() {
            return Ok(None);
        }
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = $1");
        let Some(calendar): Option<Collection> = sqlx::query_as(&sql)
            .bind(link.collection_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let Some(owner): Option<User> = sqlx::query_as(&sql)
            .bind(calendar.owner_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        if !owner.may_sign_in() {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE share_links SET use_count = use_count + 1, last_used_at = $1 WHERE id = $2",
        )
        .bind(now())
        .bind(link.id)
        .execute(&self.pool)
        .await?;
        Ok(Some(SharedCalendar {
            link,
            calendar,
            owner,
        }))
    }

    /// Gives a link a new token (the old one stops working at once).
    pub async fn regenerate_share_link(
        &self,
        collection_id: i64,
        id: i64,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE share_links SET token_hash = $1 WHERE id = $2 AND collection_id = $3",
        )
        .bind(token_hash)
        .bind(id)
        .bind(collection_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Revokes a link: it stops working at once.
    pub async fn delete_share_link(&self, collection_id: i64, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM share_links WHERE id = $1 AND collection_id = $2")
            .bind(id)
            .bind(collection_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
