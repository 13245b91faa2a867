"""Contract items 6, 7 and 9: stored files never run as pages of the site,
control characters are refused at every door and never reach an XML
answer (not even from data already stored), and COPY/MOVE to another host
answer 502 and change nothing."""

from __future__ import annotations

import re
import sqlite3

import caldav
import pytest
import requests

from almanac_robust import (
    NS, PASSWORD, etag_of, ics, parse_xml, propfind_body, proppatch_body,
)

CAL = "/dav/calendars/alice/calendar/"
HOME = "/dav/calendars/alice/"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
FORBIDDEN_IN_ICAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CALENDAR_QUERY = (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query {NS}>'
                  "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter>"
                  '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>'
                  "</C:filter></C:calendar-query>")
SYNC_COLLECTION = (f'<?xml version="1.0" encoding="utf-8"?><D:sync-collection {NS}>'
                   "<D:sync-token/><D:sync-level>1</D:sync-level>"
                   "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>")


def log_in(almanac, user: str = "alice") -> requests.Session:
    browser = requests.Session()
    form = browser.get(almanac.url("/login"), timeout=30).text
    done = browser.post(almanac.url("/login"), data={"csrf": CSRF.search(form).group(1), "name": user,
                                                     "password": PASSWORD}, timeout=30, allow_redirects=False)
    assert done.status_code == 303, done.status_code
    return browser


def event_form(csrf: str, **overrides: str) -> dict:
    fields = {
        "csrf": csrf, "calendar": "calendar", "title": "Untitled", "location": "", "description": "",
        "start_date": "2026-03-02", "start_time": "09:00", "end_date": "2026-03-02", "end_time": "10:00",
        "tz": "Europe/Berlin", "repeat": "none", "interval": "1", "ends": "never", "until": "", "count": "",
        "action": "save",
    }
    fields.update(overrides)
    return fields


def assert_form_again(answer: requests.Response, what: str) -> None:
    assert answer.status_code == 422, f"{what}: {answer.status_code} {answer.text[:300]}"
    assert answer.headers.get("Content-Type", "").startswith("text/html"), answer.headers
    assert 'name="title"' in answer.text and CSRF.search(answer.text), f"{what}: the form is not shown again"
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text))
    assert "control character" in text, f"{what}: no message about the character"


def summaries(almanac) -> list[str]:
    """SUMMARY of every event in alice's calendar, through the whole-calendar GET."""
    whole = almanac.dav("GET", CAL, "alice")
    assert whole.status_code == 200
    return re.findall(r"^SUMMARY:(.*?)\r?$", whole.text, re.M)


# 6. Stored files


FILES = {
    "page.html": ("text/html", "<!doctype html><title>x</title><script>alert(document.cookie)</script>"),
    "pic.svg": ("image/svg+xml",
                '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'),
    "app.js": ("application/javascript", "fetch('/account').then(r => r.text()).then(alert)"),
    "note.txt": ("text/plain", "<script>alert(1)</script>"),
    "page": ("text/html", "<script>alert(1)</script>"),
    "page.xhtml": ("application/xhtml+xml",
                   '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'),
}


def assert_sandboxed(answer: requests.Response, what: str) -> None:
    disposition = answer.headers.get("Content-Disposition", "")
    policy = answer.headers.get("Content-Security-Policy", "")
    assert disposition.lower().startswith("attachment"), f"{what}: Content-Disposition {disposition!r}"
    assert "sandbox" in [d.strip().split(" ")[0] for d in policy.lower().split(";")], f"{what}: CSP {policy!r}"
    assert answer.headers.get("X-Content-Type-Options", "").lower() == "nosniff", f"{what}: {answer.headers}"


@pytest.mark.backends("sqlite")
def test_stored_files_are_served_as_sandboxed_attachments(almanac):
    assert almanac.dav("MKCOL", HOME + "files/", "alice").status_code == 201
    assert almanac.dav("MKCOL", HOME + "files/deeper/", "alice").status_code == 201
    for folder in ("files/", "files/deeper/"):
        for name, (kind, body) in FILES.items():
            path = HOME + folder + name
            put = almanac.dav("PUT", path, "alice", body, {"Content-Type": kind})
            assert put.status_code == 201, (path, put.status_code, put.text[:200])
            for method in ("GET", "HEAD"):
                got = almanac.dav(method, path, "alice")
                assert got.status_code == 200, (method, path, got.status_code)
                assert_sandboxed(got, f"{method} {path}")
    # A file straight in the home, if the server takes one at all.
    put = almanac.dav("PUT", HOME + "top.html", "alice", FILES["page.html"][1], {"Content-Type": "text/html"})
    if put.status_code in (200, 201, 204):
        assert_sandboxed(almanac.dav("GET", HOME + "top.html", "alice"), "a file in the home")
    # A copy or move of a file keeps it an attachment.
    assert almanac.dav("COPY", HOME + "files/page.html", "alice",
                       headers={"Destination": almanac.url(HOME + "files/copied.html")}).status_code == 201
    assert_sandboxed(almanac.dav("GET", HOME + "files/copied.html", "alice"), "a copied file")


@pytest.mark.backends("sqlite")
def test_a_calendar_object_is_never_served_as_a_page(almanac):
    """Calendar objects are not attachments, but one PUT with a hostile
    Content-Type must not come back as HTML (it would run as the site:
    the site's CSP allows scripts from 'self', such as a stored .js file)."""
    body = ics("html", "Hello", description="<script src=/dav/calendars/alice/files/app.js></script>")
    for kind in ("text/html", "image/svg+xml", "application/xhtml+xml", "text/calendar; charset=utf-8"):
        put = almanac.put_ics("alice", "calendar", "html.ics", body, {"Content-Type": kind})
        assert put.status_code in (201, 204, 415, 403), (kind, put.status_code)
        got = almanac.dav("GET", CAL + "html.ics", "alice")
        if got.status_code == 200:
            served = got.headers.get("Content-Type", "").split(";")[0].strip().lower()
            assert served == "text/calendar" or got.headers.get("Content-Disposition", "").startswith("attachment"), \
                f"a calendar object PUT as {kind} is served as {served}"


# 7. Control characters: every door


@pytest.mark.backends("sqlite")
def test_caldav_put_refuses_control_characters(almanac):
    places = {
        "SUMMARY": lambda c: ics("x", f"a{c}b"),
        "DESCRIPTION": lambda c: ics("x", description=f"line one{c}"),
        "a parameter": lambda c: ics("x", extra=f"ATTENDEE;CN=Ann{c}e:mailto:ann@example.org\r\n"),
        "a folded line": lambda c: ics("x", extra=f"DESCRIPTION:first part\r\n  second{c}part\r\n"),
        "an X- property of the calendar": lambda c: ics("x").replace("VERSION:2.0\r\n", f"VERSION:2.0\r\nX-WR-CALNAME:a{c}\r\n"),
    }
    failures = []
    for place, make in places.items():
        for c in CONTROLS:
            answer = almanac.put_ics("alice", "calendar", "x.ics", make(c))
            label = f"U+{ord(c):04X} in {place}"
            if answer.status_code != 403:
                failures.append(f"{label}: {answer.status_code}")
                continue
            root = parse_xml(answer.content, f"the refusal of {label}")
            if root.find("{urn:ietf:params:xml:ns:caldav}valid-calendar-data") is None:
                failures.append(f"{label}: no CALDAV:valid-calendar-data in {answer.text[:200]}")
    assert not failures, "\n".join(failures)
    assert almanac.dav("GET", CAL + "x.ics", "alice").status_code == 404
    tab = almanac.put_ics("alice", "calendar", "tab.ics", ics("tab", "a\tb"))
    assert tab.status_code == 201, (tab.status_code, tab.text[:200])
    # Nor may an existing event be overwritten with one.
    assert almanac.put_ics("alice", "calendar", "tab.ics", ics("tab", "a\x01b")).status_code == 403
    assert summaries(almanac) == ["a\tb"]


IMPORT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//robustness//EN\r\n"
          "BEGIN:VEVENT\r\nUID:good-one\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260305T100000Z\r\n"
          "DURATION:PT1H\r\nSUMMARY:Good one\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:poisoned-one\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260306T100000Z\r\n"
          "DURATION:PT1H\r\nSUMMARY:Poisoned\x01one\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_an_ics_import_rejects_the_poisoned_object_only(almanac, method):
    answer = almanac.dav(method, CAL, "alice", IMPORT, {"Content-Type": "text/calendar"})
    assert answer.status_code in (200, 201), (answer.status_code, answer.text[:300])
    report = answer.json()
    assert report["imported"] == ["good-one"], report
    assert [r.get("uid") for r in report["rejected"]] == ["poisoned-one"], report
    assert "control character" in report["rejected"][0]["reason"], report
    assert summaries(almanac) == ["Good one"]


@pytest.mark.backends("sqlite")
def test_the_web_import_rejects_the_poisoned_object_only(almanac):
    browser = log_in(almanac)
    page = browser.get(almanac.url("/calendar/calendars"), timeout=30).text
    answer = browser.post(almanac.url("/calendar/calendars/calendar/import"), data={"csrf": CSRF.search(page).group(1)},
                          files={"file": ("poisoned.ics", IMPORT.encode(), "text/calendar")}, timeout=30,
                          allow_redirects=False)
    assert answer.status_code == 200, answer.status_code
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text))
    assert "Imported 1 event" in text and "poisoned-one" in text, text[:2000]
    assert summaries(almanac) == ["Good one"]


@pytest.mark.backends("sqlite")
def test_web_forms_refuse_control_characters(almanac):
    browser = log_in(almanac)
    csrf = CSRF.search(browser.get(almanac.url("/calendar/new?date=2026-03-02"), timeout=30).text).group(1)
    for field in ("title", "location", "description"):
        for c in ("\x01", "\x1b", "\x7f"):
            answer = browser.post(almanac.url("/calendar/events"), data=event_form(csrf, **{field: f"a{c}b"}),
                                  timeout=30, allow_redirects=False)
            assert_form_again(answer, f"the event form with U+{ord(c):04X} in {field}")
    # The tab is fine.
    ok = browser.post(almanac.url("/calendar/events"), data=event_form(csrf, title="Tab\there"), timeout=30,
                      allow_redirects=False)
    assert ok.status_code == 303, ok.status_code

    # Editing an existing event.
    assert almanac.put_ics("alice", "calendar", "app.ics", ics("app", "From an app", start="20260303T100000Z")).status_code == 201
    edit = browser.get(almanac.url("/calendar/events/calendar/app.ics"), timeout=30)
    assert edit.status_code == 200, edit.status_code
    action = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*events[^"]*)"', edit.text)[0]
    answer = browser.post(almanac.url(action.replace("&amp;", "&")), data=event_form(
        CSRF.search(edit.text).group(1), title="Edited\x01", start_date="2026-03-03", end_date="2026-03-03",
        scope="all"), timeout=30, allow_redirects=False)
    assert_form_again(answer, "the edit form")

    tasks = browser.get(almanac.url("/calendar/tasks"), timeout=30).text
    answer = browser.post(almanac.url("/calendar/tasks"), data={"csrf": CSRF.search(tasks).group(1),
                                                                "title": "Buy\x01milk", "calendar": "calendar"},
                          timeout=30, allow_redirects=False)
    assert answer.status_code == 422, answer.status_code
    assert "control character" in re.sub(r"\s+", " ", answer.text)
    assert sorted(summaries(almanac)) == ["From an app", "Tab\there"]


def make_write_link(almanac, browser: requests.Session) -> str:
    page = browser.get(almanac.url("/calendar/calendars/calendar/share"), timeout=30).text
    made = browser.post(almanac.url("/calendar/calendars/calendar/share"), data={
        "csrf": CSRF.search(page).group(1), "permission": "write", "label": "Partner", "expires_on": ""},
        timeout=30, allow_redirects=False)
    # The form redirects to the share page, which shows the new addresses once.
    assert made.status_code == 303, made.status_code
    shown = browser.get(almanac.url(made.headers["Location"]), timeout=30)
    return re.search(r"/dav/s/([A-Za-z0-9_-]{43})/", shown.text).group(1)


@pytest.mark.backends("sqlite")
def test_a_share_link_refuses_control_characters(almanac):
    token = make_write_link(almanac, log_in(almanac))
    answer = requests.put(almanac.url(f"/dav/s/{token}/visitor.ics"), data=ics("visitor", "Hi\x01").encode(),
                          headers={"Content-Type": "text/calendar"}, timeout=30)
    assert answer.status_code == 403, answer.status_code
    assert parse_xml(answer.content).find("{urn:ietf:params:xml:ns:caldav}valid-calendar-data") is not None, answer.text
    good = requests.put(almanac.url(f"/dav/s/{token}/visitor.ics"), data=ics("visitor", "Hi").encode(),
                        headers={"Content-Type": "text/calendar"}, timeout=30)
    assert good.status_code == 201, good.status_code

    guest = requests.Session()
    form = guest.get(almanac.url(f"/s/{token}/new?date=2026-03-02"), timeout=30)
    assert form.status_code == 200, form.status_code
    answer = guest.post(almanac.url(f"/s/{token}/events"),
                        data=event_form(CSRF.search(form.text).group(1), title="From a visitor\x01"),
                        timeout=30, allow_redirects=False)
    assert_form_again(answer, "a share link's event form")
    assert summaries(almanac) == ["Hi"]


def assert_xml_answers_well_formed(almanac, paths_with_items: list[str]) -> None:
    """Every XML answer about alice's data parses."""
    checks = [
        ("PROPFIND Depth 1 allprop of the calendar", "PROPFIND", CAL, propfind_body(), "1"),
        ("PROPFIND Depth 1 allprop of the home", "PROPFIND", HOME, propfind_body(), "1"),
        ("PROPFIND Depth 1 of the calendar", "PROPFIND", CAL,
         propfind_body("D:displayname", "D:getetag", "C:calendar-description", "D:resourcetype"), "1"),
        ("calendar-query with calendar-data", "REPORT", CAL, CALENDAR_QUERY, "1"),
        ("sync-collection with calendar-data", "REPORT", CAL, SYNC_COLLECTION, "1"),
        ("calendar-multiget", "REPORT", CAL,
         f'<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget {NS}><D:prop><D:getetag/><C:calendar-data/>'
         "</D:prop>" + "".join(f"<D:href>{p}</D:href>" for p in paths_with_items) + "</C:calendar-multiget>", "1"),
    ]
    for what, method, path, body, depth in checks:
        answer = almanac.dav(method, path, "alice", body, {"Depth": depth})
        assert answer.status_code == 207, (what, answer.status_code, answer.text[:300])
        parse_xml(answer.content, what)


def export_problems(almanac, when: str) -> list[str]:
    problems = []
    for path in (CAL, "/ics/alice/calendar.ics"):
        export = almanac.dav("GET", path, "alice")
        if export.status_code != 200:
            problems.append(f"{when}: GET {path} answered {export.status_code}")
            continue
        bad = FORBIDDEN_IN_ICAL.search(export.text)
        if bad:
            line = export.text[:bad.start()].rsplit("\n", 1)[-1] + export.text[bad.start():].split("\r", 1)[0]
            problems.append(f"{when}: GET {path}: the .ics export holds U+{ord(bad.group()):04X}: {line!r}")
    return problems


@pytest.mark.backends("sqlite")
def test_control_characters_that_get_past_other_doors_never_reach_xml_or_ics(almanac):
    """Text that is not iCalendar on the way in (a calendar's name on the
    web, XML character references in a PROPPATCH or MKCALENDAR) must still
    not make a malformed XML answer, nor an .ics export that Almanac itself
    (and RFC 5545) would refuse."""
    assert almanac.put_ics("alice", "calendar", "e.ics", ics("e")).status_code == 201
    problems = []
    browser = log_in(almanac)
    page = browser.get(almanac.url("/calendar/calendars"), timeout=30).text
    renamed = browser.post(almanac.url("/calendar/calendars/calendar"), data={
        "csrf": CSRF.search(page).group(1), "action": "save", "name": "Work\x01\x1b", "color": "#aa3300"},
        timeout=30, allow_redirects=False)
    assert renamed.status_code in (200, 303, 422), renamed.status_code
    assert_xml_answers_well_formed(almanac, [CAL + "e.ics"])
    problems += export_problems(almanac, f"calendar renamed on the web ({renamed.status_code})")

    patch = proppatch_body({"D:displayname": "Cal&#1;endar", "C:calendar-description": "Esc&#27;ape",
                            "X:note": "dead&#1;value"})
    answer = almanac.dav("PROPPATCH", CAL, "alice", patch)
    assert answer.status_code in (207, 400, 403, 422), answer.status_code
    assert_xml_answers_well_formed(almanac, [CAL + "e.ics"])
    problems += export_problems(almanac, f"PROPPATCH with &#1; and &#27; ({answer.status_code})")

    body = (f'<?xml version="1.0" encoding="utf-8"?><C:mkcalendar {NS}><D:set><D:prop>'
            "<D:displayname>New&#2;one</D:displayname></D:prop></D:set></C:mkcalendar>")
    made = almanac.dav("MKCALENDAR", HOME + "made/", "alice", body)
    if made.status_code == 201:
        export = almanac.dav("GET", HOME + "made/", "alice")
        if FORBIDDEN_IN_ICAL.search(export.text):
            problems.append(f"MKCALENDAR with &#2;: the export holds a control character: {export.text[:120]!r}")
    assert_xml_answers_well_formed(almanac, [CAL + "e.ics"])
    assert not problems, "\n".join(problems)


def test_noncharacters_in_calendar_data_never_break_xml(almanac):
    """U+FFFE and U+FFFF are valid UTF-8 but XML 1.0 forbids them: an event
    holding them is either refused or served in well-formed XML."""
    answer = almanac.put_ics("alice", "calendar", "nonchar.ics", ics("nonchar", "a\ufffeb\uffffc"))
    assert answer.status_code in (201, 403), answer.status_code
    assert almanac.put_ics("alice", "calendar", "plain.ics", ics("plain")).status_code == 201
    assert_xml_answers_well_formed(almanac, [CAL + "nonchar.ics", CAL + "plain.ics"])


def write_poisoned_rows(almanac) -> None:
    """With the server stopped: an event, a dead property and a calendar
    name holding control characters, written straight into the database
    (as data stored before the rules existed would be)."""
    data = ics("poison-uid", "Bad\x01summary\x1b[31m", description="bell\x07 nul-less", start="20260311T100000Z")
    raw = data.encode()
    etag = etag_of(raw)
    if almanac.backend == "sqlite":
        db = sqlite3.connect(almanac.data_dir / "almanac.db")
        with db:
            cid, = db.execute("SELECT collection_id FROM items WHERE name = 'seed.ics'").fetchone()
            db.execute(
                "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, component, "
                "start_utc, end_utc, revision, modified_at) SELECT collection_id, 'poison.ics', content_type, ?, ?, ?, "
                "'poison-uid', component, start_utc, end_utc, revision, modified_at FROM items WHERE name = 'seed.ics'",
                (etag, raw, len(raw)))
            db.execute("INSERT INTO changes (collection_id, name, revision, deleted, origin) "
                       "SELECT collection_id, 'poison.ics', revision, 0, 'sync' FROM items WHERE name = 'seed.ics'")
            db.execute("INSERT INTO dead_properties (collection_id, item_name, name, value) VALUES "
                       "(?, '', '{urn:example:robust}note', ?)", (cid, "dead\x01value\x1b"))
            db.execute("INSERT INTO dead_properties (collection_id, item_name, name, value) VALUES "
                       "(?, 'seed.ics', '{urn:example:robust}note', ?)", (cid, "<X:inner xmlns:X=\"urn:example:robust\">"
                                                                          "a\x02b</X:inner>"))
            db.execute("UPDATE collections SET displayname = ?, description = ? WHERE id = ?",
                       ("Cal\x01endar", "Des\x0ccription", cid))
        db.close()
    else:
        hexed = raw.hex()
        almanac.database.query(
            "INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, component, start_utc, "
            f"end_utc, revision, modified_at) SELECT collection_id, 'poison.ics', content_type, '{etag}', "
            f"decode('{hexed}', 'hex'), {len(raw)}, 'poison-uid', component, start_utc, end_utc, revision, "
            "modified_at FROM items WHERE name = 'seed.ics'")
        almanac.database.query(
            "INSERT INTO changes (collection_id, name, revision, deleted, origin) SELECT collection_id, "
            "'poison.ics', revision, 0, 'sync' FROM items WHERE name = 'seed.ics'")
        almanac.database.query(
            "INSERT INTO dead_properties (collection_id, item_name, name, value) SELECT collection_id, '', "
            "'{urn:example:robust}note', 'dead' || chr(1) || 'value' || chr(27) FROM items WHERE name = 'seed.ics'")
        almanac.database.query(
            "INSERT INTO dead_properties (collection_id, item_name, name, value) SELECT collection_id, 'seed.ics', "
            "'{urn:example:robust}note', '<X:inner xmlns:X=\"urn:example:robust\">a' || chr(2) || 'b</X:inner>' "
            "FROM items WHERE name = 'seed.ics'")
        almanac.database.query(
            "UPDATE collections SET displayname = 'Cal' || chr(1) || 'endar', description = 'Des' || chr(12) || "
            "'cription' WHERE id = (SELECT collection_id FROM items WHERE name = 'seed.ics')")


def test_stored_control_characters_never_reach_xml(almanac):
    seed = ics("seed-uid", "Seed", start="20260310T100000Z")
    assert almanac.put_ics("alice", "calendar", "seed.ics", seed).status_code == 201
    almanac.stop()
    write_poisoned_rows(almanac)
    almanac.start()

    assert_xml_answers_well_formed(almanac, [CAL + "seed.ics", CAL + "poison.ics"])
    query = almanac.dav("REPORT", CAL, "alice", CALENDAR_QUERY, {"Depth": "1"})
    hrefs = [h.text for h in parse_xml(query.content).iter("{DAV:}href")]
    assert CAL + "seed.ics" in hrefs, hrefs

    client = caldav.DAVClient(url=almanac.url("/dav/"), username="alice", password=PASSWORD)
    calendar = client.calendar(url=almanac.url(CAL))
    try:
        events = calendar.events()
    except Exception as e:  # noqa: BLE001 - the point of the test
        raise AssertionError(f"python caldav calendar.events(): {type(e).__name__}: {e}") from None
    texts = [e.data for e in events]
    assert any("UID:seed-uid" in t for t in texts), texts
    # Pages and the export still work too.
    assert almanac.dav("GET", CAL + "poison.ics", "alice").status_code == 200
    assert almanac.dav("GET", CAL, "alice").status_code == 200
    browser = log_in(almanac)
    month = browser.get(almanac.url("/calendar?view=month&date=2026-03-01"), timeout=30)
    assert month.status_code == 200 and "Seed" in month.text, month.status_code


# 9. COPY and MOVE to another host


@pytest.mark.backends("sqlite")
def test_copy_and_move_to_another_host_answer_502_and_change_nothing(almanac):
    event = ics("keep", "Keep me")
    assert almanac.put_ics("alice", "calendar", "keep.ics", event).status_code == 201
    assert almanac.dav("MKCOL", HOME + "files/", "alice").status_code == 201
    assert almanac.dav("PUT", HOME + "files/a.txt", "alice", "hello", {"Content-Type": "text/plain"}).status_code == 201
    elsewhere = [
        "http://evil.example/dav/calendars/alice/calendar/x.ics",
        "https://evil.example/dav/calendars/alice/calendar/x.ics",
        f"http://evil.example:{almanac.port}/dav/calendars/alice/calendar/x.ics",
        f"http://127.0.0.1:{almanac.port + 1 if almanac.port < 65535 else 1}/dav/calendars/alice/calendar/x.ics",
        f"http://127.0.0.1:{almanac.port}@evil.example/dav/calendars/alice/calendar/x.ics",
        "http://EVIL.example/dav/calendars/alice/calendar/x.ics",
        "//evil.example/dav/calendars/alice/calendar/x.ics",
    ]
    failures = []
    for method in ("COPY", "MOVE"):
        for destination in elsewhere:
            for source, target in ((CAL + "keep.ics", "/dav/calendars/alice/calendar/x.ics"),
                                   (HOME + "files/", "/dav/calendars/alice/moved/")):
                dest = destination.replace("/dav/calendars/alice/calendar/x.ics", target)
                answer = almanac.dav(method, source, "alice", headers={"Destination": dest, "Overwrite": "T",
                                                                       "Depth": "infinity"})
                allowed = {502} if "://" in dest else {400, 502}
                if answer.status_code not in allowed:
                    failures.append(f"{method} {source} -> {dest}: {answer.status_code}")
                if almanac.dav("GET", target, "alice").status_code != 404 and \
                        almanac.dav("PROPFIND", target, "alice", headers={"Depth": "0"}).status_code != 404:
                    failures.append(f"{method} {source} -> {dest}: created {target}")
    got = almanac.dav("GET", CAL + "keep.ics", "alice")
    assert got.status_code == 200 and got.headers.get("ETag") == etag_of(event.encode()), "the source changed"
    assert almanac.dav("GET", HOME + "files/a.txt", "alice").text == "hello"
    assert not failures, "\n".join(failures)
    # Within this server it works (so the 502s were not just COPY failing).
    ok = almanac.dav("COPY", CAL + "keep.ics", "alice", headers={"Destination": almanac.url(HOME + "files/k.ics")})
    assert ok.status_code == 201, ok.status_code
