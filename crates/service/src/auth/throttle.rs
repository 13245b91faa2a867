//! Failed log-ins, counted three ways in fixed five-minute windows:
//! per (user name, address), per address, and per user name. Over any
//! limit, the log-in is refused without a password check, except for
//! credentials that verified before (the caller checks those first).
//! On PostgreSQL the counts are also kept in the database, so an attacker
//! who spreads guesses over several instances meets one limit.

use crate::config::RateLimits;
use almanac_store::{Backend, Store};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_mins(5);
/// Counters kept per kind at most; beyond, finished windows are dropped,
/// then the oldest.
const MAX_ENTRIES: usize = 100_000;
/// User names are kept at most this long: no account has a longer one, and
/// made-up names of any length must not grow the counters.
const MAX_NAME_BYTES: usize = 64;

fn name_key(user: &str) -> String {
    let mut end = user.len().min(MAX_NAME_BYTES);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_owned()
}

pub(super) struct Throttle {
    limits: (u32, u32, u32),
    /// Where instances sharing a database count together.
    shared: Option<Store>,
    by_user_and_address: Mutex<Windows<(String, IpAddr)>>,
    by_address: Mutex<Windows<IpAddr>>,
    by_user: Mutex<Windows<String>>,
}

impl Throttle {
    pub(super) fn new(limits: &RateLimits, store: Option<Store>) -> Self {
        Self {
            shared: store.filter(|s| s.backend() == Backend::Postgres),
            limits: (
                limits.failed_logins_per_user_and_address,
                limits.failed_logins_per_address,
                limits.failed_logins_per_user,
            ),
            by_user_and_address: Mutex::default(),
            by_address: Mutex::default(),
            by_user: Mutex::default(),
        }
    }

    /// How long `user` from `address` must wait, if it must.
    pub(super) async fn refusal(&self, user: &str, address: IpAddr) -> Option<Duration> {
        let here = self.refusal_here(user, address);
        if here.is_some() {
            return here;
        }
        let store = self.shared.as_ref()?;
        let keys = shared_keys(user, address);
        let window = i64::try_from(WINDOW.as_secs()).unwrap_or(i64::MAX);
        let counted = match store.attempts(&keys, window).await {
            Ok(counted) => counted,
            Err(e) => {
                tracing::warn!(error = %e, "failed log-ins counted per instance for now");
                return None;
            }
        };
        let (pair, per_address, per_user) = self.limits;
        let now = chrono::Utc::now().timestamp();
        counted
            .into_iter()
            .filter(|(key, attempts, _)| {
                let limit = if *key == keys[0] {
                    pair
                } else if *key == keys[1] {
                    per_address
                } else {
                    per_user
                };
                *attempts >= i64::from(limit)
            })
            .map(|(_, _, since)| {
                Duration::from_secs(u64::try_from(since + window - now).unwrap_or(1).max(1))
            })
            .max()
    }

    fn refusal_here(&self, user: &str, address: IpAddr) -> Option<Duration> {
        let (pair, per_address, per_user) = self.limits;
        [
            self.by_user_and_address
                .lock()
                .wait(&(name_key(user), address), pair),
            self.by_address.lock().wait(&address, per_address),
            self.by_user.lock().wait(&name_key(user), per_user),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    pub(super) async fn failed(&self, user: &str, address: IpAddr) {
        self.by_user_and_address
            .lock()
            .count((name_key(user), address));
        self.by_address.lock().count(address);
        self.by_user.lock().count(name_key(user));
        if let Some(store) = &self.shared {
            let window = i64::try_from(WINDOW.as_secs()).unwrap_or(i64::MAX);
            for key in shared_keys(user, address) {
                if let Err(e) = store.count_attempt(&key, window).await {
                    tracing::warn!(error = %e, "cannot count a failed log-in in the database");
                }
            }
        }
    }

    /// The right password from an address clears that address's failures
    /// for the user name (a mistyped password should not linger).
    pub(super) async fn succeeded(&self, user: &str, address: IpAddr) {
        self.by_user_and_address
            .lock()
            .0
            .remove(&(name_key(user), address));
        if let Some(store) = &self.shared {
            let _ = store.clear_attempts(&shared_keys(user, address)[0]).await;
        }
    }
}

/// The database keys of the three counts: (user, address), address, user.
fn shared_keys(user: &str, address: IpAddr) -> [String; 3] {
    let user = name_key(user);
    [
        format!("login-failed|{user}|{address}"),
        format!("login-failed-address|{address}"),
        format!("login-failed-user|{user}"),
    ]
}

/// (failures, start of the window) per key.
struct Windows<K>(HashMap<K, (u32, Instant)>);

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Hash + Eq> Windows<K> {
    fn wait(&self, key: &K, limit: u32) -> Option<Duration> {
        let (count, since) = self.0.get(key)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*count >= limit && !left.is_zero()).then_some(left)
    }

    fn count(&mut self, key: K) {
        if self.0.len() >= MAX_ENTRIES {
            self.0.retain(|_, (_, since)| since.elapsed() < WINDOW);
            if self.0.len() >= MAX_ENTRIES {
                let mut starts: Vec<Instant> = self.0.values().map(|(_, since)| *since).collect();
                starts.sort_unstable();
                let cutoff = starts[starts.len() / 2];
                self.0.retain(|_, (_, since)| *since >= cutoff);
            }
        }
        let entry = self.0.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(
            &RateLimits {
                failed_logins_per_user_and_address: 3,
                failed_logins_per_address: 5,
                failed_logins_per_user: 8,
                ..RateLimits::default()
            },
            None,
        )
    }

    #[tokio::test]
    async fn counts_per_user_and_address_per_address_and_per_user() {
        let t = throttle();
        let (a, b, c) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        for _ in 0..3 {
            assert_eq!(t.refusal("alice", a).await, None);
            t.failed("alice", a).await;
        }
        let wait = t
            .refusal("alice", a)
            .await
            .expect("alice from a is refused");
        assert!(wait > Duration::from_secs(290) && wait <= WINDOW);
        assert_eq!(
            t.refusal("alice", b).await,
            None,
            "alice from elsewhere is not"
        );
        assert_eq!(t.refusal("bob", a).await, None, "nor bob from a");
        t.failed("bob", a).await;
        t.failed("carol", a).await;
        assert!(
            t.refusal("dave", a).await.is_some(),
            "a tried five user names"
        );
        for _ in 0..4 {
            t.failed("alice", b).await;
        }
        assert!(
            t.refusal("alice", c).await.is_none(),
            "seven failures for alice"
        );
        t.failed("alice", c).await;
        assert!(
            t.refusal("alice", c).await.is_some(),
            "eight: alice is under attack"
        );
        assert!(t.refusal("erin", c).await.is_none());
    }

    #[tokio::test]
    async fn success_clears_the_pair() {
        let t = throttle();
        let a = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            t.failed("alice", a).await;
        }
        t.succeeded("alice", a).await;
        assert_eq!(t.refusal("alice", a).await, None);
    }
}
