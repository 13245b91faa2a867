"""The metrics count what the web site and share links do: the server's own
access log, collected with `almanac metrics collect`, gives sign-ups,
validated sign-ups, log-ins, support requests, changes made in the web
calendar and through a share link, and share-link visits — each counted
once, with the people behind them."""

from __future__ import annotations

import datetime
import subprocess

import requests

from helpers_web import new_event, vevent, wait_log
from test_accounts import Site, form_token, logged_in, sign_up
from test_cli import BIN
from test_share_links import dav, make_link

PASSWORD = "a long enough password"


def series(site: Site, name: str, admin) -> float:
    answer = admin.get(site.url(f"/api/v1/metrics/{name}?period=day"), timeout=30)
    assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
    return sum(point["value"] for point in answer.json()["points"])


def test_site_and_share_events_reach_the_metrics(tmp_path):
    site = Site(tmp_path)
    try:
        site.add_user("boss", PASSWORD, admin=True)
        # A sign-up, its validation, a log-in and a support request.
        sign_up(site, "newbie", PASSWORD, "newbie@example.org")
        link = site.wait_mails_to("newbie@example.org", 1)[0].link("verify")
        assert requests.get(link, timeout=30).status_code == 200
        owner = logged_in(site, "newbie", PASSWORD)
        token = form_token(owner, site, "/contact")
        sent = owner.post(site.url("/contact"), data={"csrf": token, "name": "New Bie", "email": "newbie@example.org",
                                                      "subject": "Hello", "message": "How do I share?"}, timeout=30)
        assert sent.status_code == 200
        # Two changes in the web calendar.
        new_event(owner, site, title="Standup", start_date="2026-11-02", end_date="2026-11-02")
        new_event(owner, site, title="Review", start_date="2026-11-03", end_date="2026-11-03")
        # A visitor reads through a link, and writes one event through a write link.
        read = make_link(owner, site, permission="read")
        assert requests.get(site.url(read.web_path()), timeout=30).status_code == 200
        write = make_link(owner, site, permission="write")
        put = dav("PUT", write.caldav + "guest.ics", vevent("guest", "Guest event", ":20261104T100000Z", ":20261104T110000Z"),
                  content_type="text/calendar; charset=utf-8")
        assert put.status_code == 201, put.text
        wait_log(site, r'"PUT /dav/s/-/guest.ics')
        # A task in the web calendar, a calendar made there, and the tasks
        # page (which names its logged-in reader).
        token = form_token(owner, site, "/calendar/tasks")
        assert owner.post(site.url("/calendar/tasks"), data={"csrf": token, "title": "Buy milk", "calendar": "calendar"},
                          timeout=30, allow_redirects=False).status_code == 303
        token = form_token(owner, site, "/calendar/calendars")
        assert owner.post(site.url("/calendar/calendars"), data={"csrf": token, "name": "Work", "color": "#336699"},
                          timeout=30, allow_redirects=False).status_code == 303
        # A sync client makes a calendar and puts a task in it.
        sync = requests.Session()
        sync.auth = ("newbie", PASSWORD)
        sync.headers["User-Agent"] = "DAVx5/4.4 (Android 14)"
        assert sync.request("MKCALENDAR", site.url("/dav/calendars/newbie/chores/"), timeout=30).status_code == 201
        todo = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:chore@x\r\n"
                "DTSTAMP:20261101T000000Z\r\nSUMMARY:Dishes\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
        assert sync.put(site.url("/dav/calendars/newbie/chores/chore.ics"), data=todo,
                        headers={"Content-Type": "text/calendar"}, timeout=30).status_code == 201
        [tasks_page] = wait_log(site, r'"GET /calendar/tasks HTTP')
        assert " - newbie [" in tasks_page and " auth=session " in tasks_page, tasks_page
        [mkcalendar] = wait_log(site, r'"MKCALENDAR /dav/calendars/newbie/chores/ ')
        assert mkcalendar.rstrip().endswith(" ev=calendar_write"), mkcalendar
        [sync_task] = wait_log(site, r'"PUT /dav/calendars/newbie/chores/chore.ics ')
        assert sync_task.rstrip().endswith(" item=task ev=sync_write"), sync_task
        [share_put] = wait_log(site, r'"PUT /dav/s/-/guest.ics')
        assert " - - [" in share_put and " owner=newbie " in share_put, share_put

        collected = subprocess.run([BIN, "metrics", "collect"], env=site.env, capture_output=True, text=True, timeout=120)
        assert collected.returncode == 0, collected.stderr
        admin = requests.Session()
        admin.auth = ("boss", PASSWORD)
        assert series(site, "signups", admin) == 1
        assert series(site, "signups_verified", admin) == 1
        assert series(site, "logins", admin) >= 1
        assert series(site, "support_requests", admin) == 1
        assert series(site, "changes_web", admin) == 3, "two events and a task; the new calendar is no item"
        assert series(site, "changes_share", admin) == 1
        assert series(site, "changes_tasks", admin) == 2, "the web task and the synced one"
        assert series(site, "changes", admin) == 5
        assert series(site, "casual_collaborators", admin) >= 1
        assert series(site, "hits_share", admin) >= 2
        today = datetime.date.today().isoformat()
        assert today in admin.get(site.url("/api/v1/metrics/signups?period=day"), timeout=30).text
    finally:
        site.stop()

