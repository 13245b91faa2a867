//! Versioned schema migrations, one SQL file per version and dialect.

use crate::error::StoreError;
use crate::handle::{Backend, Store};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_settings.sql"),
        postgres: include_str!("../migrations/postgres/0002_settings.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_status.sql"),
        postgres: include_str!("../migrations/postgres/0003_status.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_external_series.sql"),
        postgres: include_str!("../migrations/postgres/0004_external_series.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0005_accounts.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_sharing.sql"),
        postgres: include_str!("../migrations/postgres/0006_sharing.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../migrations/sqlite/0007_sync_floor.sql"),
        postgres: include_str!("../migrations/postgres/0007_sync_floor.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/sqlite/0008_held_names.sql"),
        postgres: include_str!("../migrations/postgres/0008_held_names.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/sqlite/0009_last_sign_in.sql"),
        postgres: include_str!("../migrations/postgres/0009_last_sign_in.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../migrations/sqlite/0010_app_passwords.sql"),
        postgres: include_str!("../migrations/postgres/0010_app_passwords.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../migrations/sqlite/0011_credential_changes.sql"),
        postgres: include_str!("../migrations/postgres/0011_credential_changes.sql"),
    },
    Migration {
        version: 12,
        sqlite: include_str!("../migrations/sqlite/0012_job_leases.sql"),
        postgres: include_str!("../migrations/postgres/0012_job_leases.sql"),
    },
    Migration {
        version: 13,
        sqlite: include_str!("../migrations/sqlite/0013_rate_windows.sql"),
        postgres: include_str!("../migrations/postgres/0013_rate_windows.sql"),
    },
    Migration {
        version: 14,
        sqlite: include_str!("../migrations/sqlite/0014_item_search.sql"),
        postgres: include_str!("../migrations/postgres/0014_item_search.sql"),
    },
    Migration {
        version: 15,
        sqlite: include_str!("../migrations/sqlite/0015_reminders.sql"),
        postgres: include_str!("../migrations/postgres/0015_reminders.sql"),
    },
    Migration {
        version: 16,
        sqlite: include_str!("../migrations/sqlite/0016_invitations.sql"),
        postgres: include_str!("../migrations/postgres/0016_invitations.sql"),
    },
    Migration {
        version: 17,
        sqlite: include_str!("../migrations/sqlite/0017_scheduling.sql"),
        postgres: include_str!("../migrations/postgres/0017_scheduling.sql"),
    },
];

/// The schema version this build writes and expects.
pub const LATEST_VERSION: i64 = 17;

/// Where a database stands against this build's migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// No Almanac tables at all: safe to migrate without asking.
    Fresh,
    /// Migrated to an earlier version: the operator must run `almanac migrate`.
    Behind {
        found: i64,
    },
    Current,
}

impl Store {
    async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        let exists: Option<(i64,)> =
            match self.backend {
                Backend::Sqlite => sqlx::query_as(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'almanac_schema'",
                )
                .fetch_optional(&self.pool)
                .await?,
                Backend::Postgres => {
                    sqlx::query_as(
                        "SELECT CAST(1 AS BIGINT) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = 'almanac_schema'",
                    )
                    .fetch_optional(&self.pool)
                    .await?
                }
            };
        if exists.is_none() {
            return Ok(None);
        }
        let (version,): (i64,) = sqlx::query_as("SELECT version FROM almanac_schema")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(version))
    }

    pub async fn schema_state(&self) -> Result<SchemaState, StoreError> {
        match self.schema_version().await? {
            None => Ok(SchemaState::Fresh),
            Some(found) if found > LATEST_VERSION => Err(StoreError::SchemaAhead {
                found,
                latest: LATEST_VERSION,
            }),
            Some(found) if found < LATEST_VERSION => Ok(SchemaState::Behind { found }),
            Some(_) => Ok(SchemaState::Current),
        }
    }

    /// The versions `migrate` would apply, oldest first.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let current = self.schema_version().await?.unwrap_or(0);
        if current > LATEST_VERSION {
            return Err(StoreError::SchemaAhead {
                found: current,
                latest: LATEST_VERSION,
            });
        }
        Ok(MIGRATIONS
            .iter()
            .map(|m| m.version)
            .filter(|v| *v > current)
            .collect())
    }

    /// Applies every pending migration, each in its own transaction, so a
    /// failure leaves the database at the last version that succeeded.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.migrate_to(LATEST_VERSION).await
    }

    /// Applies the pending migrations up to `target` (tests of upgrades and
    /// restores of older backups start from an earlier version).
    pub async fn migrate_to(&self, target: i64) -> Result<Vec<i64>, StoreError> {
        let mut pending = self.pending_migrations().await?;
        pending.retain(|v| *v <= target);
        for version in &pending {
            let migration = MIGRATIONS
                .iter()
                .find(|m| m.version == *version)
                .expect("pending versions come from MIGRATIONS");
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS almanac_schema (version BIGINT NOT NULL); \
                 DELETE FROM almanac_schema;",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO almanac_schema (version) VALUES ($1)")
                .bind(*version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, "applied schema migration");
        }
        Ok(pending)
    }
}
