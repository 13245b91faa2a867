"""Fixtures of the robustness suite.

- `backend`: every test that asks for it runs on "sqlite" and "postgres"
  (`@pytest.mark.backends("sqlite")` narrows it). PostgreSQL needs
  ALMANAC_TEST_POSTGRES_URL; without it that case skips and says why.
- `almanac`: a started server with the user `alice` (password
  almanac_robust.PASSWORD); its TOML comes from the test's
  `@pytest.mark.settings({...})` (tables as dicts, merged over the suite's
  defaults). Exposes base URL, data directory, process (RSS from
  /proc/PID/status), cli(), restart().
- `make_almanac(settings, data_dir=..., nofile=..., start=...)`: more
  servers, or one with a data directory of the test's choosing or a
  descriptor limit.
- `tmpfs(size_mb)`: a small tmpfs mounted for the test (root only; skips
  and says why otherwise), unmounted whatever happens.

On failure the report carries the tail of every server log of the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from almanac_robust import PG_URL, SKIPS, Almanac, PgDatabase, skip_saying

BACKENDS = ("sqlite", "postgres")


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): the backends a test runs on (default: both)")
    config.addinivalue_line("markers", "settings(dict): TOML settings of the test's server")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        names = marker.args if marker else BACKENDS
        metafunc.parametrize("backend", names)


def pytest_terminal_summary(terminalreporter):
    if SKIPS:
        terminalreporter.section("robustness tests skipped (and why)")
        for node, reason in SKIPS:
            terminalreporter.write_line(f"{node}: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in getattr(item, "_almanac_servers", []):
            report.sections.append((f"almanac log tail ({server.backend}, {server.base}, {server.root})",
                                    server.log_tail()))


@pytest.fixture
def make_almanac(request, tmp_path):
    servers: list[Almanac] = []
    databases: list[PgDatabase] = []
    request.node._almanac_servers = servers

    def make(settings: dict | None = None, *, backend: str | None = None, data_dir: Path | None = None,
             nofile: int | None = None, start: bool = True, users: tuple[str, ...] = ("alice",),
             tablespace: str | None = None) -> Almanac:
        if backend is None:
            callspec = getattr(request.node, "callspec", None)
            backend = callspec.params.get("backend", "sqlite") if callspec else "sqlite"
        database = None
        if backend == "postgres":
            if not PG_URL:
                skip_saying("ALMANAC_TEST_POSTGRES_URL is not set: no PostgreSQL to test on", request.node.nodeid)
            database = PgDatabase(PG_URL, tablespace=tablespace)
            databases.append(database)
        root = tmp_path / f"server{len(servers)}"
        root.mkdir()
        server = Almanac(root, backend, settings, data_dir=data_dir, database=database, nofile=nofile)
        servers.append(server)
        for name in users:
            server.add_user(name)
        if start:
            server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            try:
                server.stop()
            except Exception as e:  # noqa: BLE001
                print(f"stopping {server.base}: {e}", file=sys.stderr)
                server.kill()
        for database in databases:
            database.drop()


@pytest.fixture
def almanac(request, make_almanac, backend):
    marker = request.node.get_closest_marker("settings")
    settings = dict(marker.args[0]) if marker and marker.args else {}
    if marker:
        settings.update(marker.kwargs)
    return make_almanac(settings, backend=backend)


@pytest.fixture
def tmpfs(request):
    """tmpfs(size_mb, owner=None) -> a freshly mounted, empty directory."""
    mounts: list[Path] = []
    if os.geteuid() != 0:
        skip_saying("needs root to mount a small tmpfs (full-disk test)", request.node.nodeid)

    def mount(size_mb: int, owner: str | None = None) -> Path:
        where = Path(tempfile.mkdtemp(prefix="almanac-tmpfs-"))
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            where.rmdir()
            skip_saying(f"cannot mount a tmpfs here: {done.stderr.strip()}", request.node.nodeid)
        mounts.append(where)
        if owner:
            subprocess.run(["chown", f"{owner}:{owner}", str(where)], check=True)
        return where

    try:
        yield mount
    finally:
        for where in reversed(mounts):
            done = subprocess.run(["umount", str(where)], capture_output=True, text=True)
            if done.returncode != 0:
                subprocess.run(["umount", "-l", str(where)], capture_output=True, text=True)
            try:
                where.rmdir()
            except OSError:
                pass
