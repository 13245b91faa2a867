//! The pages around the DAV server: home, announcements and their feed, the
//! status site (also with its database gone), error pages.

mod common;

use almanac_store::{Flag, ProbeResult};
use common::Server;
use reqwest::StatusCode;
use std::path::Path;

fn post(dir: &Path, file: &str, title: &str) {
    let folder = dir.join("announcements");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join(file),
        format!(
            "---\ntitle: {title}\nauthor: Ops\nsummary: About {title}\n---\nBody of *{title}*.\n"
        ),
    )
    .unwrap();
}

async fn with_content() -> (Server, tempfile::TempDir) {
    let content = tempfile::tempdir().unwrap();
    let config = almanac_service::Config {
        content_dir: content.path().to_owned(),
        ..almanac_service::Config::default()
    };
    (Server::start_with(config).await, content)
}

#[tokio::test]
async fn announcements_newest_first_without_restart() {
    let (s, content) = with_content().await;
    let home = s.send(None, "GET", "/", &[], "").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("No announcements yet."));
    for (file, title) in [
        ("2026-01-01-one.md", "First"),
        ("2026-02-01-two.md", "Second"),
        ("2026-03-01-three.md", "Third <b>bold</b>"),
        ("2026-04-01-four.md", "Fourth"),
    ] {
        post(content.path(), file, title);
    }
    std::fs::write(content.path().join("announcements/notes.md"), "not a post").unwrap();
    let home = s.send(None, "GET", "/", &[], "").await;
    let titles: Vec<&str> = ["Fourth", "Third", "Second", "First"]
        .into_iter()
        .filter(|t| home.body.contains(&format!(">{t}")))
        .collect();
    assert_eq!(
        titles,
        ["Fourth", "Third", "Second"],
        "the last three on the home page"
    );
    assert!(home
        .body
        .contains(r#"<a href="/blog">More announcements</a>"#));
    assert!(
        home.body.contains("Third &#60;b&#62;bold&#60;/b&#62;") && !home.body.contains("<b>bold"),
        "titles are escaped"
    );
    let blog = s.send(None, "GET", "/blog", &[], "").await;
    let order: Vec<usize> = ["Fourth", "Third", "Second", "First"]
        .iter()
        .map(|t| blog.body.find(&format!(">{t}")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first");
    let one = s.send(None, "GET", "/blog/two", &[], "").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.contains("<h1>Second</h1>") && one.body.contains("Body of <em>Second</em>."));
    let missing = s.send(None, "GET", "/blog/nope", &[], "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("Page not found")
            && missing.body.contains("<link rel=\"stylesheet\""),
        "in the site's look"
    );
    let feed = s.send(None, "GET", "/blog/feed.atom", &[], "").await;
    assert!(feed
        .header("content-type")
        .unwrap()
        .starts_with("application/atom+xml"));
    assert_eq!(feed.body.matches("<entry>").count(), 4);
    assert!(feed
        .body
        .contains(&format!("<id>{base}/blog/four</id>", base = s.base)));
}

#[tokio::test]
async fn status_keeps_answering_when_the_database_is_gone() {
    let s = Server::start().await;
    let now = chrono::Utc::now().timestamp();
    let result = |component: &str, ok| ProbeResult {
        at: now,
        component: component.into(),
        ok: Flag(ok),
        latency_ms: 5,
        message: if ok { String::new() } else { "put: 503".into() },
    };
    s.store
        .record_probe_results(&[
            result("website", true),
            result("caldav", false),
            result("webcal", true),
            result("database", true),
        ])
        .await
        .unwrap();
    s.store
        .open_incident(
            "incident",
            "Writes fail",
            "investigating",
            "Looking into <it>.",
            (now, None),
        )
        .await
        .unwrap();
    let page = s.send(None, "GET", "/status", &[], "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Calendar sync (CalDAV)") && page.body.contains("state-down"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Looking into &#60;it&#62;."),
        "escaped: {}",
        page.body
    );
    assert!(page
        .body
        .contains("Some parts of the service have problems"));
    let json: serde_json::Value =
        serde_json::from_str(&s.send(None, "GET", "/status.json", &[], "").await.body).unwrap();
    assert_eq!(json["stale"], false);
    let states: Vec<(&str, &str)> = json["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("website", "up"),
            ("caldav", "down"),
            ("webcal", "up"),
            ("signup", "unknown"),
            ("database", "up")
        ]
    );
    assert_eq!(json["components"][0]["uptime_24h"], 100.0);

    s.store.close().await;
    let page = s.send(None, "GET", "/status", &[], "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("last known state"), "{}", page.body);
    assert!(page.body.contains("Writes fail"), "incidents still shown");
    let json: serde_json::Value =
        serde_json::from_str(&s.send(None, "GET", "/status.json", &[], "").await.body).unwrap();
    assert_eq!(json["stale"], true);
    assert_eq!(
        json["components"][4]["state"], "down",
        "the database is reported down"
    );
    assert_eq!(json["components"][2]["state"], "up");
    let health = s.send(None, "GET", "/healthz", &[], "").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn maintenance_shows_on_the_status_page() {
    let s = Server::start().await;
    s.store
        .set_maintenance(Some(("Moving disks.", None)))
        .await
        .unwrap();
    let page = s.send(None, "GET", "/status", &[], "").await;
    assert!(
        page.body
            .contains("Maintenance: changes are paused. Moving disks."),
        "{}",
        page.body
    );
    let css = s.send(None, "GET", "/static/site.css", &[], "").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn dashboard_shows_every_metric_with_csv() {
    let config = almanac_service::Config {
        metrics: almanac_service::config::MetricsSettings {
            public: true,
            ..Default::default()
        },
        ..almanac_service::Config::default()
    };
    let s = Server::start_with(config).await;
    let empty = s.send(None, "GET", "/dashboard", &[], "").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No metrics yet"));
    let mut collector = almanac_metrics::Collector::new(almanac_metrics::Rules::default());
    for day in 1..=20 {
        for n in 0..day {
            collector.feed_line(&format!(
                r#"192.0.2.{n} - user{n} [{day:02}/Nov/2026:10:00:00 +0000] "PROPFIND /dav/calendars/user{n}/calendar/ HTTP/1.1" 207 512 "-" "DAVx5/4.4 (Android 14)" dur_us=500 auth=password in=100"#
            ));
        }
    }
    let report = collector.report();
    std::fs::create_dir_all(s.dir.path().join("metrics")).unwrap();
    std::fs::write(
        s.dir.path().join("metrics/report.json"),
        serde_json::to_vec(&report).unwrap(),
    )
    .unwrap();
    let page = s
        .send(None, "GET", "/dashboard?days=30&period=day", &[], "")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sync app users"));
    let graphs = page.body.matches(r#"<svg class="chart""#).count();
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&s.send(None, "GET", "/api/v1/metrics", &[], "").await.body).unwrap();
    let plain = listed
        .iter()
        .filter(|m| !m["name"].as_str().unwrap().contains(':'))
        .count();
    assert_eq!(graphs, plain, "a graph for every metric");
    // The daily CSV of the "All metrics" chart of hits.
    let link = page
        .body
        .split("href=\"/api/v1/metrics/hits.csv")
        .skip(1)
        .find(|rest| rest.starts_with("?period=day"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let csv = s
        .send(
            None,
            "GET",
            &format!("/api/v1/metrics/hits.csv{link}"),
            &[],
            "",
        )
        .await;
    assert!(
        csv.body
            .starts_with("date,value\n2026-11-01,1\n2026-11-02,2\n"),
        "{}",
        csv.body
    );
    let weekly = s.send(None, "GET", "/dashboard?period=week", &[], "").await;
    assert!(weekly.body.contains("<strong>per week</strong>"));
}

#[tokio::test]
async fn small_things_people_expect() {
    let (s, content) = with_content().await;
    post(content.path(), "2026-05-01-news.md", "News");
    let icon = reqwest::get(format!("{}/favicon.ico", s.base))
        .await
        .unwrap();
    assert_eq!(icon.headers()["content-type"], "image/x-icon");
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");
    let robots = s.send(None, "GET", "/robots.txt", &[], "").await;
    assert!(
        robots.body.contains("Disallow: /dav/")
            && robots
                .body
                .contains(&format!("Sitemap: {base}/sitemap.xml", base = s.base))
    );
    let sitemap = s.send(None, "GET", "/sitemap.xml", &[], "").await;
    assert!(
        sitemap.body.contains(&format!(
            "<loc>{base}/blog/news</loc><lastmod>2026-05-01</lastmod>",
            base = s.base
        )),
        "{}",
        sitemap.body
    );
    let page = s.send(None, "GET", "/blog", &[], "").await;
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let www = client
        .get(format!("{}/blog?x=1", s.base))
        .header("Host", "www.calendar.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(www.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        www.headers()["location"],
        "http://calendar.example.org/blog?x=1"
    );
}

#[tokio::test]
async fn content_pages_fill_in_the_addresses() {
    let (s, content) = with_content().await;
    let pages = content.path().join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("help.md"), "---\ntitle: Help\n---\nConnect {{name}} at `{{caldav}}` as {{user}}; write to {{support}}.\n").unwrap();
    std::fs::write(
        pages.join("clients-davx5.md"),
        "---\ntitle: DAVx5\n---\nBase URL: {{server}}\n",
    )
    .unwrap();
    let help = s.send(None, "GET", "/help", &[], "").await;
    assert_eq!(help.status, StatusCode::OK);
    assert!(help.body.contains("<h1>Help</h1>"));
    assert!(help.body.contains(&format!("Connect Almanac at <code>{base}/dav/</code> as your user name; write to support@example.org.", base = s.base)), "{}", help.body);
    assert!(help
        .body
        .contains(r#"<a href="/help" aria-current="page">Help</a>"#));
    let davx5 = s.send(None, "GET", "/clients/davx5", &[], "").await;
    assert!(davx5
        .body
        .contains(&format!("Base URL: {base}", base = s.base)));
    for missing in [
        "/nothing",
        "/clients/nothing",
        "/..%2Fpages%2Fhelp",
        "/HELP",
    ] {
        assert_eq!(
            s.send(None, "GET", missing, &[], "").await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    let sitemap = s.send(None, "GET", "/sitemap.xml", &[], "").await;
    assert!(
        sitemap
            .body
            .contains(&format!("<loc>{base}/clients/davx5</loc>", base = s.base))
            && sitemap
                .body
                .contains(&format!("<loc>{base}/help</loc>", base = s.base))
    );
}

#[tokio::test]
async fn branding_is_configuration() {
    let content = tempfile::tempdir().unwrap();
    let logo = content.path().join("logo.svg");
    std::fs::write(
        &logo,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><title>Kalender</title></svg>"#,
    )
    .unwrap();
    let config = almanac_service::Config {
        content_dir: content.path().to_owned(),
        site: almanac_service::config::Site {
            name: "Kalender".to_owned(),
            support_email: "hilfe@kalender.example".to_owned(),
            logo_file: Some(logo),
            ..almanac_service::config::Site::default()
        },
        ..almanac_service::Config::default()
    };
    let s = Server::start_with(config).await;
    let home = s.send(None, "GET", "/", &[], "").await;
    assert!(home.body.contains("<title>") && home.body.contains("— Kalender</title>"));
    assert!(home.body.contains("hilfe@kalender.example"));
    let served = s.send(None, "GET", "/static/logo.svg", &[], "").await;
    assert_eq!(served.header("content-type"), Some("image/svg+xml"));
    assert!(
        served.body.contains("<title>Kalender</title>"),
        "the operator's logo"
    );
    // A branding file that is not there stops the server at start.
    let missing = almanac_service::Config {
        site: almanac_service::config::Site {
            favicon_file: Some(content.path().join("nope.ico")),
            ..almanac_service::config::Site::default()
        },
        ..almanac_service::Config::default()
    };
    let store = almanac_store::Store::open("sqlite::memory:").await.unwrap();
    let refused = almanac_service::AppState::new(store, missing)
        .err()
        .unwrap();
    assert!(refused.contains("nope.ico"), "{refused}");
}

#[tokio::test]
async fn links_follow_the_address_the_request_came_in_on_unless_one_is_configured() {
    let (s, _content) = with_content().await;
    let named = s
        .send(
            None,
            "GET",
            "/robots.txt",
            &[("host", "cal.example:8443")],
            "",
        )
        .await;
    assert!(named
        .body
        .contains("Sitemap: http://cal.example:8443/sitemap.xml"));
    // Not behind a trusted proxy: its word on https is not taken.
    let claimed = s
        .send(
            None,
            "GET",
            "/robots.txt",
            &[("host", "cal.example"), ("x-forwarded-proto", "https")],
            "",
        )
        .await;
    assert!(claimed
        .body
        .contains("Sitemap: http://cal.example/sitemap.xml"));

    let mut config = almanac_service::Config::default();
    config.site.base_url = "https://calendar.example.org/".to_owned();
    let fixed = Server::start_with(config).await;
    let robots = fixed
        .send(
            None,
            "GET",
            "/robots.txt",
            &[("host", "elsewhere.example")],
            "",
        )
        .await;
    assert!(robots
        .body
        .contains("Sitemap: https://calendar.example.org/sitemap.xml"));
}
