"""With [mail] smtp_url set, mails go out over SMTP (lettre) instead of the
outbox folder: a real SMTP server (aiosmtpd) on loopback receives the
validation mail of a sign-up, with a link that works, and the invitation
an event saved over CalDAV sends to a guest elsewhere (iMIP, with its
text/calendar part)."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy

import icalendar
import requests
from aiosmtpd.controller import Controller

from test_accounts import Site, form_token
from test_cli import free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_sign_up_mail_goes_out_over_smtp(tmp_path):
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    site = Site(tmp_path, mail={"smtp_url": f"smtp://127.0.0.1:{port}", "from": "Almanac <noreply@example.org>"})
    try:
        browser = requests.Session()
        token = form_token(browser, site, "/signup")
        answer = browser.post(site.url("/signup"), data={
            "csrf": token, "name": "sam", "email": "sam@example.org",
            "password": "a long enough password", "terms": "yes"})
        assert answer.status_code == 200 and "Check your mail" in answer.text
        deadline = time.time() + 10
        while not inbox.messages:
            assert time.time() < deadline, "no mail reached the SMTP server"
            time.sleep(0.05)
        sender, recipients, content = inbox.messages[0]
        assert sender == "noreply@example.org" and recipients == ["sam@example.org"]
        mail = message_from_bytes(content, policy=policy.default)
        assert mail["Subject"] == "Confirm your Almanac account"
        link = re.search(r"http://\S+/verify/[A-Za-z0-9_-]{43}", mail.get_content()).group(0)
        assert not list((site.data_dir / "outbox").glob("*.eml")), "nothing goes to the outbox"
        assert "Your address is confirmed" in browser.get(link).text

        # Sam invites a guest elsewhere from a calendar app.
        event = "\r\n".join([
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", "UID:smtp-invite-1",
            "DTSTAMP:20300101T000000Z", "DTSTART:20300105T090000Z", "DTEND:20300105T100000Z",
            "SUMMARY:Kick-off", "ORGANIZER:mailto:sam@example.org",
            "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:tess@elsewhere.example",
            "END:VEVENT", "END:VCALENDAR", ""])
        put = requests.put(site.url("/dav/calendars/sam/calendar/kickoff.ics"), data=event.encode(),
                           auth=("sam", "a long enough password"), headers={"Content-Type": "text/calendar"})
        assert put.status_code == 201, put.text
        deadline = time.time() + 10
        while len(inbox.messages) < 2:
            assert time.time() < deadline, "no invitation reached the SMTP server"
            time.sleep(0.05)
        sender, recipients, content = inbox.messages[1]
        assert recipients == ["tess@elsewhere.example"]
        invitation = message_from_bytes(content, policy=policy.default)
        assert invitation["Subject"].startswith("Invitation: Kick-off")
        [part] = [p for p in invitation.walk() if p.get_content_type() == "text/calendar"]
        assert part.get_param("method") == "REQUEST"
        itip = icalendar.Calendar.from_ical(part.get_content())
        assert str(itip["METHOD"]) == "REQUEST"
        [vevent] = itip.walk("VEVENT")
        assert str(vevent["UID"]) == "smtp-invite-1" and str(vevent["ORGANIZER"]) == "mailto:sam@example.org"
    finally:
        site.stop()
        smtp.stop()
