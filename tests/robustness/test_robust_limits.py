"""Contract item 5: everything stored has a size limit, counted in the quota.

Property values over max_property_bytes, XML bodies over
max_xml_body_bytes and dead properties beyond max_dead_properties are
refused and change nothing; quota-used-bytes counts dead and collection
properties; a full quota refuses whatever adds bytes."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from almanac_robust import (
    NS, PASSWORD, ics, parse_xml, prop_text, propfind_body, proppatch_body, propstats,
)

CAL = "/dav/calendars/alice/calendar/"
HOME = "/dav/calendars/alice/"
X = "{urn:example:robust}"
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
PROPS_X = 'xmlns:X="urn:example:robust"'


def propfind(almanac, path: str, *props: str, depth: str = "0", namespaces: str = PROPS_X) -> requests.Response:
    body = propfind_body(*props).replace(f"<D:propfind {NS}>", f"<D:propfind {NS} {namespaces}>")
    answer = almanac.dav("PROPFIND", path, "alice", body, {"Depth": depth})
    assert answer.status_code == 207, (path, answer.status_code, answer.text[:300])
    return answer


def proppatch(almanac, path: str, sets: dict | None = None, removes: list | None = None) -> requests.Response:
    return almanac.dav("PROPPATCH", path, "alice", proppatch_body(sets, removes))


def refused_in_207(answer: requests.Response, names: list[str], codes=("403", "507")) -> dict:
    """The PROPPATCH answered 207 and none of `names` was set (each 403/507,
    the others of the request 424)."""
    assert answer.status_code == 207, (answer.status_code, answer.text[:300])
    found = propstats(answer.text)
    for name in names:
        assert found.get(name) in codes, f"{name}: {found.get(name)} in {found}"
    assert "200" not in found.values(), f"part of a refused PROPPATCH was accepted: {found}"
    return found


def quota_used(almanac, path: str = HOME) -> int:
    answer = propfind(almanac, path, "D:quota-used-bytes", "D:quota-available-bytes")
    value = prop_text(answer.text, f"{D}quota-used-bytes")
    assert value is not None and value.isdigit(), answer.text[:500]
    return int(value)


def test_property_values_over_the_limit_are_refused_and_nothing_is_stored(almanac):
    big = "x" * 100_000
    assert almanac.put_ics("alice", "calendar", "e.ics", ics("e")).status_code == 201
    before_used = quota_used(almanac)

    answer = proppatch(almanac, CAL, {"D:displayname": big})
    refused_in_207(answer, [f"{D}displayname"])
    answer = proppatch(almanac, CAL, {"C:calendar-description": big, "X:small": "tiny"})
    refused_in_207(answer, [f"{C}calendar-description"])
    answer = proppatch(almanac, CAL, {"X:note": big, "X:small": "tiny", "D:displayname": "Renamed"})
    refused_in_207(answer, [f"{X}note"])
    answer = proppatch(almanac, CAL + "e.ics", {"X:note": big})
    refused_in_207(answer, [f"{X}note"])
    # A big value made of many elements counts as well as one of text.
    answer = proppatch(almanac, CAL, {"X:tree": "<X:leaf>abcdefghij</X:leaf>" * 6000})
    refused_in_207(answer, [f"{X}tree"])

    shown = propfind(almanac, CAL, "D:displayname", "C:calendar-description", "X:note", "X:small", "X:tree")
    assert prop_text(shown.text, f"{D}displayname") == "Calendar", "the old name stays"
    found = propstats(shown.text)
    for name in (f"{X}note", f"{X}small", f"{X}tree"):
        assert found[name] == "404", f"{name} was stored by a refused PROPPATCH: {found}"
    assert not prop_text(shown.text, f"{C}calendar-description")
    item = propfind(almanac, CAL + "e.ics", "X:note")
    assert propstats(item.text)[f"{X}note"] == "404"
    assert quota_used(almanac) == before_used

    # Just under the limit is fine.
    answer = proppatch(almanac, CAL, {"X:fits": "y" * 60_000})
    assert propstats(answer.text) == {f"{X}fits": "200"}, answer.text[:500]


def test_new_collections_with_oversized_properties_are_refused(almanac):
    big = "x" * 100_000
    body = (f'<?xml version="1.0" encoding="utf-8"?><C:mkcalendar {NS}><D:set><D:prop>'
            f"<D:displayname>{big}</D:displayname></D:prop></D:set></C:mkcalendar>")
    answer = almanac.dav("MKCALENDAR", HOME + "huge/", "alice", body)
    assert answer.status_code in (403, 507), (answer.status_code, answer.text[:300])
    assert almanac.dav("PROPFIND", HOME + "huge/", "alice", headers={"Depth": "0"}).status_code == 404
    body = (f'<?xml version="1.0" encoding="utf-8"?><D:mkcol {NS} {PROPS_X}><D:set><D:prop>'
            f"<D:resourcetype><D:collection/></D:resourcetype><X:note>{big}</X:note></D:prop></D:set></D:mkcol>")
    answer = almanac.dav("MKCOL", HOME + "files/", "alice", body)
    assert answer.status_code in (403, 507), (answer.status_code, answer.text[:300])
    assert almanac.dav("PROPFIND", HOME + "files/", "alice", headers={"Depth": "0"}).status_code == 404
    many = "".join(f"<X:p{i}>v</X:p{i}>" for i in range(101))
    body = (f'<?xml version="1.0" encoding="utf-8"?><D:mkcol {NS} {PROPS_X}><D:set><D:prop>'
            f"<D:resourcetype><D:collection/></D:resourcetype>{many}</D:prop></D:set></D:mkcol>")
    answer = almanac.dav("MKCOL", HOME + "many/", "alice", body)
    assert answer.status_code in (403, 507), (answer.status_code, answer.text[:300])
    assert almanac.dav("PROPFIND", HOME + "many/", "alice", headers={"Depth": "0"}).status_code == 404


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("method,path", [
    ("PROPFIND", HOME), ("PROPPATCH", CAL), ("REPORT", CAL), ("MKCALENDAR", HOME + "new/"), ("MKCOL", HOME + "new/"),
])
def test_xml_bodies_over_the_limit_answer_413(almanac, method, path):
    padding = "<!-- " + "p" * 1000 + " -->"
    root = {"PROPFIND": "D:propfind", "PROPPATCH": "D:propertyupdate", "REPORT": "C:calendar-query",
            "MKCALENDAR": "C:mkcalendar", "MKCOL": "D:mkcol"}[method]
    body = (f'<?xml version="1.0" encoding="utf-8"?><{root} {NS}>' + padding * 1100 + f"</{root}>").encode()
    assert len(body) > 1024 * 1024
    answer = almanac.dav(method, path, "alice", body, {"Depth": "0"})
    assert answer.status_code == 413, (method, answer.status_code, answer.text[:300])

    # Without a Content-Length (chunked), the limit still holds.
    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]
    answer = requests.request(method, almanac.url(path), data=chunks(), auth=("alice", PASSWORD),
                              headers={"Content-Type": "application/xml", "Depth": "0"}, timeout=60)
    assert answer.status_code == 413, (method, "chunked", answer.status_code, answer.text[:300])
    if method in ("MKCALENDAR", "MKCOL"):
        assert almanac.dav("PROPFIND", path, "alice", headers={"Depth": "0"}).status_code == 404


@pytest.mark.settings({"limits": {"max_xml_body_bytes": 50_000}})
@pytest.mark.backends("sqlite")
def test_max_xml_body_bytes_is_a_setting(almanac):
    body = proppatch_body({"X:note": "z" * 60_000})
    answer = almanac.dav("PROPPATCH", CAL, "alice", body)
    assert answer.status_code == 413, (answer.status_code, answer.text[:300])
    small = almanac.dav("PROPPATCH", CAL, "alice", proppatch_body({"X:note": "z" * 10_000}))
    assert propstats(small.text) == {f"{X}note": "200"}
    # An event is not XML: PUT keeps max_body_bytes.
    assert almanac.put_ics("alice", "calendar", "long.ics", ics("long", description="d" * 70_000)).status_code == 201


def test_dead_properties_per_resource_are_capped(almanac):
    assert almanac.put_ics("alice", "calendar", "e.ics", ics("e")).status_code == 201
    for path in (CAL, CAL + "e.ics"):
        hundred = {f"X:p{i}": f"value {i}" for i in range(100)}
        answer = proppatch(almanac, path, hundred)
        assert set(propstats(answer.text).values()) == {"200"}, answer.text[:500]
        answer = proppatch(almanac, path, {"X:p100": "one too many"})
        refused_in_207(answer, [f"{X}p100"])
        assert propstats(propfind(almanac, path, "X:p100", "X:p99").text) == {f"{X}p100": "404", f"{X}p99": "200"}
        # Replacing one, or removing one and adding one, stays at 100: fine.
        answer = almanac.dav("PROPPATCH", path, "alice", proppatch_body({"X:p5": "changed"}))
        assert propstats(answer.text) == {f"{X}p5": "200"}, answer.text[:500]
        answer = almanac.dav("PROPPATCH", path, "alice", proppatch_body({"X:p101": "instead"}, ["X:p6"]))
        assert set(propstats(answer.text).values()) == {"200"}, answer.text[:500]

    # 101 at once on a fresh resource: refused whole.
    assert almanac.put_ics("alice", "calendar", "f.ics", ics("f")).status_code == 201
    answer = proppatch(almanac, CAL + "f.ics", {f"X:q{i}": "v" for i in range(101)})
    assert answer.status_code == 207
    assert "200" not in propstats(answer.text).values()
    assert propstats(propfind(almanac, CAL + "f.ics", "X:q0").text) == {f"{X}q0": "404"}


def test_quota_used_bytes_counts_dead_and_collection_properties(almanac):
    start = quota_used(almanac)
    answer = proppatch(almanac, CAL, {"X:note": "n" * 30_000})
    assert propstats(answer.text) == {f"{X}note": "200"}
    with_dead = quota_used(almanac)
    assert with_dead >= start + 30_000, f"a 30 KB dead property: quota-used-bytes {start} -> {with_dead}"
    answer = proppatch(almanac, CAL, {"C:calendar-description": "d" * 30_000})
    assert propstats(answer.text) == {f"{C}calendar-description": "200"}
    with_description = quota_used(almanac)
    assert with_description >= with_dead + 30_000, f"a 30 KB description: {with_dead} -> {with_description}"
    assert almanac.put_ics("alice", "calendar", "e.ics", ics("e")).status_code == 201
    answer = proppatch(almanac, CAL + "e.ics", {"X:note": "m" * 20_000})
    assert propstats(answer.text) == {f"{X}note": "200"}
    with_item = quota_used(almanac)
    assert with_item >= with_description + 20_000 + len(ics("e")), (with_description, with_item)
    # The calendar itself reports the same account-wide figure... or at least not less than what it holds.
    assert quota_used(almanac, CAL) >= 80_000
    proppatch(almanac, CAL, removes=["X:note"])
    assert quota_used(almanac) <= with_item - 30_000, "removing the property gives its bytes back"


QUOTA = 200_000


def fill_quota(almanac) -> requests.Response:
    """Events of 9 KB until the quota refuses one; that refusal."""
    for i in range(100):
        answer = almanac.put_ics("alice", "calendar", f"fill-{i}.ics", ics(f"fill-{i}", description="f" * 9000))
        if answer.status_code != 201:
            return answer
    raise AssertionError("a 200 KB quota took 100 events of 9 KB")


def make_calendar(almanac, path: str, extra: str = "") -> requests.Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><C:mkcalendar {NS}><D:set><D:prop>'
            f"<D:displayname>Other</D:displayname>{extra}</D:prop></D:set></C:mkcalendar>")
    return almanac.dav("MKCALENDAR", path, "alice", body)


@pytest.mark.settings({"limits": {"quota_bytes": QUOTA}})
def test_a_full_quota_refuses_proppatches_that_add_bytes(almanac):
    assert make_calendar(almanac, HOME + "other/").status_code == 201
    refused = fill_quota(almanac)
    assert refused.status_code == 507, (refused.status_code, refused.text[:300])
    assert "quota-not-exceeded" in refused.text, "RFC 4331: the DAV:quota-not-exceeded precondition"
    used = quota_used(almanac)
    assert used <= QUOTA, f"quota-used-bytes {used} over the quota {QUOTA}"

    for path in (CAL, CAL + "fill-0.ics", HOME + "other/"):
        answer = proppatch(almanac, path, {"X:note": "q" * 30_000})
        found = refused_in_207(answer, [f"{X}note"], codes=("507",))
        assert propstats(propfind(almanac, path, "X:note").text) == {f"{X}note": "404"}, (path, found)
    answer = proppatch(almanac, CAL, {"C:calendar-description": "q" * 30_000})
    refused_in_207(answer, [f"{C}calendar-description"], codes=("507",))
    assert quota_used(almanac) == used

    listing = almanac.dav("PROPFIND", HOME, "alice", propfind_body(), {"Depth": "1"})
    assert listing.status_code == 207
    parse_xml(listing.content)
    assert len(listing.content) < 1024 * 1024, f"allprop Depth 1 of the home is {len(listing.content)} bytes"


@pytest.mark.settings({"limits": {"quota_bytes": QUOTA}})
def test_a_full_quota_lets_no_bytes_in_by_other_doors(almanac):
    """COPY of an event or a whole calendar, a new calendar with a big
    description, an .ics import and the web event form all store bytes:
    past a full quota they are refused like a PUT."""
    import re
    assert make_calendar(almanac, HOME + "other/").status_code == 201
    browser = requests.Session()
    form = browser.get(almanac.url("/login"), timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert browser.post(almanac.url("/login"), data={"csrf": csrf, "name": "alice", "password": PASSWORD},
                        timeout=30, allow_redirects=False).status_code == 303
    assert fill_quota(almanac).status_code == 507
    used = quota_used(almanac)
    doors = {}

    answer = make_calendar(almanac, HOME + "more/", f"<C:calendar-description>{'q' * 30_000}</C:calendar-description>")
    doors["MKCALENDAR with a 30 KB description"] = answer.status_code
    answer = almanac.dav("COPY", CAL + "fill-1.ics", "alice",
                         headers={"Destination": almanac.url(HOME + "other/copy.ics")})
    doors["COPY of a 9 KB event"] = answer.status_code
    answer = almanac.dav("COPY", CAL, "alice", headers={"Destination": almanac.url(HOME + "copied/"),
                                                        "Depth": "infinity"})
    doors["COPY of the whole calendar"] = answer.status_code
    two = ics("imp-1", description="i" * 9000).replace("END:VCALENDAR\r\n", "") + \
        ics("imp-2", description="j" * 9000).split("PRODID:-//robustness test//EN\r\n", 1)[1]
    answer = almanac.dav("POST", CAL, "alice", two, {"Content-Type": "text/calendar"})
    doors["an .ics import of two 9 KB events"] = f"{answer.status_code} {answer.text[:120]}"
    page = browser.get(almanac.url("/calendar/new?date=2026-03-02"), timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = browser.post(almanac.url("/calendar/events"), data={
        "csrf": csrf, "calendar": "calendar", "title": "Big", "location": "", "description": "w" * 9000,
        "start_date": "2026-03-02", "start_time": "09:00", "end_date": "2026-03-02", "end_time": "10:00",
        "tz": "Europe/Berlin", "repeat": "none", "interval": "1", "ends": "never", "until": "", "count": "",
        "action": "save"}, timeout=30, allow_redirects=False)
    doors["the web event form with a 9 KB description"] = answer.status_code

    after = quota_used(almanac)
    assert after <= QUOTA + 1000 and after - used < 1000, \
        f"quota-used-bytes went from {used} to {after} (quota {QUOTA}) through: {doors}"


@pytest.mark.settings({"limits": {"max_collections_per_user": 4}})
def test_plain_collections_count_against_the_collection_limit(almanac):
    """Empty plain collections hold no bytes the quota counts, so their
    number is what bounds them: calendars and plain collections together."""
    statuses = [almanac.dav("MKCOL", f"{HOME}plain{n}/", "alice").status_code for n in range(5)]
    # The account already has its calendar: three more fit, the rest not.
    assert statuses == [201, 201, 201, 403, 403], statuses
    refused = almanac.dav("MKCALENDAR", f"{HOME}another/", "alice")
    assert refused.status_code == 403 and "at most 4" in refused.text, refused.text[:300]
    copy = almanac.dav("COPY", f"{HOME}plain0/", "alice", headers={
        "Destination": almanac.url(f"{HOME}plain-copy/"), "Depth": "infinity"})
    assert copy.status_code == 403, copy.status_code


SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
        '<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>')


def sync(almanac, token: str) -> requests.Response:
    return almanac.dav("REPORT", CAL, "alice", SYNC.format(token=token), {"Depth": "1"})


@pytest.mark.settings({"limits": {"tombstones_per_collection": 20}})
def test_deleting_forever_keeps_a_bounded_number_of_tombstones(almanac):
    """Create and delete events in a loop: the calendar remembers only the
    newest deletions. A client whose sync token is older than those is told
    to sync from scratch (DAV:valid-sync-token), never handed an answer that
    misses a deletion; a recent token still syncs."""
    first = sync(almanac, "")
    assert first.status_code == 207
    old_token = parse_xml(first.content).findtext(f"{D}sync-token")
    for n in range(60):
        assert almanac.put_ics("alice", "calendar", f"churn{n}.ics", ics(f"churn{n}")).status_code == 201
        assert almanac.dav("DELETE", f"{CAL}churn{n}.ics", "alice").status_code == 204
    recent = sync(almanac, "")
    recent_token = parse_xml(recent.content).findtext(f"{D}sync-token")
    assert old_token and recent_token and old_token != recent_token, (old_token, recent_token)
    for n in range(60, 70):
        assert almanac.put_ics("alice", "calendar", f"churn{n}.ics", ics(f"churn{n}")).status_code == 201
        assert almanac.dav("DELETE", f"{CAL}churn{n}.ics", "alice").status_code == 204

    too_old = sync(almanac, old_token)
    assert too_old.status_code == 403 and "valid-sync-token" in too_old.text, too_old.text[:300]
    fresh = sync(almanac, recent_token)
    assert fresh.status_code == 207, fresh.text[:300]
    gone = {href.rsplit("/", 1)[1] for href in
            [r.findtext(f"{D}href") for r in parse_xml(fresh.content).iter(f"{D}response")]}
    assert gone == {f"churn{n}.ics" for n in range(60, 70)}, sorted(gone)
    count = "SELECT COUNT(*) FROM changes WHERE deleted = 1"
    if almanac.database is not None:
        tombstones = int(almanac.database.query(count).strip())
    else:
        almanac.stop()
        with sqlite3.connect(almanac.data_dir / "almanac.db") as db:
            (tombstones,) = db.execute(count).fetchone()
    assert tombstones <= 20, tombstones
