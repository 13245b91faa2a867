"""The status site as operators run it: the scheduled probe feeding it, its
own listener, incidents from the command line, and valid Atom feeds."""

from __future__ import annotations

import json
import time
import urllib.request

import feedparser

from test_cli import PASSWORD, REPO, almanac, free_port, start


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def test_scheduled_probe_feeds_the_status_site(tmp_path):
    almanac(tmp_path, "user", "add", "probe", "--email", "p@example.org", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    (tmp_path / "probe.pw").write_text(PASSWORD + "\n")
    status_port = free_port()
    config = tmp_path / "almanac.toml"
    config.write_text(
        f'content_dir = "{REPO / "content"}"\nstatus_listen = "127.0.0.1:{status_port}"\n'
        f'[site]\nbase_url = "https://calendar.example.org"\n'
        f'[probe]\ninterval_seconds = 1\nuser = "probe"\npassword_file = "{tmp_path / "probe.pw"}"\n'
    )
    proc, port = start(tmp_path, env={"ALMANAC_CONFIG": str(config)})
    try:
        opened = almanac(tmp_path, "--config", str(config), "incident", "open", "Slow sync for some users",
                         "--message", "We are looking into it.")
        assert opened.returncode == 0 and opened.stdout.startswith("Opened incident "), opened.stderr
        number = opened.stdout.split()[2].rstrip(":")
        bad = almanac(tmp_path, "--config", str(config), "incident", "update", number, "--status", "completed", "--message", "x")
        assert bad.returncode != 0 and "investigating, identified, monitoring, resolved" in bad.stderr
        done = almanac(tmp_path, "--config", str(config), "incident", "update", number, "--status", "resolved", "--message", "A full disk; fixed.")
        assert done.returncode == 0, done.stderr
        planned = almanac(tmp_path, "--config", str(config), "incident", "open", "Database upgrade", "--maintenance",
                          "--message", "Writes pause for ten minutes.", "--starts", "2099-01-01 10:00", "--ends", "2099-01-01 10:10")
        assert planned.returncode == 0 and planned.stdout.startswith("Opened maintenance"), planned.stderr
        listed = almanac(tmp_path, "--config", str(config), "incident", "list").stdout
        assert "resolved" in listed and "scheduled" in listed

        deadline = time.time() + 20
        while True:
            status = json.loads(fetch(f"http://127.0.0.1:{status_port}/status.json"))
            states = {c["key"]: c["state"] for c in status["components"]}
            if states == {"website": "up", "caldav": "up", "webcal": "up", "signup": "up", "database": "up"}:
                break
            assert time.time() < deadline, status
            time.sleep(0.5)
        assert status["stale"] is False
        page = fetch(f"http://127.0.0.1:{status_port}/status").decode()
        assert "Slow sync for some users" in page and "A full disk; fixed." in page
        assert "2099-01-01 10:00 UTC to 2099-01-01 10:10 UTC" in page
        # The status site's own listener shows times in the reader's zone too.
        request = urllib.request.Request(f"http://127.0.0.1:{status_port}/status", headers={"Cookie": "almanac_tz=Asia%2FTokyo"})
        with urllib.request.urlopen(request, timeout=10) as r:
            tokyo = r.read().decode()
        assert "2099-01-01 19:00 JST to 2099-01-01 19:10 JST" in tokyo, tokyo
        assert fetch(f"http://127.0.0.1:{port}/status").decode().count("state-up") == 5, "the same site on the main listener"

        feed = feedparser.parse(fetch(f"http://127.0.0.1:{status_port}/status/feed.atom"))
        assert not feed.bozo, feed.bozo_exception
        titles = [e.title for e in feed.entries]
        assert "Incident: Slow sync for some users (resolved)" in titles
        assert "Planned maintenance: Database upgrade (scheduled)" in titles

        blog = feedparser.parse(fetch(f"http://127.0.0.1:{port}/blog/feed.atom"))
        assert not blog.bozo, blog.bozo_exception
        assert blog.feed.title == "Almanac announcements"
        # Every shipped post, newest first, with its address and text.
        shipped = sorted((REPO / "content" / "announcements").glob("*.md"), reverse=True)
        titles = [next(l for l in p.read_text().splitlines() if l.startswith("title:"))[6:].strip() for p in shipped]
        assert [e.title for e in blog.entries] == titles
        help_post = next(e for e in blog.entries if e.title == "How to get help")
        assert help_post.link == "https://calendar.example.org/blog/getting-help"
        assert "status page" in help_post.content[0].value
    finally:
        proc.terminate()
        proc.wait(10)
