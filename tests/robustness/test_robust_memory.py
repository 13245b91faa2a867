"""Contract item 10: memory comes back after a burst of mixed load.

A modest version of bench/robustness.py's "mixed" phase: 12 s of eight
clients polling, listing, querying, reading, writing and mistyping their
passwords, then 8 s of rest; RSS must come back under
2 x (RSS before + 50 MiB). bench/robustness.py prints the full figures."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
import requests

from almanac_robust import NS, PASSWORD, filler_text, ics, propfind_body, run_threads

MB = 1024
CAL = "/dav/calendars/alice/calendar/"
QUERY = (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query {NS}>'
         "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
         '<C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/>'
         "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>")
LOAD_SECONDS = 12
IDLE_SECONDS = 8
EVENTS = 100


def test_memory_comes_back_after_mixed_load(almanac):
    session = requests.Session()
    for i in range(EVENTS):
        day = 1 + i % 28
        body = ics(f"ev-{i}", f"Event {i}", description=filler_text(400, str(i)), start=f"202603{day:02d}T100000Z")
        assert almanac.put_ics("alice", "calendar", f"ev-{i}.ics", body, session=session).status_code == 201

    def one(kind: str, s: requests.Session, rng: random.Random, w: int, n: int) -> int:
        if kind == "poll":
            return almanac.dav("PROPFIND", CAL, "alice", propfind_body("D:getctag", "D:sync-token"), {"Depth": "0"},
                               session=s).status_code
        if kind == "list":
            return almanac.dav("PROPFIND", CAL, "alice", propfind_body("D:getetag", "D:getcontenttype"),
                               {"Depth": "1"}, session=s).status_code
        if kind == "query":
            return almanac.dav("REPORT", CAL, "alice", QUERY, {"Depth": "1"}, session=s).status_code
        if kind == "get":
            return almanac.dav("GET", CAL + f"ev-{rng.randrange(EVENTS)}.ics", "alice", session=s).status_code
        if kind == "put":
            return almanac.put_ics("alice", "calendar", f"load-{w}-{n}.ics",
                                   ics(f"load-{w}-{n}", description=filler_text(600, f"{w}{n}")), session=s).status_code
        if kind == "bad-login":
            return almanac.dav("PROPFIND", "/dav/", f"nobody{rng.randrange(10 ** 6)}", propfind_body(),
                               {"Depth": "0"}, password="wrong", session=s).status_code
        raise AssertionError(kind)

    kinds = ["poll"] * 4 + ["list"] * 2 + ["query"] * 2 + ["get"] * 3 + ["put"] * 2 + ["bad-login"]
    for kind in set(kinds):  # warm up: every path once, so start-up costs are in the baseline
        one(kind, session, random.Random(0), 99, 0)
    time.sleep(1)
    before = almanac.rss_kib()

    stop = threading.Event()
    peak = [before]
    statuses: Counter = Counter()
    lock = threading.Lock()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], almanac.rss_kib())
            time.sleep(0.1)

    def client(w: int) -> None:
        s = requests.Session()
        rng = random.Random(w)
        n = 0
        while not stop.is_set():
            kind = rng.choice(kinds)
            status = one(kind, s, rng, w, n)
            with lock:
                statuses[(kind, status)] += 1
            n += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(LOAD_SECONDS, stop.set)
    timer.start()
    errors = run_threads(8, client, timeout=LOAD_SECONDS + 60)
    stop.set()
    sampler.join(5)
    assert not errors, errors[:3]
    assert almanac.alive()
    expected = {"poll": {207}, "list": {207}, "query": {207}, "get": {200}, "put": {201},
                "bad-login": {401, 429, 503}}
    wrong = {k: v for k, v in statuses.items() if k[1] not in expected[k[0]]}
    assert not wrong, f"unexpected answers under load: {wrong}"

    time.sleep(IDLE_SECONDS)
    after = almanac.rss_kib()
    total = sum(statuses.values())
    print(f"{almanac.backend}: {total} requests in {LOAD_SECONDS} s; RSS before {before // MB} MiB, "
          f"peak {peak[0] // MB} MiB, {IDLE_SECONDS} s after {after // MB} MiB")
    assert total > 200, f"only {total} requests: the load did not load"
    assert after < 2 * (before + 50 * MB), \
        f"RSS {after // MB} MiB {IDLE_SECONDS} s after the load (before {before // MB} MiB, peak {peak[0] // MB} MiB)"


@pytest.mark.backends("sqlite")
def test_big_bodies_sent_to_a_read_only_share_link_do_not_pile_up_in_memory(almanac):
    """Anyone holding a read link may send PUTs to it. They are refused
    (403) — before their bodies (up to max_body_bytes, 16 MiB) are read
    into memory, or a hundred such clients hold gigabytes: RSS must stay
    well under 300 MiB, as in a log-in storm."""
    import re
    import socket

    from almanac_robust import Closed, Raw

    browser = requests.Session()
    form = browser.get(almanac.url("/login"), timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert browser.post(almanac.url("/login"), data={"csrf": csrf, "name": "alice", "password": PASSWORD},
                        timeout=30, allow_redirects=False).status_code == 303
    page = browser.get(almanac.url("/calendar/calendars/calendar/share"), timeout=30).text
    made = browser.post(almanac.url("/calendar/calendars/calendar/share"), data={
        "csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1), "permission": "read", "label": "Family",
        "expires_on": ""}, timeout=30, allow_redirects=False)
    assert made.status_code == 303
    shown = browser.get(almanac.url(made.headers["Location"]), timeout=30)
    token = re.search(r"/dav/s/([A-Za-z0-9_-]{43})/", shown.text).group(1)

    clients, size = 100, 8 * 1024 * 1024
    before = almanac.rss_kib()
    stop = threading.Event()
    peak = [before]

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], almanac.rss_kib())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    body = b"BEGIN:VCALENDAR\r\n" + b"X" * size
    answers: list[int | str] = [None] * clients
    raws = [Raw(almanac.port, source=f"127.0.11.{i % 50 + 1}", timeout=30) for i in range(clients)]

    def send(i: int) -> None:
        raw = raws[i]
        try:
            raw.send(Raw.build("PUT", f"/dav/s/{token}/big-{i}.ics", {"Content-Type": "text/calendar"}, b"",
                               content_length=len(body)))
            raw.send(body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        try:
            answers[i] = raw.read_response(timeout=30).status
        except (Closed, TimeoutError) as e:
            answers[i] = f"no answer: {e}"[:80]

    try:
        errors = run_threads(clients, send, timeout=120)
    finally:
        for raw in raws:
            raw.close()
        time.sleep(1)
        stop.set()
        sampler.join(5)
    assert not errors, errors[:3]
    assert almanac.alive()
    print(f"RSS before {before // MB} MiB, peak {peak[0] // MB} MiB; answers {Counter(map(str, answers))}")
    assert all(a in (403, 413) or str(a).startswith("no answer") for a in answers), Counter(map(str, answers))
    assert peak[0] < 300 * MB, (f"{clients} clients sending {size // (1024 * 1024)} MiB PUTs to a read-only link "
                                f"took RSS from {before // MB} to {peak[0] // MB} MiB")
