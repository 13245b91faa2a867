"""Shared fixtures for the third-party-client interoperability tests.

One Almanac server per test session, started from the built binary on a free
port in a temporary data directory, with one account per test module so the
modules do not see each other's data.

Environment:
  ALMANAC_BIN                path of the binary (default target/debug/almanac)
  ALMANAC_TEST_BACKEND       sqlite (default) or postgres
  ALMANAC_TEST_POSTGRES_URL  postgres://user@host:port[/db] to create a fresh
                             database on (required for the postgres backend)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "debug" / "almanac"

# name -> password; every account gets /dav/calendars/NAME/calendar/.
USERS = {
    "alice": "alice-secret-1",
    "bob": "bob-secret-22",
    "vsync": "vsync-secret-3",
    "litmus": "litmus-secret-4",
    "tester": "tester-secret-5",
}


@dataclass
class Server:
    base_url: str  # http://127.0.0.1:PORT/  (no path)
    port: int
    backend: str
    data_dir: Path
    log_path: Path
    users: dict = field(default_factory=lambda: dict(USERS))

    @property
    def dav_url(self) -> str:
        return self.base_url + "dav/"

    def calendar_url(self, user: str, calendar: str = "calendar") -> str:
        return f"{self.base_url}dav/calendars/{user}/{calendar}/"

    def home_url(self, user: str) -> str:
        return f"{self.base_url}dav/calendars/{user}/"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"almanac exited with {proc.returncode} before it was healthy:\n"
                + log_path.read_text(errors="replace")
            )
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError("almanac did not become healthy in time:\n" + log_path.read_text(errors="replace"))


@contextlib.contextmanager
def almanac_instance(users: dict, access_log: Path | None = None):
    """Start an Almanac server with the accounts in `users` (name -> password)
    on a free port, in a fresh data directory (and a fresh PostgreSQL database
    with ALMANAC_TEST_BACKEND=postgres); yield its Server, stop it on exit.

    `access_log` is the file the server writes its access log to (default:
    none).  pytest.skip / pytest.fail as the almanac_server fixture documents.
    """
    binary = Path(os.environ.get("ALMANAC_BIN", str(DEFAULT_BIN)))
    backend = os.environ.get("ALMANAC_TEST_BACKEND", "sqlite").strip().lower()
    if backend not in ("sqlite", "postgres"):
        pytest.fail(f"ALMANAC_TEST_BACKEND must be sqlite or postgres, not {backend!r}")
    if not binary.is_file():
        pytest.fail(f"almanac binary not found at {binary} (build with `cargo build -p almanac` or set ALMANAC_BIN)")

    db_args: list[str] = []
    admin_url = db_name = None
    if backend == "postgres":
        pg_url = os.environ.get("ALMANAC_TEST_POSTGRES_URL")
        if not pg_url:
            reason = "ALMANAC_TEST_BACKEND=postgres but ALMANAC_TEST_POSTGRES_URL is not set"
            print(f"SKIP: {reason}", file=sys.stderr)
            pytest.skip(reason)
        admin_url = pg_url
        db_name = "almanac_interop_" + uuid.uuid4().hex[:12]
        _psql(admin_url, f'CREATE DATABASE "{db_name}"')
        db_args = ["--database-url", _with_database(pg_url, db_name)]

    tmp = tempfile.TemporaryDirectory(prefix="almanac-interop-")
    data_dir = Path(tmp.name) / "data"
    log_path = Path(tmp.name) / "server.log"
    common = [str(binary), "--data-dir", str(data_dir), *db_args]
    proc = None
    try:
        for name, password in users.items():
            subprocess.run(
                [*common, "user", "add", name, "--email", f"{name}@example.org", "--password-stdin"],
                input=password + "\n",
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
        port = _free_port()
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [*common, "--access-log", str(access_log) if access_log else "-", "serve", "--listen", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        base_url = f"http://127.0.0.1:{port}/"
        _wait_healthy(base_url, proc, log_path)
        print(f"\nalmanac ({backend}) serving at {base_url}, data in {data_dir}", file=sys.stderr)
        yield Server(
            base_url=base_url, port=port, backend=backend, data_dir=data_dir, log_path=log_path, users=dict(users)
        )
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if db_name is not None:
            try:
                _psql(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except subprocess.CalledProcessError as e:
                print(f"could not drop {db_name}: {e.stderr}", file=sys.stderr)
        tmp.cleanup()


@pytest.fixture(scope="session")
def almanac_server():
    with almanac_instance(USERS) as server:
        yield server


@pytest.fixture(scope="session")
def start_almanac():
    """almanac_instance, for a module that needs a server of its own
    (`with start_almanac({name: password}, access_log=path) as server:`)."""
    return almanac_instance


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = REPO / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
