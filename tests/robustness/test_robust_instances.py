"""Several instances agree on who may sign in. Verified credentials are
cached for hours, so a password change, a lock or a deletion made on one
instance (or by the command line) must reach every cache through the
database: SQLite with the command line beside a running server, and two
servers on one PostgreSQL database."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import caldav
import pytest
import requests

from almanac_robust import PASSWORD, Almanac, ics, parse_xml

NEW_PASSWORD = "a brand new long password"


def status(server: Almanac, user: str, password: str) -> int:
    return server.dav("PROPFIND", f"/dav/calendars/{user}/", user, headers={"Depth": "0"},
                      password=password).status_code


def refused_everywhere(servers: list[Almanac], user: str, password: str, deadline: float = 10) -> float:
    """Seconds until every server refuses the credential (the test fails
    if one still accepts it after `deadline`: the cache would keep it for
    hours)."""
    started = time.monotonic()
    while True:
        answers = [status(s, user, password) for s in servers]
        if all(a == 401 for a in answers):
            return time.monotonic() - started
        assert time.monotonic() - started < deadline, f"still accepted: {answers}"
        time.sleep(0.1)


@pytest.fixture
def instances(make_almanac, backend, tmp_path):
    first = make_almanac(backend=backend, users=("alice", "bob"))
    servers = [first]
    if backend == "postgres":
        root = tmp_path / "second-instance"
        root.mkdir()
        second = Almanac(root, backend, None, database=first.database)
        second.users = first.users  # the same accounts: the same database
        second.start()
        servers.append(second)
    yield servers
    for server in servers[1:]:
        server.stop()


def test_a_new_password_lock_and_deletion_reach_every_instance(instances):
    first = instances[0]
    for server in instances:
        assert status(server, "alice", PASSWORD) == 207, "verified, and now cached"
        assert status(server, "bob", PASSWORD) == 207

    changed = first.cli("user", "passwd", "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert changed.returncode == 0, changed.stderr
    took = refused_everywhere(instances, "alice", PASSWORD)
    print(f"a new password reached {len(instances)} instance(s) in {took:.2f} s")
    for server in instances:
        assert status(server, "alice", NEW_PASSWORD) == 207
        assert status(server, "bob", PASSWORD) == 207, "other accounts keep their cached credentials"

    locked = first.cli("user", "lock", "alice")
    assert locked.returncode == 0, locked.stderr
    refused_everywhere(instances, "alice", NEW_PASSWORD)
    assert first.cli("user", "unlock", "alice").returncode == 0
    for server in instances:
        assert status(server, "alice", NEW_PASSWORD) == 207, "unlocked again"

    assert first.cli("user", "delete", "bob").returncode == 0
    refused_everywhere(instances, "bob", PASSWORD)
    assert first.cli("user", "lock", "nobody").returncode != 0


# Two instances on one PostgreSQL, driven alternately


D = "{DAV:}"
CAL = "/dav/calendars/alice/calendar/"
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
        '<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>')


def token_number(token: str) -> int:
    return int(re.search(r"(\d+)$", token).group(1))


@pytest.mark.backends("postgres")
def test_two_instances_agree_on_writes_sync_and_maintenance(instances):
    first, second = instances
    # python caldav saves through one instance and reads through the other.
    one = caldav.DAVClient(url=first.url("/dav/"), username="alice", password=PASSWORD)
    two = caldav.DAVClient(url=second.url("/dav/"), username="alice", password=PASSWORD)
    on_one = one.principal().calendars()[0]
    on_two = two.principal().calendars()[0]
    on_one.save_event(ics("a@x", "Written on one"))
    assert "Written on one" in on_two.event_by_uid("a@x").data
    on_two.save_event(ics("b@x", "Written on two"))
    assert "Written on two" in on_one.event_by_uid("b@x").data

    # Sync tokens never go backwards when a client alternates.
    token, seen = "", []
    for n in range(12):
        server = instances[n % 2]
        assert server.put_ics("alice", "calendar", f"alt{n}.ics", ics(f"alt{n}")).status_code == 201
        answer = server.dav("REPORT", CAL, "alice", SYNC.format(token=token), {"Depth": "1"})
        assert answer.status_code == 207, answer.text[:300]
        tree = parse_xml(answer.content)
        new_token = tree.findtext(f"{D}sync-token")
        changed = {r.findtext(f"{D}href").rsplit("/", 1)[1] for r in tree.iter(f"{D}response")}
        assert f"alt{n}.ics" in changed, (n, changed)
        seen.append(token_number(new_token))
        token = new_token
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen

    # Maintenance mode switched on through one applies to both.
    assert first.cli("maintenance", "on", "--message", "Upgrading").returncode == 0
    try:
        for server in instances:
            refused = server.put_ics("alice", "calendar", "during.ics", ics("during"))
            assert refused.status_code == 503 and refused.headers.get("Retry-After"), refused.status_code
            assert server.dav("GET", f"{CAL}alt0.ics", "alice").status_code == 200, "reads go on"
    finally:
        assert first.cli("maintenance", "off").returncode == 0
    assert second.put_ics("alice", "calendar", "after.ics", ics("after")).status_code == 201


@pytest.mark.backends("postgres")
def test_killing_one_instance_under_writes_loses_no_acknowledged_write(instances):
    first, second = instances
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(index: int) -> None:
        n = 0
        while not stop.is_set():
            name = f"w{index}-{n}.ics"
            server = instances[(index + n) % 2]
            try:
                answer = server.put_ics("alice", "calendar", name, ics(name), timeout=10)
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code == 201:
                with lock:
                    acknowledged.append(name)
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    first.kill()  # SIGKILL, mid-write
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acknowledged) > 20, len(acknowledged)
    listing = second.dav("PROPFIND", CAL, "alice", headers={"Depth": "1"})
    assert listing.status_code == 207
    stored = {r.findtext(f"{D}href").rsplit("/", 1)[1] for r in parse_xml(listing.content).iter(f"{D}response")}
    missing = [name for name in acknowledged if name not in stored]
    assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
    first.start()
    assert status(first, "alice", PASSWORD) == 207, "the killed instance comes back"


@pytest.mark.backends("postgres")
def test_rate_limits_and_app_passwords_hold_across_instances(make_almanac, tmp_path):
    limits = {"rate_limits": {"signup_per_hour": 3, "failed_logins_per_user": 4}}
    first = make_almanac(limits, backend="postgres", users=("alice", "bob"))
    root = tmp_path / "second-instance"
    root.mkdir()
    second = Almanac(root, "postgres", limits, database=first.database)
    second.users = first.users
    second.start()
    try:
        answers = []
        for n in range(5):
            server = (first, second)[n % 2]
            browser = requests.Session()
            page = browser.get(server.url("/signup"), timeout=30).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            answers.append(browser.post(server.url("/signup"), timeout=30, allow_redirects=False, data={
                "csrf": csrf, "name": f"new{n}", "email": f"new{n}@example.org",
                "password": "a long enough password", "terms": "yes"}).status_code)
        assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429], answers

        # Guesses at bob's password spread over both instances meet one
        # limit: after four, even the right password waits (bob's apps
        # that signed in before are let through, which the single-instance
        # tests check).
        for n in range(4):
            assert status((first, second)[n % 2], "bob", f"wrong guess {n}") == 401
        for server in (first, second):
            assert status(server, "bob", PASSWORD) == 429, "throttled on both"

        # An app password made on one instance works on the other, and
        # stops on both the moment it is revoked.
        web = requests.Session()
        page = web.get(first.url("/login"), timeout=30).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        assert web.post(first.url("/login"), data={"csrf": csrf, "name": "alice", "password": PASSWORD},
                        timeout=30, allow_redirects=False).status_code == 303
        account = web.get(first.url("/account"), timeout=30).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', account).group(1)
        web.post(first.url("/account/app-passwords"), data={"csrf": csrf, "label": "Phone"}, timeout=30,
                 allow_redirects=False)
        account = web.get(first.url("/account"), timeout=30).text
        secret = re.search(r"\b[a-z2-7]{4}(?:-[a-z2-7]{4}){5}\b", account).group(0)
        for server in (first, second):
            assert status(server, "alice", secret) == 207
        ident = re.search(r"/account/app-passwords/(\d+)/revoke", account).group(1)
        web.post(first.url(f"/account/app-passwords/{ident}/revoke"), data={"csrf": csrf}, timeout=30)
        for server in (second, first):
            assert status(server, "alice", secret) == 401, "refused at once"
    finally:
        second.stop()


@pytest.mark.backends("postgres")
def test_metrics_collect_every_instances_log_once(make_almanac, tmp_path):
    """Two instances on one machine share a data directory and each writes
    its own access log; they take turns collecting, and the report counts
    every line of both logs once."""
    shared = tmp_path / "shared-data"
    shared.mkdir()
    settings = {"metrics": {"collect_interval_seconds": 1, "log_files": [str(shared / "access-*.log")],
                            "public": True}}
    first = make_almanac(settings, backend="postgres", data_dir=shared, start=False)
    root = tmp_path / "second-instance"
    root.mkdir()
    second = Almanac(root, "postgres", settings, database=first.database, data_dir=shared)
    second.users = first.users
    for server in (first, second):
        server.env["ALMANAC_ACCESS_LOG"] = str(shared / f"access-{server.port}.log")
        server.start()
    try:
        for n in range(20):
            server = (first, second)[n % 2]
            assert status(server, "alice", PASSWORD) == 207

        def counted() -> tuple[float, int]:
            lines = sum(len(p.read_text().splitlines()) for p in shared.glob("access-*.log"))
            try:
                report = json.loads((shared / "metrics" / "report.json").read_text())
            except (OSError, ValueError):
                return -1, lines
            return sum(report["series"]["hits"]["daily"].values()), lines

        deadline = time.monotonic() + 20
        while True:
            hits, lines = counted()
            if hits == lines and len(list(shared.glob("access-*.log"))) == 2:
                break
            assert time.monotonic() < deadline, f"report {hits} hits, logs {lines} lines"
            time.sleep(0.3)
        assert lines >= 20
        time.sleep(2.5)  # more turns of collection, by either instance
        hits, lines = counted()
        assert hits == lines, f"each line once: report {hits}, logs {lines}"
    finally:
        second.stop()


class RoundRobin:
    """A TCP proxy on loopback that sends each new connection to the next
    of `ports`, as a load balancer in front of several instances does."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.turn = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
            upstream = socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.running = False
        self.listener.close()


@pytest.mark.backends("postgres")
def test_vdirsyncer_through_a_round_robin_proxy_keeps_both_sides_in_step(instances, tmp_path):
    """A sync client behind a proxy that sends each connection to the other
    instance in turn: vdirsyncer's requests go to both, and nothing is lost
    or duplicated."""
    if shutil.which("vdirsyncer") is None:
        pytest.skip("vdirsyncer is not installed")
    first, second = instances
    for uid, title in [("seed@x", "Seeded on the server"), ("keeper@x", "Stays on both sides")]:
        assert first.put_ics("alice", "calendar", f"{uid}.ics", ics(uid, title)).status_code == 201
    proxy = RoundRobin([first.port, second.port])
    local = tmp_path / "local"
    config = tmp_path / "config"
    config.write_text(f"""[general]
status_path = "{tmp_path / 'status'}/"
[pair almanac]
a = "local"
b = "remote"
collections = ["from b"]
conflict_resolution = null
[storage local]
type = "filesystem"
path = "{local}/"
fileext = ".ics"
[storage remote]
type = "caldav"
url = "http://127.0.0.1:{proxy.port}/"
username = "alice"
password = "{PASSWORD}"
""")

    def sync(*command: str, answers: str = "") -> None:
        done = subprocess.run(["vdirsyncer", *(command or ("sync",))], input=answers, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "VDIRSYNCER_CONFIG": str(config)})
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "error:" not in output.lower(), output

    def local_uids() -> set[str]:
        return {re.search(r"^UID:(.+?)\r?$", p.read_text(), re.M).group(1) for p in (local / "calendar").glob("*.ics")}

    def server_uids(server: Almanac) -> set[str]:
        """The UIDs of the calendar's events (vdirsyncer names what it
        uploads itself)."""
        listing = server.dav("PROPFIND", CAL, "alice", headers={"Depth": "1"})
        names = {r.findtext(f"{D}href").rsplit("/", 1)[1] for r in parse_xml(listing.content).iter(f"{D}response")}
        texts = [server.dav("GET", CAL + n, "alice").text for n in names if n.endswith(".ics")]
        return {re.search(r"^UID:(.+?)\r?$", t, re.M).group(1) for t in texts}

    try:
        sync("discover", answers="y\n")
        sync()
        assert local_uids() == {"seed@x", "keeper@x"}
        (local / "calendar" / "local.ics").write_text(ics("local@x", "Written locally"))
        sync()
        assert server_uids(first) == server_uids(second) == {"seed@x", "keeper@x", "local@x"}
        changed = second.dav("GET", f"{CAL}seed@x.ics", "alice")
        updated = changed.text.replace("Seeded on the server", "Changed on the server")
        assert second.put_ics("alice", "calendar", "seed@x.ics", updated,
                              headers={"If-Match": changed.headers["ETag"]}).status_code == 204
        sync()
        seed_file = next(p for p in (local / "calendar").glob("*.ics") if "UID:seed@x" in p.read_text())
        assert "Changed on the server" in seed_file.read_text()
        seed_file.unlink()
        sync()
        assert server_uids(first) == server_uids(second) == {"keeper@x", "local@x"}
        assert local_uids() == {"keeper@x", "local@x"}
        assert proxy.turn >= 4, "the connections went to both instances"
    finally:
        proxy.close()
