"""The python `caldav` library against Almanac: discovery, calendars, events
with recurrences, todos, time-range search with and without expansion,
conditional updates, deletes, WebDAV sync and access control.

The tests of this module run in order and share alice's calendars.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import caldav
import pytest
import requests
from caldav.lib import error

UTC = timezone.utc

WEEKLY_UID = "weekly-standup@interop"
SINGLE_UID = "dentist@interop"
LATER_UID = "may-trip@interop"
TODO_UID = "taxes@interop"

# A weekly meeting on Mondays 10:00Z, six times from 2 March 2026 (2, 9, 16,
# 23, 30 March, 6 April); 16 March is cancelled with EXDATE, 23 March moved
# to Tuesday 24 March 15:00Z by an overridden instance.
WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VEVENT
UID:weekly-standup@interop
DTSTAMP:20260101T000000Z
DTSTART:20260302T100000Z
DTEND:20260302T103000Z
SUMMARY:Standup
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE:20260316T100000Z
END:VEVENT
BEGIN:VEVENT
UID:weekly-standup@interop
DTSTAMP:20260101T000000Z
RECURRENCE-ID:20260323T100000Z
DTSTART:20260324T150000Z
DTEND:20260324T153000Z
SUMMARY:Standup (moved)
END:VEVENT
END:VCALENDAR
"""

SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VEVENT
UID:dentist@interop
DTSTAMP:20260101T000000Z
DTSTART:20260304T120000Z
DTEND:20260304T130000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""

LATER = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VEVENT
UID:may-trip@interop
DTSTAMP:20260101T000000Z
DTSTART:20260501T080000Z
DTEND:20260501T180000Z
SUMMARY:Trip in May
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VTODO
UID:taxes@interop
DTSTAMP:20260101T000000Z
DUE:20260331T170000Z
SUMMARY:File taxes
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
"""

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))

# The weekly event's instances in March, after EXDATE and the override.
EXPECTED_MARCH_STANDUPS = [
    (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "Standup"),
    (datetime(2026, 3, 9, 10, 0, tzinfo=UTC), "Standup"),
    (datetime(2026, 3, 24, 15, 0, tzinfo=UTC), "Standup (moved)"),
    (datetime(2026, 3, 30, 10, 0, tzinfo=UTC), "Standup"),
]


def _client(url, user, password):
    return caldav.DAVClient(url=url, username=user, password=password)


def _as_utc(value):
    assert isinstance(value, datetime), f"expected a date-time, got {value!r}"
    return value.astimezone(UTC)


def _uid(obj) -> str:
    return str(obj.icalendar_component["UID"])


@pytest.fixture(scope="module")
def alice(almanac_server):
    return _client(almanac_server.dav_url, "alice", almanac_server.users["alice"])


@pytest.fixture(scope="module")
def bob(almanac_server):
    return _client(almanac_server.dav_url, "bob", almanac_server.users["bob"])


class _State(dict):
    def __missing__(self, key):
        pytest.fail(f"{key!r} was not set up: an earlier test of this module failed")


@pytest.fixture(scope="module")
def state(almanac_server):
    """Values handed from one test to the next (the tests run in order)."""
    return _State()


# --- discovery -------------------------------------------------------------


def test_discovery_from_server_root(almanac_server):
    """A user types only the server's address (http://host:port/)."""
    client = _client(almanac_server.base_url, "alice", almanac_server.users["alice"])
    principal = client.principal()
    assert str(principal.url) == almanac_server.base_url + "dav/principals/alice/"
    urls = [str(c.url) for c in principal.calendars()]
    assert urls == [almanac_server.calendar_url("alice")]


def test_discovery_from_well_known(almanac_server):
    client = _client(almanac_server.base_url + ".well-known/caldav", "alice", almanac_server.users["alice"])
    principal = client.principal()
    assert str(principal.url) == almanac_server.base_url + "dav/principals/alice/"


def test_discovery_and_default_calendar(alice, almanac_server, state):
    principal = alice.principal()
    assert str(principal.url) == almanac_server.base_url + "dav/principals/alice/"
    assert str(principal.calendar_home_set.url) == almanac_server.home_url("alice")
    calendars = principal.calendars()
    assert [str(c.url) for c in calendars] == [almanac_server.calendar_url("alice")]
    assert calendars[0].get_display_name() == "Calendar"
    state["principal"] = principal


def test_make_calendar(alice, almanac_server, state):
    principal = state["principal"]
    work = principal.make_calendar(name="Work Projects")
    assert str(work.url).startswith(almanac_server.home_url("alice"))
    assert work.get_display_name() == "Work Projects"
    listed = {str(c.url): c.get_display_name() for c in principal.calendars()}
    assert listed == {
        almanac_server.calendar_url("alice"): "Calendar",
        str(work.url): "Work Projects",
    }
    # A fresh client sees it too (not a client-side cache).
    fresh = _client(almanac_server.dav_url, "alice", almanac_server.users["alice"])
    assert str(work.url) in [str(c.url) for c in fresh.principal().calendars()]
    state["work"] = work


# --- saving and searching -----------------------------------------------------


def test_save_events_and_todo(state):
    work = state["work"]
    saved = {
        "weekly": work.save_event(WEEKLY),
        "single": work.save_event(SINGLE),
        "later": work.save_event(LATER),
        "todo": work.save_todo(TODO),
    }
    state.update(saved)
    events = work.events()
    assert sorted(_uid(e) for e in events) == sorted([WEEKLY_UID, SINGLE_UID, LATER_UID])
    todos = work.todos()
    assert [_uid(t) for t in todos] == [TODO_UID]
    assert str(todos[0].icalendar_component["SUMMARY"]) == "File taxes"
    # The recurring event comes back whole: master with RRULE and EXDATE, and the override.
    weekly = work.event_by_uid(WEEKLY_UID)
    components = [c for c in weekly.icalendar_instance.walk("VEVENT")]
    assert len(components) == 2
    master = next(c for c in components if "RECURRENCE-ID" not in c)
    override = next(c for c in components if "RECURRENCE-ID" in c)
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["COUNT"] == [6]
    exdates = [_as_utc(d.dt) for d in master["EXDATE"].dts]
    assert exdates == [datetime(2026, 3, 16, 10, 0, tzinfo=UTC)]
    assert _as_utc(override["RECURRENCE-ID"].dt) == datetime(2026, 3, 23, 10, 0, tzinfo=UTC)
    assert _as_utc(override["DTSTART"].dt) == datetime(2026, 3, 24, 15, 0, tzinfo=UTC)


def test_search_time_range_without_expand(state):
    work = state["work"]
    found = work.search(start=MARCH[0], end=MARCH[1], event=True, expand=False)
    assert sorted(_uid(e) for e in found) == sorted([WEEKLY_UID, SINGLE_UID])
    # May only holds the trip.
    may = work.search(
        start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC), event=True
    )
    assert [_uid(e) for e in may] == [LATER_UID]
    # The todo is due in March.
    todos = work.search(start=MARCH[0], end=MARCH[1], todo=True)
    assert [_uid(t) for t in todos] == [TODO_UID]
    # A week that only holds the cancelled (EXDATE) occurrence matches nothing.
    gap = work.search(
        start=datetime(2026, 3, 15, tzinfo=UTC), end=datetime(2026, 3, 17, tzinfo=UTC), event=True
    )
    assert gap == []


def _instances(found):
    out = []
    for event in found:
        component = event.icalendar_component
        out.append((_uid(event), _as_utc(component["DTSTART"].dt), str(component["SUMMARY"]), component))
    return sorted(out, key=lambda x: x[1])


@pytest.mark.parametrize("server_expand", [False, True], ids=["expand", "server_expand"])
def test_search_time_range_with_expand(state, server_expand):
    work = state["work"]
    kwargs = {"server_expand": True} if server_expand else {"expand": True}
    found = work.search(start=MARCH[0], end=MARCH[1], event=True, **kwargs)
    instances = _instances(found)
    standups = [(start, summary) for uid, start, summary, _ in instances if uid == WEEKLY_UID]
    assert standups == EXPECTED_MARCH_STANDUPS
    dentist = [(start, summary) for uid, start, summary, _ in instances if uid == SINGLE_UID]
    assert dentist == [(datetime(2026, 3, 4, 12, 0, tzinfo=UTC), "Dentist")]
    assert len(instances) == 5
    # The EXDATE gap: nothing on 16 March.
    assert not any(start.date() == datetime(2026, 3, 16).date() for _, start, _, _ in instances)
    # Each expanded instance is identified by its RECURRENCE-ID and carries no RRULE.
    for uid, start, summary, component in instances:
        if uid != WEEKLY_UID:
            continue
        assert "RRULE" not in component and "EXDATE" not in component
        recurrence_id = _as_utc(component["RECURRENCE-ID"].dt)
        if summary == "Standup (moved)":
            assert recurrence_id == datetime(2026, 3, 23, 10, 0, tzinfo=UTC)
        else:
            assert recurrence_id == start


EXPAND_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>
    <C:calendar-data><C:expand start="20260301T000000Z" end="20260401T000000Z"/></C:calendar-data>
  </D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT">
        <C:time-range start="20260301T000000Z" end="20260401T000000Z"/>
        <C:prop-filter name="UID"><C:text-match>weekly-standup</C:text-match></C:prop-filter>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"""


def test_server_side_expand_raw_report(alice, state):
    """RFC 4791 section 9.6.5 CALDAV:expand, checked on the wire (no client post-processing)."""
    import icalendar

    response = alice.report(str(state["work"].url), EXPAND_QUERY, depth=1)
    assert response.status == 207
    datas = [e.text for e in response.tree.iter("{urn:ietf:params:xml:ns:caldav}calendar-data")]
    assert len(datas) == 1, response.raw
    (data,) = datas
    calendar = icalendar.Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    got = sorted((_as_utc(e["DTSTART"].dt), str(e["SUMMARY"])) for e in events)
    assert got == EXPECTED_MARCH_STANDUPS
    for e in events:
        assert "RRULE" not in e and "EXDATE" not in e and "RECURRENCE-ID" in e
        # Section 9.6.5: expanded date-times are in UTC.
        assert e["DTSTART"].dt.tzinfo is not None and e["DTSTART"].dt.utcoffset() == timedelta(0)


# --- conditional updates ---------------------------------------------------------


def _etag(client, url) -> str:
    response = client.request(str(url), "GET")
    assert response.status == 200
    etag = response.headers.get("ETag")
    assert etag, "GET of a calendar object must return an ETag"
    return etag


def test_update_with_etag_and_stale_etag_is_412(alice, state):
    single = state["single"]
    url = str(single.url)
    etag_before = _etag(alice, url)

    single.icalendar_component["SUMMARY"] = "Dentist (rescheduled)"
    single.icalendar_component["DTSTART"].dt = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    single.icalendar_component["DTEND"].dt = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    body = single.icalendar_instance.to_ical().decode()

    ok = alice.put(url, body, {"If-Match": etag_before, "Content-Type": "text/calendar; charset=utf-8"})
    assert ok.status in (200, 204), ok.status
    etag_after = _etag(alice, url)
    assert etag_after != etag_before

    stale_body = body.replace("Dentist (rescheduled)", "Dentist (stale write)")
    stale = alice.put(url, stale_body, {"If-Match": etag_before, "Content-Type": "text/calendar; charset=utf-8"})
    assert stale.status == 412, f"PUT with a stale If-Match got {stale.status}, expected 412"

    stale_delete = alice.request(url, "DELETE", "", {"If-Match": etag_before})
    assert stale_delete.status == 412, f"DELETE with a stale If-Match got {stale_delete.status}"

    reloaded = state["work"].event_by_uid(SINGLE_UID)
    assert str(reloaded.icalendar_component["SUMMARY"]) == "Dentist (rescheduled)"
    assert _as_utc(reloaded.icalendar_component["DTSTART"].dt) == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert _etag(alice, url) == etag_after

    # The library's own save() of a loaded object also goes through.
    reloaded.icalendar_component["LOCATION"] = "Main Street 1"
    reloaded.save()
    again = state["work"].event_by_uid(SINGLE_UID)
    assert str(again.icalendar_component["LOCATION"]) == "Main Street 1"
    state["single"] = again


# --- sync ----------------------------------------------------------------------


def test_sync_token_reports_only_changes(state):
    work = state["work"]
    initial = work.objects_by_sync_token(load_objects=True, disable_fallback=True)
    token0 = initial.sync_token
    assert token0 and not str(token0).startswith("fake-")
    assert sorted(_uid(o) for o in initial) == sorted([WEEKLY_UID, SINGLE_UID, LATER_UID, TODO_UID])

    # Nothing changed: nothing comes back.
    unchanged = work.objects_by_sync_token(sync_token=token0, load_objects=False, disable_fallback=True)
    assert list(unchanged) == []
    assert unchanged.sync_token == token0

    # Change one item: only that one comes back, with its new content.
    later = work.event_by_uid(LATER_UID)
    later.icalendar_component["SUMMARY"] = "Trip in May (booked)"
    later.save()
    changed = work.objects_by_sync_token(sync_token=token0, load_objects=True, disable_fallback=True)
    assert [str(o.url) for o in changed] == [str(later.url)]
    assert str(list(changed)[0].icalendar_component["SUMMARY"]) == "Trip in May (booked)"
    assert changed.deleted_urls == set()
    token1 = changed.sync_token
    assert token1 != token0

    # Delete one: it is reported gone.
    todo_url = str(state["todo"].url)
    state["todo"].delete()
    after_delete = work.objects_by_sync_token(sync_token=token1, load_objects=False, disable_fallback=True)
    assert [str(u) for u in after_delete.deleted_urls] == [todo_url]
    assert [str(o.url) for o in after_delete] == [todo_url]
    assert work.todos() == []

    # The high-level sync() of the first snapshot catches up with both changes.
    updated, deleted = initial.sync()
    assert [_uid(o) for o in updated] == [LATER_UID]
    assert [str(o.url) for o in deleted] == [todo_url]
    assert sorted(_uid(o) for o in initial) == sorted([WEEKLY_UID, SINGLE_UID, LATER_UID])
    assert initial.sync_token == after_delete.sync_token


# --- delete ----------------------------------------------------------------------


def test_delete_event(almanac_server, state):
    work = state["work"]
    later = work.event_by_uid(LATER_UID)
    url = str(later.url)
    later.delete()
    with pytest.raises(error.NotFoundError):
        work.event_by_uid(LATER_UID)
    assert sorted(_uid(e) for e in work.events()) == sorted([WEEKLY_UID, SINGLE_UID])
    r = requests.get(url, auth=("alice", almanac_server.users["alice"]), timeout=10)
    assert r.status_code == 404


# --- access control ------------------------------------------------------------


def test_users_cannot_see_each_others_calendars(almanac_server, alice, bob, state):
    bob_principal = bob.principal()
    assert str(bob_principal.url) == almanac_server.base_url + "dav/principals/bob/"
    assert [str(c.url) for c in bob_principal.calendars()] == [almanac_server.calendar_url("bob")]

    work_url = str(state["work"].url)
    single_url = str(state["single"].url)
    auth = ("bob", almanac_server.users["bob"])
    depth1 = {"Depth": "1", "Content-Type": "application/xml"}
    propfind = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>'
    attempts = [
        ("PROPFIND", almanac_server.home_url("alice"), depth1, propfind),
        ("PROPFIND", work_url, depth1, propfind),
        ("GET", single_url, {}, None),
        ("PUT", work_url + "intruder.ics", {"Content-Type": "text/calendar"}, SINGLE.replace("dentist@", "intruder@")),
        ("DELETE", single_url, {}, None),
    ]
    for method, url, headers, body in attempts:
        r = requests.request(method, url, auth=auth, headers=headers, data=body, timeout=10)
        assert r.status_code in (403, 404), f"bob {method} {url} -> {r.status_code}: {r.text[:300]}"

    # The library reports it as an error too.
    with pytest.raises((error.AuthorizationError, error.NotFoundError)):
        bob.calendar(url=work_url).events()

    # Alice's data is untouched.
    work = state["work"]
    assert sorted(_uid(e) for e in work.events()) == sorted([WEEKLY_UID, SINGLE_UID])


def _read_response(sock):
    """Status line and headers of one HTTP/1.1 response (body skipped), or None on EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return lines[0], headers


def test_401_then_authenticated_retry_on_the_same_connection(almanac_server):
    """What the caldav library (niquests) does for every new client: an
    unauthenticated PROPFIND, a 401, then the same PROPFIND with credentials
    on the same keep-alive connection.  The body goes out in its own write,
    a little after the headers, as it does from niquests.  A server that
    answers 401 without "Connection: close" must keep the connection usable
    (RFC 9112 section 9.3; section 9.6 on closing)."""
    import base64
    import socket
    import time

    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>'
    )

    def head(auth=None):
        h = (
            b"PROPFIND /dav/ HTTP/1.1\r\nHost: 127.0.0.1\r\nDepth: 0\r\n"
            b"Content-Type: application/xml; charset=utf-8\r\nContent-Length: %d\r\n" % len(body)
        )
        if auth:
            h += b"Authorization: Basic " + base64.b64encode(auth.encode()) + b"\r\n"
        return h + b"\r\n"

    credentials = "alice:" + almanac_server.users["alice"]
    with socket.create_connection(("127.0.0.1", almanac_server.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head())
        time.sleep(0.05)
        sock.sendall(body)
        first = _read_response(sock)
        assert first is not None and first[0].startswith("HTTP/1.1 401"), first
        if "close" in first[1].get("connection", "").lower():
            return  # announced: the client opens a new connection
        try:
            sock.sendall(head(credentials) + body)
            second = _read_response(sock)
        except OSError as e:  # broken pipe / reset
            second = e
        assert isinstance(second, tuple), (
            f"the connection was closed after a 401 that did not say 'Connection: close' ({second!r}); "
            "the client's authenticated retry on it fails"
        )
        assert second[0].startswith("HTTP/1.1 207"), second


def test_wrong_password_is_401(almanac_server):
    client = _client(almanac_server.dav_url, "alice", "not-the-password")
    with pytest.raises(error.AuthorizationError):
        client.principal()
    r = requests.request(
        "PROPFIND",
        almanac_server.calendar_url("alice"),
        auth=("alice", "not-the-password"),
        headers={"Depth": "0"},
        timeout=10,
    )
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")
    r = requests.get(almanac_server.calendar_url("alice"), timeout=10)
    assert r.status_code == 401
