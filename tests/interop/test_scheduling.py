"""CalDAV scheduling (RFC 6638) between local accounts, over HTTP on a real
server: invitations land in the attendee's calendar and inbox, answers in
the organizer's copy, updates and cancellations follow, free-busy through
the outbox, and every precondition answers as the RFC says."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
import vobject

OLGA, BORIS, CARL = "olga", "boris", "carl"
USERS = {OLGA: "olga-secret-77", BORIS: "boris-secret-77", CARL: "carl-secret-77"}
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"


@pytest.fixture(scope="module")
def server(start_almanac):
    with start_almanac(USERS) as s:
        yield s


def session(server, user):
    s = requests.Session()
    s.auth = (user, USERS[user])
    return s


def make_calendar(server, user, name):
    r = session(server, user).request("MKCALENDAR", server.calendar_url(user, name))
    assert r.status_code in (201, 405), r.text


def event(uid, *, summary="Planning", start="20320601T100000Z", attendees=(BORIS,), organizer=OLGA,
          extra="", partstats=None):
    partstats = partstats or {}
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20300101T000000Z", f"DTSTART:{start}", "DURATION:PT1H",
        f"SUMMARY:{summary}", f"ORGANIZER;CN={organizer}:mailto:{organizer}@example.org",
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}@example.org",
    ]
    for who in attendees:
        address = who if "@" in who else f"{who}@example.org"
        lines.append(f"ATTENDEE;PARTSTAT={partstats.get(who, 'NEEDS-ACTION')};RSVP=TRUE:mailto:{address}")
    if extra:
        lines.append(extra)
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def put(server, user, calendar, name, body, headers=None):
    return session(server, user).put(
        server.calendar_url(user, calendar) + name,
        data=body.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8", **(headers or {})},
    )


def find_copy(server, user, uid):
    """(url, text, response) of `user`'s copy of `uid`, from any of their calendars."""
    s = session(server, user)
    home = server.home_url(user)
    listing = s.request("PROPFIND", home, headers={"Depth": "1"})
    for href in re.findall(r"<D:href>([^<]+)</D:href>", listing.text):
        if not href.endswith("/") or href == f"/dav/calendars/{user}/":
            continue
        url = server.base_url.rstrip("/") + href
        report = s.request(
            "REPORT", url, headers={"Depth": "1", "Content-Type": "application/xml"},
            data=f"""<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV_NS}"><D:prop><D:getetag/></D:prop>
            <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
            <C:prop-filter name="UID"><C:text-match collation="i;octet">{uid}</C:text-match></C:prop-filter>
            </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>""",
        )
        for item in re.findall(r"<D:href>([^<]+\.ics)</D:href>", report.text):
            item_url = server.base_url.rstrip("/") + item
            got = s.get(item_url)
            return item_url, got.text, got
    return None, None, None


def inbox(server, user):
    """The methods and texts of the messages in `user`'s inbox."""
    s = session(server, user)
    url = f"{server.base_url}dav/principals/{user}/inbox/"
    listing = s.request("PROPFIND", url, headers={"Depth": "1"})
    assert listing.status_code == 207, listing.text
    messages = []
    for href in re.findall(r"<D:href>([^<]+\.ics)</D:href>", listing.text):
        text = s.get(server.base_url.rstrip("/") + href).text
        method = re.search(r"METHOD:(\w+)", text).group(1)
        messages.append((method, text, server.base_url.rstrip("/") + href))
    return messages


def partstat(text, who):
    cal = vobject.readOne(text)
    for attendee in cal.vevent.contents.get("attendee", []):
        if attendee.value.lower() == f"mailto:{who}@example.org":
            return attendee.params.get("PARTSTAT", ["NEEDS-ACTION"])[0]
    return None


def error_condition(response):
    match = re.search(r"<(?:C|D):([a-z-]+)\s*/?>", response.text.split("<D:error", 1)[-1]) if "<D:error" in response.text else None
    return match.group(1) if match else None


def test_discovery(server):
    s = session(server, OLGA)
    assert "calendar-auto-schedule" in s.options(server.dav_url).headers["DAV"]
    r = s.request("PROPFIND", f"{server.base_url}dav/principals/{OLGA}/", headers={"Depth": "0"}, data=f"""
        <D:propfind xmlns:D="DAV:" xmlns:C="{CALDAV_NS}"><D:prop><C:schedule-inbox-URL/><C:schedule-outbox-URL/>
        <C:calendar-user-address-set/></D:prop></D:propfind>""")
    assert f"/dav/principals/{OLGA}/inbox/" in r.text and f"/dav/principals/{OLGA}/outbox/" in r.text
    assert f"mailto:{OLGA}@example.org" in r.text
    r = s.request("PROPFIND", f"{server.base_url}dav/principals/{OLGA}/inbox/", headers={"Depth": "0"})
    assert "schedule-inbox" in r.text
    # Another account's mailboxes are invisible.
    assert s.request("PROPFIND", f"{server.base_url}dav/principals/{BORIS}/inbox/").status_code == 404


def test_invite_answer_update_cancel(server):
    make_calendar(server, OLGA, "work")
    uid = f"meet-{uuid.uuid4()}"
    r = put(server, OLGA, "work", f"{uid}.ics", event(uid))
    assert r.status_code == 201, r.text
    assert r.headers.get("Schedule-Tag"), "RFC 6638 §3.2.10: a PUT of a scheduling object returns Schedule-Tag"
    assert "ETag" not in r.headers, "the stored copy carries SCHEDULE-STATUS, so it is not what was sent"
    stored = session(server, OLGA).get(server.calendar_url(OLGA, "work") + f"{uid}.ics").text
    assert "SCHEDULE-STATUS=1.2" in stored.replace("\r\n ", "")

    url, copy, got = find_copy(server, BORIS, uid)
    assert copy is not None, "the invitation is in Boris's calendar"
    assert partstat(copy, BORIS) == "NEEDS-ACTION"
    tag = got.headers["Schedule-Tag"]
    assert [m for m, text, _ in inbox(server, BORIS) if uid in text] == ["REQUEST"]

    # Boris accepts in his calendar app: the organizer's copy says so, and
    # the organizer's inbox has the REPLY. Boris's Schedule-Tag stays.
    answered = copy.replace("PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:boris", "PARTSTAT=ACCEPTED:mailto:boris")
    assert partstat(answered, BORIS) == "ACCEPTED"
    r = session(server, BORIS).put(url, data=answered.encode(), headers={
        "Content-Type": "text/calendar", "If-Schedule-Tag-Match": tag})
    assert r.status_code == 204, r.text
    assert r.headers["Schedule-Tag"] == tag
    organizer_copy = session(server, OLGA).get(server.calendar_url(OLGA, "work") + f"{uid}.ics")
    assert partstat(organizer_copy.text, BORIS) == "ACCEPTED"
    assert [m for m, text, _ in inbox(server, OLGA) if uid in text] == ["REPLY"]

    # The organizer moves the meeting: Boris's copy follows, with a new tag.
    moved = organizer_copy.text.replace("DTSTART:20320601T100000Z", "DTSTART:20320602T100000Z")
    assert put(server, OLGA, "work", f"{uid}.ics", moved).status_code == 204
    _, copy, got = find_copy(server, BORIS, uid)
    assert "DTSTART:20320602T100000Z" in copy and got.headers["Schedule-Tag"] != tag

    # A stale Schedule-Tag is refused.
    r = session(server, BORIS).put(url, data=answered.encode(), headers={
        "Content-Type": "text/calendar", "If-Schedule-Tag-Match": tag})
    assert r.status_code == 412

    # Boris is taken off: his copy is cancelled and his inbox says so.
    current = session(server, OLGA).get(server.calendar_url(OLGA, "work") + f"{uid}.ics").text
    without = "\r\n".join(l for l in current.replace("\r\n ", "").split("\r\n") if "mailto:boris" not in l)
    assert put(server, OLGA, "work", f"{uid}.ics", without).status_code == 204
    _, copy, _ = find_copy(server, BORIS, uid)
    assert "STATUS:CANCELLED" in copy
    assert "CANCEL" in [m for m, text, _ in inbox(server, BORIS) if uid in text]


def test_organizer_delete_cancels_and_attendee_delete_declines(server):
    make_calendar(server, OLGA, "work")
    uid = f"del-{uuid.uuid4()}"
    assert put(server, OLGA, "work", f"{uid}.ics", event(uid, attendees=(BORIS, CARL))).status_code == 201
    # Carl deletes his copy: he declines.
    carl_url, _, _ = find_copy(server, CARL, uid)
    assert session(server, CARL).delete(carl_url).status_code == 204
    organizer_copy = session(server, OLGA).get(server.calendar_url(OLGA, "work") + f"{uid}.ics").text
    assert partstat(organizer_copy, CARL) == "DECLINED"
    # Olga deletes the event: Boris's copy is cancelled.
    assert session(server, OLGA).delete(server.calendar_url(OLGA, "work") + f"{uid}.ics").status_code == 204
    _, copy, _ = find_copy(server, BORIS, uid)
    assert "STATUS:CANCELLED" in copy


def test_recurring_series_with_one_changed_occurrence(server):
    make_calendar(server, OLGA, "work")
    uid = f"series-{uuid.uuid4()}"
    series = event(uid, extra="RRULE:FREQ=WEEKLY;COUNT=4").replace(
        "END:VEVENT\r\nEND:VCALENDAR",
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nRECURRENCE-ID:20320608T100000Z\r\n"
        "DTSTAMP:20300101T000000Z\r\nDTSTART:20320608T140000Z\r\nDURATION:PT1H\r\nSUMMARY:Planning (late)\r\n"
        "ORGANIZER:mailto:olga@example.org\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:boris@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR",
    )
    assert put(server, OLGA, "work", f"{uid}.ics", series).status_code == 201
    url, copy, _ = find_copy(server, BORIS, uid)
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in copy
    assert "RECURRENCE-ID:20320608T100000Z" in copy and "DTSTART:20320608T140000Z" in copy

    # Boris declines the third meeting only, as calendar apps do: an
    # override of his own. Olga's copy gets that occurrence, declined.
    declined = copy.replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:" + uid + "\r\nRECURRENCE-ID:20320615T100000Z\r\n"
        "DTSTAMP:20300101T000000Z\r\nDTSTART:20320615T100000Z\r\nDURATION:PT1H\r\nSUMMARY:Planning\r\n"
        "ORGANIZER;CN=olga:mailto:olga@example.org\r\nATTENDEE;PARTSTAT=DECLINED:mailto:boris@example.org\r\n"
        "END:VEVENT\r\nEND:VCALENDAR")
    r = session(server, BORIS).put(url, data=declined.encode(), headers={"Content-Type": "text/calendar"})
    assert r.status_code == 204, r.text
    organizer_copy = session(server, OLGA).get(server.calendar_url(OLGA, "work") + f"{uid}.ics").text
    occurrences = {
        str(e.contents["recurrence-id"][0].value) if "recurrence-id" in e.contents else "series": e
        for e in vobject.readComponents(organizer_copy).__next__().vevent_list
    }
    declined_one = next(e for k, e in occurrences.items() if k.startswith("2032-06-15"))
    boris = next(a for a in declined_one.contents["attendee"] if "boris" in a.value)
    assert boris.params["PARTSTAT"] == ["DECLINED"]
    assert partstat(organizer_copy, BORIS) == "NEEDS-ACTION", "the rest of the series is still open"


def test_freebusy_through_the_outbox(server):
    make_calendar(server, BORIS, "busy")
    assert put(server, BORIS, "busy", "b.ics", "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:boris-busy",
        "DTSTAMP:20300101T000000Z", "DTSTART:20330105T090000Z", "DTEND:20330105T100000Z",
        "SUMMARY:Private", "END:VEVENT", "END:VCALENDAR", ""])).status_code == 201
    request = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "METHOD:REQUEST", "BEGIN:VFREEBUSY",
        "UID:fb-1", "DTSTAMP:20300101T000000Z", "DTSTART:20330105T000000Z", "DTEND:20330106T000000Z",
        "ORGANIZER:mailto:olga@example.org", "ATTENDEE:mailto:boris@example.org",
        "ATTENDEE:mailto:nobody@example.net", "END:VFREEBUSY", "END:VCALENDAR", ""])
    outbox = f"{server.base_url}dav/principals/{OLGA}/outbox/"
    r = session(server, OLGA).post(outbox, data=request.encode(), headers={"Content-Type": "text/calendar"})
    assert r.status_code == 200, r.text
    assert "2.0;Success" in r.text and "3.7;Invalid calendar user" in r.text
    assert "FREEBUSY:20330105T090000Z/20330105T100000Z" in r.text
    assert "Private" not in r.text, "free-busy shows times, never titles"
    # The ORGANIZER must be the sender (CALDAV:valid-organizer) ...
    forged = request.replace("ORGANIZER:mailto:olga@", "ORGANIZER:mailto:carl@")
    r = session(server, OLGA).post(outbox, data=forged.encode(), headers={"Content-Type": "text/calendar"})
    assert r.status_code == 403 and "valid-organizer" in r.text
    # ... and the outbox takes free-busy requests only (CALDAV:valid-scheduling-message).
    r = session(server, OLGA).post(outbox, data=event("x").encode(), headers={"Content-Type": "text/calendar"})
    assert r.status_code == 400 and "valid-scheduling-message" in r.text


def test_preconditions(server):
    make_calendar(server, OLGA, "work")
    make_calendar(server, OLGA, "other")
    uid = f"pre-{uuid.uuid4()}"
    assert put(server, OLGA, "work", f"{uid}.ics", event(uid)).status_code == 201
    # unique-scheduling-object-resource: the same UID in another calendar.
    r = put(server, OLGA, "other", f"{uid}.ics", event(uid))
    assert r.status_code == 403 and "unique-scheduling-object-resource" in r.text
    # ... also by COPY (a MOVE keeps one copy, so it may).
    source = server.calendar_url(OLGA, "work") + f"{uid}.ics"
    r = session(server, OLGA).request("COPY", source, headers={"Destination": server.calendar_url(OLGA, "other") + "copy.ics"})
    assert r.status_code == 403 and "unique-scheduling-object-resource" in r.text
    moved_uid = f"move-{uuid.uuid4()}"
    assert put(server, OLGA, "work", f"{moved_uid}.ics", event(moved_uid)).status_code == 201
    r = session(server, OLGA).request("MOVE", server.calendar_url(OLGA, "work") + f"{moved_uid}.ics",
                                      headers={"Destination": server.calendar_url(OLGA, "other") + f"{moved_uid}.ics"})
    assert r.status_code == 201, r.text
    # same-organizer-in-all-components
    mixed = event(uid).replace("END:VEVENT\r\nEND:VCALENDAR",
        "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nRECURRENCE-ID:20320601T100000Z\r\nDTSTAMP:20300101T000000Z\r\n"
        "DTSTART:20320601T100000Z\r\nORGANIZER:mailto:carl@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR")
    r = put(server, OLGA, "work", f"{uid}.ics", mixed)
    assert r.status_code == 403 and "same-organizer-in-all-components" in r.text
    # allowed-organizer-scheduling-object-change: the organizer cannot answer for Boris.
    r = put(server, OLGA, "work", f"{uid}.ics", event(uid, partstats={BORIS: "ACCEPTED"}))
    assert r.status_code == 403 and "allowed-organizer-scheduling-object-change" in r.text
    # allowed-attendee-scheduling-object-change: Boris cannot move Olga's meeting.
    url, copy, _ = find_copy(server, BORIS, uid)
    r = session(server, BORIS).put(url, data=copy.replace("DTSTART:20320601T100000Z", "DTSTART:20320601T120000Z").encode(),
                                   headers={"Content-Type": "text/calendar"})
    assert r.status_code == 403 and "allowed-attendee-scheduling-object-change" in r.text
    # valid-schedule-default-calendar-URL: only one's own calendar.
    inbox_url = f"{server.base_url}dav/principals/{BORIS}/inbox/"
    body = lambda href: f"""<D:propertyupdate xmlns:D="DAV:" xmlns:C="{CALDAV_NS}"><D:set><D:prop>
        <C:schedule-default-calendar-URL><D:href>{href}</D:href></C:schedule-default-calendar-URL>
        </D:prop></D:set></D:propertyupdate>"""
    r = session(server, BORIS).request("PROPPATCH", inbox_url, data=body(f"/dav/calendars/{OLGA}/work/"))
    assert r.status_code == 403 and "valid-schedule-default-calendar-URL" in r.text
    # default-calendar-needed: invitations always have somewhere to land.
    r = session(server, BORIS).request("PROPPATCH", inbox_url, data=f"""<D:propertyupdate xmlns:D="DAV:"
        xmlns:C="{CALDAV_NS}"><D:remove><D:prop><C:schedule-default-calendar-URL/></D:prop></D:remove>
        </D:propertyupdate>""")
    assert r.status_code == 403 and "default-calendar-needed" in r.text
    make_calendar(server, BORIS, "invites")
    r = session(server, BORIS).request("PROPPATCH", inbox_url, data=body(f"/dav/calendars/{BORIS}/invites/"))
    assert r.status_code == 207, r.text
    uid2 = f"pre2-{uuid.uuid4()}"
    assert put(server, OLGA, "work", f"{uid2}.ics", event(uid2)).status_code == 201
    url, _, _ = find_copy(server, BORIS, uid2)
    assert f"/dav/calendars/{BORIS}/invites/" in url, "new invitations land in the chosen calendar"


def test_inbox_messages_can_be_read_and_deleted(server):
    messages = inbox(server, BORIS)
    assert messages, "earlier tests delivered invitations"
    _, _, url = messages[0]
    assert session(server, BORIS).delete(url).status_code == 204
    assert session(server, BORIS).get(url).status_code == 404
    # Nobody else reads or deletes them.
    assert session(server, CARL).get(messages[-1][2]).status_code == 404


def test_external_attendees_are_mailed_within_an_hourly_allowance(server):
    make_calendar(server, CARL, "team")
    statuses = []
    for round_ in range(3):
        uid = f"ext-{round_}-{uuid.uuid4()}"
        guests = [f"guest{round_}-{i}@elsewhere.example" for i in range(45)]
        r = put(server, CARL, "team", f"{uid}.ics", event(uid, organizer=CARL, attendees=guests))
        statuses.append(r.status_code)
        if r.status_code == 201:
            stored = session(server, CARL).get(server.calendar_url(CARL, "team") + f"{uid}.ics").text
            assert "SCHEDULE-STATUS=1.1" in stored.replace("\r\n ", ""), "sent by mail"
        else:
            assert r.status_code == 403 and "invitations in the last hour" in r.text, r.text
    assert statuses == [201, 201, 403]


def test_local_users_with_the_python_caldav_library(server):
    """The same round with python caldav, as a script or app would use it:
    invite, auto-delivery, answer, update, one changed occurrence, removal,
    cancellation and free-busy."""
    import caldav
    from datetime import datetime, timedelta, timezone

    def client(user):
        return caldav.DAVClient(url=server.dav_url, username=user, password=USERS[user])

    with client(OLGA) as olga_client, client(CARL) as carl_client:
        olga, carl = olga_client.principal(), carl_client.principal()
        assert olga_client.check_scheduling_support()
        assert str(carl.get_vcal_address()).lower() == f"mailto:{CARL}@example.org"
        olga_calendar = olga.make_calendar(name="Library round", cal_id="library-round")
        uid = f"lib-{uuid.uuid4()}"
        ics = "\r\n".join([
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//lib//EN", "BEGIN:VEVENT", f"UID:{uid}",
            "DTSTAMP:20300101T000000Z", "DTSTART:20330301T090000Z", "DURATION:PT1H", "SUMMARY:Library sync",
            "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT", "END:VCALENDAR", ""])
        olga_calendar.save_with_invites(ics, [olga, carl.get_vcal_address()])

        # Auto-delivery: in Carl's calendar, and a REQUEST in his inbox.
        carl_event = next(e for c in carl.calendars() for e in c.get_events() if e.id == uid)
        requests_in = [m for m in carl.schedule_inbox().get_items() if m.id == uid]
        assert requests_in and requests_in[-1].is_invite_request()

        # Carl accepts through the library: Olga's copy says so.
        carl_event.change_attendee_status(carl, partstat="ACCEPTED")
        carl_event.save(increase_seqno=False)
        olga_event = olga_calendar.event_by_uid(uid)
        olga_event.load()
        assert partstat(olga_event.data, CARL) == "ACCEPTED"
        assert any(m.is_invite_reply() for m in olga.schedule_inbox().get_items() if m.id == uid)

        # Olga renames the series and moves its second meeting: Carl's copy follows.
        component = olga_event.icalendar_component
        component["SUMMARY"] = "Library sync (renamed)"
        olga_event.save()
        changed = olga_event.data.replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:" + uid + "\r\n"
            "RECURRENCE-ID:20330302T090000Z\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20330302T150000Z\r\n"
            "DURATION:PT1H\r\nSUMMARY:Library sync (late)\r\nORGANIZER:mailto:olga@example.org\r\n"
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{CARL}@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR")
        olga_event.data = changed
        olga_event.save(increase_seqno=False)
        carl_event.load()
        assert "Library sync (renamed)" in carl_event.data
        assert "RECURRENCE-ID:20330302T090000Z" in carl_event.data and "Library sync (late)" in carl_event.data

        # Free-busy of Carl through Olga's outbox: the moved meeting is busy.
        start = datetime(2033, 3, 2, tzinfo=timezone.utc)
        answers = olga.freebusy_request(start, start + timedelta(days=1), [carl.get_vcal_address()])
        busy = str(answers[f"mailto:{CARL}@example.org"].data)
        assert "20330302T150000Z/20330302T160000Z" in busy

        # Olga takes Carl off: his copy is cancelled; then deleting sends nothing more.
        olga_event.load()
        unfolded = re.sub(r"\r?\n[ \t]", "", olga_event.data)
        olga_event.data = "\r\n".join(l for l in unfolded.splitlines() if f"mailto:{CARL}@" not in l) + "\r\n"
        olga_event.save()
        carl_event.load()
        assert "STATUS:CANCELLED" in carl_event.data
        assert any(m.icalendar_instance.get("method") == "CANCEL"
                   for m in carl.schedule_inbox().get_items() if m.id == uid)


def test_copy_and_move_follow_the_rfc(server):
    """RFC 6638 §3.2.3.3-4: into a calendar from a plain collection an
    object schedules as a new one; out of the calendars, as a deletion;
    between calendars, nothing; If-Schedule-Tag-Match holds for COPY and MOVE."""
    s = session(server, OLGA)
    make_calendar(server, OLGA, "work")
    drafts = server.home_url(OLGA) + "drafts/"
    assert s.request("MKCOL", drafts).status_code in (201, 405)
    uid = f"draft-{uuid.uuid4()}"
    assert s.put(drafts + "d.ics", data=event(uid).encode(), headers={"Content-Type": "text/calendar"}).status_code == 201
    assert find_copy(server, BORIS, uid)[1] is None, "a file in a plain collection schedules nothing"
    target = server.calendar_url(OLGA, "work") + f"{uid}.ics"
    r = s.request("MOVE", drafts + "d.ics", headers={"Destination": target})
    assert r.status_code == 201, r.text
    _, copy, _ = find_copy(server, BORIS, uid)
    assert copy is not None and partstat(copy, BORIS) == "NEEDS-ACTION"
    stored = s.get(target)
    assert "SCHEDULE-STATUS=1.2" in stored.text.replace("\r\n ", "")

    # A stale Schedule-Tag stops a COPY or MOVE.
    for method in ("COPY", "MOVE"):
        r = s.request(method, target, headers={"Destination": drafts + "x.ics", "If-Schedule-Tag-Match": '"stale"'})
        assert r.status_code == 412, (method, r.status_code)
    # Out of the calendars: Boris's copy is cancelled.
    r = s.request("MOVE", target, headers={"Destination": drafts + "back.ics",
                                           "If-Schedule-Tag-Match": stored.headers["Schedule-Tag"]})
    assert r.status_code == 201, r.text
    _, copy, _ = find_copy(server, BORIS, uid)
    assert "STATUS:CANCELLED" in copy
