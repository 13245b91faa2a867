"""When PostgreSQL stops answering, people get a polite page in the site's
look (503, Retry-After), sync clients a 503 instead of a password prompt,
and everything works again once the database is back — without a restart.

Needs ALMANAC_TEST_POSTGRES_URL (CI sets it): the test makes its own
database there and refuses it connections, which SQLite cannot simulate.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import pytest
import requests

from test_cli import BIN, REPO, free_port

PG = os.environ.get("ALMANAC_TEST_POSTGRES_URL", "")
PASSWORD = "a long enough password"


def psql(sql: str) -> None:
    subprocess.run(["psql", PG, "-qAtc", sql], check=True, capture_output=True, text=True)


@pytest.fixture
def server(tmp_path):
    if not PG:
        pytest.skip("ALMANAC_TEST_POSTGRES_URL is not set: no PostgreSQL to take down")
    name = f"almanac_down_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE DATABASE "{name}"')
    url = PG.rsplit("/", 1)[0] + "/" + name
    port = free_port()
    config = tmp_path / "almanac.toml"
    config.write_text(f'content_dir = "{REPO / "content"}"\ndatabase_url = "{url}"\n'
                      f'[site]\nbase_url = "http://127.0.0.1:{port}"\n')
    env = {**os.environ, "ALMANAC_CONFIG": str(config), "ALMANAC_DATA_DIR": str(tmp_path)}
    env.pop("ALMANAC_DATABASE_URL", None)
    subprocess.run([BIN, "user", "add", "dora", "--email", "d@example.org", "--password-stdin"],
                   input=PASSWORD + "\n", env=env, check=True, capture_output=True, text=True)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()
        time.sleep(0.05)
    try:
        yield base, name
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        psql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def take_down(name: str) -> None:
    psql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")


def test_pages_say_so_politely_while_the_database_is_down(server):
    base, name = server
    browser = requests.Session()
    form = browser.get(base + "/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    logged_in = browser.post(base + "/login", data={"csrf": csrf, "name": "dora", "password": PASSWORD},
                             allow_redirects=False)
    assert logged_in.status_code == 303
    assert browser.get(base + "/account").status_code == 200

    take_down(name)
    account = browser.get(base + "/account", timeout=60)
    assert account.status_code == 503, account.text[:500]
    assert "We cannot reach our database" in account.text and 'href="/static/site.css"' in account.text
    assert account.headers.get("Retry-After")
    # Pages that need no database still answer.
    assert browser.get(base + "/about", timeout=60).status_code == 200
    # A sync client is told to come back later, not asked for a password.
    dav = requests.request("PROPFIND", base + "/dav/calendars/newcomer/", auth=("newcomer", PASSWORD),
                           headers={"Depth": "0"}, timeout=60)
    assert dav.status_code == 503, dav.text
    assert "WWW-Authenticate" not in dav.headers
    assert requests.get(base + "/healthz", timeout=60).status_code == 503

    psql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    deadline = time.time() + 30
    while browser.get(base + "/account", timeout=60).status_code != 200:
        assert time.time() < deadline, "the site did not come back with the database"
        time.sleep(0.5)
