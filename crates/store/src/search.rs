//! Search over the words of calendar objects (`items.search_text`): FTS5 on
//! SQLite, full-text search on PostgreSQL. Also the fill of rows written
//! before the index existed.

use crate::error::StoreError;
use crate::handle::{placeholders, Backend, Store};
use crate::items::{item_from_row, META_COLUMNS};
use crate::model::Item;
use sqlx::Row;

/// At most this many words of a query count.
const MAX_WORDS: usize = 8;

/// The words of a query: letters and digits, lower-case, each at most 64
/// characters. Everything else separates words, so nothing a person types
/// reaches the query languages of FTS5 or `to_tsquery` as syntax.
pub fn query_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(64).collect::<String>().to_lowercase())
        .take(MAX_WORDS)
        .collect()
}

impl Store {
    /// The objects of `collections` that hold every one of `words` (each
    /// as a word or the start of one), best matches first, at most `limit`:
    /// (collection id, item).
    pub async fn search_items(
        &self,
        collections: &[i64],
        words: &[String],
        limit: i64,
    ) -> Result<Vec<(i64, Item)>, StoreError> {
        if collections.is_empty() || words.is_empty() {
            return Ok(Vec::new());
        }
        let ids = placeholders(2, collections.len());
        let last = 2 + collections.len();
        let (sql, query) = match self.backend {
            Backend::Sqlite => (
                format!(
                    "SELECT items.collection_id AS collection_id, {META_COLUMNS}, data \
                     FROM items_search JOIN items ON items.id = items_search.rowid \
                     WHERE items_search MATCH $1 AND items.collection_id IN ({ids}) \
                     ORDER BY items_search.rank LIMIT ${last}"
                ),
                words
                    .iter()
                    .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Backend::Postgres => (
                format!(
                    "SELECT collection_id, {META_COLUMNS}, data FROM items \
                     WHERE to_tsvector('simple', COALESCE(search_text, '')) @@ to_tsquery('simple', $1) \
                     AND collection_id IN ({ids}) \
                     ORDER BY ts_rank(to_tsvector('simple', COALESCE(search_text, '')), \
                     to_tsquery('simple', $1)) DESC, name LIMIT ${last}"
                ),
                words
                    .iter()
                    .map(|w| format!("{w}:*"))
                    .collect::<Vec<_>>()
                    .join(" & "),
            ),
        };
        let mut select = sqlx::query(&sql).bind(query);
        for id in collections {
            select = select.bind(*id);
        }
        let rows = select.bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("collection_id")?, item_from_row(row)?)))
            .collect()
    }

    /// Calendar objects whose words are not indexed yet (written before
    /// the index existed): (row id, data), at most `limit`.
    pub async fn items_without_search_text(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, data FROM items WHERE search_text IS NULL AND component IS NOT NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("data")?)))
            .collect()
    }

    /// Sets what is derived from objects found by
    /// [`Store::items_without_search_text`]: their words and their next
    /// alarm (unless a write gave them words meanwhile), in one transaction.
    pub async fn set_derived(&self, rows: &[(i64, String, Option<i64>)]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, text, alarm_at) in rows {
            sqlx::query(
                "UPDATE items SET search_text = $2, alarm_at = $3 WHERE id = $1 AND search_text IS NULL",
            )
            .bind(id)
            .bind(text)
            .bind(alarm_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::query_words;

    #[test]
    fn only_letters_and_digits_reach_the_query() {
        assert_eq!(
            query_words("Lunch  with\"Ana\" OR *"),
            ["lunch", "with", "ana", "or"]
        );
        assert_eq!(query_words("Café-Müller 2027"), ["café", "müller", "2027"]);
        assert!(query_words("\" * : & | ! ( )").is_empty());
        assert_eq!(query_words(&"a ".repeat(50)).len(), 8);
    }
}
