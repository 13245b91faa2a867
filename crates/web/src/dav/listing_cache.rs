//! Rendered Depth 1 listings of calendars, kept while nothing in them
//! changes. Clients list the same calendar again and again; every member's
//! ETag changes only with the calendar's sync revision, so a listing keyed by
//! the revision, the calendar's own properties and the request is exact on
//! every instance (the revision is read fresh from the database each time).

use almanac_store::Collection;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

const MAX_ENTRIES: usize = 256;
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
pub struct ListingCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    bodies: HashMap<u64, Arc<String>>,
    /// Oldest first, for eviction.
    order: VecDeque<u64>,
}

/// Everything a listing's bytes depend on.
pub fn key(collection: &Collection, request_body: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    (
        collection.id,
        collection.sync_revision,
        &collection.path,
        &collection.displayname,
        &collection.description,
        &collection.color,
        &collection.timezone,
        &collection.components,
        collection.modified_at,
    )
        .hash(&mut hasher);
    request_body.hash(&mut hasher);
    hasher.finish()
}

impl ListingCache {
    pub fn get(&self, key: u64) -> Option<Arc<String>> {
        self.inner.lock().bodies.get(&key).cloned()
    }

    pub fn put(&self, key: u64, body: Arc<String>) {
        if body.len() > MAX_BODY_BYTES {
            return;
        }
        let mut entries = self.inner.lock();
        if entries.bodies.insert(key, body).is_none() {
            entries.order.push_back(key);
        }
        while entries.order.len() > MAX_ENTRIES {
            if let Some(old) = entries.order.pop_front() {
                entries.bodies.remove(&old);
            }
        }
    }
}
