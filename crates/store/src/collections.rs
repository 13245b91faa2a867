use crate::error::unique_violation;
use crate::error::StoreError;
use crate::handle::{now, Store};
use crate::model::{Collection, CollectionUpdate, NewCollection};
use sqlx::AnyConnection;

pub(crate) const COLLECTION_COLUMNS: &str =
    "id, owner_id, path, is_calendar, displayname, description, \
     color, timezone, components, sync_revision, created_at, modified_at, sync_floor";

/// `descendants_of($2)`: SQL matching rows whose path lies strictly below a
/// path, without LIKE (paths may contain `%` and `_`).
const BELOW_PATH: &str = "substr(path, 1, length($2) + 1) = $2 || '/'";

impl Store {
    pub async fn collection(
        &self,
        owner_id: i64,
        path: &str,
    ) -> Result<Option<Collection>, StoreError> {
        let sql = format!(
            "SELECT {COLLECTION_COLUMNS} FROM collections WHERE owner_id = $1 AND path = $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(path)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A collection by its id (whoever owns it).
    pub async fn collection_by_id(&self, id: i64) -> Result<Option<Collection>, StoreError> {
        let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Direct children of `parent` ("" for the calendar home).
    pub async fn child_collections(
        &self,
        owner_id: i64,
        parent: &str,
    ) -> Result<Vec<Collection>, StoreError> {
        let all: Vec<Collection> = if parent.is_empty() {
            let sql = format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE owner_id = $1 ORDER BY path"
            );
            sqlx::query_as(&sql)
                .bind(owner_id)
                .fetch_all(&self.pool)
                .await?
        } else {
            let sql = format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE owner_id = $1 AND {BELOW_PATH} \
                 ORDER BY path"
            );
            sqlx::query_as(&sql)
                .bind(owner_id)
                .bind(parent)
                .fetch_all(&self.pool)
                .await?
        };
        let prefix_len = if parent.is_empty() {
            0
        } else {
            parent.len() + 1
        };
        Ok(all
            .into_iter()
            .filter(|c| !c.path[prefix_len..].contains('/'))
            .collect())
    }

    /// What copying a collection (with everything below it when `deep`)
    /// adds: (bytes as the quota counts them, collections).
    pub async fn tree_usage(
        &self,
        owner_id: i64,
        path: &str,
        deep: bool,
    ) -> Result<(i64, i64), StoreError> {
        let condition = format!(
            "c.owner_id = $1 AND (c.path = $2 OR ($3 = 1 AND {}))",
            BELOW_PATH.replace("path", "c.path")
        );
        let (bytes,): (i64,) = sqlx::query_as(&self.stored_bytes_sql(&condition))
            .bind(owner_id)
            .bind(path)
            .bind(i64::from(deep))
            .fetch_one(&self.pool)
            .await?;
        let (collections,): (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM collections c WHERE {condition}"
        ))
        .bind(owner_id)
        .bind(path)
        .bind(i64::from(deep))
        .fetch_one(&self.pool)
        .await?;
        Ok((bytes, collections))
    }

    /// Calendars and plain collections together.
    pub async fn count_collections(&self, owner_id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM collections WHERE owner_id = $1")
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    pub async fn create_collection(
        &self,
        owner_id: i64,
        new: &NewCollection,
    ) -> Result<Collection, StoreError> {
        let mut tx = self.begin_write().await?;
        let created = insert_collection(&mut tx, owner_id, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Applies live and dead property changes of one PROPPATCH atomically.
    /// `dead` holds (property name in Clark notation, value XML or None to remove).
    pub async fn update_collection(
        &self,
        id: i64,
        live: &CollectionUpdate,
        dead: &[(String, Option<String>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let columns = [
            ("displayname", &live.displayname),
            ("description", &live.description),
            ("color", &live.color),
            ("timezone", &live.timezone),
        ];
        for (column, value) in columns {
            if let Some(value) = value {
                sqlx::query(&format!(
                    "UPDATE collections SET {column} = $1, modified_at = $2 WHERE id = $3"
                ))
                .bind(value.clone())
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        write_dead_properties(&mut tx, id, "", dead).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Dead properties of a collection (`item_name` "") or of one member.
    pub async fn dead_properties(
        &self,
        collection_id: i64,
        item_name: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, value FROM dead_properties WHERE collection_id = $1 AND item_name = $2 \
             ORDER BY name",
        )
        .bind(collection_id)
        .bind(item_name)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_item_dead_properties(
        &self,
        collection_id: i64,
        item_name: &str,
        dead: &[(String, Option<String>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        write_dead_properties(&mut tx, collection_id, item_name, dead).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a collection with everything below it.
    pub async fn delete_collection_tree(
        &self,
        owner_id: i64,
        path: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(&format!(
            "DELETE FROM collections WHERE owner_id = $1 AND (path = $2 OR {BELOW_PATH})"
        ))
        .bind(owner_id)
        .bind(path)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Renames a collection and everything below it (MOVE). The destination
    /// must not exist; members keep their identity, so sync tokens stay valid.
    pub async fn move_collection_tree(
        &self,
        owner_id: i64,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "UPDATE collections SET path = $3 || substr(path, length($2) + 1), modified_at = $4 \
             WHERE owner_id = $1 AND (path = $2 OR {BELOW_PATH})"
        ))
        .bind(owner_id)
        .bind(from)
        .bind(to)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, to))?;
        tx.commit().await?;
        Ok(())
    }

    /// Copies a collection (and, with `deep`, everything below it) to `to`,
    /// which must not exist. Members get fresh revisions in the copies.
    pub async fn copy_collection_tree(
        &self,
        owner_id: i64,
        from: &str,
        to: &str,
        deep: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = if deep {
            format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE owner_id = $1 \
                 AND (path = $2 OR {BELOW_PATH}) ORDER BY path"
            )
        } else {
            format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE owner_id = $1 AND path = $2"
            )
        };
        let sources: Vec<Collection> = sqlx::query_as(&sql)
            .bind(owner_id)
            .bind(from)
            .fetch_all(&mut *tx)
            .await?;
        if sources.is_empty() {
            return Err(StoreError::NotFound);
        }
        for source in sources {
            let new = NewCollection {
                path: format!("{to}{}", &source.path[from.len()..]),
                is_calendar: source.is_calendar(),
                displayname: source.displayname.clone(),
                description: source.description.clone(),
                color: source.color.clone(),
                timezone: source.timezone.clone(),
                components: Some(source.components.clone()),
            };
            let copy = insert_collection(&mut tx, owner_id, &new).await?;
            sqlx::query(
                "INSERT INTO dead_properties (collection_id, item_name, name, value) \
                 SELECT $1, item_name, name, value FROM dead_properties \
                 WHERE collection_id = $2 AND (item_name = '' OR $3 = 1)",
            )
            .bind(copy.id)
            .bind(source.id)
            .bind(i64::from(deep))
            .execute(&mut *tx)
            .await?;
            if deep {
                sqlx::query(
                    "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, \
                     component, start_utc, end_utc, revision, modified_at, search_text, alarm_at) \
                     SELECT $1, name, content_type, etag, data, size, uid, component, start_utc, \
                     end_utc, 1, modified_at, search_text, alarm_at FROM items WHERE collection_id = $2",
                )
                .bind(copy.id)
                .bind(source.id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO changes (collection_id, name, revision, deleted) \
                     SELECT $1, name, 1, 0 FROM items WHERE collection_id = $1",
                )
                .bind(copy.id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE collections SET sync_revision = 1 WHERE id = $1")
                    .bind(copy.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_collection(
    tx: &mut AnyConnection,
    owner_id: i64,
    new: &NewCollection,
) -> Result<Collection, StoreError> {
    let sql = format!(
        "INSERT INTO collections (owner_id, path, is_calendar, displayname, description, color, \
         timezone, components, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLLECTION_COLUMNS}"
    );
    sqlx::query_as(&sql)
        .bind(owner_id)
        .bind(&new.path)
        .bind(i64::from(new.is_calendar))
        .bind(new.displayname.clone())
        .bind(new.description.clone())
        .bind(new.color.clone())
        .bind(new.timezone.clone())
        .bind(
            new.components
                .clone()
                .unwrap_or_else(|| "VEVENT,VTODO,VJOURNAL".to_owned()),
        )
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, &new.path))
}

pub(crate) async fn write_dead_properties(
    tx: &mut AnyConnection,
    collection_id: i64,
    item_name: &str,
    dead: &[(String, Option<String>)],
) -> Result<(), StoreError> {
    for (name, value) in dead {
        match value {
            Some(value) => {
                sqlx::query(
                    "INSERT INTO dead_properties (collection_id, item_name, name, value) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (collection_id, item_name, name) \
                     DO UPDATE SET value = excluded.value",
                )
                .bind(collection_id)
                .bind(item_name)
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM dead_properties WHERE collection_id = $1 AND item_name = $2 \
                     AND name = $3",
                )
                .bind(collection_id)
                .bind(item_name)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(())
}
