#!/usr/bin/env python3
"""Almanac under hostile and heavy load: memory, descriptors and latency.

A load tool, not a test: it starts its own server, drives it, and PRINTS
figures. It asserts nothing about timings; it exits non-zero only when the
server dies or a step cannot run (no binary, no wrk, a seed that fails...).

Three phases (all by default, or one with --only):

  storm  300 concurrent Basic-auth PROPFINDs to /dav/ for made-up user names
         (spray1..spray300, each once): RSS before / peak during / right
         after / 10 s after, the answers' status codes, /healthz latency
         sampled during the storm, and a real user's PROPFIND afterwards.
  mixed  --mixed-seconds of wrk load on 16 connections (PROPFIND Depth 0
         getctag, PROPFIND Depth 1 listing, calendar-query REPORT with
         calendar-data, GET of an event, PUT of new events) with
         bench/workload.lua against a calendar of --events events: req/s and
         latency per kind, RSS before / max during / right after / after
         --idle-seconds of rest.
  idle   2,000 idle TCP connections and 1,000 slowloris ones (a partial
         request head, one byte every few seconds): /healthz latency while
         they are open, the server's descriptor count at the peak, and how
         many of them the server has closed after 10, 25 and 40 s.

  python3 bench/robustness.py                       # everything, ~8 minutes
  python3 bench/robustness.py --only storm
  python3 bench/robustness.py --mixed-seconds 20 --idle-seconds 10

Server binary: $ALMANAC_BIN, default /var/tmp/almanac-ci-target/release/almanac,
falling back to .../debug/almanac. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORKLOAD_LUA = BENCH_DIR / "workload.lua"
DEFAULT_BIN = "/var/tmp/almanac-ci-target/release/almanac"
FALLBACK_BIN = "/var/tmp/almanac-ci-target/debug/almanac"
HOST = "127.0.0.1"
PASSWORD = "bench-password"          # the password of every account made here
QUERY_MONTH = "20260301"             # the month the calendar-query asks for
QUERY_MONTH_END = "20260401"         # (bench/workload.lua computes the same end)
MIXED_KINDS = ["poll", "depth1", "query", "get", "put"]
KIND_LABELS = {
    "poll": "PROPFIND Depth 0 getctag",
    "depth1": "PROPFIND Depth 1 listing",
    "query": "REPORT calendar-query + calendar-data",
    "get": "GET one event",
    "put": "PUT a new event",
}


class StepFailed(Exception):
    """A step that cannot run: the script stops with exit status 1."""


class ServerDied(StepFailed):
    pass


# --------------------------------------------------------------------- output

def say(title: str) -> None:
    print(f"\n== {title}", flush=True)


def line(label: str, value: object) -> None:
    print(f"   {label + ':':<46} {value}", flush=True)


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def latency_summary(values: list[float], with_p99: bool = False) -> str:
    if not values:
        return "no answer"
    text = f"median {ms(statistics.median(values))}"
    if with_p99:
        text += f", p99 {ms(percentile(values, 99))}"
    return text + f", max {ms(max(values))} ({len(values)} requests)"


def counts(counter: Counter) -> str:
    if not counter:
        return "none"
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))


# --------------------------------------------------------------------- server

def find_binary() -> Path:
    explicit = os.environ.get("ALMANAC_BIN")
    candidates = [explicit] if explicit else [DEFAULT_BIN, FALLBACK_BIN]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise StepFailed(f"no Almanac binary at {' or '.join(c for c in candidates if c)} (set ALMANAC_BIN)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: Path, data_dir: Path, port: int, log_path: Path):
        self.binary = binary
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.env = dict(os.environ)
        # SQLite in the data directory, whatever the caller's environment says.
        for key in ("ALMANAC_DATABASE_URL", "ALMANAC_DATA_DIR", "ALMANAC_LISTEN", "ALMANAC_ACCESS_LOG"):
            self.env.pop(key, None)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.binary), "--data-dir", str(self.data_dir), "--access-log", "-", *args],
            input=stdin, capture_output=True, text=True, env=self.env, timeout=120)
        if result.returncode != 0:
            raise StepFailed(f"almanac {' '.join(args)} failed ({result.returncode}): "
                             f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def add_user(self, name: str, password: str = PASSWORD) -> None:
        self.cli("user", "add", name, "--email", f"{name}@robustness.example",
                 "--password-stdin", stdin=password + "\n")

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--data-dir", str(self.data_dir), "--access-log", "-",
             "serve", "--listen", f"{HOST}:{self.port}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check()
            try:
                status, _, _ = http_request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise StepFailed(f"the server did not answer /healthz within 60 s\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise ServerDied(f"the server is gone (exit status {code})\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "server log (last lines):\n" + "\n".join("   | " + l for l in text[-lines:])

    def status_field(self, field: str) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for l in f:
                    if l.startswith(field + ":"):
                        return int(l.split()[1])
        except (OSError, ValueError):
            return None
        return None

    def rss(self) -> int | None:
        """VmRSS in KiB."""
        return self.status_field("VmRSS")

    def hwm(self) -> int | None:
        """VmHWM (the peak RSS since the process started) in KiB."""
        return self.status_field("VmHWM")

    def fds(self) -> int | None:
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None

    def stop(self) -> None:
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=35)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Sampler:
    """Samples the server's RSS (and descriptors) on a thread until stopped."""

    def __init__(self, server: Server, interval: float, fds: bool = False):
        self.server = server
        self.interval = interval
        self.with_fds = fds
        self.samples: list[tuple[float, int]] = []      # (seconds since start, RSS KiB)
        self.fd_samples: list[int] = []
        self.died = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def __enter__(self) -> Sampler:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            if not self.server.alive():
                self.died = True
                return
            rss = self.server.rss()
            if rss is not None:
                self.samples.append((time.monotonic() - self.started, rss))
            if self.with_fds:
                n = self.server.fds()
                if n is not None:
                    self.fd_samples.append(n)
            if self._stop.wait(self.interval):
                return

    def max_rss(self) -> int | None:
        return max((r for _, r in self.samples), default=None)

    def max_fds(self) -> int | None:
        return max(self.fd_samples, default=None)

    def series(self, points: int = 12) -> str:
        """A few RSS values spread over the sampled time, for the trend."""
        if not self.samples:
            return "n/a"
        step = max(1, len(self.samples) // points)
        chosen = self.samples[::step]
        if chosen[-1] is not self.samples[-1]:
            chosen.append(self.samples[-1])
        digits = 0 if self.samples[-1][0] >= 3 * points else 1
        return ", ".join(f"{t:.{digits}f}s {r / 1024:.0f}" for t, r in chosen) + " (MiB)"


# --------------------------------------------------------------------- HTTP

def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_request(port: int, method: str, path: str, headers: dict | None = None,
                 body: bytes | str | None = None, timeout: float = 30,
                 source: str | None = None) -> tuple[int, bytes, float]:
    """One request on a new connection: (status, body, seconds)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        t0 = time.monotonic()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.monotonic() - t0
    finally:
        conn.close()


PROPFIND_CTAG = ('<?xml version="1.0" encoding="utf-8"?>\n<d:propfind xmlns:d="DAV:" '
                 'xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>')


PROPFIND_LIST = ('<?xml version="1.0" encoding="utf-8"?>\n<d:propfind xmlns:d="DAV:"><d:prop>'
                 '<d:getetag/><d:getcontenttype/></d:prop></d:propfind>')
QUERY_BODY = ('<?xml version="1.0" encoding="utf-8"?>\n<c:calendar-query xmlns:d="DAV:" '
              'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>'
              '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
              f'<c:time-range start="{QUERY_MONTH}T000000Z" end="{QUERY_MONTH_END}T000000Z"/>'
              '</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>')


def count_responses(body: bytes) -> int:
    return len(re.findall(rb"<(?:[A-Za-z][\w.-]*:)?response[\s>]", body))


def propfind_calendar(port: int, user: str, password: str, source: str | None = None):
    return http_request(port, "PROPFIND", f"/dav/calendars/{user}/calendar/",
                        {"Authorization": basic(user, password), "Depth": "0",
                         "Content-Type": "application/xml; charset=utf-8"},
                        PROPFIND_CTAG, timeout=60, source=source)


# --------------------------------------------------------------------- events

BERLIN = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\n"
          "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
          "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n"
          "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
          "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
SUMMARIES = ["Team stand-up", "Weekly planning", "1:1 with manager", "Design review",
             "Customer call", "Dentist appointment", "Yoga class", "Budget meeting",
             "Product demo", "Coffee with Alex", "Flight to Berlin", "Book club"]
LOCATIONS = ["Room 4.12", "Main conference room", "https://meet.example.com/abc-defg-hij",
             "Zoom", "Building B, 2nd floor", "Home office"]
SENTENCES = ["Agenda: review last week's action items, then open questions.",
             "Please bring the updated figures for Q3.",
             "We will go through the mock-ups and collect feedback.",
             "Notes from the previous session are in the shared folder."]


def fold(text: str) -> str:
    """One content line, folded at 75 octets (ASCII text only here)."""
    out, first = [], True
    while text:
        room = 75 if first else 74
        out.append(("" if first else " ") + text[:room])
        text, first = text[room:], False
    return "\r\n".join(out) + "\r\n"


def make_event(rng: random.Random, k: int) -> tuple[str, str]:
    """A VEVENT like the bench seeder's: 10% weekly recurring (some endless,
    some with COUNT or UNTIL, half with an EXDATE, a quarter with an
    overridden instance), 5% all-day, 30% in Europe/Berlin, the rest UTC,
    spread over 2025-2027."""
    import datetime as dt
    uid = f"robust-{k:06d}-{rng.getrandbits(48):012x}"
    recurring = k % 10 == 3
    style = "allday" if not recurring and rng.random() < 0.05 else ("berlin" if rng.random() < 0.3 else "utc")
    day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))
    start = dt.datetime(day.year, day.month, day.day, 7 + rng.randrange(12), 15 * rng.randrange(4))
    end = start + (dt.timedelta(days=1) if style == "allday"
                   else dt.timedelta(minutes=rng.choice([30, 45, 60, 60, 90, 120])))

    def when(name: str, at: dt.datetime) -> str:
        if style == "allday":
            return f"{name};VALUE=DATE:{at:%Y%m%d}"
        if style == "berlin":
            return f"{name};TZID=Europe/Berlin:{at:%Y%m%dT%H%M%S}"
        return f"{name}:{at:%Y%m%dT%H%M%SZ}"

    parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Almanac//bench robustness//EN", "CALSCALE:GREGORIAN"]
    text = "".join(fold(p) for p in parts) + (BERLIN if style == "berlin" else "")
    event = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20241201T090000Z",
             when("DTSTART", start), when("DTEND", end),
             f"SUMMARY:{rng.choice(SUMMARIES)}"]
    if rng.random() < 0.5:
        event.append(f"LOCATION:{rng.choice(LOCATIONS)}".replace(",", "\\,"))
    if rng.random() < 0.3:
        event.append("DESCRIPTION:" + " ".join(rng.sample(SENTENCES, 2)).replace(",", "\\,").replace(";", "\\;"))
    override = None
    if recurring:
        kind = rng.randrange(3)
        rule = "FREQ=WEEKLY" + (";INTERVAL=2" if rng.random() < 0.2 else "")
        if kind == 1:
            rule += f";COUNT={5 + rng.randrange(40)}"
        elif kind == 2:
            rule += f";UNTIL={(start + dt.timedelta(weeks=10 + rng.randrange(50))):%Y%m%dT%H%M%S}Z"
        event.append(f"RRULE:{rule}")
        if rng.random() < 0.5:
            event.append(when("EXDATE", start + dt.timedelta(weeks=2 if "INTERVAL" in rule else 1)))
        if rng.random() < 0.25:
            moved = start + dt.timedelta(weeks=4)
            override = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20241201T090000Z",
                        when("RECURRENCE-ID", moved),
                        when("DTSTART", moved + dt.timedelta(hours=1)),
                        when("DTEND", moved + dt.timedelta(hours=1) + (end - start)),
                        "SUMMARY:Moved this week", "END:VEVENT"]
    event.append("END:VEVENT")
    text += "".join(fold(p) for p in event)
    if override:
        text += "".join(fold(p) for p in override)
    text += fold("END:VCALENDAR")
    return uid, text


def seed_with_puts(port: int, user: str, events: int, workers: int = 4) -> str:
    """PUTs `events` events into USER's calendar; returns one item's name."""
    rng = random.Random(f"almanac-robustness-{user}")
    payload = [make_event(rng, k) for k in range(events)]
    auth = basic(user, PASSWORD)
    errors: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(events))

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            while True:
                with lock:
                    k = next(cursor, None)
                if k is None or errors:
                    return
                uid, text = payload[k]
                conn.request("PUT", f"/dav/calendars/{user}/calendar/{uid}.ics", body=text.encode(),
                             headers={"Authorization": auth, "If-None-Match": "*",
                                      "Content-Type": "text/calendar; charset=utf-8"})
                response = conn.getresponse()
                body = response.read()
                if response.status not in (201, 204):
                    with lock:
                        errors.append(f"PUT {uid}: {response.status} {body[:300]!r}")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
        except OSError as e:
            with lock:
                errors.append(f"PUT: {e!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise StepFailed(f"seeding {user}'s calendar failed: {errors[0]}")
    return f"{payload[0][0]}.ics"


def seed_with_seeder(seeder: Path, data_dir: Path, events: int) -> tuple[str, str]:
    """almanac-bench-seed into a new data directory: (user, item name)."""
    result = subprocess.run(
        [str(seeder), "--data-dir", str(data_dir), "--users", "1", "--events", str(events),
         "--big-events", "1", "--password", PASSWORD],
        capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise StepFailed(f"almanac-bench-seed failed: {result.stderr.strip()[-500:]}")
    first = (data_dir / "bench-manifest.tsv").read_text().splitlines()[0].split("\t")
    return first[0], first[3]


# --------------------------------------------------------------------- phase 1

def phase_storm(server: Server, args, real_user: str, real_password: str) -> None:
    say(f"1. Login storm: {args.storm_size} concurrent failed Basic-auth PROPFINDs to /dav/ "
        f"for made-up names, from {args.storm_from}")
    server.check()
    line("RSS before", mib(server.rss()))
    line("descriptors before", server.fds())

    n = args.storm_size
    statuses: Counter = Counter()
    latencies: list[float] = []
    connected = threading.Barrier(n + 1)
    lock = threading.Lock()

    def one(i: int) -> None:
        conn = http.client.HTTPConnection(HOST, args.port, timeout=args.storm_timeout,
                                          source_address=(args.storm_from, 0))
        result: object
        try:
            conn.connect()
        except OSError as e:
            result = f"connect {type(e).__name__}"
            conn = None
        try:
            connected.wait()
        except threading.BrokenBarrierError:
            pass
        if conn is not None:
            t0 = time.monotonic()
            try:
                conn.request("PROPFIND", "/dav/", body=PROPFIND_CTAG,
                             headers={"Authorization": basic(f"spray{i}", "x"), "Depth": "0",
                                      "Content-Type": "application/xml; charset=utf-8"})
                response = conn.getresponse()
                response.read()
                result = response.status
                with lock:
                    latencies.append(time.monotonic() - t0)
            except (OSError, http.client.HTTPException) as e:
                result = type(e).__name__
            finally:
                conn.close()
        with lock:
            statuses[result] += 1

    health: list[float] = []
    health_failures: Counter = Counter()
    storm_over = threading.Event()

    def healthz() -> None:
        while not storm_over.is_set():
            try:
                status, _, took = http_request(args.port, "GET", "/healthz", timeout=30)
                if status == 200:
                    health.append(took)
                else:
                    health_failures[status] += 1
            except (OSError, http.client.HTTPException) as e:
                health_failures[type(e).__name__] += 1
            storm_over.wait(0.02)

    workers = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(1, n + 1)]
    with Sampler(server, 0.02) as sampler:
        for w in workers:
            w.start()
        connected.wait()                       # every storm connection is open: fire
        t0 = time.monotonic()
        prober = threading.Thread(target=healthz, daemon=True)
        prober.start()
        for w in workers:
            w.join()
        storm_seconds = time.monotonic() - t0
        storm_over.set()
        prober.join()
    if sampler.died:
        server.check()
    line("storm duration (all answered)", f"{storm_seconds:.2f} s")
    line("peak RSS during (sampled every 20 ms)", mib(sampler.max_rss()))
    line("VmHWM (process peak so far)", mib(server.hwm()))
    line("RSS right after", mib(server.rss()))
    line("status codes answered", counts(statuses))
    if latencies:
        line("storm request latency", latency_summary(latencies))
    line("/healthz during the storm", latency_summary(health)
         + (f"; failures: {counts(health_failures)}" if health_failures else ""))
    time.sleep(10)
    server.check()
    line("RSS 10 s after", mib(server.rss()))
    line("descriptors 10 s after", server.fds())
    sources = [HOST] if args.storm_from == HOST else [HOST, args.storm_from]
    for source in sources:
        note = "the storm's address" if source == args.storm_from else "another address"
        try:
            status, _, took = propfind_calendar(args.port, real_user, real_password, source=source)
            line(f"real user PROPFIND from {source} ({note})", f"{status} in {ms(took)}")
        except (OSError, http.client.HTTPException) as e:
            line(f"real user PROPFIND from {source} ({note})", f"failed: {e!r}")


# --------------------------------------------------------------------- phase 2

def run_wrk_mixed(args, work: Path, manifests: dict[str, tuple[Path, dict]]) -> dict[str, dict]:
    """One wrk per kind, all at once; the connections are dealt round-robin."""
    share = Counter(MIXED_KINDS[i % len(MIXED_KINDS)] for i in range(args.connections))
    procs = {}
    for kind in MIXED_KINDS:
        if share[kind] == 0:
            continue
        manifest, extra = manifests[kind]
        env = dict(os.environ, BENCH_WORKLOAD=kind, BENCH_MANIFEST=str(manifest),
                   BENCH_PASSWORD=PASSWORD, BENCH_BASE="/dav/calendars/", BENCH_MONTH=QUERY_MONTH, **extra)
        out = open(work / f"wrk-{kind}.log", "w")
        procs[kind] = (subprocess.Popen(
            ["wrk", "-t1", f"-c{share[kind]}", f"-d{args.mixed_seconds}s", "--timeout", "30s",
             "-s", str(WORKLOAD_LUA), f"http://{HOST}:{args.port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env), out, share[kind])
    results = {}
    for kind, (proc, out, conns) in procs.items():
        try:
            proc.wait(timeout=args.mixed_seconds + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        text = (work / f"wrk-{kind}.log").read_text(errors="replace")
        result = next((l for l in text.splitlines() if l.startswith("RESULT ")), None)
        if result is None:
            raise StepFailed(f"wrk ({kind}) printed no result:\n{text[-1500:]}")
        fields = dict(f.split("=", 1) for f in result.split()[1:])
        fields["connections"] = conns
        results[kind] = fields
    return results


def phase_mixed(server: Server, args, work: Path, reader: str, item: str | None) -> None:
    say(f"2. Mixed load: {args.mixed_seconds} s of wrk, {args.connections} connections, "
        f"calendar of {args.events} events")
    server.check()
    if shutil.which("wrk") is None:
        raise StepFailed("wrk is missing (Debian: apt-get install wrk)")
    if item is None:
        line("RSS before seeding", mib(server.rss()))
        t0 = time.monotonic()
        item = seed_with_puts(args.port, reader, args.events)
        line(f"seeded {args.events} events with PUTs in", f"{time.monotonic() - t0:.1f} s")
    # Log every account in once, as a client would have: the credential
    # cache then spares argon2 on the load's first requests.
    writers = [f"writer{i}" for i in range(1, args.writers + 1)]
    for user in [reader, *writers]:
        status, _, _ = propfind_calendar(args.port, user, PASSWORD)
        if status != 207:
            raise StepFailed(f"{user} cannot log in before the mixed load: {status}")
    # What the read requests get, once: members listed, events the query finds.
    auth = {"Authorization": basic(reader, PASSWORD), "Content-Type": "application/xml; charset=utf-8"}
    calendar = f"/dav/calendars/{reader}/calendar/"
    status, body, took = http_request(args.port, "PROPFIND", calendar, dict(auth, Depth="1"), PROPFIND_LIST)
    line("one Depth 1 listing", f"{status}, {count_responses(body)} responses, {len(body)} bytes, {ms(took)}")
    status, body, took = http_request(args.port, "REPORT", calendar, dict(auth, Depth="1"), QUERY_BODY)
    line(f"one calendar-query (month from {QUERY_MONTH})",
         f"{status}, {count_responses(body)} events, {len(body)} bytes, {ms(took)}")
    status, body, took = http_request(args.port, "GET", calendar + item, {"Authorization": auth["Authorization"]})
    line("one GET of the event", f"{status}, {len(body)} bytes, {ms(took)}")
    (work / "reader.tsv").write_text(f"{reader}\t0\tnone\t{item}\n")
    (work / "writers.tsv").write_text("".join(f"{w}\t0\tnone\tnone.ics\n" for w in writers))
    reads = (work / "reader.tsv", {"BENCH_SPREAD": "1"})
    if args.put_same_calendar:
        writes = reads
        line("PUTs go to", f"the seeded calendar of {reader} (it grows during the run)")
    else:
        writes = (work / "writers.tsv", {"BENCH_SPREAD": str(len(writers))})
        line("PUTs go to", f"the calendars of {', '.join(writers)} (the seeded one stays at "
             f"{args.events} events; --put-same-calendar to change)")
    manifests = {"poll": reads, "depth1": reads, "query": reads, "get": reads, "put": writes}

    time.sleep(2)
    line("RSS before the load", mib(server.rss()))
    line("descriptors before the load", server.fds())
    with Sampler(server, 0.5, fds=True) as sampler:
        results = run_wrk_mixed(args, work, manifests)
    if sampler.died:
        server.check()
    server.check()
    line("max RSS during (sampled every 0.5 s)", mib(sampler.max_rss()))
    line("RSS during", sampler.series())
    line("max descriptors during", sampler.max_fds())
    line("RSS right after", mib(server.rss()))

    print(f"\n   {'kind':<38} {'conns':>5} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>9} {'non-2xx':>8} {'sock err':>8} {'timeouts':>8}")
    total_requests, total_rps = 0, 0.0
    for kind in MIXED_KINDS:
        r = results.get(kind)
        if r is None:
            continue
        total_requests += int(r["requests"])
        total_rps += float(r["rps"])
        bad = r["bad_status"] + (f" ({r['first_bad']})" if r["first_bad"] != "0" else "")
        print(f"   {KIND_LABELS[kind]:<38} {r['connections']:>5} {int(r['requests']):>9} "
              f"{float(r['rps']):>9.1f} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>9} "
              f"{bad:>8} {r['socket_errors']:>8} {r['timeouts']:>8}")
    print(f"   {'all kinds':<38} {args.connections:>5} {total_requests:>9} {total_rps:>9.1f}", flush=True)

    with Sampler(server, 1.0) as rest:
        deadline = time.monotonic() + args.idle_seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            server.check()
    line(f"RSS during {args.idle_seconds} s of rest", rest.series(8))
    line(f"RSS after {args.idle_seconds} s idle", mib(server.rss()))
    line("VmHWM (process peak so far)", mib(server.hwm()))
    line("descriptors after the rest", server.fds())


# --------------------------------------------------------------------- phase 3

class Holder:
    """Holds idle and slowloris connections and notes when the server closes them."""

    HEAD = (f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: almanac-robustness-slowloris\r\n"
            "X-Padding: ").encode()

    def __init__(self, port: int, slow_interval: float):
        self.port = port
        self.slow_interval = slow_interval
        self.selector = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.opened: dict[str, int] = Counter()
        self.connect_failures: Counter = Counter()
        self.closed: dict[str, list[float]] = {"idle": [], "slowloris": []}   # age at close
        self.answers: Counter = Counter()          # first bytes the server sent before closing
        self.slow: dict[socket.socket, list] = {}  # socket -> [bytes sent, opened at]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def open(self, kind: str, count: int) -> None:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(15)
            try:
                s.connect((HOST, self.port))
            except OSError as e:
                self.connect_failures[f"{kind} {type(e).__name__}"] += 1
                s.close()
                continue
            opened = time.monotonic()
            if kind == "slowloris":
                try:
                    s.send(self.HEAD[:1])
                except OSError:
                    pass
            s.setblocking(False)
            with self.lock:
                self.opened[kind] += 1
                if kind == "slowloris":
                    self.slow[s] = [1, opened]
                self.selector.register(s, selectors.EVENT_READ, (kind, opened))

    def _close(self, s: socket.socket, kind: str, opened: float) -> None:
        # Called with self.lock held.
        try:
            self.selector.unregister(s)
        except (KeyError, ValueError):
            pass
        self.slow.pop(s, None)
        s.close()
        self.closed[kind].append(time.monotonic() - opened)

    def _run(self) -> None:
        next_send = time.monotonic() + self.slow_interval
        while not self.stop.is_set():
            events = self.selector.select(0.2)
            with self.lock:
                for key, _ in events:
                    s, (kind, opened) = key.fileobj, key.data
                    if s.fileno() < 0:
                        continue
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        first = data.split(b"\r\n", 1)[0][:40].decode(errors="replace")
                        self.answers[f"{kind}: {first}"] += 1
                        continue
                    self._close(s, kind, opened)
                if time.monotonic() >= next_send:
                    next_send = time.monotonic() + self.slow_interval
                    for s, state in list(self.slow.items()):
                        sent, opened = state
                        byte = self.HEAD[sent:sent + 1] if sent < len(self.HEAD) else b"a"
                        try:
                            s.send(byte)
                            state[0] += 1
                        except BlockingIOError:
                            pass
                        except OSError:
                            self._close(s, "slowloris", opened)

    def closed_counts(self) -> dict[str, int]:
        with self.lock:
            return {k: len(v) for k, v in self.closed.items()}

    def still_open(self) -> int:
        with self.lock:
            return len(self.selector.get_map())

    def close_all(self) -> None:
        self.stop.set()
        self.thread.join()
        for key in list(self.selector.get_map().values()):
            try:
                key.fileobj.close()
            except OSError:
                pass
        self.selector.close()


def raise_nofile(wanted: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return f"{soft} (enough)"
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        if hard != resource.RLIM_INFINITY and hard < wanted:
            try:  # root may raise the hard limit too
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            except (ValueError, OSError):
                pass
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        raise StepFailed(f"this process may hold only {soft} descriptors; {wanted} needed (ulimit -n)")
    return f"{soft} (raised)"


def phase_idle(server: Server, args) -> None:
    say(f"3. Idle and slowloris: {args.idle_conns} idle + {args.slowloris_conns} slowloris connections "
        f"(one byte every {args.slowloris_interval:g} s)")
    server.check()
    line("RLIMIT_NOFILE of this process", raise_nofile(args.idle_conns + args.slowloris_conns + 512))
    line("RSS before", mib(server.rss()))
    line("descriptors before", server.fds())
    holder = Holder(args.port, args.slowloris_interval)
    checkpoints = sorted({c for c in (10, 25, 40) if c <= args.hold_seconds} | {args.hold_seconds})
    try:
        with Sampler(server, 0.25, fds=True) as sampler:
            holder.thread.start()
            t_open = time.monotonic()
            # Interleave the two kinds so both are opened over the same span.
            batches = max(1, (args.idle_conns + args.slowloris_conns) // 100)
            for b in range(batches):
                holder.open("idle", args.idle_conns * (b + 1) // batches - args.idle_conns * b // batches)
                holder.open("slowloris",
                            args.slowloris_conns * (b + 1) // batches - args.slowloris_conns * b // batches)
            t0 = time.monotonic()
            server.check()
            line("opened", f"{holder.opened['idle']} idle, {holder.opened['slowloris']} slowloris "
                           f"in {t0 - t_open:.2f} s")
            if holder.connect_failures:
                line("connections that could not open", counts(holder.connect_failures))
            time.sleep(0.5)
            line("server descriptors with all open", server.fds())
            line("RSS with all open", mib(server.rss()))

            health: list[float] = []
            failures: Counter = Counter()
            for _ in range(args.healthz_samples):
                try:
                    status, _, took = http_request(args.port, "GET", "/healthz", timeout=10)
                    if status == 200:
                        health.append(took)
                    else:
                        failures[status] += 1
                except (OSError, http.client.HTTPException) as e:
                    failures[type(e).__name__] += 1
            t_health = time.monotonic() - t0
            line(f"/healthz x{args.healthz_samples}, new connection each",
                 latency_summary(health, with_p99=True)
                 + (f"; failures: {counts(failures)}" if failures else ""))
            line("  sampled", f"from 0 to {t_health:.1f} s after all were open; "
                              f"{holder.still_open()} of ours still open at the end")

            for checkpoint in checkpoints:
                time.sleep(max(0.0, t0 + checkpoint - time.monotonic()))
                server.check()
                closed = holder.closed_counts()
                line(f"closed by the server {checkpoint} s after all open",
                     f"idle {closed['idle']}/{holder.opened['idle']}, "
                     f"slowloris {closed['slowloris']}/{holder.opened['slowloris']}; "
                     f"server descriptors {server.fds()}")
        if sampler.died:
            server.check()
        line("peak server descriptors (sampled)", sampler.max_fds())
        line("peak RSS during (sampled)", mib(sampler.max_rss()))
        for kind, ages in holder.closed.items():
            if ages:
                line(f"{kind}: age when closed", f"min {min(ages):.1f} s, median "
                     f"{statistics.median(ages):.1f} s, max {max(ages):.1f} s")
        if holder.answers:
            line("what the server sent before closing", counts(holder.answers))
    finally:
        holder.close_all()
    time.sleep(1)
    server.check()
    line("RSS after closing ours", mib(server.rss()))
    line("descriptors after closing ours", server.fds())
    status, _, took = http_request(args.port, "GET", "/healthz", timeout=10)
    line("/healthz after", f"{status} in {ms(took)}")


# --------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["storm", "mixed", "idle"], help="run one phase only")
    p.add_argument("--port", type=int, default=0, help="port for the server (default: a free one)")
    p.add_argument("--storm-size", type=int, default=300, help="concurrent failed logins (300)")
    p.add_argument("--storm-from", default="127.0.0.2",
                   help="source address of the storm (127.0.0.2; the real user is checked from "
                        "127.0.0.1 and from this one). 127.0.0.1 puts the later phases' address "
                        "over the failed-login limit")
    p.add_argument("--storm-timeout", type=float, default=120, help="seconds per storm request (120)")
    p.add_argument("--mixed-seconds", type=int, default=300, help="duration of the mixed load (300)")
    p.add_argument("--idle-seconds", type=int, default=60,
                   help="rest after the mixed load before the last RSS reading (60)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections of the mixed load (16)")
    p.add_argument("--events", type=int, default=1000, help="events in the seeded calendar (1000)")
    p.add_argument("--writers", type=int, default=4, help="accounts the mixed PUTs spread over (4)")
    p.add_argument("--put-same-calendar", action="store_true",
                   help="PUT the new events into the seeded calendar instead of the writers' ones")
    p.add_argument("--seed", choices=["auto", "put", "seeder"], default="auto",
                   help="seed with almanac-bench-seed (next to the server binary or $ALMANAC_SEED_BIN) "
                        "or with PUTs; auto: the seeder if present")
    p.add_argument("--idle-conns", type=int, default=2000, help="idle connections (2000)")
    p.add_argument("--slowloris-conns", type=int, default=1000, help="slowloris connections (1000)")
    p.add_argument("--slowloris-interval", type=float, default=5, help="seconds between bytes (5)")
    p.add_argument("--hold-seconds", type=int, default=40,
                   help="how long to hold them; closures are counted at 10, 25, 40 s (40)")
    p.add_argument("--healthz-samples", type=int, default=200, help="sequential /healthz requests (200)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (data, logs, wrk output)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    phases = [args.only] if args.only else ["storm", "mixed", "idle"]
    binary = find_binary()
    if args.port == 0:
        args.port = free_port()
    work = Path(tempfile.mkdtemp(prefix="almanac-robustness."))
    data = work / "data"
    server = Server(binary, data, args.port, work / "server.log")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        say("setting up")
        line("server binary", binary)
        line("work directory", work)
        line("machine", f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
        if "mixed" in phases and shutil.which("wrk") is None:
            raise StepFailed("wrk is missing (Debian: apt-get install wrk)")
        reader, item = "reader", None
        if "mixed" in phases and args.seed != "put":
            seeder = Path(os.environ.get("ALMANAC_SEED_BIN", binary.with_name("almanac-bench-seed")))
            if os.access(seeder, os.X_OK):
                t0 = time.monotonic()
                try:
                    reader, item = seed_with_seeder(seeder, data, args.events)
                    line(f"seeded {args.events} events with {seeder.name} in", f"{time.monotonic() - t0:.1f} s")
                except StepFailed as e:
                    if args.seed == "seeder":
                        raise
                    line("almanac-bench-seed failed, seeding with PUTs instead", str(e)[:200])
                    shutil.rmtree(data, ignore_errors=True)
                    reader, item = "reader", None
            elif args.seed == "seeder":
                raise StepFailed(f"no seeder at {seeder}")
        data.mkdir(exist_ok=True)
        real_password = "a real user's long password"
        server.add_user("alice", real_password)
        if item is None:
            server.add_user(reader)
        for i in range(1, args.writers + 1):
            server.add_user(f"writer{i}")
        server.start()
        line("server", f"pid {server.pid}, http://{HOST}:{args.port}/, RSS {mib(server.rss())}, "
                       f"descriptors {server.fds()}")
        if "storm" in phases:
            phase_storm(server, args, "alice", real_password)
        if "mixed" in phases:
            phase_mixed(server, args, work, reader, item)
        if "idle" in phases:
            phase_idle(server, args)
        server.check()
        say(f"done in {time.monotonic() - started:.0f} s; the server is still up "
            f"(RSS {mib(server.rss())}, VmHWM {mib(server.hwm())})")
        return 0
    except StepFailed as e:
        print(f"\nrobustness: {e}", file=sys.stderr, flush=True)
        if not isinstance(e, ServerDied) and server.proc is not None:
            print(server.log_tail(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nrobustness: interrupted", file=sys.stderr)
        return 130
    finally:
        server.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
