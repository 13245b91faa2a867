"""Contract item 4: storage faults lose nothing.

SQLite: the data directory is a small tmpfs (root only). The disk is
filled, refused writes must be 507, space comes back, writes resume without
a restart, every acknowledged write is there (also after a restart) and
`almanac check` is happy. The cycle repeats: the bug this guards against
lost data in 4 runs of 7.

PostgreSQL: the server's backends are terminated over and over while
writes run; and (when the database server is on this machine) the
database lives in a tablespace on a small tmpfs that fills up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from almanac_robust import (
    PG_URL, etag_of, filler_text, ics, proppatch_body, propstats, psql, run_threads, skip_saying,
)

CAL = "/dav/calendars/alice/calendar/"


class Ledger:
    """What the server acknowledged: name -> ETag (None: deleted), plus
    the ETags of writes whose answer was not a success (they may or may not
    have happened)."""

    def __init__(self):
        self.acked: dict[str, str | None] = {}
        self.maybe: dict[str, set] = {}
        self.statuses: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()

    def put(self, almanac, name: str, body: str, session=None) -> requests.Response:
        answer = almanac.put_ics("alice", "calendar", name, body, session=session)
        with self.lock:
            self.statuses.append(("PUT", name, answer.status_code))
            if answer.status_code in (201, 204):
                etag = answer.headers.get("ETag")
                assert etag, f"PUT {name} answered {answer.status_code} without an ETag"
                assert etag == etag_of(body.encode()), (etag, etag_of(body.encode()))
                self.acked[name] = etag
                self.maybe.pop(name, None)
            else:
                self.maybe.setdefault(name, set()).add(etag_of(body.encode()))
        return answer

    def delete(self, almanac, name: str) -> requests.Response:
        answer = almanac.dav("DELETE", CAL + name, "alice")
        with self.lock:
            self.statuses.append(("DELETE", name, answer.status_code))
            if answer.status_code in (200, 204):
                self.acked[name] = None
                self.maybe.pop(name, None)
            else:
                self.maybe.setdefault(name, set()).add(None)
        return answer

    def verify(self, almanac, times: int = 1, when: str = "") -> None:
        """Every acknowledged write is there, `times` GETs each, always the same."""
        problems = []
        session = requests.Session()
        for name, etag in sorted(self.acked.items()):
            allowed = {etag} | self.maybe.get(name, set())
            seen = []
            for _ in range(times):
                got = almanac.dav("GET", CAL + name, "alice", session=session)
                seen.append((got.status_code, got.headers.get("ETag") if got.status_code == 200 else None))
            states = {None if status == 404 else tag for status, tag in seen}
            if any(status not in (200, 404) for status, _ in seen):
                problems.append(f"{name}: GETs answered {seen}")
            elif len(states) > 1:
                problems.append(f"{name}: GETs disagree: {seen}")
            elif not states <= allowed:
                want = "deleted" if etag is None else etag
                problems.append(f"{name}: acknowledged {want}, GET gives {seen[0]}")
        assert not problems, f"{when}: {len(problems)} of {len(self.acked)} acknowledged writes wrong:\n" + \
            "\n".join(problems[:30])


def fill_to(path: Path, leave: int) -> int:
    """A filler file taking all the free space of the file system but `leave` bytes."""
    free = shutil.disk_usage(path.parent).free
    size = max(0, free - leave)
    with open(path, "wb") as f:
        if size:
            os.posix_fallocate(f.fileno(), 0, size)
    return size


def check_exits_0(almanac) -> None:
    done = almanac.cli("check")
    assert done.returncode == 0, f"almanac check exited {done.returncode}:\n{done.stdout}\n{done.stderr}"


@pytest.mark.backends("sqlite")
def test_a_full_disk_answers_507_and_loses_nothing(tmpfs, make_almanac):
    disk = tmpfs(16)
    almanac = make_almanac({}, data_dir=disk / "data")
    ledger = Ledger()
    for i in range(20):
        assert ledger.put(almanac, f"base-{i}.ics", ics(f"base-{i}", description=filler_text(2000, f"b{i}"))).status_code == 201

    # Different margins hit the disk's end at different moments (inside the
    # WAL, at a checkpoint, growing the database file); three writers at once
    # put failed and fresh connections of the pool to use.
    margins = [300, 64, 1024, 150, 32]
    patched: list[str] = []
    calendars: list[str] = []
    for cycle, margin in enumerate(margins):
        filler = disk / "filler"
        fill_to(filler, leave=margin * 1024)
        refusals: list[tuple[int, str]] = []
        written = []

        def fill(w: int) -> None:
            session = requests.Session()
            refused = 0
            for i in range(150):
                name = f"c{cycle}-w{w}-{i}.ics"
                size = 3000 if i % 2 == 0 else 200
                answer = ledger.put(almanac, name, ics(name, f"Cycle {cycle}", description=filler_text(size, name)),
                                    session=session)
                if answer.status_code in (201, 204):
                    written.append(name)
                    continue
                refusals.append((answer.status_code, answer.text[:200]))
                refused += 1
                if refused >= 4:
                    return

        errors = run_threads(3, fill, timeout=120)
        assert not errors, errors[:3]
        assert refusals, f"cycle {cycle}: the disk never filled ({len(written)} PUTs)"
        assert all(status == 507 for status, _ in refusals), f"cycle {cycle}: a full disk answered {refusals}"
        # While the disk is full: an overwrite and a delete either happen or are refused cleanly.
        answer = ledger.put(almanac, f"base-{cycle}.ics", ics(f"base-{cycle}", "Changed while full"))
        assert answer.status_code in (204, 507), (answer.status_code, answer.text[:200])
        answer = ledger.delete(almanac, f"base-{cycle + 10}.ics")
        assert answer.status_code in (204, 507), (answer.status_code, answer.text[:200])
        # Reads work; other writes answer 507 (in the multistatus for a PROPPATCH), never 500.
        listing = almanac.dav("PROPFIND", CAL, "alice", headers={"Depth": "1"})
        assert listing.status_code == 207, f"cycle {cycle}: a listing on a full disk answered {listing.status_code}"
        patch = almanac.dav("PROPPATCH", CAL, "alice", proppatch_body({f"X:note{cycle}": "n" * 4000}))
        assert patch.status_code in (207, 507), (patch.status_code, patch.text[:200])
        if patch.status_code == 207:
            assert set(propstats(patch.text).values()) <= {"200", "507"}, patch.text[:300]
            if "200" in propstats(patch.text).values():
                patched.append(f"note{cycle}")
        made = almanac.dav("MKCALENDAR", f"/dav/calendars/alice/full-{cycle}/", "alice")
        assert made.status_code in (201, 507), (made.status_code, made.text[:200])
        if made.status_code == 201:
            calendars.append(f"full-{cycle}")
        ledger.verify(almanac, when=f"cycle {cycle}, disk full")

        filler.unlink()
        deadline = time.monotonic() + 10
        k = 0
        while True:
            answer = ledger.put(almanac, f"c{cycle}-after-{k}.ics", ics(f"c{cycle}-after-{k}"))
            if answer.status_code == 201:
                break
            assert answer.status_code in (503, 507), f"cycle {cycle}, space back: {answer.status_code} {answer.text[:200]}"
            assert time.monotonic() < deadline, f"cycle {cycle}: writes still refused 10 s after space came back"
            k += 1
            time.sleep(0.5)
        # More writes on every connection of the pool, then a delete.
        assert not run_threads(3, lambda w: [ledger.put(almanac, f"c{cycle}-more-{w}-{j}.ics",
                                                         ics(f"c{cycle}-more-{w}-{j}")) for j in range(5)])
        # (A small margin can leave room for no write at all before the disk fills.)
        assert ledger.delete(almanac, written[0] if written else f"c{cycle}-after-{k}.ics").status_code == 204
        ledger.verify(almanac, times=3, when=f"cycle {cycle}, space back")
        print(f"cycle {cycle} (margin {margin} KiB): {len(written)} writes before the disk was full, "
              f"refusals {[s for s, _ in refusals]}")

    almanac.restart()
    ledger.verify(almanac, times=2, when="after a restart")
    for name in calendars:
        assert almanac.dav("PROPFIND", f"/dav/calendars/alice/{name}/", "alice", headers={"Depth": "0"}
                           ).status_code == 207, f"MKCALENDAR {name} was acknowledged on a full disk, then lost"
    if patched:
        shown = almanac.dav("PROPFIND", CAL, "alice", '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/>'
                            "</D:propfind>", {"Depth": "0"})
        for name in patched:
            assert name in shown.text, f"PROPPATCH {name} was acknowledged on a full disk, then lost"
    check_exits_0(almanac)
    statuses = {status for _, _, status in ledger.statuses}
    assert statuses <= {201, 204, 507}, statuses


# PostgreSQL


@pytest.mark.backends("postgres")
def test_terminated_database_connections_lose_no_acknowledged_write(almanac):
    ledger = Ledger()
    stop = threading.Event()
    reads: list[int] = []
    terminated = []

    def terminator() -> None:
        while not stop.is_set():
            terminated.append(almanac.database.terminate_backends())
            time.sleep(0.15)

    def writer(w: int) -> None:
        session = requests.Session()
        n = 0
        while not stop.is_set():
            name = f"w{w}-{n}.ics"
            ledger.put(almanac, name, ics(f"w{w}-{n}", f"Writer {w}", description=filler_text(500, name)),
                       session=session)
            if n % 3 == 2:  # overwrite an earlier one, unconditionally
                old = f"w{w}-{n - 2}.ics"
                ledger.put(almanac, old, ics(f"w{w}-{n - 2}", f"Writer {w} again {n}"), session=session)
            gone = f"w{w}-{n - 5}.ics"
            if n % 7 == 6 and ledger.acked.get(gone) and gone not in ledger.maybe:
                ledger.delete(almanac, gone)
            n += 1

    def reader(_: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            answer = almanac.dav("PROPFIND", CAL, "alice", headers={"Depth": "1"}, session=session)
            reads.append(answer.status_code)
            time.sleep(0.05)

    killer = threading.Thread(target=terminator, daemon=True)
    killer.start()
    workers = threading.Thread(target=lambda: run_threads(4, writer, timeout=60), daemon=True)
    readers = threading.Thread(target=lambda: run_threads(1, reader, timeout=60), daemon=True)
    workers.start()
    readers.start()
    time.sleep(8)
    stop.set()
    killer.join(30)
    workers.join(60)
    readers.join(60)
    assert almanac.alive(), "the server died"
    assert sum(terminated) >= 5, f"the test terminated only {sum(terminated)} backends"

    writes = [status for _, _, status in ledger.statuses]
    assert writes.count(503) >= 1, "no write was hit by a termination: the test did not test anything"
    bad = sorted({s for s in writes if s not in (201, 204, 503)})
    assert not bad, f"writes answered {bad} while connections died (only 201/204/503 allowed): " \
                    f"{[(m, n, s) for m, n, s in ledger.statuses if s in bad][:10]}"
    bad_reads = sorted({s for s in reads if s not in (207, 503)})
    assert not bad_reads, f"PROPFINDs answered {bad_reads} while connections died"

    deadline = time.monotonic() + 10
    k = 0
    while ledger.put(almanac, f"after-{k}.ics", ics(f"after-{k}")).status_code != 201:
        assert time.monotonic() < deadline, "writes did not recover within 10 s of the last termination"
        k += 1
        time.sleep(0.5)
    ledger.verify(almanac, times=2, when="after the terminations")
    almanac.restart()
    ledger.verify(almanac, when="after a restart")
    check_exits_0(almanac)
    print(f"{len(writes)} writes: {sum(s in (201, 204) for s in writes)} acknowledged, {writes.count(503)} 503; "
          f"{sum(terminated)} backends terminated")


def local_postgres_data_directory() -> Path | None:
    try:
        where = Path(psql(PG_URL, "SHOW data_directory").strip())
    except Exception:  # noqa: BLE001
        return None
    try:
        import pwd
        owner = pwd.getpwuid(where.stat().st_uid).pw_name
    except (OSError, KeyError):
        return None
    return where if owner == "postgres" else None


def test_a_full_postgres_tablespace_answers_507_and_loses_nothing(request, tmpfs, make_almanac):
    if not PG_URL:
        skip_saying("ALMANAC_TEST_POSTGRES_URL is not set: no PostgreSQL to test on", request.node.nodeid)
    if local_postgres_data_directory() is None:
        skip_saying("the PostgreSQL server is not on this machine (or not run by the postgres user): "
                    "cannot give it a tablespace on a small tmpfs", request.node.nodeid)
    disk = tmpfs(24, owner="postgres")
    location = disk / "ts"
    location.mkdir()
    shutil.chown(location, "postgres", "postgres")
    tablespace = "almanac_robust_ts_" + uuid.uuid4().hex[:8]
    psql(PG_URL, f"CREATE TABLESPACE {tablespace} LOCATION '{location}'")
    almanac = None
    try:
        almanac = make_almanac({}, backend="postgres", tablespace=tablespace)
        ledger = Ledger()
        for cycle in range(2):
            filler = disk / "filler"
            fill_to(filler, leave=600 * 1024)
            refused = []
            for i in range(3000):
                name = f"t{cycle}-{i}.ics"
                answer = ledger.put(almanac, name, ics(f"t{cycle}-{i}", description=filler_text(3000, name)))
                if answer.status_code not in (201, 204):
                    refused.append((answer.status_code, answer.text[:200]))
                    if len(refused) >= 4:
                        break
            assert refused, "the tablespace never filled"
            assert all(status == 507 for status, _ in refused), f"a full tablespace answered {refused}"
            ledger.verify(almanac, when=f"cycle {cycle}, tablespace full")
            filler.unlink()
            deadline = time.monotonic() + 10
            k = 0
            while ledger.put(almanac, f"t{cycle}-after-{k}.ics", ics(f"t{cycle}-after-{k}")).status_code != 201:
                assert time.monotonic() < deadline, "writes still refused 10 s after space came back"
                k += 1
                time.sleep(0.5)
            ledger.verify(almanac, times=3, when=f"cycle {cycle}, space back")
        almanac.restart()
        ledger.verify(almanac, when="after a restart")
        check_exits_0(almanac)
    finally:
        if almanac is not None:
            almanac.stop()
            if almanac.database is not None:
                almanac.database.drop()
        subprocess.run(["psql", PG_URL, "-qAtc", f"DROP TABLESPACE IF EXISTS {tablespace}"],
                       capture_output=True, text=True, timeout=60)
