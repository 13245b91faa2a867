//! HTTP Basic authentication over argon2 password hashes.
//!
//! Sync clients send Basic credentials on every request and argon2 costs tens
//! of milliseconds, so a verified credential is remembered for a short while
//! under a keyed hash (HMAC with a per-process random key) — the password
//! itself is never kept. Repeated failures for one user name are throttled.

use almanac_store::Store;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a verified credential is trusted without argon2.
const CACHE_TTL: Duration = Duration::from_mins(2);
const CACHE_MAX_ENTRIES: usize = 100_000;
/// Failed attempts per user name allowed within FAILURE_WINDOW.
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_mins(5);

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
    /// Too many recent failures for this user name.
    Throttled,
    /// The database could not be asked.
    Unavailable,
}

pub struct Authenticator {
    store: Store,
    key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Store) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            store,
            key,
            verified: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Checks an `Authorization` header value.
    pub async fn basic(&self, header: Option<&str>) -> AuthOutcome {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return AuthOutcome::Missing;
        };
        let fingerprint = self.fingerprint(&user, &password);
        if let Some((principal, at)) = self.verified.lock().get(&fingerprint) {
            if at.elapsed() < CACHE_TTL {
                return AuthOutcome::Authenticated(principal.clone());
            }
        }
        if self.is_throttled(&user) {
            return AuthOutcome::Throttled;
        }
        let account = match self.store.user_by_name(&user).await {
            Ok(account) => account,
            Err(e) => {
                tracing::error!(error = %e, "authentication: user lookup failed");
                return AuthOutcome::Unavailable;
            }
        };
        // Verify against a dummy hash for unknown users, so timing does not
        // tell which user names exist.
        let hash = account
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |a| a.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .unwrap_or(false);
        match account {
            // Unvalidated and locked accounts cannot sync.
            Some(account) if ok && account.may_sign_in() => {
                let principal = Principal {
                    id: account.id,
                    name: account.name,
                    email: account.email,
                    is_admin: account.is_admin.0,
                };
                let mut cache = self.verified.lock();
                if cache.len() >= CACHE_MAX_ENTRIES {
                    cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
                    if cache.len() >= CACHE_MAX_ENTRIES {
                        cache.clear();
                    }
                }
                cache.insert(fingerprint, (principal.clone(), Instant::now()));
                AuthOutcome::Authenticated(principal)
            }
            _ => {
                self.record_failure(&user);
                AuthOutcome::Invalid
            }
        }
    }

    /// Forgets every cached credential (after a password change or deletion).
    pub fn forget_all(&self) {
        self.verified.lock().clear();
    }

    fn fingerprint(&self, user: &str, password: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(user.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn is_throttled(&self, user: &str) -> bool {
        self.failures
            .lock()
            .get(user)
            .is_some_and(|(count, since)| {
                *count >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW
            })
    }

    fn record_failure(&self, user: &str) {
        let mut failures = self.failures.lock();
        if failures.len() > CACHE_MAX_ENTRIES {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures
            .entry(user.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
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

/// An argon2id hash (PHC string) with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user"))
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
