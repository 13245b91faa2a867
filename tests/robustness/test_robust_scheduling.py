"""CalDAV scheduling (RFC 6638) attacked: a flood of invitations into one
inbox, an attendee whose storage is full, too many attendees, malformed,
oversized and foreign free-busy requests, and other people's mailboxes.
The server stays up, answers each with a clear error, and loses nothing."""

from __future__ import annotations

import re
import uuid

import pytest

from almanac_robust import Almanac

MESSAGE = re.compile(r"<D:href>([^<]+\.ics)</D:href>")


def invitation(uid: str, organizer: str, attendees: list[str], summary: str = "Meeting") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//robust//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20300101T000000Z", "DTSTART:20320601T100000Z", "DURATION:PT1H", f"SUMMARY:{summary}",
             f"ORGANIZER:mailto:{organizer}@example.org"]
    lines += [f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{a if '@' in a else a + '@example.org'}" for a in attendees]
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def put_event(server: Almanac, user: str, uid: str, body: str):
    return server.dav("PUT", f"/dav/calendars/{user}/calendar/{uid}.ics", user, body=body,
                      headers={"Content-Type": "text/calendar"})


def inbox_names(server: Almanac, user: str) -> list[str]:
    listing = server.dav("PROPFIND", f"/dav/principals/{user}/inbox/", user, headers={"Depth": "1"})
    assert listing.status_code == 207, listing.text
    return MESSAGE.findall(listing.text)


def test_an_invitation_flood_fills_no_inbox_beyond_its_cap(make_almanac, backend):
    organizers = [f"org{n}" for n in range(6)]
    server = make_almanac(backend=backend, users=("alice", *organizers))
    sent = []
    for organizer in organizers:
        for n in range(87):
            uid = f"flood-{organizer}-{n}"
            r = put_event(server, organizer, uid, invitation(uid, organizer, ["alice"]))
            assert r.status_code == 201, r.text
            sent.append(uid)
    names = inbox_names(server, "alice")
    assert len(names) == 500, "the inbox keeps its newest 500 messages"
    newest = server.dav("GET", names[-1], "alice").text
    assert sent[-1] in newest
    kept = "".join(server.dav("GET", name, "alice").text for name in names[:3])
    assert sent[0] not in kept, "the oldest went first"
    # Every invitation still reached the calendar itself.
    listing = server.dav("PROPFIND", "/dav/calendars/alice/calendar/", "alice", headers={"Depth": "1"})
    assert len(MESSAGE.findall(listing.text)) == len(sent)
    # The organizers' hourly allowance holds: the 101st invitation of the hour is refused.
    over = [put_event(server, "org0", f"over-{n}", invitation(f"over-{n}", "org0", ["alice"])).status_code
            for n in range(14)]
    assert over[:13] == [201] * 13 and over[13] == 403


@pytest.mark.settings({"limits": {"quota_bytes": 6000}})
def test_an_attendee_whose_storage_is_full_is_marked_undelivered(almanac: Almanac):
    almanac.add_user("bo")
    filler = "X" * 4000
    full = invitation("bo-own", "bo", []).replace("SUMMARY:Meeting", f"SUMMARY:{filler}")
    assert put_event(almanac, "bo", "bo-own", full).status_code == 201
    uid = f"q-{uuid.uuid4()}"
    r = put_event(almanac, "alice", uid, invitation(uid, "alice", ["bo"], summary="Big " + "Y" * 2500))
    assert r.status_code == 201, "the organizer's write stands"
    stored = almanac.dav("GET", f"/dav/calendars/alice/calendar/{uid}.ics", "alice").text.replace("\r\n ", "")
    assert "SCHEDULE-STATUS=5.1" in stored, stored
    listing = almanac.dav("PROPFIND", "/dav/calendars/bo/calendar/", "bo", headers={"Depth": "1"})
    assert MESSAGE.findall(listing.text) == ["/dav/calendars/bo/calendar/bo-own.ics"], "nothing half-delivered"
    assert inbox_names(almanac, "bo") == []
    assert almanac.dav("GET", "/healthz").status_code == 200


def test_too_many_attendees_and_bad_free_busy_requests(almanac: Almanac):
    almanac.add_user("bo")
    uid = f"crowd-{uuid.uuid4()}"
    crowd = invitation(uid, "alice", [f"guest{n}@elsewhere.example" for n in range(51)])
    r = put_event(almanac, "alice", uid, crowd)
    assert r.status_code == 403 and "at most 50" in r.text
    assert almanac.dav("GET", f"/dav/calendars/alice/calendar/{uid}.ics", "alice").status_code == 404, \
        "a refused invitation stores nothing"

    outbox = "/dav/principals/alice/outbox/"
    post = lambda body, ct="text/calendar", user="alice", path=outbox: almanac.dav(
        "POST", path, user, body=body, headers={"Content-Type": ct})

    def freebusy(attendees, start="20330105T000000Z", end="20330106T000000Z", organizer="alice"):
        return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//r//EN", "METHOD:REQUEST",
                            "BEGIN:VFREEBUSY", "UID:fb", "DTSTAMP:20300101T000000Z", f"DTSTART:{start}",
                            f"DTEND:{end}", f"ORGANIZER:mailto:{organizer}@example.org",
                            *[f"ATTENDEE:mailto:{a}" for a in attendees], "END:VFREEBUSY", "END:VCALENDAR", ""])

    r = post("this is not a calendar")
    assert r.status_code == 400 and "valid-calendar-data" in r.text
    r = post(freebusy(["bo@example.org"]), ct="application/json")
    assert r.status_code == 403 and "supported-calendar-data" in r.text
    r = post(freebusy([f"p{n}@example.org" for n in range(51)]))
    assert r.status_code == 403 and "max-attendees-per-instance" in r.text
    r = post(freebusy(["bo@example.org"], start="20330106T000000Z", end="20330105T000000Z"))
    assert r.status_code == 400 and "valid-scheduling-message" in r.text
    r = post(freebusy([]))
    assert r.status_code == 400 and "valid-scheduling-message" in r.text
    r = post("Z" * (17 * 1024 * 1024))
    assert r.status_code == 413
    # Someone else's outbox and inbox are not there at all.
    assert post(freebusy(["alice@example.org"], organizer="bo"), user="bo").status_code == 404
    r = post(freebusy(["bo@example.org"]), user="bo", path="/dav/principals/bo/outbox/")
    assert r.status_code == 403 and "valid-organizer" in r.text, "nobody asks in another's name"
    assert almanac.dav("PROPFIND", "/dav/principals/alice/inbox/", "bo", headers={"Depth": "1"}).status_code == 404
    r = almanac.dav("PROPPATCH", "/dav/principals/alice/inbox/", "bo", body=(
        '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
        "<C:schedule-default-calendar-URL><D:href>/dav/calendars/bo/calendar/</D:href>"
        "</C:schedule-default-calendar-URL></D:prop></D:set></D:propertyupdate>"))
    assert r.status_code == 404
    # The inbox holds messages only the server delivers.
    r = almanac.dav("PUT", "/dav/principals/alice/inbox/forged.ics", "alice", body=invitation("f", "bo", ["alice"]),
                    headers={"Content-Type": "text/calendar"})
    assert r.status_code in (403, 404, 405)
    assert inbox_names(almanac, "alice") == []
    assert almanac.dav("GET", "/healthz").status_code == 200
