"""Helpers for the robustness suite: a real Almanac server on loopback
(SQLite or a fresh PostgreSQL database), raw HTTP/1.1 over sockets bound to
chosen loopback addresses, calendar data, XML.

conftest.py turns these into fixtures; the test modules import the helpers
directly (`from almanac_robust import ...`).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = "/var/tmp/almanac-ci-target/debug/almanac"
PG_URL = os.environ.get("ALMANAC_TEST_POSTGRES_URL", "").strip()
HOST = "127.0.0.1"
PASSWORD = "a long enough password"

DAV_NS = "DAV:"
CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'

# The form limits of the existing test sites: the suite attacks the
# failed-log-in throttles, not the per-form ones.
DEFAULT_SETTINGS: dict = {
    "rate_limits": {
        "login_per_minute": 1000,
        "signup_per_hour": 1000,
        "reset_per_hour": 1000,
        "contact_per_hour": 1000,
    },
}


SKIPS: list[tuple[str, str]] = []


def skip_saying(reason: str, node: str = "") -> None:
    """Skips the test and makes sure the reason is printed (the suite's
    conftest lists every such reason at the end of the run)."""
    import pytest
    SKIPS.append((node, reason))
    print(f"SKIP {node}: {reason}", file=sys.stderr)
    pytest.skip(reason)


def binary() -> str:
    """The server binary; the lead rebuilds it while we run, so wait a
    little when it is briefly missing."""
    path = os.environ.get("ALMANAC_BIN", DEFAULT_BIN)
    deadline = time.monotonic() + 120
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no almanac binary at {path} (set ALMANAC_BIN)")
        time.sleep(1)
    return path


def popen_binary(args: list[str], **kwargs) -> subprocess.Popen:
    """Popen of the binary, retrying while it is being replaced
    (ENOENT, ETXTBSY)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return subprocess.Popen([binary(), *args], **kwargs)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ETXTBSY) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def merge(base: dict, extra: dict | None) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(settings: dict) -> str:
    top = [f"{k} = {toml_value(v)}\n" for k, v in settings.items() if not isinstance(v, dict)]
    tables = [
        f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
        for name, table in settings.items() if isinstance(table, dict)
    ]
    return "".join(top) + "".join(tables)


# PostgreSQL


def psql(url: str, sql: str, timeout: float = 60) -> str:
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"psql failed: {sql}\n{done.stderr}")
    return done.stdout


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


class PgDatabase:
    """A fresh database on ALMANAC_TEST_POSTGRES_URL's server, dropped at the end."""

    def __init__(self, admin_url: str, tablespace: str | None = None):
        self.admin_url = admin_url
        self.name = "almanac_robust_" + uuid.uuid4().hex[:12]
        self.url = with_database(admin_url, self.name)
        suffix = f' TABLESPACE "{tablespace}"' if tablespace else ""
        psql(admin_url, f'CREATE DATABASE "{self.name}"{suffix}')

    def terminate_backends(self) -> int:
        out = psql(self.admin_url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()")
        return int(out.strip() or 0)

    def query(self, sql: str) -> str:
        return psql(self.url, sql)

    def drop(self) -> None:
        try:
            psql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception as e:  # noqa: BLE001 - clean-up reports and goes on
            print(f"could not drop {self.name}: {e}", file=sys.stderr)


# The server


class Almanac:
    """One server: its TOML, data directory, database, process and log."""

    def __init__(self, root: Path, backend: str, settings: dict | None = None, *,
                 data_dir: Path | None = None, database: PgDatabase | None = None,
                 nofile: int | None = None):
        self.root = root
        self.backend = backend
        self.database = database
        self.data_dir = data_dir or root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.config_path = root / "almanac.toml"
        self.log_path = root / "server.log"
        self.nofile = nofile
        self.proc: subprocess.Popen | None = None
        self.users: dict[str, str] = {}
        full = merge(DEFAULT_SETTINGS, settings)
        full.setdefault("content_dir", str(REPO / "content"))
        if database is not None:
            full["database_url"] = database.url
        full["site"] = {"base_url": self.base, **full.get("site", {})}
        self.settings = full
        self.config_path.write_text(to_toml(full))
        self.env = {**os.environ, "ALMANAC_CONFIG": str(self.config_path), "ALMANAC_DATA_DIR": str(self.data_dir)}
        for key in ("ALMANAC_DATABASE_URL", "ALMANAC_ACCESS_LOG", "ALMANAC_LISTEN"):
            self.env.pop(key, None)

    # Process

    def _preexec(self) -> Callable[[], None] | None:
        if self.nofile is None:
            return None
        limit = self.nofile

        def set_limit() -> None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return set_limit

    def start(self, timeout: float = 60) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
        log.flush()
        self.proc = popen_binary(["serve", "--listen", f"{HOST}:{self.port}"], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT, env=self.env, preexec_fn=self._preexec())
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"almanac exited with {self.proc.returncode} at start-up:\n{self.log_tail()}")
            try:
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"almanac did not answer /healthz within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return "\n".join(text.splitlines()[-lines:])

    # Command line

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        deadline = time.monotonic() + 120
        while True:
            try:
                return subprocess.run([binary(), *args], input=stdin, capture_output=True, text=True,
                                      timeout=timeout, env=self.env)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ETXTBSY) or time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def add_user(self, name: str, password: str = PASSWORD) -> tuple[str, str]:
        done = self.cli("user", "add", name, "--email", f"{name}@example.org", "--password-stdin",
                        stdin=password + "\n")
        assert done.returncode == 0, f"user add {name}: {done.stderr}"
        self.users[name] = password
        return name, password

    # HTTP

    def url(self, path: str) -> str:
        return self.base + path

    def dav(self, method: str, path: str, user: str | None = None, body: str | bytes | None = None,
            headers: dict | None = None, timeout: float = 60, session: requests.Session | None = None,
            password: str | None = None) -> requests.Response:
        """A request with requests (user: Basic with that user's password)."""
        sent = dict(headers or {})
        if body is not None and "Content-Type" not in sent:
            sent["Content-Type"] = "application/xml; charset=utf-8"
        auth = (user, password if password is not None else self.users[user]) if user else None
        data = body.encode() if isinstance(body, str) else body
        return (session or requests).request(method, self.url(path), data=data, headers=sent, auth=auth,
                                             timeout=timeout, allow_redirects=False)

    def put_ics(self, user: str, calendar: str, name: str, ics: str, headers: dict | None = None,
                **kw) -> requests.Response:
        return self.dav("PUT", f"/dav/calendars/{user}/{calendar}/{name}", user, ics,
                        {"Content-Type": "text/calendar; charset=utf-8", **(headers or {})}, **kw)

    def wait_healthy(self, timeout: float, source: str | None = None) -> float:
        """Seconds until /healthz answered 200 (fails after `timeout`)."""
        started = time.monotonic()
        last = None
        while True:
            try:
                answer = http_request(self.port, "GET", "/healthz", source=source, timeout=3)
                if answer.status == 200:
                    return time.monotonic() - started
                last = f"status {answer.status}"
            except OSError as e:
                last = repr(e)
            if time.monotonic() - started > timeout:
                raise AssertionError(f"/healthz did not answer 200 within {timeout} s (last: {last})")
            time.sleep(0.2)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# Plain HTTP requests from a chosen source address


@dataclass
class Answer:
    status: int
    headers: dict  # lower-case name -> value (last one wins)
    body: bytes
    raw_names: list = field(default_factory=list)  # header names as sent

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def http_request(port: int, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                 source: str | None = None, timeout: float = 30, auth: tuple[str, str] | None = None) -> Answer:
    """One request on a fresh connection from `source` (a loopback address)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        data = body.encode() if isinstance(body, str) else body
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = basic(*auth)
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, payload,
                      [k for k, _ in response.getheaders()])
    finally:
        connection.close()


# Raw HTTP/1.1 over one socket


class Closed(Exception):
    """The server closed the connection (EOF or reset) before a whole answer."""


class Raw:
    """A raw HTTP/1.1 connection: send bytes, read answers, watch for the close."""

    def __init__(self, port: int, source: str | None = None, timeout: float = 10):
        self.port = port
        self.sock = socket.create_connection((HOST, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    @staticmethod
    def build(method: str, path: str, headers: dict | None = None, body: bytes | str = b"",
              content_length: int | None = None) -> bytes:
        data = body.encode() if isinstance(body, str) else body
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
        sent = dict(headers or {})
        if data or content_length is not None or method in ("PUT", "POST", "PROPFIND", "PROPPATCH", "REPORT"):
            sent.setdefault("Content-Length", str(len(data) if content_length is None else content_length))
        lines += [f"{k}: {v}" for k, v in sent.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | str = b"") -> None:
        self.send(self.build(method, path, headers, body))

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as e:
            raise TimeoutError("no answer in time") from e
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Closed(f"connection reset after {len(self.buf)} bytes: {self.buf[:200]!r}") from e
        if not chunk:
            raise Closed(f"connection closed after {len(self.buf)} bytes: {self.buf[:200]!r}")
        self.buf += chunk

    def _take_line(self, deadline: float) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, timeout: float = 10, method: str = "GET") -> Answer:
        deadline = time.monotonic() + timeout
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill(deadline)
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            names, headers = [], {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                names.append(name)
                headers[name.lower()] = value.strip()
            if 100 <= status < 200:
                continue
            break
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._take_line(deadline).split(b";")[0], 16)
                if size == 0:
                    while self._take_line(deadline):
                        pass
                    break
                body += self._take(size, deadline)
                self._take(2, deadline)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]), deadline)
        else:
            try:
                while True:
                    self._fill(deadline)
            except Closed:
                pass
            body, self.buf = self.buf, b""
        return Answer(status, headers, body, names)

    def wait_closed(self, timeout: float) -> float | None:
        """Seconds until the server closed (EOF or reset), None if it did not
        within `timeout`. Bytes that arrive meanwhile are kept in self.buf."""
        started = time.monotonic()
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
            if not chunk:
                return time.monotonic() - started
            self.buf += chunk


# Calendar data


def ics(uid: str, summary: str = "Meeting", description: str = "", start: str = "20260310T100000Z",
        component: str = "VEVENT", extra: str = "") -> str:
    desc = f"DESCRIPTION:{description}\r\n" if description else ""
    timing = f"DTSTART:{start}\r\nDURATION:PT1H\r\n" if component == "VEVENT" else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//robustness test//EN\r\n"
        f"BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{timing}"
        f"SUMMARY:{summary}\r\n{desc}{extra}END:{component}\r\nEND:VCALENDAR\r\n"
    )


def filler_text(size: int, seed: str = "") -> str:
    """`size` characters of text that does not compress to nothing, folded
    as an iCalendar value (75-octet lines)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    text = ""
    i = 0
    while len(text) < size:
        text += hashlib.sha256(f"{digest}{i}".encode()).hexdigest()
        i += 1
    text = text[:size]
    return "\r\n ".join(text[i:i + 70] for i in range(0, len(text), 70))


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:24] + '"'


# XML


def parse_xml(body: bytes | str, what: str = "answer") -> ET.Element:
    data = body.encode() if isinstance(body, str) else body
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        bad = sorted({f"U+{ord(c):04X}" for c in data.decode(errors="replace")
                      if ord(c) < 0x20 and c not in "\t\r\n"})
        raise AssertionError(f"the {what} is not well-formed XML ({e}); forbidden characters: {bad}\n"
                             f"{data[:1500]!r}") from None


def propfind_body(*props: str) -> str:
    """A PROPFIND body for props like 'D:displayname', 'C:calendar-data'."""
    if not props:
        return f'<?xml version="1.0" encoding="utf-8"?><D:propfind {NS}><D:allprop/></D:propfind>'
    inner = "".join(f"<{p}/>" for p in props)
    return f'<?xml version="1.0" encoding="utf-8"?><D:propfind {NS}><D:prop>{inner}</D:prop></D:propfind>'


def proppatch_body(sets: dict[str, str] | None = None, removes: list[str] | None = None,
                   namespaces: str = 'xmlns:X="urn:example:robust"') -> str:
    """sets: element name ('D:displayname', 'X:note') -> inner XML."""
    out = f'<?xml version="1.0" encoding="utf-8"?><D:propertyupdate {NS} {namespaces}>'
    if sets:
        out += "<D:set><D:prop>" + "".join(f"<{k}>{v}</{k}>" for k, v in sets.items()) + "</D:prop></D:set>"
    if removes:
        out += "<D:remove><D:prop>" + "".join(f"<{k}/>" for k in removes) + "</D:prop></D:remove>"
    return out + "</D:propertyupdate>"


def propstats(multistatus: bytes | str) -> dict[str, str]:
    """'{ns}name' -> status code ('200', '404', ...) over every propstat of every response."""
    root = parse_xml(multistatus)
    found = {}
    for propstat in root.iter(f"{{{DAV_NS}}}propstat"):
        status = propstat.findtext(f"{{{DAV_NS}}}status", "")
        code = status.split()[1] if len(status.split()) > 1 else status
        for prop in propstat.find(f"{{{DAV_NS}}}prop"):
            found[prop.tag] = code
    return found


def prop_text(multistatus: bytes | str, tag: str) -> str | None:
    """The text of the first property `tag` ('{DAV:}displayname') found with 200."""
    root = parse_xml(multistatus)
    for propstat in root.iter(f"{{{DAV_NS}}}propstat"):
        if " 200 " not in propstat.findtext(f"{{{DAV_NS}}}status", "") + " ":
            continue
        element = propstat.find(f"{{{DAV_NS}}}prop/{tag}")
        if element is not None:
            return "".join(element.itertext())
    return None


def is_title_case(name: str) -> bool:
    return name == "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def run_threads(count: int, work: Callable[[int], None], timeout: float = 120) -> list[BaseException]:
    """Runs work(0..count-1) on threads; returns the exceptions they raised."""
    import threading
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrapped(i: int) -> None:
        try:
            work(i)
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        errors.append(TimeoutError(f"{stuck} threads still running after {timeout} s"))
    return errors
