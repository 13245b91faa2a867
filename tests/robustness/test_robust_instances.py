"""Several instances agree on who may sign in. Verified credentials are
cached for hours, so a password change, a lock or a deletion made on one
instance (or by the command line) must reach every cache through the
database: SQLite with the command line beside a running server, and two
servers on one PostgreSQL database."""

from __future__ import annotations

import time

import pytest

from almanac_robust import PASSWORD, Almanac

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
