"""Contract items 3, 8 and 11: connections time out and are capped, the
server keeps accepting when descriptors run out, early answers keep the
connection usable (or close it cleanly), and header names are title-case.

The listener is the same whatever the database, so these run on SQLite."""

from __future__ import annotations

import socket
import time

import caldav
import pytest

from almanac_robust import (
    HOST, PASSWORD, Closed, Raw, basic, http_request, ics, is_title_case, propfind_body,
)

pytestmark = pytest.mark.backends("sqlite")

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
REQUEST_TIMEOUT = 6
SLACK = 3.0  # seconds the server may take beyond a timeout
TIMEOUTS = {"server": {"header_read_timeout_seconds": HEADER_TIMEOUT, "body_timeout_seconds": BODY_TIMEOUT,
                       "request_timeout_seconds": REQUEST_TIMEOUT}}
ALICE = basic("alice", PASSWORD)


def leftover_is_a_408_or_nothing(raw: Raw) -> None:
    """What a timed-out connection received before the close: nothing, or a 408."""
    if raw.buf:
        head = raw.buf.split(b"\r\n", 1)[0]
        assert head.startswith(b"HTTP/1.1 408"), f"a timed-out connection got {raw.buf[:300]!r}"


# 3. Timeouts


@pytest.mark.settings(TIMEOUTS)
def test_a_silent_connection_is_closed_after_the_header_timeout(almanac):
    with Raw(almanac.port) as raw:
        closed = raw.wait_closed(HEADER_TIMEOUT + SLACK + 5)
        assert closed is not None, f"a connection that sent nothing is still open after {HEADER_TIMEOUT + SLACK + 5} s"
        assert HEADER_TIMEOUT - 0.5 <= closed <= HEADER_TIMEOUT + SLACK, f"closed after {closed:.1f} s"
        leftover_is_a_408_or_nothing(raw)


@pytest.mark.settings(TIMEOUTS)
def test_slowloris_is_closed_after_the_header_timeout(almanac):
    """A request head sent one byte per second never completes: the
    connection is closed after the header timeout, not kept alive by the
    trickle."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    started = time.monotonic()
    with Raw(almanac.port) as raw:
        closed_at = None
        for byte in head:
            try:
                raw.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic() - started
                break
            if raw.wait_closed(1.0) is not None:
                closed_at = time.monotonic() - started
                break
            if time.monotonic() - started > HEADER_TIMEOUT + SLACK + 5:
                break
        assert closed_at is not None, f"a slowloris connection is still open after {time.monotonic() - started:.0f} s"
        assert closed_at <= HEADER_TIMEOUT + SLACK, f"slowloris closed only after {closed_at:.1f} s"
        leftover_is_a_408_or_nothing(raw)


@pytest.mark.settings(TIMEOUTS)
def test_an_idle_keep_alive_connection_is_closed(almanac):
    with Raw(almanac.port) as raw:
        raw.request("GET", "/healthz")
        assert raw.read_response().status == 200
        closed = raw.wait_closed(HEADER_TIMEOUT + SLACK + 5)
        assert closed is not None and closed <= HEADER_TIMEOUT + SLACK, f"idle keep-alive closed after {closed} s"


STALLS = {
    "an authenticated PUT": ("PUT", "/dav/calendars/alice/calendar/stalled.ics",
                             {"Content-Type": "text/calendar", "Authorization": ALICE}, {408}),
    "an anonymous PUT": ("PUT", "/dav/calendars/alice/calendar/stalled.ics", {"Content-Type": "text/calendar"},
                         {408, 401}),
    "the log-in form": ("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}, {408}),
    "an authenticated PROPPATCH": ("PROPPATCH", "/dav/calendars/alice/calendar/",
                                   {"Content-Type": "application/xml", "Authorization": ALICE}, {408}),
}


@pytest.mark.settings(TIMEOUTS)
@pytest.mark.parametrize("target", list(STALLS))
def test_a_stalled_body_is_answered_408_or_closed(almanac, target):
    method, path, headers, allowed = STALLS[target]
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Content-Length: 4000"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    started = time.monotonic()
    with Raw(almanac.port) as raw:
        raw.send(("\r\n".join(lines) + "\r\n\r\n").encode() + ics("stalled").encode()[:100])
        try:
            answer = raw.read_response(timeout=BODY_TIMEOUT + SLACK + 5)
        except Closed:
            answer = None
        except TimeoutError:
            raise AssertionError(f"no answer and no close {BODY_TIMEOUT + SLACK + 5} s after the body stalled")
        took = time.monotonic() - started
        assert took <= BODY_TIMEOUT + SLACK + 2.5, f"the stalled body was given up only after {took:.1f} s"
        if answer is not None:
            assert answer.status in allowed, f"a stalled body answered {answer.status}: {answer.text[:200]}"
            assert all(is_title_case(n) for n in answer.raw_names), answer.raw_names
            assert (answer.header("Connection") or "").lower() == "close", \
                f"{answer.status} without Connection: close, yet 3,900 bytes of the body never came: {answer.headers}"
        assert raw.wait_closed(SLACK) is not None, "the connection of a stalled body stays open"
    assert almanac.dav("GET", "/dav/calendars/alice/calendar/stalled.ics", "alice").status_code == 404, \
        "half a body was stored"


@pytest.mark.settings(TIMEOUTS)
def test_a_trickled_body_hits_the_request_timeout(almanac):
    """Bytes every second keep the body timeout (2 s) at bay; the whole
    request may still take only request_timeout_seconds (6 s): 503, close."""
    body = ics("trickle").encode()
    head = (f"PUT /dav/calendars/alice/calendar/trickle.ics HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: {ALICE}\r\nContent-Type: text/calendar\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    started = time.monotonic()
    answer = None
    with Raw(almanac.port) as raw:
        raw.send(head)
        for byte in body:
            try:
                raw.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if raw.wait_closed(0.7) is not None or raw.buf:
                break
            if time.monotonic() - started > REQUEST_TIMEOUT + SLACK + 5:
                break
        took = time.monotonic() - started
        try:
            answer = raw.read_response(timeout=2)
        except (Closed, TimeoutError):
            pass
    assert took <= REQUEST_TIMEOUT + SLACK, f"a request trickling its body ran {took:.1f} s"
    assert answer is not None, "closed without an answer"
    assert answer.status == 503 and (answer.header("Connection") or "").lower() == "close", \
        (answer.status, answer.headers, answer.text[:200])


# 3. The connection cap


@pytest.mark.settings({"server": {"max_connections": 50, "header_read_timeout_seconds": 4}})
def test_one_connection_over_the_cap_gets_503_and_healthz_comes_back(almanac):
    idle = []
    try:
        for n in range(50):
            idle.append(Raw(almanac.port, source=f"127.0.7.{n % 5 + 1}"))
        time.sleep(0.3)  # accepted
        opened = time.monotonic()
        with Raw(almanac.port, source="127.0.7.99") as extra:
            extra.request("GET", "/healthz")
            try:
                answer = extra.read_response(timeout=5)
            except Closed as e:
                raise AssertionError(f"the connection over the cap was closed without its 503: {e}") from None
            assert answer.status == 503, (answer.status, answer.text[:200])
            assert (answer.header("Retry-After") or "").isdigit(), answer.headers
            assert (answer.header("Connection") or "").lower() == "close", answer.headers
            assert all(is_title_case(n) for n in answer.raw_names), answer.raw_names
            assert extra.wait_closed(3) is not None, "the refused connection stays open"
        with Raw(almanac.port, source="127.0.7.98") as silent_extra:
            # One that sends nothing is told too.
            answer = silent_extra.read_response(timeout=5)
            assert answer.status == 503, answer.status
        # The idle ones time out (4 s), then /healthz answers again.
        waited = almanac.wait_healthy(timeout=4 + SLACK + 5)
        assert time.monotonic() - opened <= 4 + SLACK + 2, f"/healthz came back only after {waited:.1f} s"
        assert all(raw.wait_closed(1) is not None for raw in idle), "the server closed the idle connections"
    finally:
        for raw in idle:
            raw.close()


@pytest.mark.settings({"server": {"max_connections": 5, "header_read_timeout_seconds": HEADER_TIMEOUT,
                                  "send_timeout_seconds": 4}})
def test_clients_that_do_not_read_their_answers_do_not_hold_the_slots_forever(almanac):
    """Slow read: five clients ask for an 8 MB calendar and read nothing
    (a tiny receive buffer), so the answer cannot be written. Once a client
    has read nothing for send_timeout_seconds (4 s) its connection is
    dropped and its slot freed, or five clients shut the server (5 slots) —
    or 10,000 clients a default one — for good."""
    from almanac_robust import filler_text
    for i in range(9):
        body = ics(f"big{i}", description=filler_text(900_000, str(i)))
        assert almanac.put_ics("alice", "calendar", f"big{i}.ics", body).status_code == 201
    readers = []
    try:
        for _ in range(5):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect((HOST, almanac.port))
            s.sendall(Raw.build("GET", "/dav/calendars/alice/calendar/", {"Authorization": ALICE}))
            readers.append(s)
        time.sleep(0.5)
        assert http_request(almanac.port, "GET", "/healthz", timeout=5).status == 503, "the five slots are taken"
        almanac.wait_healthy(timeout=4 + SLACK + 5)
    finally:
        for s in readers:
            s.close()


@pytest.mark.settings({"server": {"header_read_timeout_seconds": 5}})
def test_descriptor_exhaustion_does_not_stop_the_server(make_almanac):
    """1,100 silent connections against a process allowed 1,024
    descriptors: it answers (503 or 200) while they are open, /healthz is
    200 once they time out, and the process lives."""
    almanac = make_almanac({"server": {"header_read_timeout_seconds": 5}}, nofile=1024)
    limit = int([line for line in open(f"/proc/{almanac.pid}/limits") if line.startswith("Max open files")][0].split()[3])
    assert limit == 1024, f"the test meant to give the server 1024 descriptors, it has {limit}"
    sockets: list[socket.socket] = []
    try:
        for n in range(1100):
            s = socket.socket()
            s.bind((f"127.0.8.{n % 10 + 1}", 0))
            s.settimeout(5)
            try:
                s.connect((HOST, almanac.port))
            except OSError as e:
                s.close()
                raise AssertionError(f"connection {n} could not even connect: {e}") from None
            sockets.append(s)
        opened = time.monotonic()
        time.sleep(0.5)
        assert almanac.alive(), "the server died with 1,100 connections"
        during = http_request(almanac.port, "GET", "/healthz", source="127.0.8.99", timeout=10)
        assert during.status in (200, 503), during.status
        if during.status == 503:
            assert (during.header("Retry-After") or "").isdigit()
        assert almanac.fd_count() < 1024
        almanac.wait_healthy(timeout=5 + SLACK + 10)
        assert time.monotonic() - opened <= 5 + SLACK + 10
        assert almanac.alive()
        assert almanac.dav("PROPFIND", "/dav/calendars/alice/", "alice", headers={"Depth": "0"}).status_code == 207
    finally:
        for s in sockets:
            s.close()
    assert "panicked" not in almanac.log_tail(400)


# 8. Early answers


XML = propfind_body("D:displayname")
BIG_XML = XML.replace("<D:prop>", "<D:prop>" + "<!-- padding -->" * 6000)  # ~96 KB: more than a small drain


def early_cases():
    event = ics("early")
    return [
        ("PROPFIND with a body to /", "PROPFIND", "/", XML, {}, {308}),
        ("PROPFIND with a body to /.well-known/caldav", "PROPFIND", "/.well-known/caldav", XML, {}, {301, 308}),
        ("PROPFIND with a body to /.well-known/caldav/", "PROPFIND", "/.well-known/caldav/", XML, {}, {301, 308}),
        ("a 96 KB PROPFIND to /", "PROPFIND", "/", BIG_XML, {}, {308}),
        ("PUT with a body to a share link that does not exist", "PUT",
         "/dav/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/e.ics", event, {"Content-Type": "text/calendar"},
         {403, 404}),
        ("unauthenticated PROPFIND with a body", "PROPFIND", "/dav/", XML, {"Depth": "0"}, {401}),
        ("unauthenticated PUT of an event", "PUT", "/dav/calendars/alice/calendar/e.ics", event,
         {"Content-Type": "text/calendar"}, {401}),
        ("unauthenticated 96 KB PUT", "PUT", "/dav/calendars/alice/calendar/e.ics", BIG_XML,
         {"Content-Type": "text/calendar"}, {401}),
        ("wrong password with a body", "PROPFIND", "/dav/calendars/alice/", XML,
         {"Authorization": basic("alice", "wrong password"), "Depth": "0"}, {401}),
        ("PUT to a page that does not exist", "PUT", "/no/such/page.ics", event, {"Content-Type": "text/calendar"},
         {404, 405}),
        ("PUT into a calendar that does not exist", "PUT", "/dav/calendars/alice/nope/e.ics", event,
         {"Content-Type": "text/calendar", "Authorization": ALICE}, {404, 409}),
        ("PUT into another user's calendar", "PUT", "/dav/calendars/bob/calendar/e.ics", event,
         {"Content-Type": "text/calendar", "Authorization": ALICE}, {403, 404}),
        ("a method /healthz does not allow", "PUT", "/healthz", event, {"Content-Type": "text/plain"}, {405}),
        ("POST with a body to a page", "POST", "/about", "a=b", {"Content-Type": "application/x-www-form-urlencoded"},
         {405}),
        ("a body over max_body_bytes", "PUT", "/dav/calendars/alice/calendar/big.ics", "X" * 150_000,
         {"Content-Type": "text/calendar", "Authorization": ALICE}, {413}),
        ("an XML body over max_xml_body_bytes", "PROPFIND", "/dav/calendars/alice/",
         XML.replace("<D:prop>", "<D:prop>" + "<!-- padding -->" * 70_000), {"Authorization": ALICE, "Depth": "0"},
         {413}),
    ]


@pytest.mark.settings({"limits": {"max_body_bytes": 100_000}})
def test_early_answers_keep_the_connection_usable(almanac):
    failures = []
    for what, method, path, body, headers, expected in early_cases():
        with Raw(almanac.port) as raw:
            try:
                raw.request(method, path, headers, body)
            except (BrokenPipeError, ConnectionResetError) as e:
                failures.append(f"{what}: the server reset the connection while the request was sent ({e})")
                continue
            try:
                answer = raw.read_response(timeout=10, method=method)
            except (Closed, TimeoutError) as e:
                failures.append(f"{what}: no answer ({e})")
                continue
            if answer.status not in expected:
                failures.append(f"{what}: {answer.status}, expected {sorted(expected)}")
                continue
            if (answer.header("Connection") or "").lower() == "close":
                if raw.wait_closed(5) is None:
                    failures.append(f"{what}: Connection: close but the server kept the connection open")
                continue
            try:
                raw.request("GET", "/healthz")
                second = raw.read_response(timeout=10)
            except (Closed, TimeoutError, BrokenPipeError, ConnectionResetError) as e:
                failures.append(f"{what}: answered {answer.status} without Connection: close, "
                                f"then the reused connection died ({e})")
                continue
            if second.status != 200:
                failures.append(f"{what}: the second request on the connection answered {second.status} "
                                f"({second.text[:100]!r}): the first body was read as a request")
    assert not failures, "\n".join(failures)


def chunked(method: str, path: str, body: str, headers: dict | None = None) -> bytes:
    data = body.encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
    chunks = b"".join(f"{len(data[i:i + 1000]):x}\r\n".encode() + data[i:i + 1000] + b"\r\n"
                      for i in range(0, len(data), 1000))
    return head.encode() + chunks + b"0\r\n\r\n"


@pytest.mark.parametrize("first", ["content-length", "chunked", "unauthenticated PUT"])
def test_a_pipelined_request_after_an_early_answer_is_answered(almanac, first):
    """The next request already sits behind the body when the early answer
    goes out (pipelining; or a client that retries at once with its
    password): it is answered, or the first answer said Connection: close."""
    if first == "content-length":
        request = Raw.build("PROPFIND", "/", {}, XML)
    elif first == "chunked":
        request = chunked("PROPFIND", "/", XML)
    else:
        request = Raw.build("PUT", "/dav/calendars/alice/calendar/p.ics", {"Content-Type": "text/calendar"},
                            ics("p"))
    retry = Raw.build("PUT", "/dav/calendars/alice/calendar/p.ics",
                      {"Content-Type": "text/calendar", "Authorization": ALICE}, ics("p"))
    with Raw(almanac.port) as raw:
        raw.send(request + retry)
        answer = raw.read_response(timeout=10)
        assert answer.status in (308, 401), answer.status
        if (answer.header("Connection") or "").lower() == "close":
            assert raw.wait_closed(5) is not None
            return
        try:
            second = raw.read_response(timeout=10)
        except (Closed, TimeoutError) as e:
            raise AssertionError(f"{first}: answered {answer.status} without Connection: close, "
                                 f"then the pipelined request got no answer ({e})") from None
        assert second.status == 201, (second.status, second.text[:200])


def test_expect_100_continue_refused_early_does_not_hang(almanac):
    """A client that waits for 100 Continue before its body gets the early
    answer at once, and the connection is not left waiting for a body that
    will never come."""
    with Raw(almanac.port) as raw:
        raw.send(Raw.build("PUT", "/dav/calendars/alice/calendar/e.ics",
                           {"Content-Type": "text/calendar", "Expect": "100-continue"}, b"",
                           content_length=5000))
        answer = raw.read_response(timeout=5)
        assert answer.status == 401, answer.status
        if (answer.header("Connection") or "").lower() == "close":
            assert raw.wait_closed(5) is not None
        else:
            raw.request("GET", "/healthz")
            assert raw.read_response(timeout=5).status == 200


def test_caldav_discovery_twenty_times_on_one_client(almanac):
    client = caldav.DAVClient(url=almanac.url("/"), username="alice", password=PASSWORD, timeout=30)
    for attempt in range(20):
        try:
            principal = client.principal()
            calendars = principal.calendars()
        except Exception as e:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"discovery {attempt + 1} of 20 failed: {type(e).__name__}: {e}") from None
        assert [str(c.url).rstrip("/").rsplit("/", 1)[1] for c in calendars] == ["calendar"], \
            [str(c.url) for c in calendars]


# 11. Title case


def test_header_names_are_title_case(almanac):
    assert almanac.put_ics("alice", "calendar", "tc.ics", ics("tc")).status_code == 201
    requests_to_make = [
        ("PROPFIND (207)", "PROPFIND", "/dav/calendars/alice/", {"Authorization": ALICE, "Depth": "0"}, XML, 207,
         {"Content-Type", "Content-Length"}),
        ("OPTIONS", "OPTIONS", "/dav/", {}, b"", 200, {"Dav", "Allow"}),
        ("401", "PROPFIND", "/dav/calendars/alice/", {"Depth": "0"}, XML, 401, {"Www-Authenticate"}),
        ("GET of an event", "GET", "/dav/calendars/alice/calendar/tc.ics", {"Authorization": ALICE}, b"", 200,
         {"Etag", "Content-Type", "Last-Modified"}),
        ("GET /healthz", "GET", "/healthz", {}, b"", 200, {"Content-Type"}),
        ("GET /", "GET", "/", {}, b"", 200, {"Content-Type", "Content-Security-Policy", "X-Content-Type-Options"}),
    ]
    failures = []
    for what, method, path, headers, body, status, expected in requests_to_make:
        with Raw(almanac.port) as raw:
            raw.request(method, path, headers, body)
            answer = raw.read_response(method=method)
        assert answer.status == status, (what, answer.status)
        lower = [n for n in answer.raw_names if not is_title_case(n)]
        if lower:
            failures.append(f"{what}: not title-case: {lower}")
        missing = expected - set(answer.raw_names)
        if missing:
            failures.append(f"{what}: missing {sorted(missing)} (sent: {answer.raw_names})")
    assert not failures, "\n".join(failures)
