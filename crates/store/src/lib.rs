//! Almanac's storage: one [`Store`] over SQLite (the default, embedded) or
//! PostgreSQL, chosen by the database URL.
//!
//! Both backends run the same SQL through sqlx's `Any` driver; only the schema
//! migrations differ per dialect (see `migrations/`). Every write that changes a
//! collection's members bumps the collection's sync revision and records the
//! change in the `changes` table, in the same transaction: that is what sync
//! tokens and CTags are made of.

mod accounts;
mod app_passwords;
mod backup;
mod check;
mod collections;
mod credentials;
mod error;
mod external;
mod handle;
mod invitations;
mod items;
mod leases;
mod migrate;
mod model;
mod reminders;
mod scheduling;
mod search;
mod settings;
mod sharing;
mod status;
mod support;
mod users;
mod write;

pub use accounts::{MailToken, TokenPurpose};
pub use app_passwords::{AppPassword, AppPasswordUse, APP_PASSWORDS_PER_ACCOUNT};
pub use backup::{BackupSummary, Progress};
pub use check::Finding;
pub use error::StoreError;
pub use handle::{hex, Backend, Store};
pub use invitations::Invitation;
pub use items::etag_of;
pub use migrate::{SchemaState, LATEST_VERSION};
pub use model::{
    CalendarIndex, Change, Collection, CollectionUpdate, Flag, Item, ItemMeta, NewCollection,
    NewItem, Origin, PutOutcome, User, WriteCondition,
};
pub use reminders::{DueObject, ReminderMail, ReminderSettings};
pub use scheduling::{ScheduleMessage, INBOX_CAPACITY};
pub use search::query_words;
pub use settings::Maintenance;
pub use sharing::{ShareLink, SharePermission, SharedCalendar};
pub use status::{
    Incident, IncidentUpdate, ProbeResult, Uptime, INCIDENT_STATUSES, MAINTENANCE_STATUSES,
};
pub use support::{NewSupportRequest, SupportMessage, SupportRequest};
pub use users::{LastSignIns, SignInWay, NAME_HOLD_SECONDS};
