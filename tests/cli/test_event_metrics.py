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

        collected = subprocess.run([BIN, "metrics", "collect"], env=site.env, capture_output=True, text=True, timeout=120)
        assert collected.returncode == 0, collected.stderr
        admin = requests.Session()
        admin.auth = ("boss", PASSWORD)
        assert series(site, "signups", admin) == 1
        assert series(site, "signups_verified", admin) == 1
        assert series(site, "logins", admin) >= 1
        assert series(site, "support_requests", admin) == 1
        assert series(site, "changes_web", admin) == 2
        assert series(site, "changes_share", admin) == 1
        assert series(site, "hits_share", admin) >= 2
        today = datetime.date.today().isoformat()
        assert today in admin.get(site.url("/api/v1/metrics/signups?period=day"), timeout=30).text
    finally:
        site.stop()

