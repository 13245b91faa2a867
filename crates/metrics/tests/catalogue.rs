//! Hand-built logs whose right answers are known by construction.

// Compared values are whole numbers and exact shares; `line` takes
// one argument per log field.
#![allow(clippy::float_cmp, clippy::too_many_arguments)]

use almanac_metrics::{Collector, CollectorState, Input, Period, Report, Rules, CATALOGUE};
use chrono::{Days, NaiveDate};

const DAVX5: &str = "DAVx5/4.4 (Android 14)";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
const BOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// Monday 2024-01-01 plus `n` days.
fn date(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(n)
}

/// A server line on day `n` at noon.
fn line(
    n: u64,
    host: &str,
    user: &str,
    request: &str,
    status: u16,
    bytes: &str,
    agent: &str,
    extra: &str,
) -> String {
    format!(
        "{host} - {user} [{} +0000] \"{request} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\" {extra}",
        date(n).format("%d/%b/%Y:12:00:00")
    )
}

fn collect(lines: &[String]) -> Report {
    let mut collector = Collector::new(Rules::default());
    for l in lines {
        collector.feed_line(l);
    }
    collector.report()
}

fn day_value(report: &Report, name: &str, n: u64) -> Option<f64> {
    report
        .series
        .get(name)
        .unwrap_or_else(|| panic!("no series {name}"))
        .daily
        .get(&date(n))
        .copied()
}

fn week_value(report: &Report, name: &str, monday: u64) -> Option<f64> {
    report.series[name].weekly.get(&date(monday)).copied()
}

#[test]
fn counts_traffic_accounts_events_and_changes() {
    let lines = [
        line(0, "192.0.2.1", "alice", "PUT /dav/calendars/alice/calendar/a.ics", 201, "-", DAVX5, "dur_us=5 auth=password in=700 ev=sync_write"),
        line(0, "192.0.2.1", "alice", "PUT /dav/calendars/alice/tasks/t.ics", 204, "-", DAVX5, "auth=password in=300 ev=sync_write"),
        line(0, "192.0.2.1", "alice", "PROPFIND /dav/calendars/alice/calendar/", 207, "1000", DAVX5, "auth=password in=0"),
        line(0, "192.0.2.2", "bob", "POST /login", 303, "-", FIREFOX, "auth=session in=40 ev=login"),
        line(0, "192.0.2.2", "bob", "POST /cal/bob/event", 303, "-", FIREFOX, "auth=session in=90 ev=web_write"),
        line(0, "192.0.2.3", "-", "POST /signup", 303, "-", FIREFOX, "auth=none in=60"),
        line(0, "192.0.2.3", "carol", "POST /signup", 303, "-", FIREFOX, "auth=none in=60 ev=signup"),
        line(0, "192.0.2.3", "carol", "GET /verify/xyz", 200, "500", FIREFOX, "auth=session ev=signup_verified"),
        line(0, "192.0.2.3", "carol", "POST /support", 303, "-", FIREFOX, "auth=session in=200 ev=support_request"),
        line(0, "192.0.2.4", "-", "GET /share/alice/abc", 200, "2000", FIREFOX, "auth=ticket ev=share_visit"),
        line(0, "192.0.2.5", "dave", "PROPFIND /dav/calendars/dave/", 401, "100", DAVX5, "auth=none"),
        line(0, "crawl.example.com", "-", "GET /robots.txt", 200, "68", BOT, "auth=none"),
        // A plain proxy line: an unmarked successful DELETE is a change too.
        r#"mail.example.de - erin [01/Jan/2024:13:00:00 +0000] "DELETE /dav/calendars/erin/calendar/x.ics HTTP/1.1" 204 - "-" "Evolution/3.46.4""#.to_owned(),
    ];
    let report = collect(&lines);
    let v = |name| day_value(&report, name, 0).unwrap();
    assert_eq!(v("hits"), 13.0);
    assert_eq!(v("bytes_out"), 1000.0 + 500.0 + 2000.0 + 100.0 + 68.0);
    assert_eq!(
        v("bytes_in"),
        700.0 + 300.0 + 40.0 + 90.0 + 60.0 + 60.0 + 200.0
    );
    // No user, the 401, the signup with auth=none, the share link, the bot.
    assert_eq!(v("anonymous_hits"), 5.0);
    assert_eq!(v("writes"), 8.0);
    assert_eq!(v("reads"), 5.0);
    assert_eq!(v("hits_share"), 1.0);
    assert_eq!(v("hits_web"), 6.0);
    assert_eq!(v("hits_sync"), 5.0);
    assert_eq!(v("accounts_accessed"), 4.0); // alice, bob, carol, erin
    assert_eq!(v("signups"), 1.0);
    assert_eq!(v("signups_verified"), 1.0);
    assert_eq!(v("logins"), 1.0);
    assert_eq!(v("support_requests"), 1.0);
    assert_eq!(v("changes"), 4.0);
    assert_eq!(v("changes_tasks"), 1.0);
    assert_eq!(v("changes_events"), 3.0);
    assert_eq!(v("changes_sync"), 3.0);
    assert_eq!(v("changes_web"), 1.0);
    assert_eq!(v("changes_share"), 0.0);
    assert_eq!(v("human_active_accounts"), 4.0);
    assert_eq!(v("hits_by_client:DAVx5"), 4.0);
    assert_eq!(v("hits_by_client:Firefox"), 7.0);
    assert_eq!(v("hits_by_client_version:DAVx5 4.4"), 4.0);
    assert_eq!(v("hits_by_platform:Android"), 4.0);
    assert_eq!(v("hits_by_platform:Linux"), 8.0); // Firefox and Evolution
    assert_eq!(v("hits_by_tld:(address)"), 11.0);
    assert_eq!(v("hits_by_tld:de"), 1.0);
    assert_eq!(v("hits_by_tld:com"), 1.0);
    assert_eq!(v("native_users_by_platform:Android"), 1.0);
    assert_eq!(v("native_users_by_version:Evolution 3.46.4"), 1.0);
    // erin (.de) is the only located person, and outside the home (us).
    assert_eq!(v("outside_home_share"), 100.0);
    assert_eq!(report.lines, 13);
    assert_eq!(report.malformed, 0);
}

/// Profile cases around the 7-day lookback, days 0 to 9.
fn profile_log() -> Vec<String> {
    let sync = |n, user: &str| {
        line(
            n,
            "192.0.2.1",
            user,
            &format!("REPORT /dav/calendars/{user}/calendar/"),
            207,
            "10",
            DAVX5,
            "auth=password",
        )
    };
    let web = |n, user: &str| {
        line(
            n,
            "192.0.2.2",
            user,
            "GET /cal/week",
            200,
            "10",
            FIREFOX,
            "auth=session",
        )
    };
    let share = |n, host: &str| {
        line(
            n,
            host,
            "-",
            "GET /share/alice/tok",
            200,
            "10",
            FIREFOX,
            "auth=ticket ev=share_visit",
        )
    };
    vec![
        sync(0, "alice"),
        sync(1, "alice"),
        sync(0, "bob"),
        web(7, "alice"), // native use 7 days before: consultative
        web(8, "bob"),   // native use 8 days before: standalone
        web(8, "carol"), // never used a native client: standalone
        web(9, "alice"), // 8 days after day 1: standalone
        line(
            8,
            "192.0.2.9",
            "dave",
            "GET /ics/dave/work.ics",
            200,
            "10",
            OUTLOOK,
            "auth=password",
        ),
        line(
            8,
            "192.0.2.9",
            "-",
            "GET /ics/dave/work.ics",
            200,
            "10",
            OUTLOOK,
            "auth=none",
        ),
        share(8, "198.51.100.1"),
        share(8, "198.51.100.1"),
        share(8, "198.51.100.2"),
        line(
            8,
            "198.51.100.3",
            "-",
            "GET /share/erin/tok",
            200,
            "10",
            FIREFOX,
            "auth=ticket",
        ),
        line(
            8,
            "198.51.100.4",
            "-",
            "GET /share/erin/tok",
            200,
            "10",
            BOT,
            "auth=ticket",
        ),
    ]
}

#[test]
fn profiles_follow_the_seed_with_a_seven_day_lookback() {
    let report = collect(&profile_log());
    let v = |name, n| day_value(&report, name, n);
    assert_eq!(v("native_users", 0), Some(2.0));
    assert_eq!(v("native_users", 1), Some(1.0));
    assert_eq!(v("consultative_users", 7), Some(1.0));
    assert_eq!(v("standalone_users", 7), Some(0.0));
    assert_eq!(v("consultative_users", 8), Some(0.0));
    assert_eq!(v("standalone_users", 8), Some(2.0));
    assert_eq!(v("standalone_users", 9), Some(1.0));
    assert_eq!(v("consultative_users", 9), Some(0.0));
    assert_eq!(v("web_users", 8), Some(2.0));
    // Only the authenticated Outlook request makes an interop user.
    assert_eq!(v("interop_users", 8), Some(1.0));
    // Three distinct visitors (the crawler is no one), two owners.
    assert_eq!(v("casual_collaborators", 8), Some(3.0));
    assert_eq!(v("casual_collaborators_per_owner", 8), Some(1.5));
    assert_eq!(v("casual_collaborators_per_owner", 0), None);
}

#[test]
fn weekly_profiles_count_distinct_people() {
    let report = collect(&profile_log());
    // Week of 2024-01-01: alice and bob natively; distinct, not 2 + 1.
    assert_eq!(week_value(&report, "native_users", 0), Some(2.0));
    // Week of 2024-01-08: alice consultative on Monday, standalone on
    // Wednesday; each profile counts her once.
    assert_eq!(week_value(&report, "consultative_users", 7), Some(1.0));
    assert_eq!(week_value(&report, "standalone_users", 7), Some(3.0));
    assert_eq!(week_value(&report, "web_users", 7), Some(3.0));
    assert_eq!(
        week_value(&report, "casual_collaborators_per_owner", 7),
        Some(1.5)
    );
    assert_eq!(week_value(&report, "hits", 0), Some(3.0));
}

#[test]
fn moving_windows_and_inputs() {
    let lines = [
        line(
            0,
            "192.0.2.1",
            "alice",
            "GET /cal",
            200,
            "1",
            FIREFOX,
            "auth=session",
        ),
        line(
            2,
            "192.0.2.1",
            "bob",
            "GET /cal",
            200,
            "1",
            FIREFOX,
            "auth=session",
        ),
        line(
            2,
            "192.0.2.1",
            "bob",
            "GET /cal",
            200,
            "1",
            FIREFOX,
            "auth=session",
        ),
        line(
            7,
            "192.0.2.1",
            "carol",
            "GET /cal",
            200,
            "1",
            FIREFOX,
            "auth=session",
        ),
    ];
    let mut collector = Collector::new(Rules::default());
    for l in &lines {
        collector.feed_line(l);
    }
    collector.add_input(Input::AccountsTotal, date(0), 10.0);
    collector.add_input(Input::AccountsTotal, date(7), 20.0);
    collector.add_input(Input::ItemsPerCalendar, date(0), 4.0);
    collector.add_input(Input::ItemsPerCalendar, date(1), 6.0);
    collector.add_input(Input::CalendarsPerUser, date(0), 1.5);
    let report = collector.report();
    let v = |name, n| day_value(&report, name, n);
    assert_eq!(v("hits_7d_mean", 0), Some(1.0));
    assert_eq!(v("hits_7d_mean", 2), Some(1.0)); // (1 + 0 + 2) / 3 days
    assert_eq!(v("hits_7d_mean", 7), Some(3.0 / 7.0)); // days 1..=7
    assert_eq!(v("active_accounts_7d", 2), Some(2.0));
    assert_eq!(v("active_accounts_7d", 7), Some(2.0)); // bob and carol
    assert_eq!(v("active_week_share", 2), Some(20.0));
    assert_eq!(v("active_week_share", 7), Some(10.0));
    assert_eq!(week_value(&report, "accounts_total", 0), Some(10.0));
    assert_eq!(week_value(&report, "items_per_calendar", 0), Some(5.0));
    assert_eq!(week_value(&report, "calendars_per_user", 0), Some(1.5));
    assert_eq!(week_value(&report, "active_week_share", 0), Some(20.0));
}

#[test]
fn retention_counts_human_activity_and_leaves_young_cells_empty() {
    let signup = |n, user: &str| {
        line(
            n,
            "192.0.2.1",
            user,
            "POST /signup",
            303,
            "-",
            FIREFOX,
            "auth=none ev=signup",
        )
    };
    let web = |n, user: &str| {
        line(
            n,
            "192.0.2.1",
            user,
            "GET /cal",
            200,
            "1",
            FIREFOX,
            "auth=session",
        )
    };
    let poll = |n, user: &str| {
        line(
            n,
            "192.0.2.1",
            user,
            "REPORT /dav/calendars/x/c/",
            207,
            "1",
            DAVX5,
            "auth=password",
        )
    };
    let write = |n, user: &str| {
        line(
            n,
            "192.0.2.1",
            user,
            "PUT /dav/calendars/x/c/a.ics",
            201,
            "-",
            DAVX5,
            "auth=password ev=sync_write",
        )
    };
    let lines = [
        signup(0, "ann"),
        signup(2, "ben"),
        signup(6, "cid"),
        signup(6, "dot"),
        web(30, "ann"),    // day 30 after sign-up: in the 30-day window
        write(64, "ben"),  // 62 days after: in the 60-day window (60..=66)
        poll(36, "cid"),   // a sync poll is not human activity
        web(43, "dot"),    // 37 days after: past the 30-day window
        web(100, "ann"),   // 100 days: past the 90-day window (90..=96)
        signup(70, "eve"), // a second cohort, too young for anything
        web(110, "eve"),
    ];
    let report = collect(&lines);
    let cohorts = &report.cohorts.cohorts;
    assert_eq!(report.cohorts.horizons, [30, 60, 90, 180, 360]);
    assert_eq!(cohorts.len(), 2);
    assert_eq!(cohorts[0].week, date(0));
    assert_eq!(cohorts[0].size, 4);
    // The log ends on day 110: the 30-day window of a Sunday sign-up ends
    // on day 6 + 36 = 42 and the 60-day one on day 72, both seen; the
    // 90-day one (day 102) too; 180 and 360 are not old enough.
    assert_eq!(
        cohorts[0].retained,
        [Some(25.0), Some(25.0), Some(0.0), None, None]
    );
    assert_eq!(cohorts[1].week, date(70));
    assert_eq!(cohorts[1].size, 1);
    assert_eq!(cohorts[1].retained, [None; 5]);
    assert_eq!(week_value(&report, "retention_30d", 0), Some(25.0));
    assert_eq!(week_value(&report, "retention_180d", 0), None);
    assert_eq!(week_value(&report, "signup_cohort_size", 70), Some(1.0));
    assert_eq!(report.series["retention_30d"].weekly.len(), 1);
}

#[test]
fn malformed_lines_are_counted_not_fatal() {
    let good = line(
        0,
        "192.0.2.1",
        "alice",
        "GET /cal",
        200,
        "5",
        FIREFOX,
        "auth=session",
    );
    let truncated = good[..good.len() - 30].to_owned();
    let nginx = r#"203.0.113.9 - - [01/Jan/2024:10:00:00 +0000] "GET /ics/alice/x.ics HTTP/1.1" 200 7 "-" "Google-Calendar-Importer""#.to_owned();
    let lines = [
        good,
        truncated.clone(),
        "not a log line".to_owned(),
        String::new(),
        nginx,
    ];
    let report = collect(&lines);
    assert_eq!(report.lines, 5);
    assert_eq!(report.malformed, 3);
    assert_eq!(report.malformed_samples[0], truncated);
    assert_eq!(day_value(&report, "hits", 0), Some(2.0));
    assert_eq!(day_value(&report, "bytes_out", 0), Some(12.0));
    assert_eq!(
        day_value(&report, "hits_by_client:Google Calendar", 0),
        Some(1.0)
    );
}

#[test]
fn saved_state_resumes_as_if_read_in_one_go() {
    let lines: Vec<String> = (0..40)
        .map(|i| {
            let user = ["alice", "bob", "carol"][i % 3];
            let agent = [DAVX5, FIREFOX, OUTLOOK][i % 3];
            line(
                (i / 4) as u64,
                "192.0.2.1",
                user,
                "PUT /dav/calendars/x/c/a.ics",
                201,
                "3",
                agent,
                "auth=password ev=signup",
            )
        })
        .collect();
    let whole = collect(&lines);

    let mut first = Collector::new(Rules::default());
    for l in &lines[..21] {
        first.feed_line(l);
    }
    let saved = serde_json::to_string(&first.into_state()).unwrap();
    let state: CollectorState = serde_json::from_str(&saved).unwrap();
    let mut second = Collector::resume(Rules::default(), state);
    for l in &lines[21..] {
        second.feed_line(l);
    }
    assert_eq!(second.report(), whole);
}

#[test]
fn feed_reader_leaves_a_half_written_line() {
    let complete = line(
        0,
        "192.0.2.1",
        "alice",
        "GET /cal",
        200,
        "5",
        FIREFOX,
        "auth=session",
    );
    let text = format!("{complete}\n{complete}\r\n{}", &complete[..20]);
    let mut collector = Collector::new(Rules::default());
    let mut calls = 0;
    // A tiny buffer splits lines across fills.
    let reader = std::io::BufReader::with_capacity(16, text.as_bytes());
    let fed = collector.feed_reader(reader, |_| calls += 1).unwrap();
    assert_eq!(fed.lines, 2);
    assert_eq!(fed.bytes, u64::try_from(complete.len() * 2 + 3).unwrap());
    assert_eq!(calls, 1);
    assert_eq!(collector.report().malformed, 0);
    assert_eq!(day_value(&collector.report(), "hits", 0), Some(2.0));
}

#[test]
fn every_catalogue_metric_has_a_series_with_csv() {
    let lines = [line(
        0,
        "192.0.2.1",
        "alice",
        "GET /cal",
        200,
        "5",
        DAVX5,
        "auth=password",
    )];
    let report = collect(&lines);
    for metric in CATALOGUE {
        if metric.name == "hits_by_country" {
            // Countries need the operator's IP database; there is none here.
            assert!(report.country_database.is_none());
            assert!(!report
                .series
                .keys()
                .any(|k| k.starts_with("hits_by_country:")));
            continue;
        }
        let found = if metric.per_key {
            report
                .series
                .keys()
                .any(|k| k.starts_with(&format!("{}:", metric.name)))
        } else {
            report.series.contains_key(metric.name)
        };
        assert!(found, "{}", metric.name);
    }
    assert_eq!(
        report.series["hits"].to_csv(Period::Week),
        "date,value\n2024-01-01,1\n"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}
