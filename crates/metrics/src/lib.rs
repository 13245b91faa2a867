//! Metrics for Almanac: access-log parsing, client classification, the
//! metric catalogue with units, and time series for the dashboard.
//!
//! # Collecting
//!
//! ```
//! use almanac_metrics::{Collector, Rules};
//!
//! let mut collector = Collector::new(Rules::default());
//! collector.feed_line(r#"192.0.2.1 - alice [26/Nov/2026:01:02:03 +0000] "PUT /dav/calendars/alice/calendar/x.ics HTTP/1.1" 201 - "-" "DAVx5/4.4 (Android 14)" dur_us=812 auth=password in=734 ev=sync_write"#);
//! let report = collector.report();
//! assert_eq!(report.series["changes_sync"].daily.values().sum::<f64>(), 1.0);
//! assert_eq!(report.series["native_users"].weekly.values().sum::<f64>(), 1.0);
//! ```
//!
//! Lines are parsed ([`LineParser`]) into a borrowed [`LogRecord`] and folded
//! at once into that day's aggregate: counters, and sets of account ids for
//! the people metrics. Nothing else is kept per line, so memory grows with
//! days × people per day, not with the log's length. Malformed lines are
//! counted (and the first few kept as samples), never fatal.
//!
//! Client classification ([`Rules`]) is data: `src/rules.toml` is built in
//! as the default and [`Rules::load`] reads an edited copy at run time.
//!
//! # Resuming across runs
//!
//! [`Collector::into_state`] (or [`Collector::state`]) gives a
//! [`CollectorState`], plain serde data: the per-day aggregates, the user
//! and label name tables, the retention cohorts and the submitted inputs.
//! Save it (e.g. as JSON) together with the caller's file offsets; next run
//! call [`Collector::resume`] with it and feed only the new lines. Per-day
//! aggregates merge naturally: a new line for a day already in the state
//! adds to its counts and sets, so a day split across two runs (or two
//! rotated files) ends up exactly as if read in one go. Feeding the same
//! line twice counts it twice; the caller's offsets (and its rotation
//! detection) must prevent that. [`Collector::feed_reader`] returns the
//! byte offset after the last complete line, leaving a half-written last
//! line for the next run. To re-run history, start from an empty state.
//! Classification happens when a line is read: days already collected keep
//! the rules of their time.
//!
//! # Reporting
//!
//! [`Collector::report`] turns the state into a [`Report`]: one [`Series`]
//! per metric of the [`CATALOGUE`] (breakdowns as `name:key`), each with
//! daily and weekly values, plus the [`RetentionTable`]. Weekly values
//! follow the metric's [`WeeklyRule`]: counts are summed, people are counted
//! distinctly over the week, ratios are recomputed from the week's parts.
//! Weeks at the edges of the log are partial.
//!
//! # Definitions
//!
//! * An *account* is the `%u` user of a request the server accepted (not a
//!   401, not `auth=none`).
//! * *Profiles* (per day; per week as distinct people over the week):
//!   native users used a native-class client with their account; web users
//!   a browser; consultative users are web users of the day with a
//!   native-client use on that day or up to 7 days before it (a use 8 days
//!   before does not count); standalone users are the other web users;
//!   interop users used an interop-class client (webcal subscriptions,
//!   third-party tools and unknown agents); casual collaborators are
//!   distinct share-link visitors (`ev=share_visit` or `auth=ticket`),
//!   identified by account when logged in, else by address + user agent.
//! * *Human activity* (retention): a log-in, web-UI use, or a change from
//!   any client; sync polls do not count.

mod aggregate;
mod catalogue;
mod collector;
mod day;
mod intern;
mod locate;
mod parse;
mod record;
mod report;
mod retention;
mod rules;
mod series;
mod state;
mod traits;

pub use catalogue::{
    definition, MetricDef, Period, Quantity, Source, Unit, WeeklyRule, CATALOGUE,
    RETENTION_HORIZONS,
};
pub use collector::{Collector, FeedProgress};
pub use day::Day;
pub use locate::CountryDatabase;
pub use parse::{LineParser, Malformed};
pub use record::{AuthKind, Event, Events, LogRecord};
pub use report::{MetricName, Report, CONSULTATIVE_LOOKBACK_DAYS};
pub use retention::{Cohort, RetentionTable};
pub use rules::{ClientClass, ClientInfo, LocationRules, Rules, RulesError, DEFAULT_RULES};
pub use series::Series;
pub use state::{CollectorState, Input};
pub use traits::{is_task_path, Location};
