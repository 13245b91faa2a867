//! Logical backups: every row of every table as JSON lines, taken inside one
//! read transaction (a consistent snapshot while the service runs), and
//! loadable into an empty database of either backend.
//!
//! Format: a header line `{"almanac_backup":1,"schema_version":N,"rows":{table:count}}`,
//! then one line per row: `{"t":"table","r":[values in column order]}`, bytes
//! as base64.

use crate::error::StoreError;
use crate::handle::{Backend, Store};
use crate::migrate::SchemaState;
use base64::Engine;
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

const FORMAT: i64 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Bytes,
}

use Kind::{Bytes, Int, Real, Text};

/// Tables in an order that satisfies the foreign keys, with their columns.
/// `id` columns come first where a table has one.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "users",
        &[
            ("id", Int),
            ("name", Text),
            ("email", Text),
            ("password_hash", Text),
            ("is_admin", Int),
            ("created_at", Int),
            ("verified_at", Int),
            ("locked", Int),
            ("last_web_sign_in", Int),
            ("last_sync_sign_in", Int),
        ],
    ),
    (
        "collections",
        &[
            ("id", Int),
            ("owner_id", Int),
            ("path", Text),
            ("is_calendar", Int),
            ("displayname", Text),
            ("description", Text),
            ("color", Text),
            ("timezone", Text),
            ("components", Text),
            ("sync_revision", Int),
            ("created_at", Int),
            ("modified_at", Int),
            ("sync_floor", Int),
        ],
    ),
    (
        "items",
        &[
            ("id", Int),
            ("collection_id", Int),
            ("name", Text),
            ("content_type", Text),
            ("etag", Text),
            ("data", Bytes),
            ("size", Int),
            ("uid", Text),
            ("component", Text),
            ("start_utc", Int),
            ("end_utc", Int),
            ("revision", Int),
            ("modified_at", Int),
        ],
    ),
    (
        "dead_properties",
        &[
            ("collection_id", Int),
            ("item_name", Text),
            ("name", Text),
            ("value", Text),
        ],
    ),
    (
        "changes",
        &[
            ("collection_id", Int),
            ("name", Text),
            ("revision", Int),
            ("deleted", Int),
            ("origin", Text),
        ],
    ),
    ("settings", &[("name", Text), ("value", Text)]),
    (
        "probe_results",
        &[
            ("id", Int),
            ("at", Int),
            ("component", Text),
            ("ok", Int),
            ("latency_ms", Int),
            ("message", Text),
        ],
    ),
    (
        "incidents",
        &[
            ("id", Int),
            ("kind", Text),
            ("title", Text),
            ("status", Text),
            ("starts_at", Int),
            ("ends_at", Int),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "incident_updates",
        &[
            ("id", Int),
            ("incident_id", Int),
            ("at", Int),
            ("status", Text),
            ("message", Text),
        ],
    ),
    (
        "external_points",
        &[("series", Text), ("day", Text), ("value", Real)],
    ),
    (
        "sessions",
        &[
            ("token_hash", Text),
            ("user_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    ),
    (
        "mail_tokens",
        &[
            ("token_hash", Text),
            ("user_id", Int),
            ("purpose", Text),
            ("new_email", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    ),
    (
        "support_requests",
        &[
            ("id", Int),
            ("user_id", Int),
            ("name", Text),
            ("email", Text),
            ("subject", Text),
            ("status", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    ),
    (
        "share_links",
        &[
            ("id", Int),
            ("collection_id", Int),
            ("token_hash", Text),
            ("permission", Text),
            ("label", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("last_used_at", Int),
            ("use_count", Int),
        ],
    ),
    (
        "support_messages",
        &[
            ("id", Int),
            ("request_id", Int),
            ("author", Text),
            ("body", Text),
            ("created_at", Int),
        ],
    ),
    ("held_names", &[("name", Text), ("held_until", Int)]),
    (
        "app_passwords",
        &[
            ("id", Int),
            ("user_id", Int),
            ("label", Text),
            ("secret_hash", Text),
            ("created_at", Int),
            ("last_used_at", Int),
        ],
    ),
    (
        "reminder_claims",
        &[
            ("collection_id", Int),
            ("uid", Text),
            ("trigger_at", Int),
            ("recipient", Text),
            ("subject", Text),
            ("body", Text),
            ("claimed_at", Int),
            ("sent_at", Int),
        ],
    ),
    (
        "reminder_settings",
        &[("user_id", Int), ("mail", Int), ("display", Int)],
    ),
    (
        "invitations",
        &[
            ("id", Int),
            ("token_hash", Text),
            ("collection_id", Int),
            ("uid", Text),
            ("attendee", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("answered_at", Int),
            ("answer", Text),
        ],
    ),
    (
        "schedule_messages",
        &[
            ("id", Int),
            ("owner_id", Int),
            ("name", Text),
            ("uid", Text),
            ("method", Text),
            ("data", Bytes),
            ("etag", Text),
            ("created_at", Int),
        ],
    ),
    (
        "schedule_defaults",
        &[("user_id", Int), ("collection_id", Int)],
    ),
];

/// The schema version that added a table (the others date from version 1).
fn added_in(table: &str) -> i64 {
    match table {
        "settings" => 2,
        "probe_results" | "incidents" | "incident_updates" => 3,
        "external_points" => 4,
        "sessions" | "mail_tokens" | "support_requests" | "support_messages" => 5,
        "share_links" => 6,
        "held_names" => 8,
        "app_passwords" => 10,
        "reminder_claims" | "reminder_settings" => 15,
        "invitations" => 16,
        "schedule_messages" | "schedule_defaults" => 17,
        _ => 1,
    }
}

/// The schema version that added a column to a table older than it.
fn column_added_in(table: &str, column: &str) -> i64 {
    match (table, column) {
        ("users", "verified_at" | "locked") => 5,
        ("users", "last_web_sign_in" | "last_sync_sign_in") => 9,
        ("changes", "origin") => 6,
        ("collections", "sync_floor") => 7,
        _ => added_in(table),
    }
}

/// The tables a database at schema `version` has, with the columns they
/// had then.
fn tables_at(version: i64) -> impl Iterator<Item = (&'static str, Vec<(&'static str, Kind)>)> {
    TABLES
        .iter()
        .filter(move |(t, _)| added_in(t) <= version)
        .map(move |(table, columns)| {
            let columns = columns
                .iter()
                .filter(|(c, _)| column_added_in(table, c) <= version)
                .copied()
                .collect();
            (*table, columns)
        })
}

/// What a backup or restore went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupSummary {
    pub schema_version: i64,
    pub rows: BTreeMap<String, u64>,
}

impl BackupSummary {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

impl Store {
    /// Writes a consistent snapshot of the whole database to `out`.
    /// `progress` is told the total row count once, then each row written.
    pub async fn backup(
        &self,
        out: &mut impl Write,
        mut progress: impl FnMut(Progress),
    ) -> Result<BackupSummary, StoreError> {
        let version = match self.schema_state().await? {
            SchemaState::Current => crate::migrate::LATEST_VERSION,
            SchemaState::Behind { found } => found,
            SchemaState::Fresh => {
                return Err(StoreError::Config(
                    "the database is empty: there is nothing to back up".into(),
                ))
            }
        };
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let mut summary = BackupSummary {
            schema_version: version,
            rows: BTreeMap::new(),
        };
        for (table, _) in tables_at(version) {
            let (count,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut *tx)
                .await?;
            summary
                .rows
                .insert(table.to_owned(), u64::try_from(count).unwrap_or(0));
        }
        progress(Progress::Total(summary.total_rows()));
        let header = json!({"almanac_backup": FORMAT, "schema_version": summary.schema_version, "rows": summary.rows});
        writeln!(out, "{header}").map_err(io_error)?;
        for (table, columns) in tables_at(version) {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            // Enough leading columns to order rows fully (the keys), so two
            // backups of the same data are the same file.
            let order: Vec<&str> = columns
                .iter()
                .take(3)
                .filter(|(_, kind)| *kind != Bytes)
                .map(|(n, _)| *n)
                .collect();
            let sql = format!(
                "SELECT {} FROM {table} ORDER BY {}",
                names.join(", "),
                order.join(", ")
            );
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let values = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| to_json(&row, i, *kind))
                    .collect::<Result<Vec<_>, _>>()?;
                writeln!(out, "{}", json!({"t": table, "r": values})).map_err(io_error)?;
                progress(Progress::Row);
            }
        }
        drop(tx);
        Ok(summary)
    }

    /// Loads a backup into this database, which must be empty, at the
    /// backup's schema version; then migrates to this build's version.
    pub async fn restore(
        &self,
        input: impl BufRead,
        mut progress: impl FnMut(Progress),
    ) -> Result<BackupSummary, StoreError> {
        if self.schema_state().await? != SchemaState::Fresh {
            return Err(StoreError::Config(
                "restore needs an empty database (a new data directory or database)".into(),
            ));
        }
        let mut lines = input.lines();
        let header: Value = match lines.next() {
            Some(line) => serde_json::from_str(&line.map_err(io_error)?)
                .map_err(|e| corrupt(&e.to_string()))?,
            None => return Err(corrupt("the file is empty")),
        };
        if header["almanac_backup"].as_i64() != Some(FORMAT) {
            return Err(corrupt(
                "this is not an Almanac backup (or of a newer format)",
            ));
        }
        let version = header["schema_version"]
            .as_i64()
            .ok_or_else(|| corrupt("no schema version"))?;
        if !(1..=crate::migrate::LATEST_VERSION).contains(&version) {
            return Err(StoreError::Config(format!(
                "the backup has schema version {version}; this build knows versions 1 to {}",
                crate::migrate::LATEST_VERSION
            )));
        }
        let expected: BTreeMap<String, u64> =
            serde_json::from_value(header["rows"].clone()).map_err(|e| corrupt(&e.to_string()))?;
        progress(Progress::Total(expected.values().sum()));
        self.migrate_to(version).await?;
        let mut summary = BackupSummary {
            schema_version: version,
            rows: tables_at(version).map(|(t, _)| (t.to_owned(), 0)).collect(),
        };
        let mut tx = self.pool.begin().await?;
        for line in lines {
            let line = line.map_err(io_error)?;
            let record: Value = serde_json::from_str(&line).map_err(|e| corrupt(&e.to_string()))?;
            let table = record["t"].as_str().unwrap_or_default();
            let (table, columns) = tables_at(version)
                .find(|(t, _)| *t == table)
                .ok_or_else(|| corrupt(&format!("unknown table {table:?}")))?;
            let values = record["r"]
                .as_array()
                .ok_or_else(|| corrupt("a row without values"))?;
            if values.len() != columns.len() {
                return Err(corrupt(&format!(
                    "a row of {table} has {} values",
                    values.len()
                )));
            }
            insert_row(&mut tx, table, &columns, values).await?;
            *summary.rows.entry(table.to_owned()).or_default() += 1;
            progress(Progress::Row);
        }
        for (table, _) in tables_at(version) {
            let want = expected.get(table).copied().unwrap_or(0);
            let got = summary.rows.get(table).copied().unwrap_or(0);
            if want != got {
                return Err(corrupt(&format!(
                    "{table}: the header promises {want} rows, the file has {got} (truncated?)"
                )));
            }
        }
        if self.backend == Backend::Postgres {
            // Explicit ids were inserted: move each identity past them.
            for table in [
                "users",
                "collections",
                "items",
                "probe_results",
                "incidents",
                "incident_updates",
                "support_requests",
                "support_messages",
                "share_links",
                "app_passwords",
                "invitations",
                "schedule_messages",
            ]
            .into_iter()
            .filter(|t| added_in(t) <= version)
            {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.migrate().await?;
        Ok(summary)
    }
}

/// Progress of a backup or restore, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Total(u64),
    Row,
}

fn to_json(row: &AnyRow, index: usize, kind: Kind) -> Result<Value, StoreError> {
    Ok(match kind {
        Int => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Value::Null, Value::from),
        Real => Value::from(row.try_get::<f64, _>(index)?),
        Text => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Value::Null, Value::from),
        Bytes => Value::from(
            base64::engine::general_purpose::STANDARD.encode(row.try_get::<Vec<u8>, _>(index)?),
        ),
    })
}

async fn insert_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    columns: &[(&str, Kind)],
    values: &[Value],
) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for ((_, kind), value) in columns.iter().zip(values) {
        query = match (kind, value) {
            (Int, Value::Null) => query.bind(None::<i64>),
            (Int, v) => query.bind(v.as_i64().ok_or_else(|| corrupt("a number was expected"))?),
            (Real, v) => query.bind(v.as_f64().ok_or_else(|| corrupt("a number was expected"))?),
            (Text, Value::Null) => query.bind(None::<String>),
            (Text, v) => query.bind(
                v.as_str()
                    .ok_or_else(|| corrupt("text was expected"))?
                    .to_owned(),
            ),
            (Bytes, v) => query.bind(
                base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap_or_default())
                    .map_err(|_| corrupt("bad base64 data"))?,
            ),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

#[allow(clippy::needless_pass_by_value)] // shaped for `.map_err(io_error)`
fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Config(format!("reading or writing the backup file failed: {e}"))
}

fn corrupt(why: &str) -> StoreError {
    StoreError::Config(format!("the backup file is damaged: {why}"))
}
