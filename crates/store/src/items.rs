use crate::collections::write_dead_properties;
use crate::error::StoreError;
use crate::handle::{now, Backend, Store};
use crate::model::{Change, Item, ItemMeta, NewItem, Origin, PutOutcome, WriteCondition};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

pub(crate) const META_COLUMNS: &str =
    "name, content_type, etag, size, component, revision, modified_at";

impl Store {
    /// Every member of a collection, without their data (PROPFIND Depth 1).
    ///
    /// The rows come back packed into one text value: the drivers' cost is
    /// per row, and a listing of a thousand members is the common case.
    /// Separators are the ASCII unit (0x1F) and record (0x1E) separators,
    /// which resource names cannot contain (see `almanac_dav::paths`).
    pub async fn item_metas(&self, collection_id: i64) -> Result<Vec<ItemMeta>, StoreError> {
        let fields = "name || chr(31) || content_type || chr(31) || etag || chr(31) || \
                      CAST(size AS TEXT) || chr(31) || COALESCE(component, '') || chr(31) || \
                      CAST(revision AS TEXT) || chr(31) || CAST(modified_at AS TEXT)";
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "SELECT group_concat(packed, char(30)) FROM (SELECT {} AS packed FROM items \
                 WHERE collection_id = $1 ORDER BY name)",
                fields.replace("chr(31)", "char(31)")
            ),
            Backend::Postgres => format!(
                "SELECT string_agg({fields}, chr(30) ORDER BY name) FROM items WHERE collection_id = $1"
            ),
        };
        let (packed,): (Option<String>,) = sqlx::query_as(&sql)
            .bind(collection_id)
            .fetch_one(&self.pool)
            .await?;
        packed
            .as_deref()
            .unwrap_or_default()
            .split('\u{1e}')
            .filter(|record| !record.is_empty())
            .map(unpack_meta)
            .collect()
    }

    pub async fn item_meta(
        &self,
        collection_id: i64,
        name: &str,
    ) -> Result<Option<ItemMeta>, StoreError> {
        let sql =
            format!("SELECT {META_COLUMNS} FROM items WHERE collection_id = $1 AND name = $2");
        Ok(sqlx::query_as(&sql)
            .bind(collection_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn item(&self, collection_id: i64, name: &str) -> Result<Option<Item>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS}, data FROM items WHERE collection_id = $1 AND name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(collection_id)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| item_from_row(&row)).transpose()
    }

    /// Every member with its data, in name order (webcal export).
    pub async fn items(&self, collection_id: i64) -> Result<Vec<Item>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS}, data FROM items WHERE collection_id = $1 ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(collection_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Calendar objects whose recurrence set may overlap `[start, end)`,
    /// optionally of one component type: the coarse index step of a query.
    pub async fn items_overlapping(
        &self,
        collection_id: i64,
        component: Option<&str>,
        start: i64,
        end: i64,
    ) -> Result<Vec<Item>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS}, data FROM items WHERE collection_id = $1 \
             AND start_utc < $2 AND end_utc > $3 AND ($4 = '' OR component = $4) ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(collection_id)
            .bind(end)
            .bind(start)
            .bind(component.unwrap_or(""))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(item_from_row).collect()
    }

    pub async fn count_items(&self, collection_id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM items WHERE collection_id = $1")
            .bind(collection_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Creates or replaces a member. Checks the write condition, the UID
    /// uniqueness within the calendar and `max_items`, bumps the collection's
    /// sync revision and logs the change, all in one transaction.
    pub async fn put_item(
        &self,
        collection_id: i64,
        name: &str,
        item: &NewItem<'_>,
        condition: &WriteCondition,
        max_items: i64,
    ) -> Result<PutOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        // Writing first takes SQLite's write lock at once, so two writers queue
        // on busy_timeout instead of failing on a read-to-write upgrade.
        let revision = bump_revision(&mut tx, collection_id).await?;
        let existing = current_etag(&mut tx, collection_id, name).await?;
        check_condition(condition, existing.as_deref())?;
        if let Some(index) = &item.calendar {
            let clash: Option<(String,)> = sqlx::query_as(
                "SELECT name FROM items WHERE collection_id = $1 AND uid = $2 AND name <> $3",
            )
            .bind(collection_id)
            .bind(&index.uid)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((other,)) = clash {
                return Err(StoreError::UidConflict(other));
            }
        }
        if existing.is_none() {
            let (count,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM items WHERE collection_id = $1")
                    .bind(collection_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= max_items {
                return Err(StoreError::Limit(format!(
                    "a collection holds at most {max_items} items"
                )));
            }
        }
        let etag = etag_of(item.data);
        let index = item.calendar.as_ref();
        sqlx::query(
            "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, \
             component, start_utc, end_utc, revision, modified_at, search_text, alarm_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (collection_id, name) DO UPDATE SET content_type = excluded.content_type, \
             etag = excluded.etag, data = excluded.data, size = excluded.size, uid = excluded.uid, \
             component = excluded.component, start_utc = excluded.start_utc, \
             end_utc = excluded.end_utc, revision = excluded.revision, \
             modified_at = excluded.modified_at, search_text = excluded.search_text, \
             alarm_at = excluded.alarm_at",
        )
        .bind(collection_id)
        .bind(name)
        .bind(item.content_type)
        .bind(&etag)
        .bind(item.data)
        .bind(i64::try_from(item.data.len()).unwrap_or(i64::MAX))
        .bind(index.map(|i| i.uid.clone()))
        .bind(index.map(|i| i.component.clone()))
        .bind(index.map(|i| i.start))
        .bind(index.map(|i| i.end))
        .bind(revision)
        .bind(now())
        .bind(index.map(|i| i.search_text.clone()))
        .bind(index.and_then(|i| i.alarm_at))
        .execute(&mut *tx)
        .await?;
        log_change(&mut tx, collection_id, name, revision, false, item.origin).await?;
        tx.commit().await?;
        Ok(PutOutcome {
            created: existing.is_none(),
            etag,
        })
    }

    /// Deletes a member (with its dead properties) and leaves a tombstone.
    pub async fn delete_item(
        &self,
        collection_id: i64,
        name: &str,
        condition: &WriteCondition,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let revision = bump_revision(&mut tx, collection_id).await?;
        let existing = current_etag(&mut tx, collection_id, name).await?;
        if existing.is_none() {
            return Err(StoreError::NotFound);
        }
        check_condition(condition, existing.as_deref())?;
        sqlx::query("DELETE FROM items WHERE collection_id = $1 AND name = $2")
            .bind(collection_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dead_properties WHERE collection_id = $1 AND item_name = $2")
            .bind(collection_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        log_change(&mut tx, collection_id, name, revision, true, origin).await?;
        prune_tombstones(&mut tx, collection_id, self.tombstones_kept).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Renames a member within its collection (MOVE), keeping its data and
    /// dead properties; sync sees the old name deleted and the new one added.
    pub async fn rename_item(
        &self,
        collection_id: i64,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let revision = bump_revision(&mut tx, collection_id).await?;
        let moved = sqlx::query(
            "UPDATE items SET name = $3, revision = $4 WHERE collection_id = $1 AND name = $2",
        )
        .bind(collection_id)
        .bind(from)
        .bind(to)
        .bind(revision)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE dead_properties SET item_name = $3 WHERE collection_id = $1 AND item_name = $2",
        )
        .bind(collection_id)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        log_change(&mut tx, collection_id, from, revision, true, Origin::Sync).await?;
        log_change(&mut tx, collection_id, to, revision, false, Origin::Sync).await?;
        prune_tombstones(&mut tx, collection_id, self.tombstones_kept).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The member of a calendar holding `uid`, if any.
    pub async fn item_name_for_uid(
        &self,
        collection_id: i64,
        uid: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT name FROM items WHERE collection_id = $1 AND uid = $2")
                .bind(collection_id)
                .bind(uid)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(name,)| name))
    }

    /// Copies a member's dead properties onto another member (COPY/MOVE).
    pub async fn copy_item_dead_properties(
        &self,
        from: (i64, &str),
        to: (i64, &str),
    ) -> Result<(), StoreError> {
        let props = self.dead_properties(from.0, from.1).await?;
        let mut tx = self.begin_write().await?;
        let dead: Vec<(String, Option<String>)> =
            props.into_iter().map(|(n, v)| (n, Some(v))).collect();
        write_dead_properties(&mut tx, to.0, to.1, &dead).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes after `revision`, oldest first, at most `limit` of them.
    pub async fn changes_since(
        &self,
        collection_id: i64,
        revision: i64,
        limit: i64,
    ) -> Result<Vec<Change>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, revision, deleted FROM changes WHERE collection_id = $1 \
             AND revision > $2 ORDER BY revision LIMIT $3",
        )
        .bind(collection_id)
        .bind(revision)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

fn unpack_meta(record: &str) -> Result<ItemMeta, StoreError> {
    let corrupt = || StoreError::Config(format!("unreadable item listing row {record:?}"));
    let mut fields = record.split('\u{1f}');
    let mut next = || fields.next().ok_or_else(corrupt);
    let name = next()?.to_owned();
    let content_type = next()?.to_owned();
    let etag = next()?.to_owned();
    let size = next()?.parse().map_err(|_| corrupt())?;
    let component = Some(next()?).filter(|c| !c.is_empty()).map(str::to_owned);
    let revision = next()?.parse().map_err(|_| corrupt())?;
    let modified_at = next()?.parse().map_err(|_| corrupt())?;
    Ok(ItemMeta {
        name,
        content_type,
        etag,
        size,
        component,
        revision,
        modified_at,
    })
}

pub(crate) fn item_from_row(row: &sqlx::any::AnyRow) -> Result<Item, StoreError> {
    Ok(Item {
        meta: ItemMeta {
            name: row.try_get("name")?,
            content_type: row.try_get("content_type")?,
            etag: row.try_get("etag")?,
            size: row.try_get("size")?,
            component: row.try_get("component")?,
            revision: row.try_get("revision")?,
            modified_at: row.try_get("modified_at")?,
        },
        data: row.try_get("data")?,
    })
}

/// A strong ETag: a hash of the exact bytes stored.
pub fn etag_of(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    format!("\"{}\"", crate::handle::hex(&digest[..12]))
}

fn check_condition(condition: &WriteCondition, current: Option<&str>) -> Result<(), StoreError> {
    let ok = match condition {
        WriteCondition::Always => true,
        WriteCondition::IfMatch(etag) => current == Some(etag.as_str()),
        WriteCondition::IfExists => current.is_some(),
        WriteCondition::IfAbsent => current.is_none(),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::PreconditionFailed)
    }
}

async fn current_etag(
    tx: &mut AnyConnection,
    collection_id: i64,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT etag FROM items WHERE collection_id = $1 AND name = $2")
            .bind(collection_id)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(row.map(|(etag,)| etag))
}

async fn bump_revision(tx: &mut AnyConnection, collection_id: i64) -> Result<i64, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE collections SET sync_revision = sync_revision + 1, modified_at = $2 \
         WHERE id = $1 RETURNING sync_revision",
    )
    .bind(collection_id)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|(r,)| r).ok_or(StoreError::NotFound)
}

/// Drops the oldest tombstones beyond `kept` and raises the collection's
/// sync floor past the newest revision dropped, so deleting does not grow
/// the database without bound. At every deletion: the index on
/// (collection, deleted, revision) makes it a walk over at most `kept`
/// index entries.
async fn prune_tombstones(
    tx: &mut AnyConnection,
    collection_id: i64,
    kept: i64,
) -> Result<(), StoreError> {
    let cutoff: Option<(i64,)> = sqlx::query_as(
        "SELECT revision FROM changes WHERE collection_id = $1 AND deleted = 1 \
         ORDER BY revision DESC LIMIT 1 OFFSET $2",
    )
    .bind(collection_id)
    .bind(kept)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((cutoff,)) = cutoff else {
        return Ok(());
    };
    sqlx::query("DELETE FROM changes WHERE collection_id = $1 AND deleted = 1 AND revision <= $2")
        .bind(collection_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE collections SET sync_floor = $2 WHERE id = $1 AND sync_floor < $2")
        .bind(collection_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn log_change(
    tx: &mut AnyConnection,
    collection_id: i64,
    name: &str,
    revision: i64,
    deleted: bool,
    origin: Origin,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO changes (collection_id, name, revision, deleted, origin) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (collection_id, name) DO UPDATE SET revision = excluded.revision, \
         deleted = excluded.deleted, origin = excluded.origin",
    )
    .bind(collection_id)
    .bind(name)
    .bind(revision)
    .bind(i64::from(deleted))
    .bind(origin.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
