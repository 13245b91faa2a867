//! `almanac metrics collect [LOG...]`: reads access logs incrementally into
//! the metrics state and writes the report the API and dashboard serve.
//!
//! State lives in `DATA_DIR/metrics/`: `state.json` (the collector's per-day
//! aggregates and, per log file, how far it was read) and `report.json`.
//! A file is recognised by its first line (every line carries its time), not
//! by its inode: a file rotated by renaming (`access.log` → `access.log.1`)
//! and a copy made by logrotate's `copytruncate` are both continued where
//! the original was left, and a new or truncated file at the old name is
//! read from its start. Each line is read once either way.

use almanac_metrics::{Collector, CollectorState, CountryDatabase, Input, Rules};
use anyhow::{Context, Result};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Cursors kept at most: files older than these were rotated away long ago.
const CURSORS_KEPT: usize = 64;

/// Where one log file was left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    /// SHA-256 of the file's first line: the file's identity, whatever its
    /// name or inode (a renamed file and a copy of it share it).
    first_line: String,
    offset: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct SavedState {
    collector: CollectorState,
    cursors: Vec<Cursor>,
}

/// What a collection reads besides the logs.
pub struct Sources {
    pub rules: Rules,
    pub countries: Option<Arc<CountryDatabase>>,
    /// Today's figures from the database.
    pub snapshot: Vec<(Input, NaiveDate, f64)>,
    /// Account totals of earlier days, from when each account was made:
    /// they fill days that have no snapshot (accounts deleted since are
    /// not in them).
    pub backfill: Vec<(Input, NaiveDate, f64)>,
}

impl Sources {
    /// The rules file (`rules` overrides the configured one), the country
    /// database and the database's figures.
    pub async fn gather(
        config: &almanac_service::Config,
        rules: Option<&Path>,
        store: &almanac_store::Store,
    ) -> Result<Self> {
        let rules = load_rules(rules.or(config.metrics.rules_file.as_deref()))?;
        let countries = match &config.metrics.country_database {
            Some(path) => Some(Arc::new(CountryDatabase::open(path).map_err(|e| {
                anyhow::anyhow!("cannot use the country database {}: {e}", path.display())
            })?)),
            None => None,
        };
        let (snapshot, backfill) = database_inputs(store).await?;
        Ok(Self {
            rules,
            countries,
            snapshot,
            backfill,
        })
    }
}

pub struct CollectSummary {
    pub lines: u64,
    pub malformed: u64,
}

pub fn metrics_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("metrics")
}

/// Reads the new part of every log, saves the state and the report.
pub fn collect(
    data_dir: &Path,
    logs: &[PathBuf],
    rebuild: bool,
    sources: Sources,
    show_progress: bool,
) -> Result<CollectSummary> {
    let dir = metrics_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let state_path = dir.join("state.json");
    let saved: SavedState = if rebuild || !state_path.exists() {
        SavedState::default()
    } else {
        let text = std::fs::read_to_string(&state_path)?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged: collect with --rebuild",
                state_path.display()
            )
        })?
    };
    let before = (saved.collector.lines, saved.collector.malformed);
    let mut collector = Collector::resume(sources.rules, saved.collector);
    if let Some(countries) = sources.countries {
        collector.set_country_database(countries);
    }
    let mut cursors = saved.cursors;
    for (input, date, value) in sources.snapshot {
        collector.add_input(input, date, value);
    }
    for (input, date, value) in sources.backfill {
        collector.add_input_if_missing(input, date, value);
    }
    let plan: Vec<(PathBuf, File, String, u64)> = logs
        .iter()
        .filter_map(|path| match open_log(path) {
            Ok(found) => {
                found.map(|(file, first_line, size)| (path.clone(), file, first_line, size))
            }
            Err(e) => {
                eprintln!("skipping {}: {e}", path.display());
                None
            }
        })
        .collect();
    let total: u64 = plan
        .iter()
        .map(|(_, _, first_line, size)| size.saturating_sub(resume_at(&cursors, first_line, *size)))
        .sum();
    let bar = if show_progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .expect("valid template"),
    );
    let mut base = 0;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    for (path, file, first_line, size) in plan {
        // Asked now, not when planning: a copy read a moment ago moved it.
        let mut cursor = Cursor {
            offset: resume_at(&cursors, &first_line, size),
            first_line,
        };
        let done = collector
            .feed_file(&file, cursor.offset, threads, |p| {
                bar.set_position(base + p.bytes);
            })
            .with_context(|| format!("reading {}", path.display()))?;
        base += done.bytes;
        cursor.offset += done.bytes;
        cursors.retain(|c| c.first_line != cursor.first_line);
        cursors.push(cursor);
    }
    let excess = cursors.len().saturating_sub(CURSORS_KEPT);
    cursors.drain(..excess);
    bar.finish_and_clear();
    let report = collector.report();
    let state = SavedState {
        collector: collector.into_state(),
        cursors,
    };
    write_atomically(&dir.join("report.json"), &serde_json::to_vec(&report)?)?;
    write_atomically(&state_path, &serde_json::to_vec(&state)?)?;
    Ok(CollectSummary {
        lines: state.collector.lines - before.0,
        malformed: state.collector.malformed - before.1,
    })
}

/// Opens a log with its identity (the hash of its first line) and size.
/// None when it has no complete line yet (nothing to read, and no first
/// line to recognise it by).
fn open_log(path: &Path) -> Result<Option<(File, String, u64)>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = Vec::with_capacity(4096);
    (&mut file).take(4096).read_to_end(&mut head)?;
    let Some(end) = head.iter().position(|b| *b == b'\n') else {
        return Ok(None);
    };
    Ok(Some((
        file,
        almanac_store::hex(&Sha256::digest(&head[..end])),
        size,
    )))
}

/// Where to go on in a file: where a file with the same first line was
/// left, or its start. A file shorter than that was rewritten: from the start.
fn resume_at(cursors: &[Cursor], first_line: &str, size: u64) -> u64 {
    cursors
        .iter()
        .find(|c| c.first_line == first_line)
        .map_or(0, |c| if c.offset <= size { c.offset } else { 0 })
}

/// Today's figures from the database (accounts, calendars per account,
/// items per calendar), and the account totals of the days before today.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
async fn database_inputs(
    store: &almanac_store::Store,
) -> Result<(Vec<(Input, NaiveDate, f64)>, Vec<(Input, NaiveDate, f64)>)> {
    let (accounts, calendars, items) = store.totals().await?;
    let today = chrono::Utc::now().date_naive();
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    let mut snapshot = vec![(Input::AccountsTotal, today, accounts as f64)];
    if let Some(v) = ratio(calendars, accounts) {
        snapshot.push((Input::CalendarsPerUser, today, v));
    }
    if let Some(v) = ratio(items, calendars) {
        snapshot.push((Input::ItemsPerCalendar, today, v));
    }
    let made = store.accounts_made_per_day().await?;
    let day_of = |n: i64| {
        NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::try_from(n).ok()?)))
    };
    let mut backfill = Vec::new();
    if let Some(first) = made.first().and_then(|(d, _)| day_of(*d)) {
        let mut made = made.iter().peekable();
        let mut total = 0;
        let mut day = first;
        while day < today {
            while let Some((_, count)) = made.next_if(|(d, _)| day_of(*d).is_some_and(|m| m <= day))
            {
                total += count;
            }
            backfill.push((Input::AccountsTotal, day, total as f64));
            day = day.succ_opt().unwrap_or(today);
        }
    }
    Ok((snapshot, backfill))
}

/// A log and its rotations (`NAME.1`, `NAME.2`, ...), oldest first; the
/// log itself only if it exists.
pub fn with_rotations(log: &Path) -> Vec<PathBuf> {
    let name = log
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = log
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let file = e.file_name().into_string().ok()?;
                    let n = file.strip_prefix(&name)?.strip_prefix('.')?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    rotated.sort_unstable_by_key(|(n, _)| std::cmp::Reverse(*n));
    let mut logs: Vec<_> = rotated.into_iter().map(|(_, p)| p).collect();
    if log.exists() {
        logs.push(log.to_path_buf());
    }
    logs
}

/// The logs `[metrics] log_files` names: patterns whose file name may hold
/// `*` (e.g. `/var/log/almanac/access-*.log`, one log per instance), each
/// match with its rotations.
pub fn logs_matching(patterns: &[String]) -> Vec<PathBuf> {
    let mut logs = Vec::new();
    for pattern in patterns {
        let pattern = Path::new(pattern);
        let dir = pattern
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let wanted = pattern
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut matched: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_str().is_some_and(|f| wildcard(&wanted, f)))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        matched.sort();
        for log in matched {
            for file in with_rotations(&log) {
                if !logs.contains(&file) {
                    logs.push(file);
                }
            }
        }
    }
    logs
}

/// Whether `name` matches `pattern`, where `*` stands for any text.
fn wildcard(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

fn load_rules(path: Option<&Path>) -> Result<Rules> {
    match path {
        Some(path) => {
            Rules::load(path).with_context(|| format!("cannot use the rules in {}", path.display()))
        }
        None => Ok(Rules::default()),
    }
}

/// The first malformed lines, for the operator to see what went wrong.
pub fn malformed_samples(data_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(metrics_dir(data_dir).join("state.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<SavedState>(&text).ok())
        .map(|s| s.collector.malformed_samples)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_match_file_names() {
        assert!(wildcard("access-*.log", "access-8080.log"));
        assert!(
            !wildcard("access-*.log", "access-8080.log.1"),
            "rotations come with their log"
        );
        assert!(wildcard("access.log", "access.log"));
        assert!(!wildcard("access.log", "access.logx"));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("a*b*c", "a-1-b-2-c"));
        assert!(!wildcard("a*b*c", "a-1-c"));
    }
}
