"""Invitations by mail to guests without an account (iMIP, RFC 6047): the
mail's MIME structure and its text/calendar part (read with the icalendar
library), the answer link that changes the organizer's copy and tells the
organizer, a link used twice or tampered with, a guest taken off, and the
hourly limit on invitations an account may send."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import icalendar
import pytest
import requests

from almanac_robust import PASSWORD, Almanac

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_-]{43}")


def log_in(server: Almanac, name: str = "alice") -> requests.Session:
    browser = requests.Session()
    form = browser.get(server.url("/login"), timeout=30).text
    done = browser.post(server.url("/login"), data={"csrf": CSRF.search(form).group(1), "name": name,
                                                    "password": PASSWORD}, timeout=30, allow_redirects=False)
    assert done.status_code == 303, done.status_code
    return browser


def event_form(csrf: str, **overrides: str) -> dict:
    fields = {
        "csrf": csrf, "calendar": "calendar", "title": "Untitled", "location": "", "description": "",
        "start_date": "2027-03-02", "start_time": "09:00", "end_date": "2027-03-02", "end_time": "10:00",
        "tz": "Europe/Berlin", "repeat": "none", "interval": "1", "ends": "never", "until": "", "count": "",
        "action": "save", "reminder": "-PT15M",
    }
    fields.update(overrides)
    return fields


def mails(server: Almanac) -> list[email.message.EmailMessage]:
    outbox = Path(server.data_dir) / "outbox"
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(outbox.glob("*.eml"))] if outbox.exists() else []


def to(server: Almanac, address: str, subject_start: str) -> list[email.message.EmailMessage]:
    return [m for m in mails(server) if str(m["To"]) == address and str(m["Subject"]).startswith(subject_start)]


def calendar_part(mail: email.message.EmailMessage) -> tuple[str, icalendar.Calendar]:
    parts = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in mail.walk()]
    return parts[0].get_param("method"), icalendar.Calendar.from_ical(parts[0].get_content())


def stored_events(server: Almanac) -> list[icalendar.Event]:
    report = server.dav("REPORT", "/dav/calendars/alice/calendar/", "alice", headers={"Depth": "1"}, body=(
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
        '<C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>'))
    assert report.status_code == 207
    found = []
    for text in re.findall(r"<(?:\w+:)?calendar-data[^>]*>(.*?)</(?:\w+:)?calendar-data>", report.text, re.S):
        text = text.replace("&#13;", "\r").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        found.extend(icalendar.Calendar.from_ical(text).walk("VEVENT"))
    return found


def stored_event(server: Almanac, title: str) -> icalendar.Event:
    for event in stored_events(server):
        if str(event["SUMMARY"]) == title:
            return event
    raise AssertionError(f"no event {title!r} over CalDAV")


def partstat(event: icalendar.Event, address: str) -> str | None:
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    for attendee in attendees:
        if str(attendee).lower() == f"mailto:{address}":
            return attendee.params.get("PARTSTAT")
    return None


def reply_mail(uid: str, guest: str, partstat: str) -> str:
    """A REPLY as mail programs send it: multipart, the calendar part in base64."""
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    reply = icalendar.Calendar()
    reply.add("prodid", "-//Mail program//EN")
    reply.add("version", "2.0")
    reply.add("method", "REPLY")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", icalendar.vDatetime.from_ical("20270101T000000Z"))
    attendee = icalendar.vCalAddress(f"mailto:{guest}")
    attendee.params["PARTSTAT"] = partstat
    event.add("attendee", attendee)
    reply.add_component(event)
    mail = MIMEMultipart("mixed")
    mail["From"] = guest
    mail["To"] = "alice@example.org"
    mail["Subject"] = "Re: Invitation"
    mail.attach(MIMEText("My answer.", "plain"))
    part = MIMEText(reply.to_ical().decode(), "calendar", "utf-8")
    part.set_param("method", "REPLY")
    mail.attach(part)
    return mail.as_string()


@pytest.mark.backends("sqlite")
def test_a_guest_answers_by_link_and_the_organizer_sees_it(make_almanac, backend):
    server = make_almanac(backend=backend)
    browser = log_in(server)
    page = browser.get(server.url("/calendar/new"), timeout=30).text
    saved = browser.post(server.url("/calendar/events"), data=event_form(
        CSRF.search(page).group(1), title="Planning lunch", guests="Bo@Example.net, cy@example.org"),
        timeout=30, allow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]

    [invitation] = to(server, "bo@example.net", "Invitation: Planning lunch")
    assert invitation.get_content_type() == "multipart/alternative"
    assert str(invitation["Reply-To"]) == "alice@example.org", "answers by mail go to the organizer"
    method, itip = calendar_part(invitation)
    assert method == "REQUEST" and str(itip["METHOD"]) == "REQUEST"
    [event] = itip.walk("VEVENT")
    assert str(event["ORGANIZER"]).lower() == "mailto:alice@example.org"
    assert partstat(event, "bo@example.net") == "NEEDS-ACTION"
    assert not event.walk("VALARM"), "the organizer's own reminder is not sent along"
    assert len(to(server, "cy@example.org", "Invitation:")) == 1
    body = invitation.get_body(preferencelist=("plain",)).get_content()
    link = LINK.search(body).group(0)
    assert [p.get_content_type() for p in invitation.iter_parts()] == ["text/plain", "text/html", "text/calendar"]
    html = invitation.get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{link}">' in html, "the answer link is clickable in the HTML part"

    guest = requests.Session()  # no account, no log-in
    shown = guest.get(link, timeout=30)
    assert shown.status_code == 200 and "Planning lunch" in shown.text and "Will you come?" in shown.text
    assert partstat(stored_event(server, "Planning lunch"), "bo@example.net") == "NEEDS-ACTION", \
        "opening the link (as a mail scanner does) answers nothing"
    answered = guest.post(link, data={"csrf": CSRF.search(shown.text).group(1), "answer": "accepted"}, timeout=30)
    assert answered.status_code == 200 and "Thank you" in answered.text
    assert partstat(stored_event(server, "Planning lunch"), "bo@example.net") == "ACCEPTED"
    assert partstat(stored_event(server, "Planning lunch"), "cy@example.org") == "NEEDS-ACTION"
    assert len(to(server, "alice@example.org", "bo@example.net accepted")) == 1, "the organizer is told"

    again = guest.post(link, data={"csrf": CSRF.search(shown.text).group(1), "answer": "declined"}, timeout=30)
    assert again.status_code == 409 and "answered already" in again.text
    assert partstat(stored_event(server, "Planning lunch"), "bo@example.net") == "ACCEPTED", "a second use changes nothing"
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    assert guest.get(tampered, timeout=30).status_code == 404
    assert guest.post(tampered, data={"csrf": CSRF.search(shown.text).group(1), "answer": "declined"},
                      timeout=30).status_code == 404
    assert guest.get(server.url("/invitations/short"), timeout=30).status_code == 404

    # Cy answers from a mail program: an iTIP REPLY mailed back, fed to the
    # mail intake as the mail server's pipe would.
    [cy_invitation] = to(server, "cy@example.org", "Invitation: Planning lunch")
    uid = str(calendar_part(cy_invitation)[1].walk("VEVENT")[0]["UID"])
    intake = server.cli("mail-intake", stdin=reply_mail(uid, "cy@example.org", "TENTATIVE"))
    assert intake.returncode == 0, intake.stderr
    assert partstat(stored_event(server, "Planning lunch"), "cy@example.org") == "TENTATIVE"
    assert len(to(server, "alice@example.org", "cy@example.org said maybe to")) == 1
    stranger = server.cli("mail-intake", stdin=reply_mail(uid, "eve@example.com", "ACCEPTED"))
    assert stranger.returncode == 65 and "matches no invitation" in stranger.stderr, "only invited guests answer"
    assert "eve@example.com" not in str(stored_event(server, "Planning lunch").to_ical())
    garbled = server.cli("mail-intake", stdin="this is not a mail with a calendar")
    assert garbled.returncode == 65

    # Cy is taken off the list: Cy is told, Bo keeps the answer.
    events = browser.get(server.url("/calendar?view=agenda&date=2027-03-01"), timeout=30).text
    edit = re.search(r'href="(/calendar/events/calendar/[^"?]+)', events).group(1)
    form = browser.get(server.url(edit), timeout=30).text
    assert "bo@example.net" in form and "accepted" in form, "the form shows the guests and their answers"
    changed = browser.post(server.url(edit), data=event_form(
        CSRF.search(form).group(1), title="Planning lunch", guests="bo@example.net", scope="all"),
        timeout=30, allow_redirects=False)
    assert changed.status_code == 303
    [cancel] = to(server, "cy@example.org", "Cancelled: Planning lunch")
    assert calendar_part(cancel)[0] == "CANCEL"
    assert partstat(stored_event(server, "Planning lunch"), "bo@example.net") == "ACCEPTED"
    assert partstat(stored_event(server, "Planning lunch"), "cy@example.org") is None


@pytest.mark.backends("sqlite")
def test_an_account_may_send_a_limited_number_of_invitations(make_almanac, backend):
    server = make_almanac(backend=backend)
    browser = log_in(server)
    page = browser.get(server.url("/calendar/new"), timeout=30).text
    csrf = CSRF.search(page).group(1)
    for batch in range(2):
        guests = ", ".join(f"guest{batch}-{n}@example.net" for n in range(50))
        saved = browser.post(server.url("/calendar/events"), data=event_form(
            csrf, title=f"Big meeting {batch}", guests=guests), timeout=30, allow_redirects=False)
        assert saved.status_code == 303, saved.text[:300]
    over = browser.post(server.url("/calendar/events"), data=event_form(
        csrf, title="One too many", guests="late@example.net"), timeout=30, allow_redirects=False)
    assert over.status_code == 429
    assert "100 invitations in the last hour" in over.text
    assert not to(server, "late@example.net", "Invitation:"), "nothing is mailed"
    titles = [str(e["SUMMARY"]) for e in stored_events(server)]
    assert "Big meeting 1" in titles and "One too many" not in titles, "the refused event is not saved"
    too_many = ", ".join(f"crowd{n}@example.net" for n in range(51))
    refused = browser.post(server.url("/calendar/events"), data=event_form(csrf, title="Crowd", guests=too_many),
                           timeout=30, allow_redirects=False)
    assert refused.status_code == 422 and "at most 50" in refused.text
    bad = browser.post(server.url("/calendar/events"), data=event_form(csrf, title="Bad", guests="not an address"),
                       timeout=30, allow_redirects=False)
    assert bad.status_code == 422


@pytest.mark.backends("sqlite")
def test_a_guest_with_an_account_gets_the_event_in_their_calendar(make_almanac, backend):
    """A guest added on the web form who has an account here is invited the
    CalDAV scheduling way (RFC 6638): the event lands in their calendar,
    waiting for an answer, and the REQUEST in their inbox; no mail. Their
    answer from a calendar app reaches the organizer's copy."""
    server = make_almanac(backend=backend)
    server.add_user("bora")
    browser = log_in(server)
    page = browser.get(server.url("/calendar/new"), timeout=30).text
    saved = browser.post(server.url("/calendar/events"), data=event_form(
        CSRF.search(page).group(1), title="Team review", guests="bora@example.org"),
        timeout=30, allow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    assert to(server, "bora@example.org", "Invitation:") == [], "an account here is not mailed"

    listing = server.dav("PROPFIND", "/dav/calendars/bora/calendar/", "bora", headers={"Depth": "1"})
    [href] = re.findall(r"<D:href>([^<]+\.ics)</D:href>", listing.text)
    copy = server.dav("GET", href, "bora")
    assert copy.status_code == 200 and "Team review" in copy.text
    [event] = icalendar.Calendar.from_ical(copy.text).walk("VEVENT")
    assert partstat(event, "bora@example.org") == "NEEDS-ACTION"
    inbox = server.dav("PROPFIND", "/dav/principals/bora/inbox/", "bora", headers={"Depth": "1"})
    [message] = re.findall(r"<D:href>([^<]+\.ics)</D:href>", inbox.text)
    assert "METHOD:REQUEST" in server.dav("GET", message, "bora").text

    unfolded = copy.text.replace("\r\n ", "")
    lines = [line.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED") if line.startswith("ATTENDEE") and
             "bora@example.org" in line else line for line in unfolded.split("\r\n")]
    accepted = "\r\n".join(lines)
    answered = server.dav("PUT", href, "bora", headers={"Content-Type": "text/calendar"}, body=accepted)
    assert answered.status_code == 204, answered.text
    assert partstat(stored_event(server, "Team review"), "bora@example.org") == "ACCEPTED"

    # Alice moves the meeting on the web: Bora's copy follows, keeping her
    # answer, and a guest elsewhere gets the update by mail.
    events = browser.get(server.url("/calendar?view=agenda&date=2027-03-01"), timeout=30).text
    edit = re.search(r'href="(/calendar/events/calendar/[^"?]+)', events).group(1)
    form = browser.get(server.url(edit), timeout=30).text
    moved = browser.post(server.url(edit), data=event_form(
        CSRF.search(form).group(1), title="Team review", start_time="11:00", end_time="12:00",
        guests="bora@example.org, dan@elsewhere.example", scope="all"), timeout=30, allow_redirects=False)
    assert moved.status_code == 303, moved.text[:300]
    [event] = icalendar.Calendar.from_ical(server.dav("GET", href, "bora").text).walk("VEVENT")
    assert (event["DTSTART"].dt.hour, str(event["DTSTART"].dt.tzinfo)) == (11, "Europe/Berlin"), "moved from 09:00"
    assert partstat(event, "bora@example.org") == "ACCEPTED"
    assert len(to(server, "dan@elsewhere.example", "Invitation: Team review")) == 1

    # Alice deletes it on the web: Bora's copy is cancelled, Dan is told.
    form = browser.get(server.url(edit), timeout=30).text
    deleted = browser.post(server.url(edit), data=event_form(
        CSRF.search(form).group(1), title="Team review", action="delete", scope="all"),
        timeout=30, allow_redirects=False)
    assert deleted.status_code == 303, deleted.text[:300]
    assert "STATUS:CANCELLED" in server.dav("GET", href, "bora").text
    assert len(to(server, "dan@elsewhere.example", "Cancelled: Team review")) == 1


@pytest.mark.backends("sqlite")
def test_an_invitation_is_answered_from_the_web_calendar(make_almanac, backend):
    """Bora answers Alice's invitation on her event's page; the answer
    reaches Alice's copy and inbox. Nobody answers for her, or what is not
    an invitation; Alice's next form offers Bora as an earlier guest."""
    server = make_almanac(backend=backend)
    server.add_user("bora")
    uid = "web-answer-1"
    invite = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20270101T000000Z", "DTSTART:20270302T090000Z", "DTEND:20270302T100000Z", "SUMMARY:Budget",
        "ORGANIZER;CN=Alice Example:mailto:alice@example.org",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bora@example.org", "END:VEVENT", "END:VCALENDAR", ""])
    put = server.dav("PUT", "/dav/calendars/alice/calendar/budget.ics", "alice", body=invite,
                     headers={"Content-Type": "text/calendar"})
    assert put.status_code == 201, put.text

    bora = log_in(server, "bora")
    agenda = bora.get(server.url("/calendar?view=agenda&date=2027-03-01"), timeout=30).text
    edit = re.search(r'href="(/calendar/events/calendar/[^"?]+)', agenda).group(1)
    page = bora.get(server.url(edit), timeout=30).text
    assert "Invitation from Alice Example" in page and "not answered yet" in page
    csrf = CSRF.search(page).group(1)
    assert bora.post(server.url(edit + "/answer"), data={"csrf": csrf, "answer": "maybe-later"},
                     timeout=30).status_code == 404, "only the three answers"
    assert bora.post(server.url(edit + "/answer"), data={"csrf": "forged", "answer": "accepted"},
                     timeout=30).status_code == 403, "no answer without the form's token"
    answered = bora.post(server.url(edit + "/answer"), data={"csrf": csrf, "answer": "accepted"},
                         timeout=30, allow_redirects=False)
    assert answered.status_code == 303 and answered.headers["Location"].endswith("?done=answered")
    page = bora.get(server.url(answered.headers["Location"]), timeout=30).text
    assert "Your answer: <strong>accepted</strong>" in page and "on its way to the organizer" in page
    assert partstat(stored_event(server, "Budget"), "bora@example.org") == "ACCEPTED"
    inbox = server.dav("PROPFIND", "/dav/principals/alice/inbox/", "alice", headers={"Depth": "1"})
    [reply] = re.findall(r"<D:href>([^<]+\.ics)</D:href>", inbox.text)
    assert "METHOD:REPLY" in server.dav("GET", reply, "alice").text

    # Alice's own event has no answer buttons, and cannot be answered.
    alice = log_in(server)
    own = alice.get(server.url("/calendar/events/calendar/budget.ics"), timeout=30).text
    assert "Invitation from" not in own
    refused = alice.post(server.url("/calendar/events/calendar/budget.ics/answer"),
                         data={"csrf": CSRF.search(own).group(1), "answer": "declined"}, timeout=30)
    assert refused.status_code == 404
    # Bora cannot reach Alice's calendar through her own session.
    assert bora.post(server.url("/calendar/events/calendar/budget.ics/answer"),
                     data={"csrf": csrf, "answer": "declined"}, timeout=30).status_code == 404
    assert partstat(stored_event(server, "Budget"), "bora@example.org") == "ACCEPTED"

    # Alice's next event offers Bora as an earlier guest, and adding her works.
    form = alice.get(server.url("/calendar/new"), timeout=30).text
    assert '<datalist id="earlier-guests"><option value="bora@example.org"></option></datalist>' in form
    saved = alice.post(server.url("/calendar/events"), data=event_form(
        CSRF.search(form).group(1), title="Follow-up", guests="", add_guest="bora@example.org"),
        timeout=30, allow_redirects=False)
    assert saved.status_code == 303, saved.text[:300]
    assert partstat(stored_event(server, "Follow-up"), "bora@example.org") == "NEEDS-ACTION"


@pytest.mark.backends("sqlite")
def test_what_a_calendar_app_writes_is_escaped_in_the_invitation_mail(make_almanac, backend):
    server = make_almanac(backend=backend)
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:hostile-1",
        "DTSTAMP:20270101T000000Z", "DTSTART:20270302T090000Z", "DTEND:20270302T100000Z",
        f"SUMMARY:{hostile}", "ORGANIZER:mailto:alice@example.org",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:eve@elsewhere.example", "END:VEVENT", "END:VCALENDAR", ""])
    put = server.dav("PUT", "/dav/calendars/alice/calendar/hostile.ics", "alice", body=text,
                     headers={"Content-Type": "text/calendar"})
    assert put.status_code == 201, put.text
    [mail] = to(server, "eve@elsewhere.example", "Invitation:")
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    import html as entities
    assert hostile in entities.unescape(html), "shown as text, escaped"
