//! When accounts last synced and app passwords were last used, written in
//! batches: at a million accounts nearly every poll is from an account not
//! seen for minutes, and one write per poll would be most of the
//! database's work. An account or password is noted at most once per
//! [`NOTED_EVERY`]; the pending notes are written by the follower every
//! second, in one statement per kind.

use almanac_store::{SignInWay, Store};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How precise "last synced" and "last used" are.
pub const NOTED_EVERY: Duration = Duration::from_hours(1);
/// Accounts remembered as noted at most (beyond, they are noted again,
/// which costs only a place in the next batch).
const REMEMBERED: usize = 200_000;

#[derive(Default)]
pub struct Notes {
    synced: Mutex<HashSet<i64>>,
    used: Mutex<HashSet<i64>>,
    /// When this instance last queued each account.
    queued: Mutex<HashMap<i64, Instant>>,
}

impl Notes {
    /// The account synced; `last` is what the database says, when known.
    pub fn synced(&self, user_id: i64, last: Option<i64>) {
        if is_recent(last) {
            return;
        }
        {
            let mut queued = self.queued.lock();
            if queued
                .get(&user_id)
                .is_some_and(|at| at.elapsed() < NOTED_EVERY)
            {
                return;
            }
            if queued.len() >= REMEMBERED {
                queued.retain(|_, at| at.elapsed() < NOTED_EVERY);
                if queued.len() >= REMEMBERED {
                    queued.clear();
                }
            }
            queued.insert(user_id, Instant::now());
        }
        self.synced.lock().insert(user_id);
    }

    /// The app password was used; `last` is its last use in the database.
    pub fn used(&self, id: i64, last: Option<i64>) {
        if !is_recent(last) {
            self.used.lock().insert(id);
        }
    }

    /// Writes what is pending.
    pub async fn flush(&self, store: &Store) {
        let synced: Vec<i64> = self.synced.lock().drain().collect();
        let used: Vec<i64> = self.used.lock().drain().collect();
        if !synced.is_empty() {
            if let Err(e) = store.record_sign_ins(&synced, SignInWay::Sync).await {
                tracing::warn!(error = %e, "could not note sync sign-ins");
            }
        }
        if !used.is_empty() {
            if let Err(e) = store.touch_app_passwords(&used).await {
                tracing::warn!(error = %e, "could not note app password use");
            }
        }
    }
}

fn is_recent(last: Option<i64>) -> bool {
    let horizon = i64::try_from(NOTED_EVERY.as_secs()).unwrap_or(i64::MAX);
    last.is_some_and(|at| chrono::Utc::now().timestamp() - at < horizon)
}
