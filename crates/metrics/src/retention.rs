//! Sign-up cohorts and whether their people came back, kept as one small
//! bit mask per person so memory does not grow with the log.

use crate::catalogue::RETENTION_HORIZONS;
use crate::day::Day;
use chrono::NaiveDate;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Each window is 7 days long: days N to N+6 after the sign-up day.
const WINDOW_DAYS: i32 = 7;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RetentionState {
    signup_day: FxHashMap<u32, Day>,
    /// Bit i: human activity inside the window of `RETENTION_HORIZONS[i]`.
    windows_hit: FxHashMap<u32, u8>,
    /// A later part of a log read in parallel keeps the activity of
    /// accounts whose sign-up it has not seen (it may be in an earlier
    /// part); `None` when reading from the start.
    #[serde(skip)]
    unplaced: Option<FxHashMap<u32, Vec<Day>>>,
}

impl RetentionState {
    /// For a later part of a log: keep activity whose sign-up is elsewhere.
    pub(crate) fn keep_unplaced(&mut self) {
        self.unplaced = Some(FxHashMap::default());
    }

    pub fn signed_up(&mut self, account: u32, day: Day) {
        let first = self.signup_day.entry(account).or_insert(day);
        *first = (*first).min(day);
    }

    /// Takes in a later part of the log, its account ids mapped by `user`.
    pub(crate) fn merge(&mut self, other: Self, user: &[u32]) {
        for (account, day) in other.signup_day {
            self.signed_up(user[account as usize], day);
        }
        for (account, bits) in other.windows_hit {
            *self.windows_hit.entry(user[account as usize]).or_default() |= bits;
        }
        for (account, days) in other.unplaced.into_iter().flatten() {
            for day in days {
                self.human_activity(user[account as usize], day);
            }
        }
    }

    pub fn human_activity(&mut self, account: u32, day: Day) {
        let Some(&signup) = self.signup_day.get(&account) else {
            if let Some(unplaced) = &mut self.unplaced {
                let days = unplaced.entry(account).or_default();
                if days.last() != Some(&day) {
                    days.push(day);
                }
            }
            return;
        };
        let age = day.days_since(signup);
        let mut bits = 0u8;
        for (i, horizon) in RETENTION_HORIZONS.into_iter().enumerate() {
            if (horizon..horizon + WINDOW_DAYS).contains(&age) {
                bits |= 1 << i;
            }
        }
        if bits != 0 {
            *self.windows_hit.entry(account).or_default() |= bits;
        }
    }

    /// The table as far as the log reaches: `last_day` is the last day seen.
    pub fn table(&self, last_day: Day) -> RetentionTable {
        let mut weeks: BTreeMap<Day, (u64, [u64; 5])> = BTreeMap::new();
        for (account, signup) in &self.signup_day {
            let (size, retained) = weeks.entry(signup.week_start()).or_default();
            *size += 1;
            let hit = self.windows_hit.get(account).copied().unwrap_or(0);
            for (i, count) in retained.iter_mut().enumerate() {
                *count += u64::from(hit >> i & 1);
            }
        }
        let cohorts = weeks
            .into_iter()
            .map(|(week, (size, retained))| {
                // The cohort's latest member signed up on the week's Sunday.
                let youngest = week.plus(6);
                let mut shares = [None; 5];
                for (i, horizon) in RETENTION_HORIZONS.into_iter().enumerate() {
                    let window_end = youngest.plus(horizon + WINDOW_DAYS - 1);
                    if window_end <= last_day {
                        #[allow(clippy::cast_precision_loss)] // counts of people
                        let share = retained[i] as f64 * 100.0 / size as f64;
                        shares[i] = Some(share);
                    }
                }
                Cohort {
                    week: week.date(),
                    size,
                    retained: shares,
                }
            })
            .collect();
        RetentionTable {
            horizons: RETENTION_HORIZONS,
            cohorts,
        }
    }
}

/// Retention by sign-up week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionTable {
    /// Days after sign-up; `retained[i]` is for `horizons[i]`.
    pub horizons: [i32; 5],
    pub cohorts: Vec<Cohort>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// The Monday of the sign-up week.
    pub week: NaiveDate,
    /// People who signed up that week.
    pub size: u64,
    /// Percent still active; `None` while the cohort is too young to tell.
    pub retained: [Option<f64>; 5],
}
