//! The metric catalogue: every metric's name, unit, what activity it counts
//! and how its weekly view is made.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    People,
    Requests,
    Bytes,
    Accounts,
    Items,
    Percent,
    PeoplePerOwner,
    ItemsPerCalendar,
    CalendarsPerUser,
}

/// The period a value covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// An ISO week, Monday to Sunday, named by its Monday.
    Week,
}

/// A quantity per period: "people per week".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub quantity: Quantity,
    pub period: Period,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quantity = match self.quantity {
            Quantity::People => "people",
            Quantity::Requests => "requests",
            Quantity::Bytes => "bytes",
            Quantity::Accounts => "accounts",
            Quantity::Items => "items",
            Quantity::Percent => "percent",
            Quantity::PeoplePerOwner => "people per owner",
            Quantity::ItemsPerCalendar => "items per calendar",
            Quantity::CalendarsPerUser => "calendars per user",
        };
        let period = match self.period {
            Period::Day => "day",
            Period::Week => "week",
        };
        write!(f, "{quantity}, per {period}")
    }
}

/// How a week's value follows from the week's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeeklyRule {
    /// Counts add up.
    Sum,
    /// Distinct people over the whole week (not the sum of days).
    Distinct,
    /// The ratio recomputed from the week's numerator and denominator.
    Ratio,
    /// The mean of the days that have a value.
    Mean,
    /// The value of the week's last day that has one.
    Last,
    /// Only weekly: one value per sign-up week.
    Cohort,
}

/// Where a metric's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Counted from log lines.
    Log,
    /// Computed from other metrics.
    Derived,
    /// Submitted from outside the log (the database); see [`crate::Input`].
    Input,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricDef {
    pub name: &'static str,
    pub description: &'static str,
    pub quantity: Quantity,
    pub source: Source,
    pub weekly: WeeklyRule,
    /// A breakdown: one series per key, named `name:key`.
    pub per_key: bool,
}

impl MetricDef {
    pub fn unit(&self, period: Period) -> Unit {
        Unit {
            quantity: self.quantity,
            period,
        }
    }
}

const fn metric(
    name: &'static str,
    quantity: Quantity,
    source: Source,
    weekly: WeeklyRule,
    description: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        description,
        quantity,
        source,
        weekly,
        per_key: false,
    }
}

const fn breakdown(
    name: &'static str,
    quantity: Quantity,
    weekly: WeeklyRule,
    description: &'static str,
) -> MetricDef {
    MetricDef {
        per_key: true,
        ..metric(name, quantity, Source::Log, weekly, description)
    }
}

use Quantity::{
    Accounts, Bytes, CalendarsPerUser, Items, ItemsPerCalendar, People, PeoplePerOwner, Percent,
    Requests,
};
use Source::{Derived, Input, Log};
use WeeklyRule::{Cohort, Distinct, Last, Mean, Ratio, Sum};

/// The days of retention windows, counted from the sign-up day.
pub const RETENTION_HORIZONS: [i32; 5] = [30, 60, 90, 180, 360];

/// Every metric the collector produces.
pub const CATALOGUE: &[MetricDef] = &[
    metric("hits", Requests, Log, Sum, "All requests (log lines), including bots and errors."),
    metric("bytes_out", Bytes, Log, Sum, "Response body bytes sent (the combined byte field)."),
    metric("bytes_in", Bytes, Log, Sum, "Request body bytes received (`in=`; absent in plain proxy logs)."),
    metric("anonymous_hits", Requests, Log, Sum, "Requests without an accepted account (no user, a 401, auth=none, or a share link's visitor)."),
    metric("reads", Requests, Log, Sum, "Requests with a reading method (GET, HEAD, PROPFIND, REPORT, OPTIONS and anything not a write)."),
    metric("writes", Requests, Log, Sum, "Requests with a writing method (PUT, DELETE, POST, PATCH, PROPPATCH, MKCALENDAR, MKCOL, MOVE, COPY, LOCK, UNLOCK), any status."),
    metric("hits_sync", Requests, Log, Sum, "Requests from sync and subscription clients (native and interop classes), share links excluded."),
    metric("hits_web", Requests, Log, Sum, "Requests from browsers, share links excluded."),
    metric("hits_share", Requests, Log, Sum, "Share-link requests (ev=share_visit or share_write, auth=ticket, or in plain proxy logs a /s/ or /dav/s/ path)."),
    metric("hits_7d_mean", Requests, Derived, Mean, "Moving mean of hits per day over the 7 days ending that day (days before the log starts are not counted)."),
    metric("accounts_accessed", Accounts, Log, Distinct, "Distinct accounts with at least one authenticated request."),
    metric("signups", Accounts, Log, Sum, "Sign-ups (ev=signup)."),
    metric("signups_verified", Accounts, Log, Sum, "Sign-ups whose address was verified (ev=signup_verified)."),
    metric("logins", Requests, Log, Sum, "Successful log-ins (ev=login)."),
    metric("support_requests", Requests, Log, Sum, "Support requests submitted (ev=support_request)."),
    metric("changes", Items, Log, Sum, "Item (event and task) changes: lines marked ev=sync_write, web_write or share_write; in plain proxy logs, successful PUT, DELETE, MOVE or COPY of a resource (not a collection). Making or changing a calendar (ev=calendar_write) is not an item change."),
    metric("changes_events", Items, Log, Sum, "Changes to events: item=event, or in plain proxy logs every change outside a task list (see changes_tasks)."),
    metric("changes_tasks", Items, Log, Sum, "Changes to tasks: item=task; plain proxy logs have no content type, so there the collection name decides (it contains \"task\", \"todo\" or \"reminder\")."),
    metric("changes_sync", Items, Log, Sum, "Changes by sync clients: ev=sync_write, or in plain proxy logs changes from a non-browser."),
    metric("changes_web", Items, Log, Sum, "Changes in the web calendar by its owner: ev=web_write, or in plain proxy logs changes from a browser."),
    metric("changes_share", Items, Log, Sum, "Changes made through a share link (ev=share_write), by CalDAV or the link's web pages."),
    metric("native_users", People, Log, Distinct, "Native sync-client users: distinct accounts authenticated with a native-class client."),
    metric("web_users", People, Log, Distinct, "Distinct accounts authenticated with a browser (the web UI)."),
    metric("visitors", People, Log, Distinct, "Visitors: distinct client address and user agent pairs among requests not refused with a 4xx, as web analytics such as GoAccess count them (a person with two devices counts twice; crawlers count)."),
    metric("casual_collaborators", People, Log, Distinct, "Casual collaborators: distinct share-link visitors (client address + user agent), never the link's owner."),
    metric("consultative_users", People, Derived, Distinct, "Consultative users: web users of the day who also used a native client on that day or any of the 7 days before it."),
    metric("standalone_users", People, Derived, Distinct, "Standalone users: web users of the day with no native-client use on that day or the 7 days before it."),
    metric("interop_users", People, Log, Distinct, "Interop users: distinct accounts authenticated with an interop-class client (webcal subscriptions, third-party tools, unknown agents); in plain proxy logs also the owner of a calendar such a client fetched from /ics/{owner}/. A share link's subscribers are casual collaborators, not interop users."),
    metric("casual_collaborators_per_owner", PeoplePerOwner, Derived, Ratio, "Casual collaborators divided by the distinct owners whose shared calendars they visited."),
    metric("outside_home_share", Percent, Derived, Ratio, "People probably outside the home country: of the people (accounts and anonymous visitors, bots excluded) whose host locates them, the share whose host name ends in a country TLD other than the home one. Generic TLDs and addresses outside `home_ip_prefixes` do not locate anyone."),
    metric("active_accounts_7d", Accounts, Derived, Last, "Distinct accounts with an authenticated request in the 7 days ending that day."),
    metric("active_week_share", Percent, Derived, Last, "active_accounts_7d divided by accounts_total (the latest submitted value on or before the day)."),
    metric("accounts_total", Accounts, Input, Last, "All accounts, submitted by the server from its database."),
    metric("items_per_calendar", ItemsPerCalendar, Input, Mean, "Average items per calendar, submitted by the server from its database."),
    metric("calendars_per_user", CalendarsPerUser, Input, Mean, "Average calendars per account, submitted by the server from its database."),
    breakdown("hits_by_client", Requests, Sum, "Requests per client product (rules file)."),
    breakdown("hits_by_client_version", Requests, Sum, "Requests per client product and version, key \"product version\"."),
    breakdown("hits_by_platform", Requests, Sum, "Requests per OS/platform."),
    breakdown("hits_by_tld", Requests, Sum, "Requests per top-level domain of the client host; unresolved addresses are \"(address)\"."),
    breakdown("hits_by_country", Requests, Sum, "Requests per country of the client address (ISO 3166 code), from the IP-to-country database the operator configured (`[metrics] country_database`); \"(unknown)\" for addresses it does not place. Empty without a database."),
    breakdown("native_users_by_platform", People, Distinct, "Native sync-client users per OS/platform."),
    breakdown("native_users_by_version", People, Distinct, "Native sync-client users per product and version."),
    metric("signup_cohort_size", Accounts, Log, Cohort, "People who signed up (ev=signup naming the account) in the week."),
    metric("retention_30d", Percent, Derived, Cohort, RETENTION_DESCRIPTION),
    metric("retention_60d", Percent, Derived, Cohort, RETENTION_DESCRIPTION),
    metric("retention_90d", Percent, Derived, Cohort, RETENTION_DESCRIPTION),
    metric("retention_180d", Percent, Derived, Cohort, RETENTION_DESCRIPTION),
    metric("retention_360d", Percent, Derived, Cohort, RETENTION_DESCRIPTION),
    metric("human_active_accounts", Accounts, Log, Distinct, "Distinct accounts with human activity: a log-in, web-UI use, or a change from any client (not sync polls)."),
];

const RETENTION_DESCRIPTION: &str = "Of the people who signed up in the week, the share with human activity (a log-in, web-UI use, or a change from any client; sync polls do not count) on some day N to N+6 days after their sign-up day. Empty until every member of the cohort is old enough for the whole window to be in the log.";

/// The catalogue entry of a series name (`name` or `name:key`).
pub fn definition(series_name: &str) -> Option<&'static MetricDef> {
    let base = series_name
        .split_once(':')
        .map_or(series_name, |(base, _)| base);
    CATALOGUE.iter().find(|m| m.name == base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_units_read_well() {
        for (i, m) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[i + 1..].iter().all(|o| o.name != m.name),
                "{}",
                m.name
            );
            assert!(!m.name.contains(':'));
        }
        assert_eq!(
            definition("hits").unwrap().unit(Period::Day).to_string(),
            "requests, per day"
        );
        assert_eq!(
            definition("hits_by_client:DAVx5").unwrap().name,
            "hits_by_client"
        );
        assert_eq!(
            definition("casual_collaborators_per_owner")
                .unwrap()
                .unit(Period::Week)
                .to_string(),
            "people per owner, per week"
        );
        assert!(definition("nope").is_none());
    }
}
