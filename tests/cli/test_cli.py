"""The `almanac` binary as an operator uses it: help, users, settings,
schema checks, crash durability and graceful shutdown (SQLite)."""

from __future__ import annotations

import base64
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("ALMANAC_BIN", str(REPO / "target" / "debug" / "almanac"))
PASSWORD = "a long enough password"
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//cli test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:durable-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
    "DURATION:PT1H\r\nSUMMARY:Must survive kill -9\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def almanac(data_dir: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN, "--data-dir", str(data_dir), "--access-log", "-", *args],
        input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [BIN, "--data-dir", str(data_dir), "serve", "--listen", f"127.0.0.1:{port}", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stdout.read()}")
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not come up")


def request(port: int, method: str, path: str, body: str | None = None, user: str = "alice", depth: str = "0") -> tuple[int, str]:
    token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=body.encode() if body is not None else None,
        headers={"Authorization": f"Basic {token}", "Content-Type": "text/calendar", "Depth": depth},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_every_command_has_help(tmp_path):
    for args in ([], ["serve"], ["migrate"], ["user"], ["user", "add"], ["user", "list"], ["user", "passwd"], ["user", "delete"]):
        out = almanac(tmp_path, *args, "--help")
        assert out.returncode == 0, out.stderr
        assert "Usage:" in out.stdout


def test_user_administration(tmp_path):
    added = almanac(tmp_path, "user", "add", "alice", "--email", "alice@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "/dav/calendars/alice/calendar/" in added.stdout
    again = almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = almanac(tmp_path, "user", "add", "Bad Name", "--email", "b@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    assert bad.returncode != 0 and "user names are" in bad.stderr
    short = almanac(tmp_path, "user", "add", "bob", "--email", "b@example.org", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    listed = almanac(tmp_path, "user", "list")
    assert listed.stdout.splitlines() == ["alice\talice@example.org"]

    proc, port = start(tmp_path)
    try:
        assert request(port, "PROPFIND", "/dav/calendars/alice/")[0] == 207
        changed = almanac(tmp_path, "user", "passwd", "alice", "--password-stdin", stdin="another long password\n")
        assert changed.returncode == 0, changed.stderr
        deleted = almanac(tmp_path, "user", "delete", "alice")
        assert deleted.returncode == 0 and "Deleted user alice" in deleted.stdout
        assert almanac(tmp_path, "user", "list").stdout == ""
        assert almanac(tmp_path, "user", "delete", "alice").returncode != 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_settings_precedence(tmp_path):
    """Defaults < TOML file < ALMANAC_* variables < flags."""
    config = tmp_path / "almanac.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-file"}"\n[limits]\nmax_item_bytes = 1234\n')
    assert almanac(tmp_path / "ignored", "--config", str(config), "user", "list").returncode == 0
    # --data-dir given to almanac() wins over the file:
    assert (tmp_path / "ignored" / "almanac.db").exists()
    assert not (tmp_path / "from-file").exists()
    env_dir = tmp_path / "from-env"
    out = subprocess.run([BIN, "--config", str(config), "user", "list"], capture_output=True, text=True,
                         env={**os.environ, "ALMANAC_DATA_DIR": str(env_dir)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (env_dir / "almanac.db").exists(), "the variable wins over the file"
    out = subprocess.run([BIN, "--config", str(config), "user", "list"], capture_output=True, text=True, timeout=60)
    assert (tmp_path / "from-file" / "almanac.db").exists(), "the file wins over the default"
    bad = tmp_path / "bad.toml"
    bad.write_text("no_such_setting = 1\n")
    out = almanac(tmp_path, "--config", str(bad), "user", "list")
    assert out.returncode != 0 and "no_such_setting" in out.stderr
    # The shipped example is valid.
    out = almanac(tmp_path / "example", "--config", str(REPO / "almanac.example.toml"), "user", "list")
    assert out.returncode == 0, out.stderr


def test_outdated_schema_is_refused_until_migrated(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    db = sqlite3.connect(tmp_path / "almanac.db")
    db.execute("CREATE TABLE almanac_schema (version BIGINT NOT NULL)")
    db.execute("INSERT INTO almanac_schema VALUES (0)")
    db.commit()
    db.close()
    refused = subprocess.run([BIN, "--data-dir", str(tmp_path), "serve", "--listen", f"127.0.0.1:{free_port()}"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "run `almanac migrate`" in refused.stderr
    dry = almanac(tmp_path, "migrate", "--dry-run")
    assert dry.returncode == 0 and "Would apply migrations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]" in dry.stdout
    done = almanac(tmp_path, "migrate")
    assert done.returncode == 0 and "schema version is now 17" in done.stdout
    backups = list((tmp_path / "backups").glob("before-migration-from-v0-*.jsonl.gz"))
    assert len(backups) == 1 and "Backed up" in done.stdout, done.stdout
    assert "up to date" in almanac(tmp_path, "migrate").stdout
    checked = almanac(tmp_path, "check")
    assert checked.returncode == 0 and "schema version: ok" in checked.stdout, checked.stdout + checked.stderr
    proc, _ = start(tmp_path)
    proc.terminate()
    assert proc.wait(10) == 0


def test_acknowledged_put_survives_kill_9(tmp_path):
    almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    proc, port = start(tmp_path)
    status, _ = request(port, "PUT", "/dav/calendars/alice/calendar/durable.ics", EVENT)
    assert status == 201
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc, port = start(tmp_path)
    try:
        status, body = request(port, "GET", "/dav/calendars/alice/calendar/durable.ics")
        assert status == 200
        assert body == EVENT
    finally:
        proc.terminate()
        proc.wait(10)


def test_sigterm_finishes_requests_in_flight(tmp_path):
    almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    proc, port = start(tmp_path)
    # A request whose body arrives slowly is in flight when SIGTERM comes.
    sock = socket.create_connection(("127.0.0.1", port))
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    head = (f"PUT /dav/calendars/alice/calendar/late.ics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
            f"Content-Type: text/calendar\r\nContent-Length: {len(EVENT)}\r\n\r\n")
    sock.sendall(head.encode() + EVENT[:40].encode())
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    sock.sendall(EVENT[40:].encode())
    reply = sock.recv(4096).decode()
    sock.close()
    assert reply.startswith("HTTP/1.1 201"), reply
    assert proc.wait(10) == 0
    assert "shutting down" in proc.stdout.read()


def test_access_log_lines(tmp_path):
    almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    port = free_port()
    proc = subprocess.Popen([BIN, "--data-dir", str(tmp_path), "serve", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        assert request(port, "PUT", "/dav/calendars/alice/calendar/logged.ics", EVENT)[0] == 201
    finally:
        proc.terminate()
        proc.wait(10)
    lines = (tmp_path / "access.log").read_text().splitlines()
    put = [line for line in lines if '"PUT ' in line]
    assert len(put) == 1, lines
    # Apache combined, then the metrics fields.
    import re
    pattern = (r'^127\.0\.0\.1 - alice \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
               r'"PUT /dav/calendars/alice/calendar/logged\.ics HTTP/1\.1" 201 - "-" "Python-urllib/[\d.]+" '
               rf"dur_us=\d+ auth=password in={len(EVENT)} item=event ev=sync_write$")
    assert re.match(pattern, put[0]), put[0]
    health = [line for line in lines if "/healthz" in line]
    assert health and " - - [" in health[0] and '" 200 3 "' in health[0] and "auth=none" in health[0]
    # The metrics read the server's own log: the PUT is a change by a sync client.
    collected = almanac(tmp_path, "metrics", "collect", str(tmp_path / "access.log"))
    assert collected.returncode == 0 and "(0 malformed)" in collected.stdout, collected.stdout + collected.stderr
    import json
    report = json.loads((tmp_path / "metrics" / "report.json").read_text())
    assert sum(report["series"]["changes_sync"]["daily"].values()) == 1
    assert sum(report["series"]["accounts_accessed"]["daily"].values()) == 1


def test_maintenance_mode_from_the_command_line(tmp_path):
    almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    proc, port = start(tmp_path)
    try:
        on = almanac(tmp_path, "maintenance", "on", "--message", "Moving to a new disk.", "--until", "2099-01-01 12:00")
        assert on.returncode == 0, on.stderr
        status = almanac(tmp_path, "maintenance", "status")
        assert "on since" in status.stdout and "until 2099-01-01 12:00 UTC" in status.stdout
        code, body = request(port, "PUT", "/dav/calendars/alice/calendar/m.ics", EVENT)
        assert code == 503 and "Moving to a new disk." in body
        assert request(port, "PROPFIND", "/dav/calendars/alice/calendar/")[0] == 207
        bad = almanac(tmp_path, "maintenance", "on", "--message", "x", "--until", "tomorrow")
        assert bad.returncode != 0 and "is not a time" in bad.stderr
        assert almanac(tmp_path, "maintenance", "off").returncode == 0
        assert "off" in almanac(tmp_path, "maintenance", "status").stdout
        assert request(port, "PUT", "/dav/calendars/alice/calendar/m.ics", EVENT)[0] == 201
    finally:
        proc.terminate()
        proc.wait(10)


def test_backup_while_writing_then_restore(tmp_path):
    import threading
    live, copy = tmp_path / "live", tmp_path / "copy"
    almanac(live, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    proc, port = start(live)
    written = []

    def writer():
        for i in range(60):
            body = EVENT.replace("durable-1", f"w{i}")
            if request(port, "PUT", f"/dav/calendars/alice/calendar/w{i}.ics", body)[0] == 201:
                written.append(i)

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        time.sleep(0.1)
        out = almanac(live, "backup", str(tmp_path / "snap.jsonl.gz"))
        thread.join()
    finally:
        proc.terminate()
        proc.wait(10)
    assert out.returncode == 0, out.stderr
    assert "Backed up" in out.stdout
    restored = almanac(copy, "restore", str(tmp_path / "snap.jsonl.gz"))
    assert restored.returncode == 0, restored.stderr
    assert "users: 1" in restored.stdout
    again = almanac(copy, "restore", str(tmp_path / "snap.jsonl.gz"))
    assert again.returncode != 0 and "empty database" in again.stderr
    proc, port = start(copy)
    try:
        code, listing = request(port, "PROPFIND", "/dav/calendars/alice/calendar/")
        assert code == 207
        code, body = request(port, "REPORT", "/dav/calendars/alice/calendar/",
                             '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:prop><D:getetag/></D:prop></D:sync-collection>')
        names = sorted(int(h.split("/w")[1].split(".ics")[0]) for h in body.split("<D:href>")[1:])
        # A consistent snapshot holds a prefix of the writes, each one whole.
        assert names == list(range(len(names))), names
        assert len(names) <= len(written)
        if names:
            code, event = request(port, "GET", f"/dav/calendars/alice/calendar/w{names[-1]}.ics")
            assert code == 200 and f"UID:w{names[-1]}" in event
    finally:
        proc.terminate()
        proc.wait(10)


def test_probe_reports_like_a_nagios_plugin(tmp_path):
    almanac(tmp_path, "user", "add", "probe", "--email", "p@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    secret = tmp_path / "probe.password"
    secret.write_text(PASSWORD + "\n")
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not the password\n")
    proc, port = start(tmp_path)
    url = f"http://127.0.0.1:{port}/"

    def probe(*extra, password=secret):
        return subprocess.run([BIN, "probe", url, "--user", "probe", "--password-file", str(password), *extra],
                              capture_output=True, text=True, timeout=60)

    try:
        ok = probe()
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.startswith("OK - ") and "| discover=" in ok.stdout and "delete=" in ok.stdout
        slow = probe("--warn-ms", "0")
        assert slow.returncode == 1 and slow.stdout.startswith("WARNING - "), slow.stdout
        denied = probe(password=wrong)
        assert denied.returncode == 2 and denied.stdout.startswith("CRITICAL - discover:") and "401" in denied.stdout
        almanac(tmp_path, "maintenance", "on", "--message", "probe test")
        down = probe()
        assert down.returncode == 2 and down.stdout.startswith("CRITICAL - put:") and "503" in down.stdout, down.stdout
        almanac(tmp_path, "maintenance", "off")
        missing = probe(password=tmp_path / "nope")
        assert missing.returncode == 3 and missing.stdout.startswith("UNKNOWN - ")
        # The probe leaves nothing behind.
        code, body = request(port, "PROPFIND", "/dav/calendars/probe/calendar/", user="probe", depth="1")
        assert code == 207 and body.count("<D:response>") == 1, body
    finally:
        proc.terminate()
        proc.wait(10)
    stopped = probe()
    assert stopped.returncode == 2 and stopped.stdout.startswith("CRITICAL - discover:"), stopped.stdout


def test_probe_signs_up_a_throwaway_account_and_removes_it(tmp_path):
    almanac(tmp_path, "user", "add", "probe", "--email", "p@example.org", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    almanac(tmp_path, "user", "add", "helper", "--email", "h@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    secret = tmp_path / "probe.password"
    secret.write_text(PASSWORD + "\n")
    proc, port = start(tmp_path)
    url = f"http://127.0.0.1:{port}/"

    def probe(user):
        return subprocess.run([BIN, "probe", url, "--user", user, "--password-file", str(secret), "--signup"],
                              capture_output=True, text=True, timeout=60)

    try:
        ok = probe("probe")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "signup=" in ok.stdout and "login=" in ok.stdout and "cleanup=" in ok.stdout, ok.stdout
        # The throwaway account was made (its validation mail is in the outbox) and is gone again.
        mails = list((tmp_path / "outbox").glob("*.eml"))
        assert len(mails) == 1 and "probe-" in mails[0].read_text()
        assert "probe-" not in almanac(tmp_path, "user", "list").stdout
        # A probe account that is not staff cannot clean up: CRITICAL, naming the step.
        helper = probe("helper")
        assert helper.returncode == 2 and helper.stdout.startswith("CRITICAL - cleanup:"), helper.stdout
    finally:
        proc.terminate()
        proc.wait(10)


def test_access_log_rotates_by_size_and_nothing_is_lost(tmp_path):
    almanac(tmp_path, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    config = tmp_path / "almanac.toml"
    config.write_text('access_log_rotate = "size:2500"\naccess_log_keep = 50\n')
    proc, port = start(tmp_path, env={"ALMANAC_CONFIG": str(config)})
    try:
        for i in range(40):
            assert request(port, "PUT", f"/dav/calendars/alice/calendar/r{i}.ics", EVENT.replace("durable-1", f"r{i}"))[0] == 201
            time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(10)
    files = sorted(tmp_path.glob("access.log*"))
    assert len(files) >= 3, files
    assert all(f.stat().st_size <= 2500 for f in files), [(f.name, f.stat().st_size) for f in files]
    lines = [line for f in files for line in f.read_text().splitlines()]
    assert sum('"PUT /dav/' in line for line in lines) == 40
    out = subprocess.run([BIN, "--data-dir", str(tmp_path), "--config", str(config), "metrics", "collect"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"Read {len(lines)} new lines (0 malformed) from {len(files)} file(s)" in out.stdout, out.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('access_log_rotate = "weekly"\n')
    refused = subprocess.run([BIN, "--data-dir", str(tmp_path), "--config", str(bad), "serve", "--listen", f"127.0.0.1:{free_port()}"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "daily" in refused.stderr
