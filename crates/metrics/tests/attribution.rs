//! Who made each request: a log whose right answers are known by
//! construction, with share-link visitors (anonymous, through the web, a
//! subscription and CalDAV), web task writes, calendar (collection) changes,
//! pages of a logged-in person, an older server's share lines and plain
//! proxy lines.

#![allow(clippy::float_cmp)] // whole numbers and exact shares

use almanac_metrics::{Collector, Report, Rules};
use chrono::{Days, NaiveDate};

const DAVX5: &str = "DAVx5/4.4 (Android 14)";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const GOOGLE: &str = "Google-Calendar-Importer";
const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
const EVOLUTION: &str = "Evolution/3.46.4";

/// Monday 2024-01-01 plus `n` days.
fn date(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(n)
}

/// A line on day `n` at noon: `who` is "host user", `request` "METHOD path",
/// `fields` what follows the user agent (empty for a plain proxy line).
fn line(n: u64, who: &str, request: &str, status: u16, agent: &str, fields: &str) -> String {
    let (host, user) = who.split_once(' ').unwrap();
    format!(
        "{host} - {user} [{} +0000] \"{request} HTTP/1.1\" {status} 100 \"-\" \"{agent}\" {fields}",
        date(n).format("%d/%b/%Y:12:00:00")
    )
    .trim_end()
    .to_owned()
}

fn report(lines: &[String]) -> Report {
    let mut collector = Collector::new(Rules::default());
    for l in lines {
        collector.feed_line(l);
    }
    collector.report()
}

fn on(report: &Report, name: &str, n: u64) -> Option<f64> {
    report.series[name].daily.get(&date(n)).copied()
}

#[allow(clippy::too_many_lines)] // one statement per log line
fn one_day() -> Vec<String> {
    vec![
        // alice syncs her own calendar.
        line(
            0,
            "192.0.2.1 alice",
            "REPORT /dav/calendars/alice/calendar/",
            207,
            DAVX5,
            "auth=password",
        ),
        // Visitors of alice's link: two in browsers (one of them edits), a
        // Google Calendar subscription, and DAVx5 writing a task by CalDAV.
        line(
            0,
            "198.51.100.1 -",
            "GET /s/-",
            200,
            FIREFOX,
            "auth=ticket owner=alice ev=share_visit",
        ),
        line(
            0,
            "198.51.100.1 -",
            "GET /s/-?view=month",
            200,
            FIREFOX,
            "auth=ticket owner=alice ev=share_visit",
        ),
        line(
            0,
            "198.51.100.2 -",
            "GET /s/-",
            200,
            FIREFOX,
            "auth=ticket owner=alice ev=share_visit",
        ),
        line(
            0,
            "198.51.100.2 -",
            "POST /s/-/new",
            303,
            FIREFOX,
            "auth=ticket owner=alice item=event ev=share_write",
        ),
        line(
            0,
            "66.249.1.1 -",
            "GET /s/-/calendar.ics",
            200,
            GOOGLE,
            "auth=ticket owner=alice ev=share_visit",
        ),
        line(
            0,
            "198.51.100.4 -",
            "PUT /dav/s/-/t.ics",
            201,
            DAVX5,
            "auth=ticket owner=alice item=task ev=share_write",
        ),
        // A visitor of bob's link; bob himself does nothing.
        line(
            0,
            "198.51.100.5 -",
            "GET /s/-",
            200,
            FIREFOX,
            "auth=ticket owner=bob ev=share_visit",
        ),
        // An older server wrote the owner as the user, under a ticket.
        line(
            0,
            "198.51.100.1 alice",
            "GET /dav/s/-/y.ics",
            200,
            FIREFOX,
            "auth=ticket ev=share_visit",
        ),
        // carol only uses the web: the tasks page, a new task, a new calendar.
        line(
            0,
            "192.0.2.3 carol",
            "GET /calendar/tasks",
            200,
            FIREFOX,
            "auth=session",
        ),
        line(
            0,
            "192.0.2.3 carol",
            "POST /calendar/tasks",
            303,
            FIREFOX,
            "auth=session item=task ev=web_write",
        ),
        line(
            0,
            "192.0.2.3 carol",
            "POST /calendar/calendars",
            303,
            FIREFOX,
            "auth=session ev=calendar_write",
        ),
        // dave makes a calendar, colours it, and puts an event in another.
        line(
            0,
            "192.0.2.4 dave",
            "MKCALENDAR /dav/calendars/dave/new/",
            201,
            DAVX5,
            "auth=password ev=calendar_write",
        ),
        line(
            0,
            "192.0.2.4 dave",
            "PROPPATCH /dav/calendars/dave/new/",
            207,
            DAVX5,
            "auth=password ev=calendar_write",
        ),
        line(
            0,
            "192.0.2.4 dave",
            "PUT /dav/calendars/dave/calendar/a.ics",
            201,
            DAVX5,
            "auth=password item=event ev=sync_write",
        ),
        // Plain proxy lines: erin's webcal subscription fetched by Outlook,
        // a share link opened, frank writing a task and making a collection.
        line(0, "192.0.2.5 -", "GET /ics/erin/work.ics", 200, OUTLOOK, ""),
        line(
            0,
            "203.0.113.9 -",
            "GET /s/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            200,
            FIREFOX,
            "",
        ),
        line(
            0,
            "192.0.2.6 frank",
            "PUT /dav/calendars/frank/tasks/t.ics",
            201,
            EVOLUTION,
            "",
        ),
        line(
            0,
            "192.0.2.6 frank",
            "MKCOL /dav/calendars/frank/more/",
            201,
            EVOLUTION,
            "",
        ),
    ]
}

#[test]
fn share_visitors_are_casual_collaborators_never_the_owner() {
    let report = report(&one_day());
    let v = |name| on(&report, name, 0);
    // Six visitors: four of alice's (the older line is visitor 1 again),
    // bob's, and the plain log's; owners alice and bob.
    assert_eq!(v("casual_collaborators"), Some(6.0));
    assert_eq!(v("casual_collaborators_per_owner"), Some(3.0));
    // Google Calendar subscribing to alice's link makes no interop user of
    // her; erin's subscription in the plain log does make one of erin.
    assert_eq!(v("interop_users"), Some(1.0));
    assert_eq!(v("native_users"), Some(3.0), "alice, dave and frank");
    assert_eq!(
        v("web_users"),
        Some(1.0),
        "carol only: visitors are not web users"
    );
    assert_eq!(
        v("accounts_accessed"),
        Some(4.0),
        "alice, carol, dave, frank"
    );
    // Nine share-link lines and erin's plain subscription.
    assert_eq!(v("anonymous_hits"), Some(10.0));
    assert_eq!(v("hits_share"), Some(9.0));
    // Human activity: carol on the web, dave's and frank's writes; not
    // alice, whose visitors wrote to her calendar.
    assert_eq!(v("human_active_accounts"), Some(3.0));
}

#[test]
fn changes_are_items_by_kind_and_channel_not_calendars() {
    let report = report(&one_day());
    let v = |name| on(&report, name, 0);
    assert_eq!(v("changes"), Some(5.0));
    assert_eq!(
        v("changes_tasks"),
        Some(3.0),
        "the visitor's CalDAV task, carol's web task, frank's"
    );
    assert_eq!(v("changes_events"), Some(2.0));
    assert_eq!(v("changes_share"), Some(2.0));
    assert_eq!(v("changes_web"), Some(1.0));
    assert_eq!(v("changes_sync"), Some(2.0));
}

#[test]
fn visitors_writing_to_a_calendar_do_not_keep_its_owner_retained() {
    let signup = |n, user: &str| {
        line(
            n,
            &format!("192.0.2.1 {user}"),
            "POST /signup",
            303,
            FIREFOX,
            "auth=none ev=signup",
        )
    };
    let lines = [
        signup(0, "alice"),
        signup(0, "carol"),
        // Day 31: a visitor edits alice's calendar; carol uses the web.
        line(
            31,
            "198.51.100.2 -",
            "POST /s/-/new",
            303,
            FIREFOX,
            "auth=ticket owner=alice item=event ev=share_write",
        ),
        line(
            32,
            "192.0.2.3 carol",
            "GET /calendar",
            200,
            FIREFOX,
            "auth=session",
        ),
        // An older server wrote the owner's name on a visitor's write.
        line(
            33,
            "198.51.100.2 alice",
            "PUT /dav/s/-/x.ics",
            201,
            DAVX5,
            "auth=ticket",
        ),
        // The log goes on past the 30-day window of the whole sign-up week.
        line(45, "192.0.2.9 -", "GET /", 200, FIREFOX, "auth=none"),
    ];
    let report = report(&lines);
    let cohort = &report.cohorts.cohorts[0];
    assert_eq!(cohort.size, 2);
    assert_eq!(cohort.retained[0], Some(50.0), "carol yes, alice no");
}
