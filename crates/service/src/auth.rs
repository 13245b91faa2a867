//! Passwords: argon2 hashes, HTTP Basic, and the defences around them.
//!
//! - Sync clients send Basic credentials on every request and argon2 costs
//!   tens of milliseconds and about 19 MiB, so a verified credential is
//!   remembered for a short while under a keyed hash (HMAC with a
//!   per-process random key); the password itself is never kept.
//! - Every argon2 computation waits for one of a few turns
//!   ([`PasswordChecks`]): memory stays bounded in any log-in storm, and
//!   what cannot wait is refused at once.
//! - Failed log-ins are counted per user name and address, per address and
//!   per user name ([`throttle`]). A user name under attack still accepts
//!   the credentials that verified before, so strangers cannot lock its
//!   owner's devices out.
//! - App passwords ([`app_password`]) are random and long: one indexed
//!   lookup of their digest lets a calendar app in, with no argon2 and no
//!   cache, so revoking one takes effect at once on every instance. Staff
//!   can require them for calendar apps.

pub mod app_password;
mod notes;

mod checks;
mod password;
mod throttle;

pub use checks::{Busy, PasswordChecks};
use password::dummy_hash;
pub use password::{hash_password, verify_password};

use crate::config::{AuthSettings, RateLimits};
use almanac_store::{Store, StoreError, User};
use base64::Engine;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use throttle::Throttle;

/// Verified credentials kept in the cache at most.
const CACHE_MAX_ENTRIES: usize = 100_000;
/// How long a credential that verified counts as its owner's own.
const KNOWN_FOR: Duration = Duration::from_hours(24 * 30);
const KNOWN_MAX_ENTRIES: usize = 200_000;
/// How often an instance reads the credential changes of all instances.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// How long the staff's "app passwords only" choice is trusted unread.
const APP_PASSWORDS_ONLY_READ_EVERY: Duration = Duration::from_secs(5);

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// Operators: they may write during maintenance mode (and so may the probe).
    pub is_admin: bool,
}

#[derive(Debug)]
pub enum AuthOutcome {
    Authenticated(Principal),
    /// No Authorization header (or not Basic).
    Missing,
    Invalid,
    /// Too many recent failures for this user name or address; try again
    /// after the duration.
    Throttled(Duration),
    /// Every password check is taken and the queue is full.
    Busy,
    /// The account password was right, but staff require app passwords
    /// for calendar apps.
    AppPasswordRequired,
    /// The database could not be asked.
    Unavailable,
}

/// The outcome of checking a user name and password.
#[derive(Debug)]
pub enum SignIn {
    /// The password is right (the account may still be locked or not yet
    /// validated: the caller decides).
    Valid(User),
    Wrong,
    Throttled(Duration),
    Busy,
    Unavailable(StoreError),
}

pub struct Authenticator {
    store: Store,
    key: [u8; 32],
    cache_ttl: Duration,
    verified: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    /// Credentials that verified recently: they pass the throttles.
    known: Mutex<HashMap<[u8; 32], Instant>>,
    throttle: Throttle,
    checks: PasswordChecks,
    /// Last syncs and app password uses waiting to be written.
    notes: notes::Notes,
    /// Whether staff require app passwords, and when that was read.
    app_passwords_only: Mutex<Option<(bool, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Store, settings: &AuthSettings, limits: &RateLimits) -> Self {
        let shared = store.clone();
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            store,
            key,
            cache_ttl: Duration::from_secs(settings.credential_cache_seconds),
            verified: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            throttle: Throttle::new(limits, Some(shared)),
            checks: PasswordChecks::new(settings),
            notes: notes::Notes::default(),
            app_passwords_only: Mutex::new(None),
        }
    }

    /// The turns argon2 waits for, also for hashing new passwords.
    pub fn checks(&self) -> &PasswordChecks {
        &self.checks
    }

    /// Checks an `Authorization` header value from `client`.
    pub async fn basic(&self, header: Option<&str>, client: IpAddr) -> AuthOutcome {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return AuthOutcome::Missing;
        };
        if let Some(secret) = app_password::normalized(&password) {
            match self
                .store
                .app_password_user(&user, &app_password::digest(&secret))
                .await
            {
                Ok(Some((account, password_use))) if account.may_sign_in() => {
                    self.notes
                        .synced(account.id, password_use.last_sync_sign_in);
                    self.notes.used(password_use.id, password_use.last_used_at);
                    return AuthOutcome::Authenticated(principal_of(account));
                }
                // Not an app password after all: an account password may
                // look like one.
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "authentication: app password lookup failed");
                    return AuthOutcome::Unavailable;
                }
            }
        }
        let outcome = self.account_password(&user, password, client).await;
        if matches!(outcome, AuthOutcome::Authenticated(_)) && self.app_passwords_only().await {
            return AuthOutcome::AppPasswordRequired;
        }
        outcome
    }

    /// Basic credentials with the account's own password: cached once
    /// verified, else argon2 under the throttles.
    async fn account_password(&self, user: &str, password: String, client: IpAddr) -> AuthOutcome {
        let fingerprint = self.fingerprint(user, &password);
        if let Some((principal, at)) = self.verified.lock().get(&fingerprint) {
            if at.elapsed() < self.cache_ttl {
                self.notes.synced(principal.id, None);
                return AuthOutcome::Authenticated(principal.clone());
            }
        }
        match self.sign_in(user, password, client).await {
            // Unvalidated and locked accounts cannot sync.
            SignIn::Valid(account) if account.may_sign_in() => {
                let principal = principal_of(account);
                let mut cache = self.verified.lock();
                if cache.len() >= CACHE_MAX_ENTRIES {
                    let ttl = self.cache_ttl;
                    cache.retain(|_, (_, at)| at.elapsed() < ttl);
                    if cache.len() >= CACHE_MAX_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(fingerprint, (principal.clone(), Instant::now()));
                drop(cache);
                self.notes.synced(principal.id, None);
                AuthOutcome::Authenticated(principal)
            }
            SignIn::Valid(_) | SignIn::Wrong => AuthOutcome::Invalid,
            SignIn::Throttled(wait) => AuthOutcome::Throttled(wait),
            SignIn::Busy => AuthOutcome::Busy,
            SignIn::Unavailable(e) => {
                tracing::error!(error = %e, "authentication: user lookup failed");
                AuthOutcome::Unavailable
            }
        }
    }

    /// Checks a user name and password from `client` (Basic or the log-in
    /// form), under the failure throttles and the cap on password checks.
    pub async fn sign_in(&self, user: &str, password: String, client: IpAddr) -> SignIn {
        let fingerprint = self.fingerprint(user, &password);
        if !self.is_known(&fingerprint) {
            if let Some(wait) = self.throttle.refusal(user, client).await {
                return SignIn::Throttled(wait);
            }
        }
        let account = match self.store.user_by_name(user).await {
            Ok(account) => account,
            Err(e) => return SignIn::Unavailable(e),
        };
        // Unknown users cost a check against a dummy hash, so timing does not
        // tell which user names exist.
        let hash = account
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
        let Ok(ok) = self.checks.verify(hash, password).await else {
            return SignIn::Busy;
        };
        match account {
            Some(account) if ok && account.may_sign_in() => {
                self.remember(fingerprint);
                self.throttle.succeeded(user, client).await;
                SignIn::Valid(account)
            }
            Some(account) if ok => SignIn::Valid(account),
            _ => {
                self.throttle.failed(user, client).await;
                SignIn::Wrong
            }
        }
    }

    /// Counts a password its owner just chose (on the account page or by a
    /// reset link) as theirs: their devices get in with it even while
    /// their user name is under attack.
    pub fn trust(&self, user: &str, password: &str) {
        self.remember(self.fingerprint(user, password));
    }

    /// Forgets what this instance cached for an account whose credentials
    /// just changed here (the others learn it from the database).
    pub fn forget_account(&self, id: i64) {
        self.verified.lock().retain(|_, (p, _)| p.id != id);
    }

    /// Follows the database's record of credential changes, every
    /// [`FOLLOW_EVERY`], forgetting the cached credentials of the accounts
    /// changed (on any instance, or by the command line): a new password,
    /// a lock or a deletion takes effect everywhere within about a second,
    /// so verified credentials can be cached for hours.
    pub async fn follow_credential_changes(self: std::sync::Arc<Self>) {
        let mut seen = loop {
            match self.store.latest_credential_change().await {
                Ok(seq) => break seq,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read credential changes; the cache is off meanwhile");
                    self.verified.lock().clear();
                    tokio::time::sleep(FOLLOW_EVERY).await;
                }
            }
        };
        let mut ticks = tokio::time::interval(FOLLOW_EVERY);
        let mut pruned = Instant::now();
        loop {
            ticks.tick().await;
            self.notes.flush(&self.store).await;
            match self.store.credential_changes_since(seen).await {
                Ok(changes) => {
                    if let Some(&(last, _)) = changes.last() {
                        seen = last;
                        let ids: std::collections::HashSet<i64> =
                            changes.iter().map(|&(_, id)| id).collect();
                        self.verified
                            .lock()
                            .retain(|_, (p, _)| !ids.contains(&p.id));
                    }
                }
                Err(e) => {
                    // Unsure what changed: trust nothing cached.
                    tracing::warn!(error = %e, "cannot read credential changes");
                    self.verified.lock().clear();
                }
            }
            if pruned.elapsed() > Duration::from_hours(1) {
                pruned = Instant::now();
                if let Err(e) = self.store.prune_credential_changes().await {
                    tracing::warn!(error = %e, "cannot prune credential changes");
                }
                if let Err(e) = self.store.prune_rate_windows().await {
                    tracing::warn!(error = %e, "cannot prune rate-limit windows");
                }
            }
        }
    }

    /// Whether staff require app passwords for calendar apps; read from the
    /// database at most every few seconds, so every instance follows soon.
    async fn app_passwords_only(&self) -> bool {
        if let Some((required, at)) = *self.app_passwords_only.lock() {
            if at.elapsed() < APP_PASSWORDS_ONLY_READ_EVERY {
                return required;
            }
        }
        let required = self.store.app_passwords_required().await.unwrap_or(false);
        *self.app_passwords_only.lock() = Some((required, Instant::now()));
        required
    }

    /// Forgets whether app passwords are required (staff just changed it).
    pub fn reread_app_passwords_only(&self) {
        *self.app_passwords_only.lock() = None;
    }

    fn is_known(&self, fingerprint: &[u8; 32]) -> bool {
        self.known
            .lock()
            .get(fingerprint)
            .is_some_and(|at| at.elapsed() < KNOWN_FOR)
    }

    fn remember(&self, fingerprint: [u8; 32]) {
        let mut known = self.known.lock();
        if known.len() >= KNOWN_MAX_ENTRIES {
            known.retain(|_, at| at.elapsed() < KNOWN_FOR);
            if known.len() >= KNOWN_MAX_ENTRIES {
                // Keep the newer half.
                let mut ages: Vec<Instant> = known.values().copied().collect();
                ages.sort_unstable();
                let cutoff = ages[ages.len() / 2];
                known.retain(|_, at| *at >= cutoff);
            }
        }
        known.insert(fingerprint, Instant::now());
    }

    fn fingerprint(&self, user: &str, password: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(user.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn principal_of(account: User) -> Principal {
    Principal {
        id: account.id,
        name: account.name,
        email: account.email,
        is_admin: account.is_admin.0,
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("secret");
        let b = hash_password("secret");
        assert_ne!(a, b, "salts differ");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password(&a, "secret"));
        assert!(!verify_password(&a, "Secret"));
    }

    #[test]
    fn parses_basic_credentials() {
        // "alice:pa:ss" — the password may contain colons.
        assert_eq!(
            parse_basic("Basic YWxpY2U6cGE6c3M="),
            Some(("alice".into(), "pa:ss".into()))
        );
        assert_eq!(parse_basic("Bearer x"), None);
    }
}
