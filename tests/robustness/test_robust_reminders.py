"""Reminders by mail (VALARM) go out once: with a restart between the
write and the trigger, never for a deleted event, with two instances on one
PostgreSQL database, and only as the person chose (mail off, DISPLAY alarms
opt-in). Mail goes to each data directory's outbox (no SMTP configured)."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from almanac_robust import PASSWORD, Almanac

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Due reminders are looked for every second (15 s by default).
FAST = {"mail": {"reminder_check_seconds": 1}}


def stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def event(uid: str, summary: str, trigger_at: datetime, action: str = "EMAIL") -> str:
    """An event starting 10 s after `trigger_at`, with one alarm 10 s before it."""
    start = trigger_at + timedelta(seconds=10)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//robust//EN",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART:{stamp(start)}",
        "DURATION:PT30M", f"SUMMARY:{summary}", "LOCATION:Room 4",
        "BEGIN:VALARM", f"ACTION:{action}", "TRIGGER:-PT10S", f"DESCRIPTION:{summary}",
        "SUMMARY:Reminder", "ATTENDEE:mailto:alice@example.org", "END:VALARM",
        "END:VEVENT", "END:VCALENDAR", "",
    ]
    return "\r\n".join(lines)


def reminders(*servers: Almanac) -> list[email.message.EmailMessage]:
    """Every reminder mail in the servers' outboxes."""
    found = []
    for server in servers:
        outbox = Path(server.data_dir) / "outbox"
        for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if str(mail["Subject"]).startswith("Reminder:"):
                found.append(mail)
    return found


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def put(server: Almanac, name: str, text: str) -> None:
    answer = server.put_ics("alice", "calendar", name, text)
    assert answer.status_code == 201, (answer.status_code, answer.text)


def test_a_reminder_arrives_once_across_a_restart_and_a_deleted_event_stays_silent(make_almanac, backend):
    server = make_almanac(FAST, backend=backend)
    # An alarm two minutes ahead, as a person would set one.
    trigger = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=2)
    put(server, "dentist.ics", event("dentist-1", "Dentist", trigger))
    put(server, "gone.ics", event("gone-1", "Cancelled lunch", trigger))
    assert server.dav("DELETE", "/dav/calendars/alice/calendar/gone.ics", "alice").status_code == 204
    # A restart while waiting (an upgrade, say) forgets nothing.
    server.restart()
    wait_until(trigger - timedelta(seconds=60))
    assert reminders(server) == [], "nothing before its time"

    # Down over the trigger time: it is still mailed (late, not lost).
    wait_until(trigger - timedelta(seconds=3))
    server.stop()
    wait_until(trigger + timedelta(seconds=1))
    server.start()
    deadline = time.monotonic() + 20
    while not reminders(server) and time.monotonic() < deadline:
        time.sleep(0.5)
    # Several more checks, and another restart: nothing more is sent.
    time.sleep(3)
    server.restart()
    time.sleep(3)
    mails = reminders(server)
    assert len(mails) == 1, [str(m["Subject"]) for m in mails]
    mail = mails[0]
    assert str(mail["To"]) == "alice@example.org"
    assert "Dentist" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Where: Room 4" in body and "/account/reminders" in body
    assert "Cancelled lunch" not in "".join(str(m["Subject"]) for m in mails), "a deleted event stays silent"


@pytest.mark.backends("postgres")
def test_two_instances_on_one_database_mail_a_reminder_once(make_almanac, backend, tmp_path):
    first = make_almanac(FAST, backend=backend)
    root = tmp_path / "second-instance"
    root.mkdir()
    second = Almanac(root, backend, FAST, database=first.database)
    second.users = first.users
    second.start()
    try:
        trigger = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=4)
        for n in range(5):
            put(first if n % 2 else second, f"meeting-{n}.ics", event(f"meeting-{n}", f"Meeting {n}", trigger))
        wait_until(trigger + timedelta(seconds=8))
        subjects = sorted(str(m["Subject"]).split(" — ")[0] for m in reminders(first, second))
        assert subjects == [f"Reminder: Meeting {n}" for n in range(5)], subjects
    finally:
        second.stop()


def log_in(server: Almanac) -> requests.Session:
    browser = requests.Session()
    form = browser.get(server.url("/login"), timeout=30).text
    done = browser.post(server.url("/login"), data={"csrf": CSRF.search(form).group(1), "name": "alice",
                                                    "password": PASSWORD}, timeout=30, allow_redirects=False)
    assert done.status_code == 303, done.status_code
    return browser


def choose(server: Almanac, browser: requests.Session, **choice: str) -> None:
    page = browser.get(server.url("/account/reminders"), timeout=30)
    assert page.status_code == 200
    saved = browser.post(server.url("/account/reminders"),
                         data={"csrf": CSRF.search(page.text).group(1), **choice}, timeout=30)
    assert saved.status_code == 200 and "Saved." in saved.text


@pytest.mark.backends("sqlite")
def test_reminder_mail_follows_the_persons_choice(make_almanac, backend):
    server = make_almanac(FAST, backend=backend)
    browser = log_in(server)
    # By default: EMAIL alarms are mailed, DISPLAY alarms (for the phone) are not.
    trigger = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    put(server, "email.ics", event("email-1", "By mail", trigger))
    put(server, "screen.ics", event("screen-1", "On screen", trigger, action="DISPLAY"))
    wait_until(trigger + timedelta(seconds=4))
    assert [str(m["Subject"]).split(" — ")[0] for m in reminders(server)] == ["Reminder: By mail"]

    # DISPLAY alarms too, once chosen.
    choose(server, browser, mail="yes", display="yes")
    trigger = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    put(server, "screen2.ics", event("screen-2", "On screen too", trigger, action="DISPLAY"))
    wait_until(trigger + timedelta(seconds=4))
    assert "Reminder: On screen too" in [str(m["Subject"]).split(" — ")[0] for m in reminders(server)]

    # Reminder mail off: nothing at all.
    choose(server, browser)
    before = len(reminders(server))
    trigger = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    put(server, "quiet.ics", event("quiet-1", "Quiet", trigger))
    wait_until(trigger + timedelta(seconds=4))
    assert len(reminders(server)) == before
