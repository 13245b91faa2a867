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
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// All bodies together: the cache's memory is bounded by this.
const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;

#[derive(Default)]
pub struct ListingCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    bodies: HashMap<u64, Arc<String>>,
    /// Oldest first, for eviction.
    order: VecDeque<u64>,
    total_bytes: usize,
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
        entries.total_bytes += body.len();
        match entries.bodies.insert(key, body) {
            Some(replaced) => entries.total_bytes -= replaced.len(),
            None => entries.order.push_back(key),
        }
        while entries.order.len() > MAX_ENTRIES || entries.total_bytes > MAX_TOTAL_BYTES {
            let Some(old) = entries.order.pop_front() else {
                break;
            };
            if let Some(evicted) = entries.bodies.remove(&old) {
                entries.total_bytes -= evicted.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_by_bytes_as_well_as_entries() {
        let cache = ListingCache::default();
        let body = Arc::new("x".repeat(3 * 1024 * 1024));
        for key in 0..20 {
            cache.put(key, body.clone());
        }
        let entries = cache.inner.lock();
        assert!(entries.total_bytes <= MAX_TOTAL_BYTES);
        assert_eq!(entries.bodies.len(), 10, "the newest ten fit");
        assert!(entries.bodies.contains_key(&19) && !entries.bodies.contains_key(&9));
        drop(entries);
        cache.put(30, Arc::new("x".repeat(MAX_BODY_BYTES + 1)));
        assert!(cache.get(30).is_none(), "a body too large is not kept");
    }
}
