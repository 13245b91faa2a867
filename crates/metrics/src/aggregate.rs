//! What one day of log lines adds up to. Counts are plain numbers; people
//! are sets of ids so that weekly and windowed views can count them
//! distinctly.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Account ids (see [`crate::intern::Interner`]).
pub type IdSet = FxHashSet<u32>;
/// Person keys: an account id with the top bit set, or a hash of an
/// anonymous visitor's address and user agent with the top bit clear.
pub type PersonSet = FxHashSet<u64>;
/// Counts per interned label, indexed by label id: labels are few (client
/// products, versions, platforms, TLDs), so a vector beats a map per line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelCounts(Vec<u64>);

impl LabelCounts {
    pub fn add(&mut self, label: u32) {
        let index = label as usize;
        if index >= self.0.len() {
            self.0.resize(index + 1, 0);
        }
        self.0[index] += 1;
    }

    /// Labels with a count above zero.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| (u32::try_from(i).expect("label ids are u32"), n))
    }
}
/// People per interned label.
pub type LabelPeople = FxHashMap<u32, IdSet>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayAggregate {
    pub hits: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub anonymous_hits: u64,
    pub reads: u64,
    pub writes: u64,
    pub hits_sync: u64,
    pub hits_web: u64,
    pub hits_share: u64,
    pub signups: u64,
    pub signups_verified: u64,
    pub logins: u64,
    pub support_requests: u64,
    pub changes_events: u64,
    pub changes_tasks: u64,
    pub changes_sync: u64,
    pub changes_web: u64,
    pub changes_share: u64,
    pub accounts: IdSet,
    pub human_active: IdSet,
    pub native: IdSet,
    pub web: IdSet,
    pub interop: IdSet,
    pub casual: PersonSet,
    /// Distinct client address + user agent pairs of requests not refused
    /// with a 4xx: visitors as web analytics (GoAccess among them) count them.
    #[serde(default)]
    pub visitors: PersonSet,
    pub share_owners: IdSet,
    pub located: PersonSet,
    pub outside: PersonSet,
    pub by_client: LabelCounts,
    pub by_version: LabelCounts,
    pub by_platform: LabelCounts,
    pub by_tld: LabelCounts,
    /// Requests per country (ISO code label) from the operator's IP
    /// database; empty without one.
    #[serde(default)]
    pub by_country: LabelCounts,
    pub native_by_platform: LabelPeople,
    pub native_by_version: LabelPeople,
}
