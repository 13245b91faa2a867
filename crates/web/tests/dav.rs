//! The DAV server seen from the wire: discovery, auth, isolation between
//! users, CalDAV preconditions, reports, sync, webcal and limits.

#![allow(clippy::type_complexity)]

mod common;

use common::{element_text, event, response_hrefs, Server};
use reqwest::StatusCode;

const CAL: &str = "/dav/calendars/alice/calendar/";

#[tokio::test]
async fn discovery_from_the_host_name() {
    let s = Server::start().await;
    s.user("alice").await;
    let redirect = s
        .send(None, "PROPFIND", "/.well-known/caldav", &[], "")
        .await;
    // reqwest follows the redirect; the DAV root then asks for credentials.
    assert_eq!(redirect.status, StatusCode::UNAUTHORIZED);
    let r = s
        .propfind("alice", "/dav/", "0", "<D:current-user-principal/>")
        .await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    assert!(
        r.body
            .contains("<D:current-user-principal><D:href>/dav/principals/alice/</D:href>"),
        "{}",
        r.body
    );
    let r = s
        .propfind(
            "alice",
            "/dav/principals/alice/",
            "0",
            "<C:calendar-home-set/><C:calendar-user-address-set/>",
        )
        .await;
    assert!(
        r.body
            .contains("<C:calendar-home-set><D:href>/dav/calendars/alice/</D:href>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("mailto:alice@example.org"), "{}", r.body);
    let r = s
        .propfind(
            "alice",
            "/dav/calendars/alice/",
            "1",
            "<D:resourcetype/><D:displayname/>",
        )
        .await;
    assert_eq!(response_hrefs(&r.body), ["/dav/calendars/alice/", CAL]);
    assert!(r.body.contains("<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Calendar</D:displayname>"), "{}", r.body);
}

#[tokio::test]
async fn authentication_is_required_and_checked() {
    let s = Server::start().await;
    s.user("alice").await;
    let anonymous = s.send(None, "PROPFIND", CAL, &[], "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    let client = reqwest::Client::new();
    let wrong = client
        .request(
            reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
            format!("{}{CAL}", s.base),
        )
        .basic_auth("alice", Some("wrong password"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let options = s.send(None, "OPTIONS", CAL, &[], "").await;
    assert_eq!(options.status, StatusCode::OK);
    assert!(options.header("dav").unwrap().contains("calendar-access"));
}

#[tokio::test]
async fn users_cannot_reach_each_other() {
    let s = Server::start().await;
    s.user("alice").await;
    s.user("bob").await;
    let secret = event("secret", "20261201T100000Z", "Alice's secret");
    assert_eq!(
        s.put_ics("alice", &format!("{CAL}secret.ics"), &secret)
            .await
            .status,
        StatusCode::CREATED
    );
    let alice_item = format!("{CAL}secret.ics");
    let bob_cal = "/dav/calendars/bob/calendar/";
    let attempts: Vec<(&str, String, Vec<(&str, String)>, String)> = vec![
        ("GET", alice_item.clone(), vec![], String::new()),
        ("PROPFIND", CAL.to_owned(), vec![("Depth", "1".into())], String::new()),
        ("PROPFIND", "/dav/principals/alice/".into(), vec![], String::new()),
        ("PUT", alice_item.clone(), vec![("Content-Type", "text/calendar".into())], event("secret", "20261201T100000Z", "Bob was here")),
        ("DELETE", alice_item.clone(), vec![], String::new()),
        ("PROPPATCH", CAL.to_owned(), vec![], r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>"#.into()),
        ("MKCOL", "/dav/calendars/alice/new/".into(), vec![], String::new()),
        ("MKCALENDAR", "/dav/calendars/alice/new/".into(), vec![], String::new()),
        ("COPY", alice_item.clone(), vec![("Destination", format!("{}{bob_cal}stolen.ics", s.base))], String::new()),
        ("MOVE", alice_item.clone(), vec![("Destination", format!("{}{bob_cal}stolen.ics", s.base))], String::new()),
        ("REPORT", CAL.to_owned(), vec![], r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>"#.into()),
        ("GET", "/ics/alice/calendar.ics".into(), vec![], String::new()),
    ];
    for (method, path, headers, body) in attempts {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = s.send(Some("bob"), method, &path, &headers, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "bob's {method} {path} must find nothing: {}",
            r.body
        );
        assert!(
            !r.body.contains("secret"),
            "{method} {path} leaked: {}",
            r.body
        );
    }
    // Bob cannot pull Alice's item into his calendar either.
    let multiget = format!(
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>{alice_item}</D:href></C:calendar-multiget>"#
    );
    let r = s.report("bob", bob_cal, &multiget).await;
    assert!(
        r.body.contains("404 Not Found") && !r.body.contains("Alice's secret"),
        "{}",
        r.body
    );
    // Alice's data is untouched.
    let r = s.send(Some("alice"), "GET", &alice_item, &[], "").await;
    assert_eq!(r.body, secret);
    let r = s.propfind("alice", CAL, "0", "<D:displayname/>").await;
    assert!(r.body.contains("<D:displayname>Calendar</D:displayname>"));
}

#[tokio::test]
async fn put_get_and_conditional_requests() {
    let s = Server::start().await;
    s.user("alice").await;
    let path = format!("{CAL}one.ics");
    let ics = event("one", "20261201T100000Z", "One");
    let created = s
        .send(
            Some("alice"),
            "PUT",
            &path,
            &[("Content-Type", "text/calendar"), ("If-None-Match", "*")],
            ics.clone(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let etag = created.header("etag").unwrap().to_owned();
    let again = s
        .send(
            Some("alice"),
            "PUT",
            &path,
            &[("Content-Type", "text/calendar"), ("If-None-Match", "*")],
            ics.clone(),
        )
        .await;
    assert_eq!(again.status, StatusCode::PRECONDITION_FAILED);
    let get = s.send(Some("alice"), "GET", &path, &[], "").await;
    assert_eq!(get.body, ics, "byte-exact");
    assert_eq!(get.header("etag"), Some(etag.as_str()));
    let head = s.send(Some("alice"), "HEAD", &path, &[], "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    let not_modified = s
        .send(Some("alice"), "GET", &path, &[("If-None-Match", &etag)], "")
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    let changed = event("one", "20261201T120000Z", "One, later");
    let stale = s
        .send(
            Some("alice"),
            "PUT",
            &path,
            &[("Content-Type", "text/calendar"), ("If-Match", "\"stale\"")],
            changed.clone(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let updated = s
        .send(
            Some("alice"),
            "PUT",
            &path,
            &[("Content-Type", "text/calendar"), ("If-Match", &etag)],
            changed.clone(),
        )
        .await;
    assert_eq!(updated.status, StatusCode::NO_CONTENT);
    assert_ne!(updated.header("etag"), Some(etag.as_str()));
    let stale_delete = s
        .send(Some("alice"), "DELETE", &path, &[("If-Match", &etag)], "")
        .await;
    assert_eq!(stale_delete.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        s.send(Some("alice"), "DELETE", &path, &[], "").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.send(Some("alice"), "GET", &path, &[], "").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn expect_precondition(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    condition: &str,
) {
    let r = s.send(Some("alice"), "PUT", path, headers, body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{condition}: {}", r.body);
    assert!(
        r.body.contains(&format!(":{condition}/>")),
        "expected {condition}: {}",
        r.body
    );
}

#[tokio::test]
async fn caldav_preconditions() {
    let s = Server::start().await;
    s.user("alice").await;
    let ics = [("Content-Type", "text/calendar")];
    let p = format!("{CAL}x.ics");
    expect_precondition(&s, &p, &ics, "this is not iCalendar", "valid-calendar-data").await;
    let two_uids = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    expect_precondition(&s, &p, &ics, two_uids, "valid-calendar-object-resource").await;
    expect_precondition(
        &s,
        &p,
        &[("Content-Type", "text/plain")],
        &event("a", "20260101T000000Z", "a"),
        "supported-calendar-data",
    )
    .await;
    expect_precondition(
        &s,
        &p,
        &ics,
        &event("old", "18000101T000000Z", "too old"),
        "min-date-time",
    )
    .await;
    expect_precondition(
        &s,
        &p,
        &ics,
        &event("far", "22000101T000000Z", "too far"),
        "max-date-time",
    )
    .await;
    // A calendar that takes only tasks refuses events.
    let mk = r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Tasks</D:displayname><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#;
    assert_eq!(
        s.send(
            Some("alice"),
            "MKCALENDAR",
            "/dav/calendars/alice/tasks/",
            &[],
            mk
        )
        .await
        .status,
        StatusCode::CREATED
    );
    expect_precondition(
        &s,
        "/dav/calendars/alice/tasks/e.ics",
        &ics,
        &event("e", "20260101T000000Z", "e"),
        "supported-calendar-component",
    )
    .await;
    let r = s
        .propfind(
            "alice",
            "/dav/calendars/alice/tasks/",
            "0",
            "<C:supported-calendar-component-set/>",
        )
        .await;
    assert!(
        r.body.contains(r#"<C:comp name="VTODO"/>"#) && !r.body.contains("VEVENT"),
        "{}",
        r.body
    );
    // Two resources may not share a UID within a calendar.
    assert_eq!(
        s.put_ics(
            "alice",
            &format!("{CAL}first.ics"),
            &event("dup", "20260101T000000Z", "first")
        )
        .await
        .status,
        StatusCode::CREATED
    );
    expect_precondition(
        &s,
        &format!("{CAL}second.ics"),
        &ics,
        &event("dup", "20260101T000000Z", "second"),
        "no-uid-conflict",
    )
    .await;
}

#[tokio::test]
async fn size_limits_give_clear_errors() {
    let mut config = almanac_service::Config::default();
    config.limits.max_item_bytes = 2_000;
    config.limits.max_body_bytes = 10_000;
    let s = Server::start_with(config).await;
    s.user("alice").await;
    let big = event("big", "20260101T000000Z", &"x".repeat(3_000));
    expect_precondition(
        &s,
        &format!("{CAL}big.ics"),
        &[("Content-Type", "text/calendar")],
        &big,
        "max-resource-size",
    )
    .await;
    let huge = "x".repeat(20_000);
    let r = s
        .send(Some("alice"), "PUT", &format!("{CAL}huge.ics"), &[], huge)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = s
        .propfind("alice", CAL, "0", "<C:max-resource-size/>")
        .await;
    assert!(
        r.body
            .contains("<C:max-resource-size>2000</C:max-resource-size>"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn hostile_xml_is_refused() {
    let s = Server::start().await;
    s.user("alice").await;
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&b;</D:displayname></D:prop></D:propfind>"#;
    let r = s
        .send(Some("alice"), "PROPFIND", CAL, &[("Depth", "0")], bomb)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let deep = format!(
        r#"<D:propfind xmlns:D="DAV:">{}{}</D:propfind>"#,
        "<D:prop>".repeat(100),
        "</D:prop>".repeat(100)
    );
    let r = s
        .send(Some("alice"), "PROPFIND", CAL, &[("Depth", "0")], deep)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .send(Some("alice"), "PROPFIND", CAL, &[("Depth", "infinity")], "")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("propfind-finite-depth"));
}

#[tokio::test]
async fn properties_live_and_dead() {
    let s = Server::start().await;
    s.user("alice").await;
    let patch = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:Z="urn:example:z"><D:set><D:prop><D:displayname>Work &amp; play</D:displayname><A:calendar-color>#FF0000FF</A:calendar-color><Z:note>kept <Z:b>as is</Z:b></Z:note></D:prop></D:set></D:propertyupdate>"#;
    let r = s.send(Some("alice"), "PROPPATCH", CAL, &[], patch).await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    assert!(
        r.body.contains("200 OK") && !r.body.contains("403"),
        "{}",
        r.body
    );
    let r = s.propfind("alice", CAL, "0", r#"<D:displayname/><A:calendar-color xmlns:A="http://apple.com/ns/ical/"/><Z:note xmlns:Z="urn:example:z"/>"#).await;
    assert!(
        r.body
            .contains("<D:displayname>Work &amp; play</D:displayname>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<A:calendar-color>#FF0000FF</A:calendar-color>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"kept <b xmlns="urn:example:z">as is</b>"#),
        "{}",
        r.body
    );
    // A protected property fails the whole PROPPATCH atomically.
    let patch = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Renamed</D:displayname><D:getetag>"x"</D:getetag></D:prop></D:set></D:propertyupdate>"#;
    let r = s.send(Some("alice"), "PROPPATCH", CAL, &[], patch).await;
    assert!(
        r.body.contains("403 Forbidden") && r.body.contains("424 Failed Dependency"),
        "{}",
        r.body
    );
    let r = s.propfind("alice", CAL, "0", "<D:displayname/>").await;
    assert!(
        r.body.contains("Work &amp; play"),
        "the failed PROPPATCH changed nothing: {}",
        r.body
    );
    // Quota figures are there and add up: the properties are stored bytes
    // (the display name, the colour, the dead property's name and XML).
    let r = s
        .propfind(
            "alice",
            CAL,
            "0",
            "<D:quota-used-bytes/><D:quota-available-bytes/>",
        )
        .await;
    let stored = "Work & play".len()
        + "#FF0000FF".len()
        + "{urn:example:z}note".len()
        + r#"kept <b xmlns="urn:example:z">as is</b>"#.len();
    let used: usize = element_text(&r.body, "D:quota-used-bytes")
        .unwrap()
        .parse()
        .unwrap();
    let available: usize = element_text(&r.body, "D:quota-available-bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(used, stored);
    assert_eq!(used + available, 500 * 1024 * 1024);
}

#[tokio::test]
async fn ctag_and_sync_collection() {
    let s = Server::start().await;
    s.user("alice").await;
    let ctag = |body: &str| element_text(body, "CS:getctag").unwrap().to_owned();
    let before = ctag(&s.propfind("alice", CAL, "0", "<CS:getctag/>").await.body);
    let sync = |token: &str, limit: Option<u32>| {
        let limit = limit
            .map(|n| format!("<D:limit><D:nresults>{n}</D:nresults></D:limit>"))
            .unwrap_or_default();
        format!(
            r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>{limit}<D:prop><D:getetag/></D:prop></D:sync-collection>"#
        )
    };
    let initial = s.report("alice", CAL, &sync("", None)).await;
    assert_eq!(initial.status, StatusCode::MULTI_STATUS);
    assert!(response_hrefs(&initial.body).is_empty());
    let token0 = element_text(&initial.body, "D:sync-token")
        .unwrap()
        .to_owned();
    for n in 1..=3 {
        s.put_ics(
            "alice",
            &format!("{CAL}e{n}.ics"),
            &event(&format!("e{n}"), "20261201T100000Z", "x"),
        )
        .await;
    }
    let after = ctag(&s.propfind("alice", CAL, "0", "<CS:getctag/>").await.body);
    assert_ne!(before, after, "the CTag changes with the content");
    let r = s.report("alice", CAL, &sync(&token0, None)).await;
    assert_eq!(
        response_hrefs(&r.body),
        [
            format!("{CAL}e1.ics"),
            format!("{CAL}e2.ics"),
            format!("{CAL}e3.ics")
        ]
    );
    let token1 = element_text(&r.body, "D:sync-token").unwrap().to_owned();
    // Nothing changed: empty answer, same token.
    let r = s.report("alice", CAL, &sync(&token1, None)).await;
    assert!(response_hrefs(&r.body).is_empty());
    assert_eq!(element_text(&r.body, "D:sync-token"), Some(token1.as_str()));
    // A delete and an update since token1.
    s.send(Some("alice"), "DELETE", &format!("{CAL}e1.ics"), &[], "")
        .await;
    s.put_ics(
        "alice",
        &format!("{CAL}e2.ics"),
        &event("e2", "20261202T100000Z", "moved"),
    )
    .await;
    let r = s.report("alice", CAL, &sync(&token1, None)).await;
    assert_eq!(
        response_hrefs(&r.body),
        [format!("{CAL}e1.ics"), format!("{CAL}e2.ics")]
    );
    assert!(
        r.body
            .contains("<D:status>HTTP/1.1 404 Not Found</D:status>"),
        "deleted member reported: {}",
        r.body
    );
    // Paging with DAV:limit: 507 for the collection and a token to go on.
    let r = s.report("alice", CAL, &sync(&token0, Some(1))).await;
    let hrefs = response_hrefs(&r.body);
    assert_eq!(
        hrefs.len(),
        2,
        "one member plus the collection's 507: {}",
        r.body
    );
    assert!(r.body.contains("507 Insufficient Storage"));
    let next = element_text(&r.body, "D:sync-token").unwrap();
    let rest = s.report("alice", CAL, &sync(next, None)).await;
    assert!(!response_hrefs(&rest.body).is_empty());
    // A token that never came from this calendar is refused.
    let r = s
        .report("alice", CAL, &sync("urn:almanac:sync:999:1", None))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("valid-sync-token"));
}

const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261005T090000\r\nDTEND;TZID=Europe/Berlin:20261005T100000\r\nRRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=Europe/Berlin:20261012T090000\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261019T090000\r\nDTSTART;TZID=Europe/Berlin:20261020T140000\r\nDTEND;TZID=Europe/Berlin:20261020T150000\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[tokio::test]
async fn calendar_query_on_recurring_events() {
    let s = Server::start().await;
    s.user("alice").await;
    assert_eq!(
        s.put_ics("alice", &format!("{CAL}weekly.ics"), WEEKLY)
            .await
            .status,
        StatusCode::CREATED
    );
    s.put_ics(
        "alice",
        &format!("{CAL}other.ics"),
        &event("other", "20270101T100000Z", "Next year"),
    )
    .await;
    let query = |start: &str, end: &str, data: &str| {
        format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>{data}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
        )
    };
    // 12 Oct is excluded: a query for that day alone finds nothing.
    let r = s
        .report(
            "alice",
            CAL,
            &query("20261012T000000Z", "20261013T000000Z", ""),
        )
        .await;
    assert!(
        response_hrefs(&r.body).is_empty(),
        "EXDATE honoured: {}",
        r.body
    );
    // 19 Oct moved to 20 Oct 14:00 Berlin (12:00 UTC).
    let r = s
        .report(
            "alice",
            CAL,
            &query("20261019T000000Z", "20261020T000000Z", ""),
        )
        .await;
    assert!(
        response_hrefs(&r.body).is_empty(),
        "override moved away: {}",
        r.body
    );
    let r = s
        .report(
            "alice",
            CAL,
            &query("20261020T120000Z", "20261020T130000Z", ""),
        )
        .await;
    assert_eq!(response_hrefs(&r.body), [format!("{CAL}weekly.ics")]);
    // After the DST change (25 Oct) 09:00 Berlin is 08:00 UTC.
    let r = s
        .report(
            "alice",
            CAL,
            &query("20261102T080000Z", "20261102T083000Z", ""),
        )
        .await;
    assert_eq!(response_hrefs(&r.body), [format!("{CAL}weekly.ics")]);
    // Expanded: every instance in October as its own VEVENT in UTC.
    let expand = r#"<C:calendar-data><C:expand start="20261001T000000Z" end="20261101T000000Z"/></C:calendar-data>"#;
    let r = s
        .report(
            "alice",
            CAL,
            &query("20261001T000000Z", "20261101T000000Z", expand),
        )
        .await;
    let data = element_text(&r.body, "C:calendar-data").unwrap();
    let starts: Vec<&str> = data
        .lines()
        .filter(|l| l.starts_with("DTSTART"))
        .map(str::trim)
        .collect();
    assert_eq!(
        starts,
        [
            "DTSTART:20261005T070000Z",
            "DTSTART:20261020T120000Z",
            "DTSTART:20261026T080000Z"
        ],
        "{data}"
    );
    assert!(
        !data.contains("RRULE") && !data.contains("VTIMEZONE"),
        "{data}"
    );
}

#[tokio::test]
async fn multiget_and_free_busy() {
    let s = Server::start().await;
    s.user("alice").await;
    s.put_ics(
        "alice",
        &format!("{CAL}a.ics"),
        &event("a", "20261201T100000Z", "A"),
    )
    .await;
    s.put_ics(
        "alice",
        &format!("{CAL}b.ics"),
        &event("b", "20261201T150000Z", "B"),
    )
    .await;
    let multiget = format!(
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{CAL}a.ics</D:href><D:href>{CAL}missing.ics</D:href></C:calendar-multiget>"#
    );
    let r = s.report("alice", CAL, &multiget).await;
    assert!(
        r.body.contains("SUMMARY:A") && !r.body.contains("SUMMARY:B"),
        "{}",
        r.body
    );
    assert!(r.body.contains("404 Not Found"), "{}", r.body);
    let fb = r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20261201T000000Z" end="20261202T000000Z"/></C:free-busy-query>"#;
    let r = s.report("alice", CAL, fb).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("BEGIN:VFREEBUSY"), "{}", r.body);
    assert!(
        r.body.contains("20261201T100000Z/20261201T110000Z"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("20261201T150000Z/20261201T160000Z"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("SUMMARY"), "free-busy shows no titles");
}

#[tokio::test]
async fn webcal_export_and_import() {
    let s = Server::start().await;
    s.user("alice").await;
    let file = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:Outlook\r\nBEGIN:VEVENT\r\nUID:imp-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\nSUMMARY:Imported one\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:imp-2\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261202T100000Z\r\nSUMMARY:Imported two\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261203T100000Z\r\nSUMMARY:No UID\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = s
        .send(
            Some("alice"),
            "POST",
            CAL,
            &[("Content-Type", "text/calendar")],
            file,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["imported"], serde_json::json!(["imp-1", "imp-2"]));
    assert_eq!(
        report["rejected"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    // Importing again updates instead of duplicating.
    s.send(
        Some("alice"),
        "POST",
        CAL,
        &[("Content-Type", "text/calendar")],
        file,
    )
    .await;
    for path in [CAL.to_owned(), "/ics/alice/calendar.ics".to_owned()] {
        let r = s.send(Some("alice"), "GET", &path, &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("text/calendar"));
        assert_eq!(r.body.matches("BEGIN:VEVENT").count(), 2, "{}", r.body);
        assert!(
            r.body.starts_with("BEGIN:VCALENDAR\r\n") && r.body.contains("X-WR-CALNAME:Calendar")
        );
    }
}

#[tokio::test]
async fn collections_copy_and_move() {
    let s = Server::start().await;
    s.user("alice").await;
    let home = "/dav/calendars/alice/";
    assert_eq!(
        s.send(Some("alice"), "MKCOL", &format!("{home}files/"), &[], "")
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        s.send(Some("alice"), "MKCOL", &format!("{home}files/"), &[], "")
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        s.send(Some("alice"), "MKCOL", &format!("{home}none/sub/"), &[], "")
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        s.send(Some("alice"), "MKCOL", &format!("{CAL}sub/"), &[], "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    s.put_ics(
        "alice",
        &format!("{CAL}a.ics"),
        &event("a", "20261201T100000Z", "A"),
    )
    .await;
    // MOVE within the calendar keeps the UID without a conflict.
    let dest = format!("{}{CAL}renamed.ics", s.base);
    let r = s
        .send(
            Some("alice"),
            "MOVE",
            &format!("{CAL}a.ics"),
            &[("Destination", &dest)],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        s.send(Some("alice"), "GET", &format!("{CAL}a.ics"), &[], "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(s
        .send(Some("alice"), "GET", &format!("{CAL}renamed.ics"), &[], "")
        .await
        .body
        .contains("SUMMARY:A"));
    // COPY a whole calendar, then the copy is a calendar with the item.
    let dest = format!("{}{home}copy/", s.base);
    assert_eq!(
        s.send(Some("alice"), "COPY", CAL, &[("Destination", &dest)], "")
            .await
            .status,
        StatusCode::CREATED
    );
    let r = s
        .propfind("alice", &format!("{home}copy/"), "1", "<D:resourcetype/>")
        .await;
    assert_eq!(
        response_hrefs(&r.body),
        [format!("{home}copy/"), format!("{home}copy/renamed.ics")]
    );
    assert_eq!(
        s.send(
            Some("alice"),
            "COPY",
            CAL,
            &[("Destination", &dest), ("Overwrite", "F")],
            ""
        )
        .await
        .status,
        StatusCode::PRECONDITION_FAILED
    );
    // A calendar cannot go into a plain collection.
    let dest = format!("{}{home}files/cal/", s.base);
    assert_eq!(
        s.send(Some("alice"), "MOVE", CAL, &[("Destination", &dest)], "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn per_user_limits_are_enforced() {
    let mut config = almanac_service::Config::default();
    config.limits.max_items_per_collection = 2;
    config.limits.max_collections_per_user = 2;
    config.limits.quota_bytes = 1_000;
    config.limits.max_xml_elements = 10;
    let s = Server::start_with(config).await;
    s.user("alice").await;
    // Items per calendar.
    for n in 1..=2 {
        let r = s
            .put_ics(
                "alice",
                &format!("{CAL}{n}.ics"),
                &event(&n.to_string(), "20261201T100000Z", "x"),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = s
        .put_ics(
            "alice",
            &format!("{CAL}3.ics"),
            &event("3", "20261201T100000Z", "x"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("at most 2 items"), "{}", r.body);
    // Quota: about 300 bytes used of 1,000.
    let r = s
        .put_ics(
            "alice",
            &format!("{CAL}1.ics"),
            &event("1", "20261201T100000Z", &"y".repeat(800)),
        )
        .await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.body);
    assert!(r.body.contains("quota-not-exceeded"));
    // Calendars per user: the default calendar plus one more.
    assert_eq!(
        s.send(
            Some("alice"),
            "MKCALENDAR",
            "/dav/calendars/alice/two/",
            &[],
            ""
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let r = s
        .send(
            Some("alice"),
            "MKCALENDAR",
            "/dav/calendars/alice/three/",
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("at most 2 calendars"), "{}", r.body);
    // XML element count.
    let props = "<D:getetag/>".repeat(20);
    let r = s.propfind("alice", CAL, "0", &props).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn query_errors_name_their_precondition() {
    let s = Server::start().await;
    s.user("alice").await;
    let with_filter = |filter: &str| {
        format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>{filter}</C:filter></C:calendar-query>"#
        )
    };
    let cases = [
        (
            r#"<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"#,
            "supported-collation",
        ),
        (r#"<C:comp-filter name="VEVENT"/>"#, "valid-filter"),
        (
            r#"<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="yesterday"/></C:comp-filter></C:comp-filter>"#,
            "valid-filter",
        ),
    ];
    for (filter, condition) in cases {
        let r = s.report("alice", CAL, &with_filter(filter)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{filter}");
        assert!(
            r.body.contains(&format!(":{condition}/>")),
            "{condition}: {}",
            r.body
        );
    }
    let r = s
        .send(
            Some("alice"),
            "MKCALENDAR",
            &format!("{CAL}inner/"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body.contains("calendar-collection-location-ok"),
        "{}",
        r.body
    );
    let r = s
        .report("alice", "/dav/calendars/alice/nothing/", &with_filter(""))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn principal_search_finds_only_yourself() {
    let s = Server::start().await;
    s.user("alice").await;
    s.user("alicia").await;
    let search = |text: &str| {
        format!(
            r#"<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" test="anyof"><D:property-search><D:prop><D:displayname/></D:prop><D:match>{text}</D:match></D:property-search><D:property-search><D:prop><C:calendar-user-address-set/></D:prop><D:match>{text}</D:match></D:property-search><D:prop><D:displayname/><C:calendar-home-set/></D:prop></D:principal-property-search>"#
        )
    };
    let r = s.report("alice", "/dav/principals/", &search("ALI")).await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    assert_eq!(
        response_hrefs(&r.body),
        ["/dav/principals/alice/"],
        "alicia stays invisible: {}",
        r.body
    );
    assert!(r
        .body
        .contains("<C:calendar-home-set><D:href>/dav/calendars/alice/</D:href>"));
    let r = s
        .report("alice", "/dav/principals/", &search("nobody"))
        .await;
    assert!(response_hrefs(&r.body).is_empty());
    let set = r#"<D:principal-search-property-set xmlns:D="DAV:"/>"#;
    let r = s.report("alice", "/dav/principals/", set).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<D:displayname/>") && r.body.contains("calendar-user-address-set"));
}

#[tokio::test]
async fn maintenance_refuses_every_write_and_keeps_reads() {
    let s = Server::start().await;
    s.user("alice").await;
    let item = format!("{CAL}kept.ics");
    s.put_ics("alice", &item, &event("kept", "20261201T100000Z", "Kept"))
        .await;
    s.store
        .set_maintenance(Some(("Upgrading the database.", None)))
        .await
        .unwrap();
    let dest = format!("{}{CAL}copy.ics", s.base);
    let ics = event("new", "20261201T100000Z", "New");
    let writes: Vec<(&str, String, Vec<(&str, &str)>, String)> = vec![
        ("PUT", format!("{CAL}new.ics"), vec![("Content-Type", "text/calendar")], ics.clone()),
        ("POST", CAL.to_owned(), vec![("Content-Type", "text/calendar")], ics.clone()),
        ("DELETE", item.clone(), vec![], String::new()),
        ("PROPPATCH", CAL.to_owned(), vec![], r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>"#.into()),
        ("MKCOL", "/dav/calendars/alice/col/".into(), vec![], String::new()),
        ("MKCALENDAR", "/dav/calendars/alice/cal2/".into(), vec![], String::new()),
        ("COPY", item.clone(), vec![("Destination", dest.as_str())], String::new()),
        ("MOVE", item.clone(), vec![("Destination", dest.as_str())], String::new()),
    ];
    for (method, path, headers, body) in writes {
        let r = s.send(Some("alice"), method, &path, &headers, body).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{method} {path}");
        assert_eq!(r.header("retry-after"), Some("300"));
        assert!(r.body.contains("Upgrading the database."), "{}", r.body);
    }
    assert!(s
        .send(Some("alice"), "GET", &item, &[], "")
        .await
        .body
        .contains("SUMMARY:Kept"));
    assert_eq!(
        s.propfind("alice", CAL, "1", "<D:getetag/>").await.status,
        StatusCode::MULTI_STATUS
    );
    let sync = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    assert_eq!(
        response_hrefs(&s.report("alice", CAL, sync).await.body),
        std::slice::from_ref(&item)
    );
    // Operators (and the probe) may still write, to check the service.
    s.admin("operator").await;
    let r = s
        .put_ics(
            "operator",
            "/dav/calendars/operator/calendar/check.ics",
            &ics,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    s.store.set_maintenance(None).await.unwrap();
    assert_eq!(
        s.put_ics("alice", &format!("{CAL}new.ics"), &ics)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn repeated_listings_follow_every_change() {
    let s = Server::start().await;
    s.user("alice").await;
    let list = || s.propfind("alice", CAL, "1", "<D:getetag/><D:displayname/>");
    s.put_ics(
        "alice",
        &format!("{CAL}a.ics"),
        &event("a", "20261201T100000Z", "A"),
    )
    .await;
    let first = list().await;
    assert_eq!(
        first.body,
        list().await.body,
        "an unchanged calendar lists the same"
    );
    let put = s
        .put_ics(
            "alice",
            &format!("{CAL}a.ics"),
            &event("a", "20261201T110000Z", "A moved"),
        )
        .await;
    let etag = put.header("etag").unwrap().replace('"', "&quot;");
    let after_put = list().await;
    assert!(
        after_put.body.contains(&etag),
        "the new ETag shows at once: {}",
        after_put.body
    );
    let patch = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Renamed</D:displayname></D:prop></D:set></D:propertyupdate>"#;
    s.send(Some("alice"), "PROPPATCH", CAL, &[], patch).await;
    assert!(
        list()
            .await
            .body
            .contains("<D:displayname>Renamed</D:displayname>"),
        "a rename in the same second shows at once"
    );
    s.send(Some("alice"), "DELETE", &format!("{CAL}a.ics"), &[], "")
        .await;
    assert_eq!(response_hrefs(&list().await.body), [CAL]);
}

#[tokio::test]
async fn prometheus_metrics_behind_a_token() {
    let off = Server::start().await;
    assert_eq!(
        off.send(None, "GET", "/metrics", &[], "").await.status,
        StatusCode::NOT_FOUND
    );
    let mut config = almanac_service::Config::default();
    config.metrics.prometheus_token = "s3cret-token".into();
    let s = Server::start_with(config).await;
    s.user("alice").await;
    s.propfind("alice", CAL, "0", "<D:getetag/>").await;
    s.put_ics(
        "alice",
        &format!("{CAL}m.ics"),
        &event("m", "20261201T100000Z", "M"),
    )
    .await;
    let sync = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let first = s.report("alice", CAL, sync).await;
    let token = element_text(&first.body, "D:sync-token")
        .unwrap()
        .to_owned();
    let again = sync.replace(
        "<D:sync-token/>",
        &format!("<D:sync-token>{token}</D:sync-token>"),
    );
    s.report("alice", CAL, &again).await;
    assert_eq!(
        s.send(None, "GET", "/metrics", &[], "").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.send(
            None,
            "GET",
            "/metrics",
            &[("Authorization", "Bearer wrong")],
            ""
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let scrape = s
        .send(
            None,
            "GET",
            "/metrics",
            &[("Authorization", "Bearer s3cret-token")],
            "",
        )
        .await;
    assert_eq!(scrape.status, StatusCode::OK);
    let body = &scrape.body;
    for expected in [
        r#"almanac_http_requests_total{method="PROPFIND",status="207"} 1"#,
        r#"almanac_http_requests_total{method="REPORT",status="207"} 2"#,
        r#"almanac_http_request_duration_seconds_count{method="PROPFIND",status="207"} 1"#,
        r#"almanac_sync_polls_total{result="unchanged"} 1"#,
        r#"almanac_sync_polls_total{result="changed"} 1"#,
        "# UNIT almanac_http_request_duration_seconds seconds",
        "almanac_http_requests_in_flight 1",
        "almanac_db_pool_connections ",
        "# EOF",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
}
