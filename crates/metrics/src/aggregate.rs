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

    fn merge(&mut self, other: &Self, label: &[u32]) {
        for (id, n) in other.iter() {
            let index = label[id as usize] as usize;
            if index >= self.0.len() {
                self.0.resize(index + 1, 0);
            }
            self.0[index] += n;
        }
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

/// Maps the ids of a later part of a log, read in parallel, to this one's.
pub(crate) struct IdMaps<'a> {
    pub user: &'a [u32],
    pub label: &'a [u32],
}

impl IdMaps<'_> {
    fn users(&self, into: &mut IdSet, from: &IdSet) {
        into.extend(from.iter().map(|&id| self.user[id as usize]));
    }

    /// Person keys: accounts (top bit set) are mapped, visitors' hashes kept.
    fn people(&self, into: &mut PersonSet, from: &PersonSet) {
        const ACCOUNT: u64 = 1 << 63;
        into.extend(from.iter().map(|&key| {
            if key & ACCOUNT == 0 {
                key
            } else {
                let id = u32::try_from(key & !ACCOUNT).expect("account keys hold a u32");
                u64::from(self.user[id as usize]) | ACCOUNT
            }
        }));
    }

    fn label_people(&self, into: &mut LabelPeople, from: &LabelPeople) {
        for (label, people) in from {
            self.users(into.entry(self.label[*label as usize]).or_default(), people);
        }
    }
}

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

impl DayAggregate {
    /// An empty day whose sets have room for as many people as `previous`
    /// had: days are alike, and growing a set step by step costs more.
    pub(crate) fn sized_like(previous: &Self) -> Self {
        let mut day = Self::default();
        day.visitors.reserve(previous.visitors.len());
        day.located.reserve(previous.located.len());
        day.outside.reserve(previous.outside.len());
        day.casual.reserve(previous.casual.len());
        day.accounts.reserve(previous.accounts.len());
        day.human_active.reserve(previous.human_active.len());
        day.native.reserve(previous.native.len());
        day.web.reserve(previous.web.len());
        day.interop.reserve(previous.interop.len());
        day
    }

    /// Adds the same day of a later part of the log.
    pub(crate) fn merge(&mut self, other: &Self, ids: &IdMaps<'_>) {
        // Destructured, so that a new field cannot be forgotten here.
        let Self {
            hits,
            bytes_out,
            bytes_in,
            anonymous_hits,
            reads,
            writes,
            hits_sync,
            hits_web,
            hits_share,
            signups,
            signups_verified,
            logins,
            support_requests,
            changes_events,
            changes_tasks,
            changes_sync,
            changes_web,
            changes_share,
            accounts,
            human_active,
            native,
            web,
            interop,
            share_owners,
            casual,
            visitors,
            located,
            outside,
            by_client,
            by_version,
            by_platform,
            by_tld,
            by_country,
            native_by_platform,
            native_by_version,
        } = other;
        let counters = [
            (&mut self.hits, hits),
            (&mut self.bytes_out, bytes_out),
            (&mut self.bytes_in, bytes_in),
            (&mut self.anonymous_hits, anonymous_hits),
            (&mut self.reads, reads),
            (&mut self.writes, writes),
            (&mut self.hits_sync, hits_sync),
            (&mut self.hits_web, hits_web),
            (&mut self.hits_share, hits_share),
            (&mut self.signups, signups),
            (&mut self.signups_verified, signups_verified),
            (&mut self.logins, logins),
            (&mut self.support_requests, support_requests),
            (&mut self.changes_events, changes_events),
            (&mut self.changes_tasks, changes_tasks),
            (&mut self.changes_sync, changes_sync),
            (&mut self.changes_web, changes_web),
            (&mut self.changes_share, changes_share),
        ];
        for (mine, theirs) in counters {
            *mine += theirs;
        }
        for (mine, theirs) in [
            (&mut self.accounts, accounts),
            (&mut self.human_active, human_active),
            (&mut self.native, native),
            (&mut self.web, web),
            (&mut self.interop, interop),
            (&mut self.share_owners, share_owners),
        ] {
            ids.users(mine, theirs);
        }
        for (mine, theirs) in [
            (&mut self.casual, casual),
            (&mut self.visitors, visitors),
            (&mut self.located, located),
            (&mut self.outside, outside),
        ] {
            ids.people(mine, theirs);
        }
        for (mine, theirs) in [
            (&mut self.by_client, by_client),
            (&mut self.by_version, by_version),
            (&mut self.by_platform, by_platform),
            (&mut self.by_tld, by_tld),
            (&mut self.by_country, by_country),
        ] {
            mine.merge(theirs, ids.label);
        }
        ids.label_people(&mut self.native_by_platform, native_by_platform);
        ids.label_people(&mut self.native_by_version, native_by_version);
    }
}
