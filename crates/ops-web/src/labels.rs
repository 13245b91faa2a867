//! What the dashboard calls each metric: a title, one plain sentence, the
//! unit its axis carries and the group it is listed in. The metrics crate
//! names and defines the series; the words people read live here.

use crate::format::Scale;
use almanac_metrics::{definition, Period, WeeklyRule};

/// What a metric's numbers are, for its axis and its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Counted over the day or the week: "requests a day", "requests a week".
    Flow(&'static str),
    /// Data counted over the day or the week, written in kB/MB/GB.
    Data,
    /// Different people (or accounts) over the day or the week: "people a
    /// week" counts each person once in the week.
    Distinct(&'static str),
    /// A level that does not add up over time: "accounts", "requests a day".
    Level(&'static str),
    /// A share, in percent.
    Share,
    /// One value per sign-up week.
    Cohort(&'static str),
}

impl Measure {
    /// The unit written on the axis.
    pub fn unit(self, period: Period) -> String {
        let per = match period {
            Period::Day => "a day",
            Period::Week => "a week",
        };
        match self {
            Self::Flow(noun) | Self::Distinct(noun) => format!("{noun} {per}"),
            Self::Data => format!("data {per}"),
            Self::Level(unit) | Self::Cohort(unit) => unit.to_owned(),
            Self::Share => "%".to_owned(),
        }
    }

    pub fn scale(self) -> Scale {
        match self {
            Self::Data => Scale::Bytes,
            Self::Share => Scale::Percent,
            _ => Scale::Count,
        }
    }
}

/// Only weekly values exist: one per sign-up week.
pub fn weekly_only(series: &str) -> bool {
    definition(series).is_some_and(|d| d.weekly == WeeklyRule::Cohort)
}

/// The groups of the full list, in order: (id, heading).
pub const GROUPS: &[(&str, &str)] = &[
    ("people", "People"),
    ("accounts", "Accounts and sign-ups"),
    ("retention", "Retention"),
    ("requests", "Requests"),
    ("data", "Data transferred"),
    ("changes", "Changes to events and tasks"),
    ("calendars", "Calendars"),
    ("breakdowns", "Breakdowns"),
    ("external", "Submitted from outside Almanac"),
    ("other", "Other"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub name: &'static str,
    pub title: &'static str,
    pub about: &'static str,
    pub measure: Measure,
    /// An id of [`GROUPS`].
    pub group: &'static str,
}

const fn label(
    name: &'static str,
    group: &'static str,
    measure: Measure,
    title: &'static str,
    about: &'static str,
) -> Label {
    Label {
        name,
        title,
        about,
        measure,
        group,
    }
}

use Measure::{Cohort, Data, Distinct, Flow, Level, Share};

const RETAINED: &str = "Of the people who signed up in the week, the share who did something themselves (logged in, used the web calendar, or changed an event or task; automatic syncing does not count) in the week starting this many days after signing up. Empty until everyone in the group is old enough.";

/// Every metric of the catalogue, in the order the full list shows them.
pub const LABELS: &[Label] = &[
    label("native_users", "people", Distinct("people"), "Sync app users", "People who used a calendar app that syncs with their account: a phone or desktop calendar such as DAVx5, Apple Calendar or Thunderbird."),
    label("consultative_users", "people", Distinct("people"), "Web users who also sync", "People who used the web calendar and also a sync app on the same day or in the 7 days before."),
    label("standalone_users", "people", Distinct("people"), "Web-only users", "People who used the web calendar and no sync app on the same day or in the 7 days before."),
    label("interop_users", "people", Distinct("people"), "Users of other apps (interop)", "People whose calendars reached another kind of app: calendar subscriptions (webcal), third-party tools and apps we do not recognise."),
    label("casual_collaborators", "people", Distinct("people"), "Casual collaborators", "People without an account of their own who opened a calendar someone shared with them by link (the calendar's owner does not count)."),
    label("casual_collaborators_per_owner", "people", Level("collaborators per owner"), "Collaborators per sharing owner", "On average, how many casual collaborators opened the calendars of each person who shares by link."),
    label("web_users", "people", Distinct("people"), "Web users", "People who used the web calendar with their account, whether or not they also sync."),
    label("visitors", "people", Distinct("visitors"), "Visitors", "Different devices that reached the service, counted the way web analytics tools count them: one network address with one browser or app is one visitor, search engine robots included."),
    label("outside_home_share", "people", Share, "Outside the home country", "Of the people whose location is known, the share who were probably outside the home country."),
    label("accounts_total", "accounts", Level("accounts"), "Accounts in total", "All accounts on the service, counted from the database every day. For a past period, the last count on or before its end."),
    label("accounts_accessed", "accounts", Distinct("accounts"), "Accounts in use", "Accounts used at least once, by any app or the web site."),
    label("human_active_accounts", "accounts", Distinct("accounts"), "Accounts used by a person", "Accounts whose owner did something themselves: logged in, used the web calendar, or changed an event or task. Automatic syncing does not count."),
    label("active_accounts_7d", "accounts", Level("accounts"), "Accounts active over 7 days", "Accounts used at least once in the 7 days up to each day."),
    label("active_week_share", "accounts", Share, "Share of accounts active over 7 days", "Accounts used in the 7 days up to each day, as a share of all accounts."),
    label("signups", "accounts", Flow("sign-ups"), "Sign-ups", "New accounts made on the sign-up page."),
    label("signups_verified", "accounts", Flow("sign-ups"), "Validated sign-ups", "Sign-ups whose owner confirmed their email address with the mailed link."),
    label("logins", "accounts", Flow("log-ins"), "Log-ins", "Successful log-ins to the web site."),
    label("support_requests", "accounts", Flow("requests"), "Support requests", "Messages sent to support through the Contact form."),
    label("signup_cohort_size", "retention", Cohort("people who signed up that week"), "Sign-ups by week (cohorts)", "How many people signed up in each week: the groups the retention figures follow."),
    label("retention_30d", "retention", Share, "Still active after 30 days", RETAINED),
    label("retention_60d", "retention", Share, "Still active after 60 days", RETAINED),
    label("retention_90d", "retention", Share, "Still active after 90 days", RETAINED),
    label("retention_180d", "retention", Share, "Still active after 180 days", RETAINED),
    label("retention_360d", "retention", Share, "Still active after 360 days", RETAINED),
    label("hits", "requests", Flow("requests"), "Requests", "Every request the service answered: web pages, syncing, calendar subscriptions, search engine robots and errors included."),
    label("hits_7d_mean", "requests", Level("requests a day"), "Requests a day, 7-day average", "The average number of requests a day over the 7 days up to each day (days before the data starts are left out)."),
    label("reads", "requests", Flow("requests"), "Requests that read", "Requests that only read: opening pages, syncing, downloading calendars."),
    label("writes", "requests", Flow("requests"), "Requests that write", "Requests that try to change something (save, delete, move, make a calendar), whether they succeed or not."),
    label("hits_sync", "requests", Flow("requests"), "Requests from calendar apps", "Requests from sync apps and calendar subscriptions; share links not included."),
    label("hits_web", "requests", Flow("requests"), "Requests from browsers", "Requests from web browsers; share links not included."),
    label("hits_share", "requests", Flow("requests"), "Requests through share links", "Requests that came through a share link, in a browser or a calendar app."),
    label("anonymous_hits", "requests", Flow("requests"), "Requests without an account", "Requests from someone not logged in: visitors of the public pages, readers of share links, refused log-ins."),
    label("bytes_out", "data", Data, "Data sent", "Data the service sent in its answers (pages, calendars, files)."),
    label("bytes_in", "data", Data, "Data received", "Data apps and browsers sent to the service (uploads and changes). Logs of a proxy in front of the service do not record it."),
    label("changes", "changes", Flow("changes"), "Changes to events and tasks", "Events and tasks added, edited or deleted, from a sync app, the web calendar or a share link. Making or renaming a calendar does not count."),
    label("changes_events", "changes", Flow("changes"), "Changes to events", "Events added, edited or deleted."),
    label("changes_tasks", "changes", Flow("changes"), "Changes to tasks", "Tasks added, edited or deleted."),
    label("changes_sync", "changes", Flow("changes"), "Changes from sync apps", "Events and tasks changed from a phone or desktop calendar app."),
    label("changes_web", "changes", Flow("changes"), "Changes in the web calendar", "Events and tasks their owner changed in the web calendar."),
    label("changes_share", "changes", Flow("changes"), "Changes through share links", "Events and tasks changed by someone the owner shared a calendar with by link."),
    label("items_per_calendar", "calendars", Level("items per calendar"), "Items per calendar", "The average number of events and tasks in a calendar, from the database."),
    label("calendars_per_user", "calendars", Level("calendars per account"), "Calendars per account", "The average number of calendars an account has, from the database."),
    label("hits_by_client", "breakdowns", Flow("requests"), "Requests by app", "Requests from each app or browser."),
    label("hits_by_client_version", "breakdowns", Flow("requests"), "Requests by app version", "Requests from each version of each app or browser."),
    label("hits_by_platform", "breakdowns", Flow("requests"), "Requests by platform", "Requests from each operating system (Android, iOS, Windows...)."),
    label("hits_by_tld", "breakdowns", Flow("requests"), "Requests by domain ending", "Requests by the ending of the client's host name (.de, .fr...); addresses without a name are counted apart."),
    label("hits_by_country", "breakdowns", Flow("requests"), "Requests by country", "Requests by the country of the client's network address, from the IP-to-country database the operator configured."),
    label("native_users_by_platform", "breakdowns", Distinct("people"), "Sync app users by platform", "People using a sync app, by operating system. Someone with a phone and a laptop counts once on each."),
    label("native_users_by_version", "breakdowns", Distinct("people"), "Sync app users by app version", "People using a sync app, by app and version."),
];

/// The label of a series (`name` or a breakdown's `name:key`).
pub fn of(series: &str) -> Option<&'static Label> {
    let base = series.split_once(':').map_or(series, |(base, _)| base);
    LABELS.iter().find(|l| l.name == base)
}

/// A name the table does not know (a metric added later, an external
/// series) made readable: "client_downloads" → "Client downloads".
pub fn humanize(name: &str) -> String {
    if name == "downloads" {
        return "Client downloads".to_owned();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The measure of a metric the table does not know, from the catalogue.
pub fn fallback_measure(series: &str) -> Measure {
    match definition(series).map(|d| d.quantity) {
        Some(almanac_metrics::Quantity::Bytes) => Measure::Data,
        Some(almanac_metrics::Quantity::Percent) => Measure::Share,
        Some(almanac_metrics::Quantity::People) => Measure::Distinct("people"),
        _ => Measure::Flow("count"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_metrics::CATALOGUE;

    #[test]
    fn every_metric_has_a_plain_label() {
        for metric in CATALOGUE {
            let label = of(metric.name).unwrap_or_else(|| panic!("{} has no label", metric.name));
            assert!(
                GROUPS.iter().any(|(id, _)| *id == label.group),
                "{}",
                metric.name
            );
        }
        for (i, label) in LABELS.iter().enumerate() {
            assert!(
                definition(label.name).is_some(),
                "{} is not in the catalogue",
                label.name
            );
            assert!(
                LABELS[i + 1..].iter().all(|l| l.name != label.name),
                "{}",
                label.name
            );
            for jargon in ["=", "`", "_", "ev ", "auth"] {
                assert!(
                    !label.title.contains(jargon),
                    "{}: {}",
                    label.name,
                    label.title
                );
                assert!(
                    !label.about.contains(jargon),
                    "{}: {}",
                    label.name,
                    label.about
                );
            }
            assert!(label.about.ends_with('.'), "{}", label.name);
        }
    }

    #[test]
    fn units_say_per_day_or_per_week() {
        let hits = of("hits").unwrap().measure;
        assert_eq!(hits.unit(Period::Day), "requests a day");
        assert_eq!(hits.unit(Period::Week), "requests a week");
        // The 7-day mean is requests a day whatever the resolution.
        assert_eq!(
            of("hits_7d_mean").unwrap().measure.unit(Period::Week),
            "requests a day"
        );
        assert_eq!(of("bytes_out").unwrap().measure.scale(), Scale::Bytes);
        assert_eq!(of("hits_by_client:DAVx5").unwrap().title, "Requests by app");
        assert!(
            weekly_only("retention_30d")
                && weekly_only("signup_cohort_size")
                && !weekly_only("signups")
        );
        assert_eq!(humanize("downloads"), "Client downloads");
        assert_eq!(humanize("app_store_installs"), "App store installs");
    }
}
