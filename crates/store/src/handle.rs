//! The [`Store`] handle: a connection pool on one backend, the queue of
//! this process's SQLite writers, and small helpers every query module
//! uses.

use crate::error::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone (it is a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// SQLite has one writer at a time; writers of this process queue here
    /// in order instead of polling on `busy_timeout`.
    pub(crate) writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Deletions each collection remembers for sync clients.
    pub(crate) tombstones_kept: i64,
}

impl Store {
    /// Connects to `url`: `sqlite://PATH` (created if missing) or
    /// `postgres://...`. Does not migrate; see [`Store::schema_state`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://..."
            )));
        };
        let url = if backend == Backend::Sqlite && !url.contains('?') {
            format!("{url}?mode=rwc")
        } else {
            url.to_owned()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; synchronous=FULL
                        // makes an acknowledged write survive a crash or power loss.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            writer: std::sync::Arc::default(),
            tombstones_kept: 10_000,
        })
    }

    /// Keeps the newest `kept` tombstones of each collection (10,000 unless
    /// told): older ones go, and sync tokens from before them are answered
    /// with DAV:valid-sync-token, so the client syncs from scratch.
    #[must_use]
    pub fn keeping_tombstones(mut self, kept: i64) -> Self {
        self.tombstones_kept = kept.max(1);
        self
    }

    /// (open connections, idle connections) of the pool, for monitoring.
    pub fn pool_size(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Cheap liveness check of the database, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Runs SQL as it is (administration, e.g. creating a database in tests).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Lower-case hexadecimal digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `count` numbered parameters from `$first` on, for an `IN (...)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
