//! `almanac check`: is the database sound and consistent?

use crate::error::StoreError;
use crate::handle::{Backend, Store};
use crate::migrate::SchemaState;

/// One finding of a check: what was looked at and whether it is fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl Store {
    /// Checks the schema version, the engine's own integrity check and the
    /// invariants Almanac relies on (sync revisions cover every change).
    pub async fn check(&self) -> Result<Vec<Finding>, StoreError> {
        let mut findings = Vec::new();
        let state = self.schema_state().await?;
        findings.push(Finding {
            what: "schema version".into(),
            ok: state == SchemaState::Current,
            detail: match state {
                SchemaState::Current => format!("{} (current)", crate::migrate::LATEST_VERSION),
                SchemaState::Behind { found } => format!("{found}: run `almanac migrate`"),
                SchemaState::Fresh => {
                    "no tables yet: the first `almanac serve` creates them".into()
                }
            },
        });
        if state == SchemaState::Fresh {
            return Ok(findings);
        }
        if self.backend == Backend::Sqlite {
            let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
                .fetch_all(&self.pool)
                .await?;
            let ok = rows.len() == 1 && rows[0].0 == "ok";
            findings.push(Finding {
                what: "SQLite integrity check".into(),
                ok,
                detail: rows
                    .into_iter()
                    .map(|(r,)| r)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let behind: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT c.path, c.sync_revision, MAX(ch.revision) FROM collections c \
             JOIN changes ch ON ch.collection_id = c.id \
             GROUP BY c.id, c.path, c.sync_revision HAVING MAX(ch.revision) > c.sync_revision",
        )
        .fetch_all(&self.pool)
        .await?;
        findings.push(Finding {
            what: "sync revisions".into(),
            ok: behind.is_empty(),
            detail: if behind.is_empty() {
                "every collection's revision covers its changes".into()
            } else {
                behind
                    .iter()
                    .map(|(path, rev, max)| format!("{path}: revision {rev} < change {max}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        });
        let unlogged: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.path, i.name FROM items i JOIN collections c ON c.id = i.collection_id \
             LEFT JOIN changes ch ON ch.collection_id = i.collection_id AND ch.name = i.name \
             WHERE ch.name IS NULL OR ch.deleted = 1",
        )
        .fetch_all(&self.pool)
        .await?;
        findings.push(Finding {
            what: "change log".into(),
            ok: unlogged.is_empty(),
            detail: if unlogged.is_empty() {
                "every item is in the change log".into()
            } else {
                format!(
                    "{} items missing from the change log, e.g. {}/{}",
                    unlogged.len(),
                    unlogged[0].0,
                    unlogged[0].1
                )
            },
        });
        findings.push(self.check_item_bytes().await?);
        Ok(findings)
    }

    /// Every item's bytes against its stored size and ETag (a hash of the
    /// bytes): what a torn or half-applied write would leave behind.
    async fn check_item_bytes(&self) -> Result<Finding, StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query_as::<_, (String, String, String, i64, Vec<u8>)>(
            "SELECT c.path, i.name, i.etag, i.size, i.data FROM items i \
             JOIN collections c ON c.id = i.collection_id",
        )
        .fetch(&self.pool);
        let (mut checked, mut bad) = (0_u64, Vec::new());
        while let Some((path, name, etag, size, data)) = rows.try_next().await? {
            checked += 1;
            let size_ok = usize::try_from(size).is_ok_and(|size| size == data.len());
            if !size_ok || crate::items::etag_of(&data) != etag {
                bad.push(format!("{path}/{name}"));
            }
        }
        Ok(Finding {
            what: "item contents".into(),
            ok: bad.is_empty(),
            detail: if bad.is_empty() {
                format!("{checked} items match their size and ETag")
            } else {
                format!(
                    "{} of {checked} items do not match their size or ETag, e.g. {}",
                    bad.len(),
                    bad[0]
                )
            },
        })
    }
}
