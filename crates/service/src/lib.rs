//! What every part of Almanac's web service shares, at the bottom of the
//! web crates: the state handlers receive, the settings, the access log,
//! authentication and rate limits, sessions and the checks every form
//! passes, mail, maintenance mode, the site's look, and the one path that
//! writes a calendar object.
//!
//! - [`state`]: [`AppState`], the state every handler shares.
//! - [`config`]: settings and limits the binary fills in.
//! - [`access_log`]: one Apache-combined line per request, plus the fields
//!   the metrics need.
//! - [`auth`]: HTTP Basic over argon2 hashes, with a cache and throttles.
//! - [`rate_limit`]: per-address limits on forms, and the client's address.
//! - [`session`]: log-in sessions, cookies and CSRF tokens.
//! - [`guard`]: the checks a form passes before it changes anything.
//! - [`mail`]: mail out through SMTP or the outbox folder.
//! - [`maintenance`]: what a refused write says during maintenance.
//! - [`page`]: the layout, error pages and static files of the site.
//! - [`public_url`]: the address links are written with.
//! - [`share_link`]: what a share link opens, through any door.
//! - [`objects`]: checking, writing, importing and exporting calendar
//!   objects, for every door that does it.
//! - [`scheduling`]: implicit scheduling (RFC 6638): what a write sends,
//!   local delivery, answers.
//! - [`ops_metrics`]: the counters Prometheus scrapes.
//! - [`token`]: unguessable tokens and their hashes.
//! - [`when`]: moments as pages show them, in the reader's zone.

// Page handlers return finished error pages as the `Err` of a `Result`, so
// `?` can stop a form at its first failed check; they are built once per
// request.
#![allow(clippy::result_large_err)]

pub mod access_log;
pub mod auth;
pub mod config;
pub mod guard;
pub mod invitations;
pub mod mail;
pub mod maintenance;
pub mod next_alarm;
pub mod objects;
pub mod ops_metrics;
pub mod page;
pub mod public_url;
pub mod rate_limit;
pub mod reminders;
pub mod scheduling;
pub mod search_words;
pub mod session;
pub mod share_link;
pub mod state;
pub mod token;
pub mod when;

pub use config::{Config, Limits};
pub use state::AppState;
