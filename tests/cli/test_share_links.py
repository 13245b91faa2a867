"""Share links ("tickets") end to end: the owner makes read, write and
free-busy links to one calendar on the web; a visitor with no account uses
a link in a browser, as a webcal subscription and as a CalDAV account
(raw requests and the python caldav library). Each link does what it
allows and nothing more, private events never show their details, revoked,
regenerated and expired links stop at once, tokens stay out of the
database and the access log.

Each test starts its own server from the built binary (ALMANAC_BIN)."""

from __future__ import annotations

import base64
import html
import http.client
import re
import time
from dataclasses import dataclass
import datetime as dates
from datetime import datetime
from urllib.parse import urlsplit

import caldav
import caldav.lib.error
import pytest
import requests

from helpers_web import (
    ALICE, BOB, CALDAV_NS, TOKEN_RE, Site, all_entries, caldav_calendar, caldav_texts, calendar_view, csrf_of,
    days_of, db_rows, db_write, entries_titled, event_fields, form_values, get_page, logged_in, new_event, open_entry,
    origins, post_entry_form, post_new_event, same_location, sha256_hex, text_of, unfold, vevent, wait_log,
)
from test_accounts import site  # noqa: F401  (the fixture)


@dataclass
class Link:
    token: str
    web: str
    webcal: str
    caldav: str
    page: str  # the page that showed it

    def web_path(self, rest: str = "") -> str:
        return f"/s/{self.token}{rest}"

    def dav_path(self, rest: str = "") -> str:
        return f"/dav/s/{self.token}/{rest}"


def shown_link(site: Site, page: str) -> Link:
    """The addresses a page shows for a new (or regenerated) link."""
    host = urlsplit(site.base).netloc
    webs = set(re.findall(rf'href="(http://{re.escape(host)}/s/({TOKEN_RE}))"', page))
    assert len(webs) == 1, f"one web address as a link: {webs}\n{page[:4000]}"
    [(web, token)] = webs
    webcal = f"webcal://{host}/s/{token}/calendar.ics"
    dav = f"http://{host}/dav/s/{token}/"
    assert webcal in page, (webcal, page[:4000])
    assert dav in page, (dav, page[:4000])
    assert set(re.findall(TOKEN_RE, " ".join(re.findall(r"/s/([^/\"<\s?]+)", page)))) == {token}, "one token only"
    assert len(base64.urlsafe_b64decode(token + "=")) == 32, "256 bits"
    return Link(token, web, webcal, dav, page)


def make_link(browser: requests.Session, site: Site, calendar: str = "calendar", permission: str = "read",
              label: str = "", expires_on: str = "") -> Link:
    page = get_page(browser, site, f"/calendar/calendars/{calendar}/share")
    made = browser.post(site.url(f"/calendar/calendars/{calendar}/share"), data={
        "csrf": csrf_of(page), "permission": permission, "label": label, "expires_on": expires_on,
    }, timeout=30, allow_redirects=False)
    return shown_after(browser, site, made, calendar)


def shown_after(browser: requests.Session, site: Site, made: requests.Response, calendar: str = "calendar") -> Link:
    """A made or renewed link: the form answers with a redirect (so a reload
    makes nothing twice) to the share page, which shows the addresses once."""
    assert made.status_code == 303, (made.status_code, made.text[:2000])
    assert made.headers["Location"] == f"/calendar/calendars/{calendar}/share"
    shown = browser.get(site.url(made.headers["Location"]), timeout=30, allow_redirects=False)
    assert shown.status_code == 200 and shown.headers.get("Cache-Control") == "no-store"
    return shown_link(site, shown.text)


def link_rows(page: str) -> list[dict]:
    """The links table: one dict per row, with the forms' actions."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        actions = [html.unescape(a) for a in re.findall(r'action="([^"]+)"', row)]
        rows.append({
            "label": cells[0], "permission": cells[1], "created": cells[2], "expires": cells[3],
            "last_used": cells[4], "uses": cells[5], "cells": cells,
            "revoke": next(a for a in actions if a.endswith("/revoke")),
            # An expired link offers no new address.
            **{"regenerate": a for a in actions if a.endswith("/regenerate")},
        })
    return rows


def row_labelled(browser, site, label: str, calendar: str = "calendar") -> dict:
    [row] = [r for r in link_rows(get_page(browser, site, f"/calendar/calendars/{calendar}/share")) if r["label"] == label]
    return row


def visitor() -> requests.Session:
    return requests.Session()


def visitor_token(guest: requests.Session, site: Site) -> str:
    """The visitor's own CSRF token (from a page of the site with a form:
    a read-only link's pages have none)."""
    return csrf_of(get_page(guest, site, "/login"))


def dav(method: str, url: str, body: str | None = None, depth: str | None = None,
        content_type: str = "application/xml; charset=utf-8", **headers: str) -> requests.Response:
    sent = {"Content-Type": content_type, **headers}
    if depth is not None:
        sent["Depth"] = depth
    return requests.request(method, url, data=body.encode() if body is not None else None, headers=sent,
                            timeout=30, allow_redirects=False)


def raw_request(site: Site, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """A request with the path exactly as given (no dot-segment clean-up)."""
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**(headers or {}), "Content-Length": str(len(body or b""))}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def hrefs(multistatus: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<(?:\w+:)?href>([^<]*)</(?:\w+:)?href>", multistatus)]


def response_hrefs(multistatus: str) -> list[str]:
    found = []
    for response in re.findall(r"<(?:\w+:)?response>(.*?)</(?:\w+:)?response>", multistatus, re.S):
        first = re.search(r"<(?:\w+:)?href>([^<]*)</(?:\w+:)?href>", response)
        found.append(html.unescape(first.group(1)))
    return found


def calendar_query(start: str = "20260301T000000Z", end: str = "20260401T000000Z", text_match: str = "") -> str:
    match = (f'<C:prop-filter name="SUMMARY"><C:text-match collation="i;unicode-casemap">{text_match}'
             "</C:text-match></C:prop-filter>") if text_match else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query {CALDAV_NS}>'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
            f'<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/>{match}</C:comp-filter>'
            "</C:comp-filter></C:filter></C:calendar-query>")


def multiget(*paths: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget {CALDAV_NS}>'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            + "".join(f"<D:href>{p}</D:href>" for p in paths) + "</C:calendar-multiget>")


SYNC_COLLECTION = (f'<?xml version="1.0" encoding="utf-8"?><D:sync-collection {CALDAV_NS}>'
                   "<D:sync-token/><D:sync-level>1</D:sync-level>"
                   "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>")

FREE_BUSY_QUERY = ('<?xml version="1.0" encoding="utf-8"?>'
                   '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
                   '<C:time-range start="20260301T000000Z" end="20260401T000000Z"/></C:free-busy-query>')

PROPPATCH = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
             "<D:displayname>Renamed by a visitor</D:displayname></D:prop></D:set></D:propertyupdate>")


def alice_with_events(site: Site) -> requests.Session:
    """Alice, logged in, with a calendar of a public event (from an app), a
    weekly series (from the web) and a task."""
    site.add_user(*ALICE)
    browser = logged_in(site, *ALICE)
    caldav_calendar(site, ALICE).save_event(vevent(
        "recital@app", "Piano recital", ";TZID=Europe/Berlin:20260305T190000", ";TZID=Europe/Berlin:20260305T210000",
        "LOCATION:Concert hall\r\nDESCRIPTION:Bring flowers\r\n"))
    new_event(browser, site, title="Choir practice", location="Church hall", start_date="2026-03-03",
              end_date="2026-03-03", start_time="18:00", end_time="19:30", repeat="weekly", ends="count", count="3")
    tasks = get_page(browser, site, "/calendar/tasks")
    browser.post(site.url("/calendar/tasks"), data={"csrf": csrf_of(tasks), "title": "Pick up the new passport",
                                                   "calendar": "calendar"}, timeout=30)
    return browser


def owner_summaries(site: Site, path: str = "calendar") -> list[str]:
    return sorted(re.search(r"^SUMMARY:(.*)$", unfold(t), re.M).group(1) for t in caldav_texts(caldav_calendar(site, ALICE, path)))


# Making links


def test_a_new_link_shows_its_three_addresses_once(site):
    browser = alice_with_events(site)
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    assert link_rows(page) == []
    link = make_link(browser, site, permission="read", label="Family")
    assert link.web == f"{site.base}/s/{link.token}"

    listed = get_page(browser, site, "/calendar/calendars/calendar/share")
    assert link.token not in listed, "the address is shown only once"
    [row] = link_rows(listed)
    assert row["label"] == "Family" and row["uses"] == "0", row
    assert row["created"] and row["expires"] and row["last_used"] and row["permission"], row
    never_used = row["last_used"]

    # Using the link counts.
    assert visitor().get(link.web, timeout=30).status_code == 200
    assert visitor().get(site.url(link.web_path("/calendar.ics")), timeout=30).status_code == 200
    assert dav("PROPFIND", link.caldav, depth="0").status_code == 207
    row = row_labelled(browser, site, "Family")
    assert row["uses"] == "3" and row["last_used"] != never_used, row
    assert db_rows(site, "SELECT use_count FROM share_links") == [(3,)]

    # Each link is its own, with its own expiry.
    last_day = dates.datetime.now(dates.timezone.utc).date() + dates.timedelta(days=7)
    other = make_link(browser, site, permission="freebusy", label="Office", expires_on=last_day.isoformat())
    assert other.token != link.token
    office = row_labelled(browser, site, "Office")
    assert office["expires"] != row_labelled(browser, site, "Family")["expires"]
    [(expires_at,)] = db_rows(site, "SELECT expires_at FROM share_links WHERE label = 'Office'")
    end_of_day = dates.datetime.combine(last_day + dates.timedelta(days=1), dates.time(),
                                        tzinfo=dates.timezone.utc).timestamp()
    assert expires_at == end_of_day, "the link works through the last day chosen (the owner's zone: UTC here)"
    assert db_rows(site, "SELECT permission FROM share_links ORDER BY id") == [("read",), ("freebusy",)]


def test_link_forms_check_their_input(site):
    browser = alice_with_events(site)
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    for fields in ({"permission": "admin"}, {"permission": "read", "expires_on": "soon"},
                   {"permission": "read", "expires_on": "2001-01-01"}, {"permission": "read", "expires_on": "2999-01-01"}):
        refused = browser.post(site.url("/calendar/calendars/calendar/share"), data={"csrf": csrf_of(page), **fields},
                               timeout=30, allow_redirects=False)
        assert refused.status_code == 422, (fields, refused.status_code)
        assert re.search(TOKEN_RE + r"/calendar\.ics", refused.text) is None
    refused = browser.post(site.url("/calendar/calendars/calendar/share"), data={"permission": "read"},
                           timeout=30, allow_redirects=False)
    assert refused.status_code == 403, "no link without the form's CSRF token"
    assert db_rows(site, "SELECT COUNT(*) FROM share_links") == [(0,)]
    assert requests.get(site.url("/calendar/calendars/calendar/share"), timeout=30,
                        allow_redirects=False).status_code == 303, "the owner's page needs a log-in"


# Visitors on the web


def test_a_read_link_shows_the_calendar_without_edit_links(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read", label="Family")
    guest = visitor()

    page = calendar_view(guest, site, "month", "2026-03-01", base=link.web_path())
    recital = entries_titled(page, "Piano recital")
    assert list(recital) == ["Thursday 5 March"] and recital["Thursday 5 March"][0].start == "19:00"
    choir = entries_titled(page, "Choir practice")
    assert sorted(choir) == ["Tuesday 10 March", "Tuesday 17 March", "Tuesday 3 March"], choir
    assert all(not e.linked for e in all_entries(page)), "titles are plain text"
    assert '<a class="title"' not in page
    assert link.web_path("/new") not in page and link.web_path("/events") not in page
    assert "/calendar/events" not in page and "/calendar/calendars" not in page, "nothing of the owner's pages"
    for view in ("week", "agenda"):
        other = calendar_view(guest, site, view, "2026-03-05", base=link.web_path())
        assert "Piano recital" in other and '<a class="title"' not in other
    utc = entries_titled(calendar_view(guest, site, "week", "2026-03-05", tz="UTC", base=link.web_path()), "Piano recital")
    assert utc["Thursday 5 March"][0].time == "18:00–20:00"

    # Nothing can be written through it.
    assert guest.get(site.url(link.web_path("/new")), timeout=30, allow_redirects=False).status_code in (403, 404)
    fields = {**event_fields(title="Visitor's event", start_date="2026-03-12", end_date="2026-03-12"),
              "csrf": visitor_token(guest, site)}
    refused = guest.post(site.url(link.web_path("/events")), data=fields, timeout=30, allow_redirects=False)
    assert refused.status_code in (403, 404), refused.status_code
    recital_edit = link.web_path("/events/calendar/recital%40app.ics")
    assert guest.get(site.url(recital_edit), timeout=30, allow_redirects=False).status_code in (403, 404)
    for action in ("save", "delete"):
        refused = guest.post(site.url(recital_edit), data={**fields, "action": action, "scope": "all"},
                             timeout=30, allow_redirects=False)
        assert refused.status_code in (403, 404), (action, refused.status_code)
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]

    # The webcal subscription: the whole calendar.
    ics = guest.get(site.url(link.web_path("/calendar.ics")), timeout=30)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    text = unfold(ics.text)
    assert text.startswith("BEGIN:VCALENDAR") and "SUMMARY:Piano recital" in text and "LOCATION:Concert hall" in text
    assert "SUMMARY:Choir practice" in text and "RRULE:FREQ=WEEKLY" in text


def test_a_write_link_lets_visitors_add_change_and_delete_events(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="write", label="Partner")
    guest = visitor()

    page = calendar_view(guest, site, "month", "2026-03-01", base=link.web_path())
    [recital] = entries_titled(page, "Piano recital")["Thursday 5 March"]
    assert recital.path() == link.web_path("/events/calendar/recital@app.ics"), recital.href
    assert recital.occurrence() is None
    choir = entries_titled(page, "Choir practice")
    assert all(e.path().startswith(link.web_path("/events/calendar/")) and e.occurrence()
               for es in choir.values() for e in es), choir
    assert f'href="{link.web_path("/new")}?date=' in page

    # A new event from the visitor.
    done = post_new_event(guest, site, base=link.web_path(), title="Dinner at Rosa's", location="Rosa's",
                          start_date="2026-03-12", end_date="2026-03-12", start_time="19:30", end_time="22:00")
    assert done.status_code == 303, (done.status_code, done.text[:2000])
    assert same_location(done.headers["Location"], link.web_path("?view=week&date=2026-03-12&done=saved")), done.headers["Location"]
    assert "Dinner at Rosa's" in owner_summaries(site)
    owner_week = entries_titled(calendar_view(browser, site, "week", "2026-03-12"), "Dinner at Rosa's")
    assert owner_week["Thursday 12 March"][0].time == "19:30–22:00"
    dinner_name = next(name for name, origin in origins(site, "alice").items()
                       if origin == "share")
    text = unfold(caldav_calendar(site, ALICE).event_by_url(site.url(f"/dav/calendars/alice/calendar/{dinner_name}")).data)
    assert "DTSTART;TZID=Europe/Berlin:20260312T193000" in text and "LOCATION:Rosa's" in text, text

    # The visitor changes it, and moves one choir practice.
    [dinner] = entries_titled(calendar_view(guest, site, "week", "2026-03-12", base=link.web_path()),
                              "Dinner at Rosa's")["Thursday 12 March"]
    values = form_values(open_entry(guest, site, dinner))
    assert values["title"] == "Dinner at Rosa's" and values["start_time"] == "19:30"
    changed = post_entry_form(guest, site, dinner, title="Dinner at Luigi's", location="Luigi's", action="save")
    assert changed.status_code == 303, (changed.status_code, changed.text[:2000])
    assert "Dinner at Luigi's" in owner_summaries(site) and "Dinner at Rosa's" not in owner_summaries(site)
    [second] = choir["Tuesday 10 March"]
    moved = post_entry_form(guest, site, second, scope="this", action="save", start_date="2026-03-11",
                            end_date="2026-03-11", start_time="18:00", end_time="19:30")
    assert moved.status_code == 303, (moved.status_code, moved.text[:2000])
    owner_choir = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Choir practice")
    assert sorted(owner_choir) == ["Tuesday 17 March", "Tuesday 3 March", "Wednesday 11 March"], owner_choir
    [choir_text] = [t for t in caldav_texts(caldav_calendar(site, ALICE)) if "Choir practice" in t]
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260310T180000" in unfold(choir_text), choir_text
    found = origins(site, "alice")
    assert found[dinner_name] == "share" and found[second.item()] == "share", found

    # And deletes the dinner.
    [dinner] = entries_titled(calendar_view(guest, site, "week", "2026-03-12", base=link.web_path()),
                              "Dinner at Luigi's")["Thursday 12 March"]
    gone = post_entry_form(guest, site, dinner, action="delete", scope="all")
    assert gone.status_code == 303, (gone.status_code, gone.text[:2000])
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]
    assert origins(site, "alice")[dinner_name] == "share"

    # Forms from the visitor need the visitor's own CSRF token.
    fields = event_fields(title="Forged", start_date="2026-03-13", end_date="2026-03-13")
    assert guest.post(site.url(link.web_path("/events")), data=fields, timeout=30,
                      allow_redirects=False).status_code == 403
    stranger_token = csrf_of(get_page(visitor(), site, link.web_path("/new")))
    assert guest.post(site.url(link.web_path("/events")), data={**fields, "csrf": stranger_token}, timeout=30,
                      allow_redirects=False).status_code == 403
    assert "Forged" not in owner_summaries(site)

    # Share writes are the visitor's, through a ticket on alice's calendar.
    lines = wait_log(site, r'"POST /s/-/events(/\S*)? HTTP/1.1" 303 ')
    assert len(lines) == 4, lines
    assert all(re.search(r"^\S+ - - \[", line) and " auth=ticket " in line and " owner=alice " in line
               and line.rstrip().endswith(" item=event ev=share_write") for line in lines), lines
    assert guest.get(site.url("/calendar"), timeout=30, allow_redirects=False).status_code == 303, "no session"


# Visitors over CalDAV


def test_a_read_link_over_caldav(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read")

    listing = dav("PROPFIND", link.caldav, depth="1")
    assert listing.status_code == 207, listing.status_code
    listed = response_hrefs(listing.text)
    assert link.dav_path() in listed and link.dav_path("recital@app.ics") in listed, listed
    assert all(h.startswith(link.dav_path()) for h in listed), listed
    assert len(listed) == 4, "the collection, two events and the task"

    member = dav("GET", site.url(link.dav_path("recital@app.ics")))
    assert member.status_code == 200 and "SUMMARY:Piano recital" in member.text and member.headers.get("ETag")
    whole = dav("GET", link.caldav)
    assert whole.status_code == 200 and "SUMMARY:Choir practice" in unfold(whole.text)
    query = dav("REPORT", link.caldav, calendar_query(), depth="1")
    assert query.status_code == 207 and "Piano recital" in query.text and "Choir practice" in query.text
    assert all(h.startswith(link.dav_path()) for h in response_hrefs(query.text))

    # No writes of any kind.
    event = vevent("visitor@x", "Visitor's event", ":20260320T100000Z", ":20260320T110000Z")
    refusals = [
        ("PUT", link.dav_path("visitor@x.ics"), event, "text/calendar"),
        ("PUT", link.dav_path("recital@app.ics"), event.replace("visitor@x", "recital@app"), "text/calendar"),
        ("DELETE", link.dav_path("recital@app.ics"), None, "text/plain"),
        ("DELETE", link.dav_path(), None, "text/plain"),
        ("MKCOL", link.dav_path("sub/"), None, "text/plain"),
        ("MKCALENDAR", link.dav_path("sub/"), None, "text/plain"),
        ("PROPPATCH", link.dav_path(), PROPPATCH, "application/xml"),
        ("MOVE", link.dav_path("recital@app.ics"), None, "text/plain"),
        ("COPY", link.dav_path("recital@app.ics"), None, "text/plain"),
        ("POST", link.dav_path(), event, "text/calendar"),
        ("PUT", link.dav_path(), event, "text/calendar"),
    ]
    for method, path, body, kind in refusals:
        answer = dav(method, site.url(path), body, content_type=kind,
                     Destination=site.url(link.dav_path("moved.ics")))
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text[:300])
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]
    assert [c.get_display_name() for c in caldav_calendar(site, ALICE).client.principal().calendars()] == ["Calendar"]

    # The python caldav library with nothing but the link.
    client = caldav.DAVClient(url=link.caldav)
    shared = client.calendar(url=link.caldav)
    summaries = sorted(re.search(r"^SUMMARY:(.*)$", unfold(e.data), re.M).group(1) for e in shared.events())
    assert summaries == ["Choir practice", "Piano recital"]
    found = shared.search(start=datetime(2026, 3, 5), end=datetime(2026, 3, 6), event=True)
    assert ["Piano recital" in f.data for f in found] == [True], [f.data for f in found]
    with pytest.raises(caldav.lib.error.DAVError) as refused:
        shared.save_event(event)
    assert "403" in str(refused.value) or "Forbidden" in str(refused.value), refused.value
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]


def test_a_write_link_over_caldav(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="write")

    put = dav("PUT", site.url(link.dav_path("visitor@x.ics")),
              vevent("visitor@x", "Visitor's event", ":20260320T100000Z", ":20260320T110000Z"), content_type="text/calendar")
    assert put.status_code == 201, (put.status_code, put.text)
    assert "Visitor's event" in owner_summaries(site)
    assert origins(site, "alice")["visitor@x.ics"] == "share"
    assert entries_titled(calendar_view(browser, site, "week", "2026-03-20"), "Visitor's event")

    changed = dav("PUT", site.url(link.dav_path("visitor@x.ics")),
                  vevent("visitor@x", "Visitor's event, later", ":20260320T150000Z", ":20260320T160000Z"),
                  content_type="text/calendar")
    assert changed.status_code in (200, 204), changed.status_code
    assert "Visitor's event, later" in owner_summaries(site)
    deleted = dav("DELETE", site.url(link.dav_path("visitor@x.ics")))
    assert deleted.status_code in (200, 204), deleted.status_code
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]
    assert origins(site, "alice")["visitor@x.ics"] == "share"

    for method, path, body in (("DELETE", link.dav_path(), None), ("PUT", link.dav_path(), vevent(
            "bulk@x", "Bulk", ":20260320T100000Z", ":20260320T110000Z")), ("MKCOL", link.dav_path("sub/"), None),
            ("MKCALENDAR", link.dav_path("sub/"), None), ("PROPPATCH", link.dav_path(), PROPPATCH),
            ("PUT", link.dav_path("sub/x.ics"), vevent("x@x", "Nested", ":20260320T100000Z", ":20260320T110000Z"))):
        answer = dav(method, site.url(path), body, content_type="text/calendar" if method == "PUT" else "application/xml")
        assert answer.status_code == 403, (method, path, answer.status_code)
    assert [c.get_display_name() for c in caldav_calendar(site, ALICE).client.principal().calendars()] == ["Calendar"]
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]

    # The python caldav library with nothing but the link.
    client = caldav.DAVClient(url=link.caldav)
    shared = client.calendar(url=link.caldav)
    shared.save_event(vevent("lib@x", "Saved by the library", ";TZID=Europe/Berlin:20260318T080000",
                             ";TZID=Europe/Berlin:20260318T090000"))
    assert "Saved by the library" in owner_summaries(site)
    assert "Saved by the library" in " ".join(e.data for e in shared.events())
    owner_view = entries_titled(calendar_view(browser, site, "week", "2026-03-18"), "Saved by the library")
    assert owner_view["Wednesday 18 March"][0].time == "08:00–09:00"
    assert origins(site, "alice")["lib@x.ics"] == "share"
    writes = wait_log(site, r'"(PUT|DELETE) /dav/s/-/\S+ HTTP/1.1" 20[14] ')
    assert len(writes) >= 4, writes
    assert all(re.search(r"^\S+ - - \[", line) and " auth=ticket " in line and " owner=alice " in line
               and "ev=share_write" in line for line in writes), writes


def test_a_free_busy_link_shows_only_busy_times(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="freebusy", label="Colleagues")
    guest = visitor()
    secrets = ("Piano recital", "Concert hall", "Bring flowers", "Choir practice", "Church hall", "passport")

    page = calendar_view(guest, site, "agenda", "2026-03-01", base=link.web_path())
    entries = all_entries(page)
    assert len(entries) == 4 and {e.title for e in entries} == {"Busy"}, entries
    assert not any(e.linked for e in entries)
    assert sorted(e.time for e in entries) == ["18:00–19:30"] * 3 + ["19:00–21:00"]
    for secret in secrets:
        assert secret not in page, secret
    assert guest.get(site.url(link.web_path("/new")), timeout=30, allow_redirects=False).status_code in (403, 404)

    ics = guest.get(site.url(link.web_path("/calendar.ics")), timeout=30)
    assert ics.status_code == 200
    text = unfold(ics.text)
    assert "DTSTART;TZID=Europe/Berlin:20260305T190000" in text and "RRULE:FREQ=WEEKLY" in text, text
    assert set(re.findall(r"^SUMMARY:(.*)$", text, re.M)) == {"Busy"}, text
    assert "VTODO" not in text
    for secret in secrets:
        assert secret not in text, secret

    # CalDAV: the collection's own properties and the free-busy report only.
    assert dav("PROPFIND", link.caldav, depth="0").status_code == 207
    busy = dav("REPORT", link.caldav, FREE_BUSY_QUERY, depth="1")
    assert busy.status_code == 200, (busy.status_code, busy.text[:500])
    periods = re.findall(r"^FREEBUSY[^:]*:(.*)$", unfold(busy.text), re.M)
    assert "20260305T180000Z/20260305T200000Z" in ",".join(periods), busy.text
    for secret in secrets:
        assert secret not in busy.text
    members = [name for name, _ in origins(site, "alice").items()]
    refused = [
        ("PROPFIND", link.dav_path(), None, "1"),
        ("PROPFIND", link.dav_path(), None, None),
        ("PROPFIND", link.dav_path("recital@app.ics"), None, "0"),
        ("GET", link.dav_path(), None, None),
        ("GET", link.dav_path("recital@app.ics"), None, None),
        ("HEAD", link.dav_path("recital@app.ics"), None, None),
        ("REPORT", link.dav_path(), calendar_query(), "1"),
        ("REPORT", link.dav_path(), multiget(*(link.dav_path(m) for m in members)), "1"),
        ("REPORT", link.dav_path(), SYNC_COLLECTION, "1"),
        ("PUT", link.dav_path("busy@x.ics"), vevent("busy@x", "Busy?", ":20260320T100000Z", ":20260320T110000Z"), None),
        ("DELETE", link.dav_path("recital@app.ics"), None, None),
        ("PROPPATCH", link.dav_path(), PROPPATCH, None),
    ]
    for method, path, body, depth in refused:
        answer = dav(method, site.url(path), body, depth=depth)
        assert answer.status_code == 403, (method, path, depth, answer.status_code, answer.text[:300])
        for secret in secrets:
            assert secret not in answer.text, (method, path, secret)
    assert owner_summaries(site) == ["Choir practice", "Piano recital"]


def test_a_free_busy_link_refuses_a_calendar_query_that_mentions_free_busy(site):
    """The free-busy-query report is the only REPORT a free-busy link
    answers; a calendar-query (which returns every event's full text) must
    not pass because its body contains the words "free-busy-query"."""
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="freebusy")
    disguised = [
        calendar_query().replace("<C:filter>", "<!-- free-busy-query --><C:filter>"),
        calendar_query(text_match="free-busy-query").replace(
            '<C:prop-filter name="SUMMARY"><C:text-match collation="i;unicode-casemap">free-busy-query</C:text-match>'
            "</C:prop-filter>", '<C:prop-filter name="X-NOTE-free-busy-query"><C:is-not-defined/></C:prop-filter>'),
        multiget(link.dav_path("recital@app.ics")).replace("<D:prop>", "<!--free-busy-query--><D:prop>"),
        SYNC_COLLECTION.replace("<D:sync-token/>", "<!-- free-busy-query --><D:sync-token/>"),
    ]
    for body in disguised:
        answer = dav("REPORT", link.caldav, body, depth="1")
        assert answer.status_code == 403, (answer.status_code, body, answer.text[:1500])
        assert "Piano recital" not in answer.text and "Concert hall" not in answer.text


PRIVATE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//app//EN\r\nBEGIN:VEVENT\r\nUID:therapy@app\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260304T100000\r\n"
    "DTEND;TZID=Europe/Berlin:20260304T110000\r\nCLASS:PRIVATE\r\nSUMMARY:Therapy session\r\n"
    "LOCATION:Dr. Hidden's practice\r\nDESCRIPTION:Talk about the divorce\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Therapy reminder\r\nTRIGGER:-PT30M\r\nEND:VALARM\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
CONFIDENTIAL = vevent("salary@app", "Salary talk", ":20260306T130000Z", ":20260306T140000Z",
                      "CLASS:CONFIDENTIAL\r\nLOCATION:HR office 3\r\nDESCRIPTION:Ask for a raise\r\n")
SECRETS = ("Therapy", "Hidden", "divorce", "Salary", "HR office", "raise")


@pytest.mark.parametrize("permission", ["read", "write"])
def test_private_events_show_only_as_busy_through_a_link(site, permission):
    browser = alice_with_events(site)
    owner_calendar = caldav_calendar(site, ALICE)
    owner_calendar.save_event(PRIVATE)
    owner_calendar.save_event(CONFIDENTIAL)
    owner_page = calendar_view(browser, site, "week", "2026-03-04")
    assert "Therapy session" in owner_page and "Salary talk" in owner_page, "the owner sees everything"

    link = make_link(browser, site, permission=permission)
    guest = visitor()

    def no_secrets(where: str, text: str) -> None:
        for secret in SECRETS:
            assert secret not in text, (where, secret)

    for view, day in (("month", "2026-03-01"), ("week", "2026-03-04"), ("agenda", "2026-03-01")):
        page = calendar_view(guest, site, view, day, base=link.web_path())
        no_secrets(view, page)
        days = {d: [(e.start, e.title, e.linked) for e in es] for d, es in
                days_of(page).items() if d in ("Wednesday 4 March", "Friday 6 March")}
        assert ("10:00", "Busy", False) in days["Wednesday 4 March"], days
        assert ("14:00", "Busy", False) in days["Friday 6 March"], days
        assert "Piano recital" in page, "public events show in full"
    for path in ("/events/calendar/therapy%40app.ics", "/events/calendar/salary%40app.ics"):
        opened = guest.get(site.url(link.web_path(path)), timeout=30, allow_redirects=False)
        assert opened.status_code in (403, 404), (path, opened.status_code)
        no_secrets(path, opened.text)
        if permission == "write":
            fields = {**event_fields(title="Overwritten", start_date="2026-03-04", end_date="2026-03-04", scope="all"),
                      "csrf": visitor_token(guest, site)}
            for action in ("save", "delete"):
                tried = guest.post(site.url(link.web_path(path)), data={**fields, "action": action},
                                   timeout=30, allow_redirects=False)
                assert tried.status_code in (403, 404), (path, action, tried.status_code)
    assert "Therapy session" in owner_summaries(site) and "Salary talk" in owner_summaries(site)

    ics = unfold(guest.get(site.url(link.web_path("/calendar.ics")), timeout=30).text)
    no_secrets(".ics", ics)
    assert "DTSTART;TZID=Europe/Berlin:20260304T100000" in ics and "DTSTART:20260306T130000Z" in ics
    assert "SUMMARY:Piano recital" in ics

    got = dav("GET", site.url(link.dav_path("therapy@app.ics")))
    assert got.status_code == 200 and "DTSTART;TZID=Europe/Berlin:20260304T100000" in got.text
    no_secrets("GET", got.text)
    no_secrets("GET calendar", dav("GET", link.caldav).text)
    query = dav("REPORT", link.caldav, calendar_query(), depth="1")
    assert query.status_code == 207 and "therapy@app.ics" in query.text and "salary@app.ics" in query.text
    no_secrets("calendar-query", query.text)
    for word in ("Therapy", "divorce"):
        searched = dav("REPORT", link.caldav, calendar_query(text_match=word), depth="1")
        assert searched.status_code == 207 and "therapy@app.ics" not in searched.text, word
    both = multiget(link.dav_path("therapy@app.ics"), link.dav_path("salary@app.ics"))
    no_secrets("multiget", dav("REPORT", link.caldav, both, depth="1").text)
    synced = dav("REPORT", link.caldav, SYNC_COLLECTION, depth="1")
    assert synced.status_code == 207 and "therapy@app.ics" in synced.text
    no_secrets("sync-collection", synced.text)
    shared = caldav.DAVClient(url=link.caldav).calendar(url=link.caldav)
    no_secrets("caldav library", " ".join(e.data for e in shared.events()))

    # The owner's own apps still get everything.
    full = unfold(owner_calendar.event_by_uid("therapy@app").data)
    assert "SUMMARY:Therapy session" in full and "DESCRIPTION:Talk about the divorce" in full


@pytest.mark.parametrize("permission", ["read", "write"])
def test_calendar_multiget_through_a_link(site, permission):
    """Clients fetch what a listing or sync named with a calendar-multiget
    of those hrefs (under /dav/s/{token}/): it returns the events, private
    ones reduced to their times."""
    browser = alice_with_events(site)
    caldav_calendar(site, ALICE).save_event(PRIVATE)
    link = make_link(browser, site, permission=permission)
    listed = [h for h in response_hrefs(dav("PROPFIND", link.caldav, depth="1").text) if h.endswith(".ics")]
    assert link.dav_path("recital@app.ics") in listed and link.dav_path("therapy@app.ics") in listed, listed
    got = dav("REPORT", link.caldav, multiget(*listed), depth="1")
    assert got.status_code == 207, got.status_code
    assert "404 Not Found" not in got.text, got.text[:3000]
    assert got.text.count("BEGIN:VCALENDAR") == len(listed), got.text[:3000]
    assert "SUMMARY:Piano recital" in got.text and "SUMMARY:Choir practice" in unfold(got.text)
    assert "DTSTART;TZID=Europe/Berlin:20260304T100000" in got.text
    for secret in SECRETS:
        assert secret not in got.text, secret
    assert sorted(response_hrefs(got.text)) == sorted(listed)


def test_a_write_link_cannot_wipe_the_details_of_a_private_event(site):
    """A visitor's app shows a private event as "Busy" (that is all it
    gets); moving that block in the app sends the "Busy" copy back. The
    owner must still have the event in full afterwards."""
    browser = alice_with_events(site)
    owner_calendar = caldav_calendar(site, ALICE)
    owner_calendar.save_event(PRIVATE)
    link = make_link(browser, site, permission="write")
    seen = dav("GET", site.url(link.dav_path("therapy@app.ics")))
    assert seen.status_code == 200 and "SUMMARY:Busy" in seen.text
    moved = seen.text.replace("DTSTART;TZID=Europe/Berlin:20260304T100000", "DTSTART;TZID=Europe/Berlin:20260304T103000")
    dav("PUT", site.url(link.dav_path("therapy@app.ics")), moved, content_type="text/calendar",
        **({"If-Match": seen.headers["ETag"]} if seen.headers.get("ETag") else {}))
    full = unfold(owner_calendar.event_by_uid("therapy@app").data)
    assert "SUMMARY:Therapy session" in full, full
    assert "LOCATION:Dr. Hidden's practice" in full and "DESCRIPTION:Talk about the divorce" in full, full
    assert "BEGIN:VALARM" in full, full


# What a link reaches


def test_a_link_reaches_only_its_calendar(site):
    browser = alice_with_events(site)
    caldav_calendar(site, ALICE).save_event(vevent("home@app", "Home secret", ":20260305T080000Z", ":20260305T090000Z"))
    work = caldav_calendar(site, ALICE).client.principal().make_calendar(name="Work", cal_id="work")
    work.save_event(vevent("meeting@work", "Work meeting", ":20260305T120000Z", ":20260305T130000Z"))
    site.add_user(*BOB)
    caldav_calendar(site, BOB).save_event(vevent("bob@app", "Bob's plans", ":20260305T080000Z", ":20260305T090000Z"))
    link = make_link(browser, site, calendar="work", permission="write")
    guest = visitor()
    others = ("Home secret", "Piano recital", "Choir practice", "Bob's plans")

    for show in (None, ["calendar"], ["calendar", "work"]):
        page = calendar_view(guest, site, "week", "2026-03-05", base=link.web_path(), show=show)
        for title in others:
            assert title not in page, (show, title)
    assert "Work meeting" in calendar_view(guest, site, "week", "2026-03-05", base=link.web_path())

    # The owner's other calendar is out of reach on the web...
    home_item = link.web_path("/events/calendar/home%40app.ics")
    assert guest.get(site.url(home_item), timeout=30, allow_redirects=False).status_code == 404
    token = csrf_of(get_page(guest, site, link.web_path("/new")))
    fields = {**event_fields(title="Planted", start_date="2026-03-05", end_date="2026-03-05", scope="all"), "csrf": token}
    for action in ("save", "delete"):
        assert guest.post(site.url(home_item), data={**fields, "action": action}, timeout=30,
                          allow_redirects=False).status_code == 404
    planted = guest.post(site.url(link.web_path("/events")), data={**fields, "calendar": "calendar"}, timeout=30,
                         allow_redirects=False)
    assert planted.status_code != 303 and planted.status_code >= 400, planted.status_code
    assert "Planted" not in owner_summaries(site) and "Home secret" in owner_summaries(site)
    assert owner_summaries(site, "work") == ["Work meeting"]

    # ... and over CalDAV, whatever the path says.
    listing = dav("PROPFIND", link.caldav, depth="1")
    assert sorted(response_hrefs(listing.text)) == [link.dav_path(), link.dav_path("meeting@work.ics")]
    for path in (link.dav_path("../calendar/home@app.ics"), link.dav_path("%2E%2E/calendar/home@app.ics"),
                 link.dav_path("..%2Fcalendar%2Fhome@app.ics"), link.dav_path("../../bob/calendar/bob@app.ics"),
                 link.dav_path("../"), link.dav_path("%2e%2e/")):
        status, body = raw_request(site, "GET", path)
        assert status in (400, 403, 404), (path, status)
        assert "Home secret" not in body and "Bob's plans" not in body and "Piano recital" not in body, path
        status, body = raw_request(site, "PROPFIND", path, headers={"Depth": "1"})
        assert status in (400, 403, 404), ("PROPFIND", path, status)
        status, _ = raw_request(site, "PUT", path.replace("home@app", "planted"),
                                vevent("planted@x", "Planted", ":20260305T080000Z", ":20260305T090000Z").encode(),
                                {"Content-Type": "text/calendar"})
        assert status in (400, 403, 404, 405), ("PUT", path, status)
        status, _ = raw_request(site, "DELETE", path)
        assert status in (400, 403, 404, 405), ("DELETE", path, status)
    assert "Planted" not in owner_summaries(site) and "Home secret" in owner_summaries(site)
    assert owner_summaries(site, "work") == ["Work meeting"]
    multi = dav("REPORT", link.caldav, multiget("/dav/calendars/alice/calendar/home@app.ics",
                                                link.dav_path("../calendar/home@app.ics")), depth="1")
    assert "Home secret" not in multi.text

    # Without the link nothing opens, and the visitor has no session.
    for path in ("/dav/calendars/alice/", "/dav/calendars/alice/calendar/", "/dav/calendars/alice/work/",
                 "/dav/calendars/alice/calendar/home@app.ics", "/ics/alice/calendar.ics", "/dav/calendars/bob/"):
        assert guest.request("PROPFIND" if path.endswith("/") else "GET", site.url(path), timeout=30,
                             headers={"Depth": "1"}).status_code == 401, path
    assert guest.get(site.url("/calendar"), timeout=30, allow_redirects=False).status_code == 303


def test_caldav_answers_name_only_the_link(site):
    """Every href in a share's DAV answer is under /dav/s/{token}/ (or is the
    generic principal collection, which names no one): none points at the
    owner's principal, home or calendars."""
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read")
    answers = {
        "PROPFIND depth 1 (allprop)": dav("PROPFIND", link.caldav, depth="1"),
        "PROPFIND principal properties": dav("PROPFIND", link.caldav, (
            '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
            "<D:current-user-principal/><D:owner/><D:principal-collection-set/><C:calendar-home-set/>"
            "</D:prop></D:propfind>"), depth="0"),
        "calendar-query": dav("REPORT", link.caldav, calendar_query(), depth="1"),
        "sync-collection": dav("REPORT", link.caldav, SYNC_COLLECTION, depth="1"),
    }
    for name, answer in answers.items():
        assert answer.status_code == 207, (name, answer.status_code)
        outside = [h for h in hrefs(answer.text)
                   if not h.startswith(link.dav_path()) and h != "/dav/principals/"]
        assert outside == [], (name, outside)
        assert "/dav/calendars/" not in answer.text and "/dav/principals/alice" not in answer.text, name


def test_other_accounts_cannot_manage_someone_elses_links(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read", label="Family")
    [row] = link_rows(get_page(browser, site, "/calendar/calendars/calendar/share"))
    site.add_user(*BOB)
    bob = logged_in(site, *BOB)
    bob_token = csrf_of(get_page(bob, site, "/calendar/calendars/calendar/share"))
    assert link_rows(get_page(bob, site, "/calendar/calendars/calendar/share")) == [], "Bob sees only his own links"
    # Bob's own calendar is also called "calendar": the same actions on it
    # must not reach Alice's link.
    for action in (row["revoke"], row["regenerate"]):
        tried = bob.post(site.url(action), data={"csrf": bob_token}, timeout=30, allow_redirects=False)
        assert tried.status_code == 404, (action, tried.status_code)
    assert visitor().get(link.web, timeout=30).status_code == 200, "Alice's link still works"
    work = caldav_calendar(site, ALICE).client.principal().make_calendar(name="Work", cal_id="work")
    assert work
    for path in ("/calendar/calendars/work/share", "/calendar/calendars/work/share/1/revoke"):
        assert bob.post(site.url(path), data={"csrf": bob_token, "permission": "read"}, timeout=30,
                        allow_redirects=False).status_code == 404, path
    assert bob.get(site.url("/calendar/calendars/work/share"), timeout=30, allow_redirects=False).status_code == 404
    assert [r["label"] for r in link_rows(get_page(browser, site, "/calendar/calendars/calendar/share"))] == ["Family"]
    assert db_rows(site, "SELECT COUNT(*) FROM share_links") == [(1,)]


# Ending links


def assert_link_dead(site: Site, link: Link) -> None:
    assert visitor().get(link.web, timeout=30, allow_redirects=False).status_code == 404
    assert visitor().get(site.url(link.web_path("?view=week&date=2026-03-05")), timeout=30).status_code == 404
    assert visitor().get(site.url(link.web_path("/calendar.ics")), timeout=30).status_code == 404
    assert visitor().get(site.url(link.web_path("/new")), timeout=30, allow_redirects=False).status_code == 404
    assert dav("PROPFIND", link.caldav, depth="1").status_code == 404
    assert dav("GET", site.url(link.dav_path("recital@app.ics"))).status_code == 404
    assert dav("REPORT", link.caldav, calendar_query(), depth="1").status_code == 404
    assert dav("PUT", site.url(link.dav_path("late@x.ics")), vevent("late@x", "Too late", ":20260320T100000Z",
                                                                   ":20260320T110000Z"), content_type="text/calendar").status_code == 404
    assert "Too late" not in owner_summaries(site)


def assert_link_works(site: Site, link: Link) -> None:
    assert "Piano recital" in visitor().get(link.web + "?view=month&date=2026-03-01", timeout=30).text
    assert "Piano recital" in visitor().get(site.url(link.web_path("/calendar.ics")), timeout=30).text
    assert dav("PROPFIND", link.caldav, depth="1").status_code == 207


def test_a_revoked_link_stops_at_once(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="write", label="Old flatmate")
    kept = make_link(browser, site, permission="read", label="Family")
    guest = visitor()
    form = get_page(guest, site, link.web_path("/new"), date="2026-03-12")
    assert_link_works(site, link)

    row = row_labelled(browser, site, "Old flatmate")
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    revoked = browser.post(site.url(row["revoke"]), data={"csrf": csrf_of(page)}, timeout=30)
    assert revoked.status_code == 200 and "Old flatmate" not in revoked.text
    assert "The link is revoked: its addresses no longer work." in revoked.text, "the page says what happened"
    assert_link_dead(site, link)
    # A form opened before the revocation does not work afterwards.
    late = guest.post(site.url(link.web_path("/events")), data={
        **event_fields(title="Too late", start_date="2026-03-12", end_date="2026-03-12"), "csrf": csrf_of(form)},
        timeout=30, allow_redirects=False)
    assert late.status_code == 404 and "Too late" not in owner_summaries(site)
    assert [r["label"] for r in link_rows(get_page(browser, site, "/calendar/calendars/calendar/share"))] == ["Family"]
    assert_link_works(site, kept)

    for token in ("", visitor_token(visitor(), site)):
        refused = browser.post(site.url(row_labelled(browser, site, "Family")["revoke"]), data={"csrf": token},
                               timeout=30, allow_redirects=False)
        assert refused.status_code == 403, ("revoking takes the form's CSRF token", refused.status_code)
    assert_link_works(site, kept)


def test_a_regenerated_link_has_a_new_address_and_the_old_one_stops(site):
    browser = alice_with_events(site)
    old = make_link(browser, site, permission="write", label="Babysitter")
    assert_link_works(site, old)
    row = row_labelled(browser, site, "Babysitter")
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    renewed = browser.post(site.url(row["regenerate"]), data={"csrf": csrf_of(page)}, timeout=30, allow_redirects=False)
    new = shown_after(browser, site, renewed)
    assert new.token != old.token
    assert_link_dead(site, old)
    assert_link_works(site, new)
    assert new.token not in get_page(browser, site, "/calendar/calendars/calendar/share"), "shown once"
    [again] = link_rows(get_page(browser, site, "/calendar/calendars/calendar/share"))
    assert again["label"] == "Babysitter" and again["permission"] == row["permission"]
    # Still a write link.
    done = post_new_event(visitor(), site, base=new.web_path(), title="Bedtime story", start_date="2026-03-12",
                          end_date="2026-03-12")
    assert done.status_code == 303 and "Bedtime story" in owner_summaries(site)


def test_an_expired_link_stops(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="write", label="Holiday",
                     expires_on=(dates.datetime.now(dates.timezone.utc).date() + dates.timedelta(days=2)).isoformat())
    forever = make_link(browser, site, permission="read", label="Forever")
    assert_link_works(site, link)
    db_write(site, "UPDATE share_links SET expires_at = ? WHERE label = 'Holiday'", int(time.time()) - 60)
    assert_link_dead(site, link)
    assert_link_works(site, forever)
    db_write(site, "UPDATE share_links SET expires_at = ? WHERE label = 'Forever'", int(time.time()) - 1)
    assert_link_dead(site, forever)
    # The owner sees which links have expired, and is not offered new
    # addresses for them (they would not work either).
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    holiday = next(r for r in link_rows(page) if r["label"] == "Holiday")
    assert holiday["expires"].startswith("Expired"), holiday
    assert "regenerate" not in holiday, holiday
    action = next(a for a in re.findall(r'action="([^"]+)"', page) if a.endswith("/revoke"))
    renew = action.rsplit("/", 1)[0] + "/regenerate"
    refused = browser.post(site.url(renew), data={"csrf": csrf_of(page)}, timeout=30, allow_redirects=False)
    assert refused.status_code == 409 and "has expired" in refused.text
    # A day already past is not "never": the form says so.
    past = browser.post(site.url("/calendar/calendars/calendar/share"), data={
        "csrf": csrf_of(page), "permission": "read", "label": "Past", "expires_on": "2020-01-01"}, timeout=30)
    assert past.status_code == 422 and "never ends" in past.text


def test_a_forged_new_link_cookie_shows_nothing_of_another_calendar(site):
    browser = alice_with_events(site)
    make_link(browser, site, permission="read", label="Mine")
    site.add_user(*BOB)
    bob = logged_in(site, *BOB)
    [(alice_link,)] = db_rows(site, "SELECT id FROM share_links")
    # Bob names Alice's link id in the cookie the share page reads once.
    bob.cookies.set("almanac_new_link", f"{alice_link}.{'A' * 43}", domain="127.0.0.1",
                    path="/calendar/calendars/calendar/share")
    page = get_page(bob, site, "/calendar/calendars/calendar/share")
    assert "A" * 43 not in page and link_rows(page) == [], "nothing shows: the id is not one of Bob's links"
    # A token with characters no token has, after /s/ with a slash: nothing.
    assert visitor().get(site.url("/s/a%22b/"), timeout=30, allow_redirects=False).status_code == 404


def test_reloading_after_making_a_link_makes_no_second_one(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read", label="Once")
    again = browser.get(site.url("/calendar/calendars/calendar/share"), timeout=30)
    assert link.token not in again.text
    assert [r["label"] for r in link_rows(again.text)] == ["Once"]
    assert db_rows(site, "SELECT COUNT(*) FROM share_links") == [(1,)]


def test_deleting_a_calendar_ends_its_links(site):
    browser = alice_with_events(site)
    work = caldav_calendar(site, ALICE).client.principal().make_calendar(name="Work", cal_id="work")
    work.save_event(vevent("meeting@work", "Work meeting", ":20260305T120000Z", ":20260305T130000Z"))
    link = make_link(browser, site, calendar="work", permission="read")
    assert "Work meeting" in visitor().get(link.web + "?view=week&date=2026-03-05", timeout=30).text
    page = get_page(browser, site, "/calendar/calendars")
    gone = browser.post(site.url("/calendar/calendars/work"), data={"csrf": csrf_of(page), "action": "delete",
                                                                   "confirm": "yes"}, timeout=30)
    assert gone.status_code == 200
    assert visitor().get(link.web, timeout=30).status_code == 404
    assert visitor().get(site.url(link.web_path("/calendar.ics")), timeout=30).status_code == 404
    assert dav("PROPFIND", link.caldav, depth="0").status_code == 404
    # A calendar made later under the same name is not shared by the old link.
    remade = caldav_calendar(site, ALICE).client.principal().make_calendar(name="Work again", cal_id="work")
    remade.save_event(vevent("new@work", "New work meeting", ":20260305T120000Z", ":20260305T130000Z"))
    assert visitor().get(link.web, timeout=30).status_code == 404
    assert dav("PROPFIND", link.caldav, depth="1").status_code == 404


# Secrets stay secret


def test_tokens_are_not_kept_in_the_database(site):
    browser = alice_with_events(site)
    links = [make_link(browser, site, permission=p, label=p) for p in ("read", "write", "freebusy")]
    row = row_labelled(browser, site, "write")
    page = get_page(browser, site, "/calendar/calendars/calendar/share")
    links.append(shown_after(browser, site, browser.post(site.url(row["regenerate"]), data={"csrf": csrf_of(page)},
                                                          timeout=30, allow_redirects=False)))
    assert_link_works(site, links[3])
    assert_link_dead(site, links[1])
    stored = {label: digest for label, digest in db_rows(site, "SELECT label, token_hash FROM share_links")}
    assert stored == {"read": sha256_hex(links[0].token), "write": sha256_hex(links[3].token),
                      "freebusy": sha256_hex(links[2].token)}, stored
    files = [site.data_dir / name for name in ("almanac.db", "almanac.db-wal", "almanac.db-shm")]
    contents = b"".join(path.read_bytes() for path in files if path.exists())
    assert contents
    for link in links:
        assert link.token.encode() not in contents, "a token in the database file"
        assert base64.urlsafe_b64decode(link.token + "=") not in contents, "a token's bytes in the database file"


def test_the_access_log_never_holds_a_token(site):
    browser = alice_with_events(site)
    read = make_link(browser, site, permission="read")
    write = make_link(browser, site, permission="write")
    guest = visitor()
    calendar_view(guest, site, "month", "2026-03-01", base=read.web_path())
    guest.get(site.url(read.web_path("/calendar.ics")), timeout=30)
    dav("PROPFIND", read.caldav, depth="1")
    dav("GET", site.url(read.dav_path("recital@app.ics")))
    assert post_new_event(guest, site, base=write.web_path(), title="Logged write", start_date="2026-03-12",
                          end_date="2026-03-12").status_code == 303
    dav("PUT", site.url(write.dav_path("logged@x.ics")), vevent("logged@x", "Logged PUT", ":20260320T100000Z",
                                                               ":20260320T110000Z"), content_type="text/calendar")
    dav("PUT", site.url(read.dav_path("refused@x.ics")), vevent("refused@x", "Refused", ":20260320T100000Z",
                                                               ":20260320T110000Z"), content_type="text/calendar")
    guest.get(site.url("/s/" + "x" * 43), timeout=30)

    expected = [r'"GET /s/-\?view=month&date=2026-03-01', r'"GET /s/-/calendar\.ics ', r'"PROPFIND /dav/s/-/ ',
                r'"GET /dav/s/-/recital@app\.ics ', r'"POST /s/-/events ', r'"PUT /dav/s/-/logged@x\.ics ',
                r'"PUT /dav/s/-/refused@x\.ics ']
    for pattern in expected:
        [line] = wait_log(site, pattern)
        assert re.search(r"^\S+ - - \[", line) and " auth=ticket " in line and " owner=alice " in line, line
    log = site.access_log()
    for link in (read, write):
        assert link.token not in log
    assert "x" * 43 not in log
    put_line = wait_log(site, r'"PUT /dav/s/-/logged@x\.ics ')[0]
    assert '" 201 ' in put_line, put_line

    # A live token sent to a slightly wrong path stays out of the log too.
    for odd in (f"//s/{read.token}", f"//dav/s/{read.token}/", f"/dav//s/{read.token}/"):
        raw_request(site, "GET", odd)
    wait_log(site, r'"GET /dav//s/-/ ')
    assert read.token not in site.access_log()


def test_a_visitor_sees_whose_calendar_it_is_at_either_spelling_of_the_link(site):
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="read")
    slashed = visitor().get(link.web + "/?view=week", timeout=30, allow_redirects=False)
    assert slashed.status_code == 308 and slashed.headers["Location"] == link.web_path("?view=week")
    page = visitor().get(link.web + "/", timeout=30)
    assert page.status_code == 200 and "alice shares this calendar with you by link." in text_of(page.text)


def test_the_access_log_keeps_tokens_out_of_referers(site):
    """A browser sends the page it came from as the Referer (the site's
    policy is same-origin, so the whole address): following links inside a
    share link's pages must not write the token into the log either."""
    browser = alice_with_events(site)
    link = make_link(browser, site, permission="write")
    guest = visitor()
    month = site.url(link.web_path("?view=month&date=2026-03-01"))
    page = guest.get(month, timeout=30)
    assert page.status_code == 200
    new_form = guest.get(site.url(link.web_path("/new?date=2026-03-12")), headers={"Referer": month}, timeout=30)
    assert new_form.status_code == 200
    guest.get(site.url("/static/site.css"), headers={"Referer": month}, timeout=30)
    done = guest.post(site.url(link.web_path("/events")), headers={
        "Referer": site.url(link.web_path("/new?date=2026-03-12"))},
        data={**event_fields(title="Referred", start_date="2026-03-12", end_date="2026-03-12"),
              "csrf": csrf_of(new_form.text)}, timeout=30, allow_redirects=False)
    assert done.status_code == 303
    wait_log(site, r'"POST /s/-/events ')
    assert link.token not in site.access_log(), [l for l in site.access_log().splitlines() if link.token in l]


def test_an_event_marked_private_in_the_web_calendar_shows_only_as_busy_through_a_link(site):
    browser = alice_with_events(site)
    form = get_page(browser, site, "/calendar/new", date="2026-03-03")
    assert 'name="private"' in form, "the event form offers the private choice the announcement promises"
    done = post_new_event(browser, site, title="Job interview", start_date="2026-03-03", end_date="2026-03-03",
                          private="yes")
    assert done.status_code == 303
    [stored] = [t for t in caldav_texts(caldav_calendar(site, ALICE)) if "Job interview" in t]
    assert "CLASS:PRIVATE" in unfold(stored)
    link = make_link(browser, site, permission="write")
    seen = calendar_view(visitor(), site, "week", "2026-03-03", base=link.web_path())
    assert "Job interview" not in seen and "Busy" in seen
    visitor_form = get_page(visitor(), site, link.web_path("/new"), date="2026-03-03")
    assert 'name="private"' not in visitor_form, "a visitor is not offered to hide an event from the link itself"
