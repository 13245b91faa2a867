//! The state every handler shares: the store, the settings, and the
//! services built from them. Cheap to clone.

use crate::auth::Authenticator;
use crate::config::Config;
use crate::mail::Mailer;
use crate::ops_metrics::OpsMetrics;
use crate::public_url::PublicUrl;
use crate::rate_limit::{ClientAddress, RateLimiter};
use almanac_store::Store;
use parking_lot::RwLock;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub ops: Arc<OpsMetrics>,
    pub mailer: Arc<Mailer>,
    pub rate_limiter: Arc<RateLimiter>,
    parts: Arc<PartState>,
}

/// What one part of the service keeps for itself (a cache of listings, of
/// the metrics report, of the status snapshot), found by its type, so this
/// module needs to know nothing of the parts above it.
#[derive(Default)]
struct PartState(RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl AppState {
    /// Fails when the mail settings or the branding files are unusable.
    pub fn new(store: Store, config: Config) -> Result<Self, String> {
        let store = store.keeping_tombstones(config.limits.tombstones_per_collection);
        for file in [&config.site.logo_file, &config.site.favicon_file]
            .into_iter()
            .flatten()
        {
            std::fs::metadata(file)
                .map_err(|e| format!("the branding file {} cannot be read: {e}", file.display()))?;
        }
        Ok(Self {
            mailer: Arc::new(Mailer::new(&config.mail, &config.data_dir)?),
            rate_limiter: Arc::new(RateLimiter::new(&store)),
            auth: Arc::new(Authenticator::new(
                store.clone(),
                &config.auth,
                &config.rate_limits,
            )),
            ops: Arc::default(),
            parts: Arc::default(),
            store,
            config: Arc::new(config),
        })
    }

    /// The one `T` of this state, made on first use.
    pub fn part<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let key = TypeId::of::<T>();
        if let Some(found) = self.parts.0.read().get(&key) {
            return downcast(found.clone());
        }
        let mut parts = self.parts.0.write();
        downcast(
            parts
                .entry(key)
                .or_insert_with(|| Arc::new(T::default()))
                .clone(),
        )
    }
}

/// A handler may ask for the client's address as seen through the
/// configured proxy.
impl axum::extract::FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.config.rate_limits))
    }
}

/// A handler may ask for the address links should be written with.
impl axum::extract::FromRequestParts<AppState> for PublicUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, &state.config))
    }
}

fn downcast<T: Send + Sync + 'static>(part: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    part.downcast()
        .unwrap_or_else(|_| unreachable!("parts are keyed by their own type"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counter(AtomicUsize);

    #[tokio::test]
    async fn each_part_is_made_once_and_shared_by_clones() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let store = Store::open(&config.database_url()).await.unwrap();
        let state = AppState::new(store, config).unwrap();
        let copy = state.clone();
        state.part::<Counter>().0.fetch_add(1, Ordering::Relaxed);
        copy.part::<Counter>().0.fetch_add(1, Ordering::Relaxed);
        assert_eq!(state.part::<Counter>().0.load(Ordering::Relaxed), 2);
        assert_eq!(
            state.part::<String>().as_str(),
            "",
            "another type is another part"
        );
    }
}
