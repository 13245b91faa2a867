use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("not found")]
    NotFound,
    #[error("the resource changed since it was read (ETag mismatch)")]
    PreconditionFailed,
    #[error("another resource in this calendar already has this UID: {0}")]
    UidConflict(String),
    #[error("limit reached: {0}")]
    Limit(String),
    #[error("the database schema is at version {found}; this build knows up to {latest}")]
    SchemaAhead { found: i64, latest: i64 },
}

impl StoreError {
    /// True when the database could not be reached (down, refusing
    /// connections, connection lost), rather than the request being wrong.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_),
            ) => true,
            // PostgreSQL: connection exceptions (08...), shutdown (57P..),
            // a database that refuses connections (55000), I/O errors (58030).
            // SQLite: I/O errors and a database file that cannot be opened.
            Self::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "55000"
                    || code == "58030"
                    || matches!(
                        sqlite_primary_code(&code),
                        Some(SQLITE_IOERR | SQLITE_CANTOPEN)
                    )
            }),
            _ => false,
        }
    }

    /// True when the database has no room left (SQLite: SQLITE_FULL, a full
    /// disk; PostgreSQL: 53100 disk_full): a write answers 507.
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
                code == "53100" || sqlite_primary_code(&code) == Some(SQLITE_FULL)
            }),
            _ => false,
        }
    }

    /// True when the error is about the request, not about the database.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::AlreadyExists(_) | Self::PreconditionFailed | Self::UidConflict(_)
        )
    }
}

/// Maps a unique-constraint violation to [`StoreError::AlreadyExists`].
pub(crate) fn unique_violation(err: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::AlreadyExists(what.to_owned());
        }
    }
    StoreError::Database(err)
}

const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;

/// The primary result code of an SQLite (extended) result code, a number
/// below 10,000; PostgreSQL's SQLSTATEs always have five characters.
fn sqlite_primary_code(code: &str) -> Option<i32> {
    (code.len() < 5)
        .then(|| code.parse::<i32>().ok())
        .flatten()
        .map(|extended| extended & 0xff)
}
