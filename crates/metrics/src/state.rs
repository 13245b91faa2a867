//! What the collector has gathered so far, as plain serde data, so that a
//! later run can resume: per-day aggregates, the user and label tables,
//! retention, and the series the server submits from its database.

use crate::aggregate::DayAggregate;
use crate::day::Day;
use crate::intern::Interner;
use crate::retention::RetentionState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Series the server submits from its database rather than the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    AccountsTotal,
    ItemsPerCalendar,
    CalendarsPerUser,
}

impl Input {
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::AccountsTotal => "accounts_total",
            Self::ItemsPerCalendar => "items_per_calendar",
            Self::CalendarsPerUser => "calendars_per_user",
        }
    }
}

/// Everything collected so far; serde-serialisable so a later run can resume.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CollectorState {
    pub lines: u64,
    pub malformed: u64,
    /// The first few malformed lines, to show what went wrong.
    pub malformed_samples: Vec<String>,
    pub(crate) users: Interner,
    pub(crate) labels: Interner,
    pub(crate) days: BTreeMap<Day, DayAggregate>,
    pub(crate) retention: RetentionState,
    pub(crate) inputs: BTreeMap<Input, BTreeMap<Day, f64>>,
    /// The IP-to-country database of the last run, described.
    #[serde(default)]
    pub(crate) country_database: Option<String>,
}
