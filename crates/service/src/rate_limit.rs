//! Attempts per client address on the forms strangers can reach (log-in,
//! sign-up, password reset, contact): a fixed window per form and address.
//! On PostgreSQL, where several instances may share the database, the
//! windows are counted in the database so the limit holds across them; on
//! SQLite (one instance) in memory.

use crate::config::RateLimits;
use almanac_store::{Backend, Store};
use axum::http::HeaderMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    Login,
    Signup,
    Reset,
    Contact,
}

/// Windows kept at most; beyond it, finished windows are dropped.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(Form, IpAddr), (u32, Instant)>>,
    /// Where the windows are counted when instances share them.
    shared: Option<Store>,
}

impl RateLimiter {
    /// Counts in the database on PostgreSQL, in memory on SQLite.
    pub fn new(store: &Store) -> Self {
        Self {
            windows: Mutex::default(),
            shared: (store.backend() == Backend::Postgres).then(|| store.clone()),
        }
    }

    /// Counts an attempt; `Err(wait)` when the address used up its attempts.
    pub async fn attempt(
        &self,
        limits: &RateLimits,
        form: Form,
        address: IpAddr,
    ) -> Result<(), Duration> {
        let (allowed, window) = form.limit(limits);
        if let Some(store) = &self.shared {
            let key = format!("{form:?}|{address}");
            let seconds = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
            match store.count_attempt(&key, seconds).await {
                Ok((attempts, since)) if attempts > i64::from(allowed) => {
                    let left = since + seconds - chrono::Utc::now().timestamp();
                    return Err(Duration::from_secs(u64::try_from(left).unwrap_or(1).max(1)));
                }
                Ok(_) => return Ok(()),
                // The database cannot count: this instance counts alone.
                Err(e) => tracing::warn!(error = %e, "rate limits counted per instance for now"),
            }
        }
        self.attempt_here(allowed, window, form, address)
    }

    fn attempt_here(
        &self,
        allowed: u32,
        window: Duration,
        form: Form,
        address: IpAddr,
    ) -> Result<(), Duration> {
        let mut windows = self.windows.lock();
        if windows.len() >= MAX_ENTRIES {
            windows.retain(|_, (_, since)| since.elapsed() < Duration::from_hours(1));
        }
        let entry = windows
            .entry((form, address))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= window {
            *entry = (0, Instant::now());
        }
        if entry.0 >= allowed {
            return Err(window.saturating_sub(entry.1.elapsed()));
        }
        entry.0 += 1;
        Ok(())
    }
}

impl Form {
    /// (attempts allowed, window) of the form.
    fn limit(self, limits: &RateLimits) -> (u32, Duration) {
        match self {
            Self::Login => (limits.login_per_minute, Duration::from_mins(1)),
            Self::Signup => (limits.signup_per_hour, Duration::from_hours(1)),
            Self::Reset => (limits.reset_per_hour, Duration::from_hours(1)),
            Self::Contact => (limits.contact_per_hour, Duration::from_hours(1)),
        }
    }
}

/// The client's address, as an extractor.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn of(parts: &axum::http::request::Parts, limits: &RateLimits) -> Self {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Self(client_address(limits, &parts.headers, peer))
    }
}

/// The client's address: the connection's peer, or behind a trusted proxy
/// the last hop the proxy appended to X-Forwarded-For.
fn client_address(limits: &RateLimits, headers: &HeaderMap, peer: Option<IpAddr>) -> IpAddr {
    let forwarded = limits
        .trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .flatten();
    forwarded
        .or(peer)
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_limit_per_address() {
        let limits = RateLimits {
            login_per_minute: 2,
            ..RateLimits::default()
        };
        let limiter = RateLimiter::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(limiter.attempt(&limits, Form::Login, a).await.is_ok());
        assert!(limiter.attempt(&limits, Form::Login, a).await.is_ok());
        let wait = limiter.attempt(&limits, Form::Login, a).await.unwrap_err();
        assert!(wait <= Duration::from_mins(1) && wait > Duration::from_secs(50));
        assert!(
            limiter.attempt(&limits, Form::Login, b).await.is_ok(),
            "another address"
        );
        assert!(
            limiter.attempt(&limits, Form::Contact, a).await.is_ok(),
            "another form"
        );
    }

    #[test]
    fn forwarded_for_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer = Some("127.0.0.1".parse().unwrap());
        let mut limits = RateLimits::default();
        assert_eq!(
            client_address(&limits, &headers, peer).to_string(),
            "127.0.0.1"
        );
        limits.trust_forwarded_for = true;
        assert_eq!(
            client_address(&limits, &headers, peer).to_string(),
            "5.6.7.8"
        );
    }
}
