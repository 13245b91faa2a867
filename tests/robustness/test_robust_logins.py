"""Contract items 1 and 2: password checks are capped, and the failed-log-in
throttles cannot be turned against the account they protect.

Clients play several machines by binding their sockets to other loopback
addresses (Linux routes all of 127/8 to lo)."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from almanac_robust import PASSWORD, Answer, http_request, propfind_body, run_threads

STORM = 300
MB = 1024  # KiB per MiB
PROPFIND = propfind_body("D:displayname")


def dav_propfind(almanac, user: str, password: str, source: str | None = None, path: str | None = None,
                 timeout: float = 60) -> Answer:
    return http_request(almanac.port, "PROPFIND", path or f"/dav/calendars/{user}/", PROPFIND,
                        {"Depth": "0", "Content-Type": "application/xml"}, source=source, timeout=timeout,
                        auth=(user, password))


def check_refusal(answer: Answer, what: str) -> None:
    """401, 429 and 503 as the contract words them."""
    if answer.status == 401:
        assert answer.header("WWW-Authenticate"), f"{what}: a 401 without WWW-Authenticate"
    elif answer.status == 429:
        assert (answer.header("Retry-After") or "").isdigit(), f"{what}: a 429 without Retry-After: {answer.headers}"
    elif answer.status == 503:
        assert (answer.header("Retry-After") or "").isdigit(), f"{what}: a 503 without Retry-After: {answer.headers}"
        assert answer.header("WWW-Authenticate") is None, \
            f"{what}: a 503 must not ask for a password (WWW-Authenticate: {answer.header('WWW-Authenticate')})"
    else:
        raise AssertionError(f"{what}: answered {answer.status}, not 401/429/503: {answer.text[:300]}")


# 1. Password checks are capped


@pytest.mark.settings({"auth": {"password_checks": 2, "password_check_queue": 32}})
def test_a_login_storm_keeps_memory_bounded_and_healthz_answering(almanac):
    rss_before = almanac.rss_kib()
    answers: list[Answer | None] = [None] * STORM
    barrier = threading.Barrier(STORM)
    stop = threading.Event()
    rss: list[int] = []
    health: list[tuple[float, float, object]] = []  # (sent at, seconds, status or error)
    window = {"first": None, "last": None}

    def sample_rss() -> None:
        while not stop.is_set():
            try:
                rss.append(almanac.rss_kib())
            except (OSError, AttributeError):
                return
            time.sleep(0.02)

    def sample_health() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                status = http_request(almanac.port, "GET", "/healthz", source="127.0.0.200", timeout=10).status
            except OSError as e:
                status = repr(e)
            health.append((sent, time.monotonic() - sent, status))
            time.sleep(0.05)

    def attack(i: int) -> None:
        # 30 addresses, 10 names each: under every per-address limit.
        source = f"127.0.1.{i % 30 + 1}"
        barrier.wait(30)
        window["first"] = window["first"] or time.monotonic()
        answers[i] = dav_propfind(almanac, f"spray{i}", f"not the password {i}", source=source,
                                  path="/dav/", timeout=120)
        window["last"] = time.monotonic()

    samplers = [threading.Thread(target=sample_rss, daemon=True), threading.Thread(target=sample_health, daemon=True)]
    for t in samplers:
        t.start()
    try:
        errors = run_threads(STORM, attack, timeout=180)
    finally:
        time.sleep(0.5)
        stop.set()
        for t in samplers:
            t.join(15)
    assert almanac.alive(), "the server died in the storm"
    assert not errors, f"{len(errors)} storm requests got no answer, e.g. {errors[:3]}"
    for i, answer in enumerate(answers):
        check_refusal(answer, f"storm request {i}")
    counts = {s: sum(a.status == s for a in answers) for s in (401, 429, 503)}
    print(f"storm answers: {counts}; RSS before {rss_before // MB} MiB, peak {max(rss) // MB} MiB")

    peak = max(rss)
    assert peak < 300 * MB, f"RSS peaked at {peak // MB} MiB during the storm (before: {rss_before // MB} MiB)"
    after = almanac.rss_kib()
    assert after < 300 * MB, f"RSS {after // MB} MiB after the storm"

    during = [h for h in health if window["first"] and window["first"] <= h[0] <= window["last"]]
    assert health, "no /healthz sample at all"
    assert all(status == 200 for _, _, status in health), f"/healthz during the storm: {health}"
    assert during or window["last"] - window["first"] < 0.2, \
        f"no /healthz sample fell inside the storm ({window['last'] - window['first']:.2f} s): {health}"
    assert max(seconds for _, seconds, _ in health) < 5, f"/healthz was slow during the storm: {health}"

    # A real user who never logged in before gets in at once afterwards.
    answer = dav_propfind(almanac, "alice", PASSWORD)
    assert answer.status == 207, (answer.status, answer.text[:300])


@pytest.mark.backends("sqlite")
@pytest.mark.settings({"auth": {"password_checks": 1, "password_check_queue": 2}})
def test_a_storm_on_the_web_log_in_form_gets_pages(almanac):
    """Busy password checks on the web log-in form answer a page (503 with
    Retry-After), never a password prompt or a bare error."""
    count = 40
    browsers = [requests.Session() for _ in range(count)]
    tokens = []
    for browser in browsers:
        form = browser.get(almanac.url("/login"), timeout=30).text
        tokens.append(re.search(r'name="csrf" value="([^"]+)"', form).group(1))
    barrier = threading.Barrier(count)
    answers: list[requests.Response | None] = [None] * count

    def attack(i: int) -> None:
        barrier.wait(30)
        answers[i] = browsers[i].post(almanac.url("/login"), data={
            "csrf": tokens[i], "name": f"nobody{i}", "password": "not the password"}, timeout=60,
            allow_redirects=False)

    errors = run_threads(count, attack, timeout=120)
    assert not errors, errors[:3]
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {401, 429, 503}, statuses
    assert 503 in statuses, f"1 turn and a queue of 2 cannot take {count} log-ins at once: {statuses}"
    for answer in answers:
        assert answer.headers.get("Content-Type", "").startswith("text/html"), answer.headers
        assert "WWW-Authenticate" not in answer.headers
        if answer.status_code == 503:
            assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
            assert 'href="/static/site.css"' in answer.text, "a page in the site's look"
    assert dav_propfind(almanac, "alice", PASSWORD).status == 207


# 2. Throttling cannot be turned against the victim


THROTTLES = {
    "auth": {"credential_cache_seconds": 1, "password_checks": 2, "password_check_queue": 64},
    "rate_limits": {"failed_logins_per_user_and_address": 10, "failed_logins_per_address": 100,
                    "failed_logins_per_user": 50},
}


def attack_user(almanac, user: str, sources: list[str], per_source: int) -> list[Answer]:
    """Wrong passwords for `user`, `per_source` from each address, two at a
    time (the password-check turns), so none is refused as busy."""
    answers: list[Answer] = []
    lock = threading.Lock()
    jobs = [(source, n) for n in range(per_source) for source in sources]

    def worker(w: int) -> None:
        for source, n in jobs[w::2]:
            answer = dav_propfind(almanac, user, f"guess {source} {n}", source=source)
            with lock:
                answers.append(answer)

    errors = run_threads(2, worker, timeout=300)
    assert not errors, errors[:3]
    return answers


@pytest.mark.settings(THROTTLES)
def test_an_attack_on_a_user_name_does_not_lock_its_owner_out(almanac):
    almanac.add_user("victim")
    almanac.add_user("bystander")
    home = "127.0.0.10"
    # The victim's phone syncs once: its credential verified before.
    assert dav_propfind(almanac, "victim", PASSWORD, source=home).status == 207

    attackers = [f"127.0.2.{n}" for n in range(1, 8)]  # 7 addresses x 12 = 84 failures > 50 per user
    answers = attack_user(almanac, "victim", attackers, per_source=12)
    for answer in answers:
        check_refusal(answer, "attacker")
        assert answer.status != 503, "the turns were never all taken"
    checked = sum(a.status == 401 for a in answers)
    assert checked <= 52, f"{checked} passwords checked: argon2 ran after the user's limit (50) was reached"
    again = dav_propfind(almanac, "victim", "one more guess", source=attackers[0])
    assert again.status == 429 and (again.header("Retry-After") or "").isdigit(), (again.status, again.headers)
    fresh_attacker = dav_propfind(almanac, "victim", "guess from a new address", source="127.0.2.99")
    assert fresh_attacker.status == 429, f"over the per-user limit a new guess is refused unchecked: {fresh_attacker.status}"

    time.sleep(1.5)  # the credential cache (1 s) has lapsed: argon2 again
    ok = dav_propfind(almanac, "victim", PASSWORD, source=home)
    assert ok.status == 207, f"the owner's own device, from its own address: {ok.status} {ok.text[:200]}"
    ok = dav_propfind(almanac, "victim", PASSWORD, source="127.0.3.33")
    assert ok.status == 207, f"the owner's known credential from a new address: {ok.status} {ok.text[:200]}"
    time.sleep(1.5)
    ok = dav_propfind(almanac, "victim", PASSWORD, source=attackers[0])
    assert ok.status == 207, f"the owner's known credential from an attacking address: {ok.status}"

    # A wrong password from the owner's address is still refused.
    wrong = dav_propfind(almanac, "victim", "a wrong password", source=home)
    assert wrong.status in (401, 429), wrong.status
    check_refusal(wrong, "wrong password from the victim's address")

    # The owner's web log-in still works (the same credential).
    browser = requests.Session()
    form = browser.get(almanac.url("/login"), timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    logged = browser.post(almanac.url("/login"), data={"csrf": csrf, "name": "victim", "password": PASSWORD},
                          timeout=30, allow_redirects=False)
    assert logged.status_code == 303, f"the victim's web log-in during the attack: {logged.status_code}"

    # Other users are unaffected, from anywhere (no address reached its limit).
    for source in (home, attackers[0], "127.0.3.44"):
        assert dav_propfind(almanac, "bystander", PASSWORD, source=source).status == 207, source


@pytest.mark.backends("sqlite")
@pytest.mark.settings(THROTTLES)
def test_one_address_guessing_one_name_is_throttled_for_that_name_only(almanac):
    almanac.add_user("victim")
    attacker = "127.0.4.1"
    answers = attack_user(almanac, "victim", [attacker], per_source=10)
    assert [a.status for a in answers] == [401] * 10, [a.status for a in answers]
    refused = dav_propfind(almanac, "victim", PASSWORD, source=attacker)
    assert refused.status == 429, f"the 11th try from the same address, even with the right password: {refused.status}"
    assert (refused.header("Retry-After") or "").isdigit()
    # The same name from elsewhere, and another name from the attacker's address, are fine.
    assert dav_propfind(almanac, "victim", PASSWORD, source="127.0.4.2").status == 207
    assert dav_propfind(almanac, "alice", PASSWORD, source=attacker).status == 207


@pytest.mark.backends("sqlite")
@pytest.mark.settings(THROTTLES)
def test_an_address_spraying_many_names_is_throttled_for_every_new_name(almanac):
    almanac.add_user("regular")
    spray = "127.0.5.1"
    # The regular user's device logged in from the spraying address before (a shared NAT).
    assert dav_propfind(almanac, "regular", PASSWORD, source=spray).status == 207
    answers: list[Answer] = []

    def worker(w: int) -> None:
        for n in range(w, 100, 2):
            answers.append(dav_propfind(almanac, f"name{n}", "guess", source=spray))

    assert not run_threads(2, worker, timeout=300)
    assert [a.status for a in answers].count(401) == 100, sorted(a.status for a in answers)
    refused = dav_propfind(almanac, "alice", PASSWORD, source=spray)
    assert refused.status == 429, f"101st failure from one address: any unknown credential is refused ({refused.status})"
    assert (refused.header("Retry-After") or "").isdigit()
    time.sleep(1.1)
    assert dav_propfind(almanac, "regular", PASSWORD, source=spray).status == 207, \
        "a credential that verified before from that address still works"
    assert dav_propfind(almanac, "alice", PASSWORD, source="127.0.5.2").status == 207, "other addresses are fine"


@pytest.mark.backends("sqlite")
@pytest.mark.settings(THROTTLES)
def test_a_forged_x_forwarded_for_does_not_dodge_the_throttle(almanac):
    """trust_forwarded_for = false: the header is the attacker's to write,
    so it must not change which address the failures count against."""
    almanac.add_user("victim")
    attacker = "127.0.9.1"
    statuses = []
    for n in range(11):
        answer = http_request(almanac.port, "PROPFIND", "/dav/calendars/victim/", PROPFIND,
                              {"Depth": "0", "X-Forwarded-For": f"10.{n}.0.1"}, source=attacker,
                              auth=("victim", f"guess {n}"))
        statuses.append(answer.status)
    assert statuses == [401] * 10 + [429], statuses


@pytest.mark.backends("sqlite")
@pytest.mark.settings({**THROTTLES, "rate_limits": {**THROTTLES["rate_limits"], "trust_forwarded_for": True}})
def test_behind_a_proxy_the_last_forwarded_hop_is_the_client(almanac):
    """trust_forwarded_for = true: every request comes from the proxy
    (127.0.0.1); the address that counts is the last X-Forwarded-For hop
    (what the proxy appended), not what the client wrote before it."""
    almanac.add_user("victim")
    statuses = []
    for n in range(11):
        answer = http_request(almanac.port, "PROPFIND", "/dav/calendars/victim/", PROPFIND,
                              {"Depth": "0", "X-Forwarded-For": f"10.{n}.0.1, 203.0.113.7"},
                              auth=("victim", f"guess {n}"))
        statuses.append(answer.status)
    assert statuses == [401] * 10 + [429], statuses
    # Someone else behind the same proxy, even for the same user name, is not that address.
    answer = http_request(almanac.port, "PROPFIND", "/dav/calendars/victim/", PROPFIND,
                          {"Depth": "0", "X-Forwarded-For": "198.51.100.1"}, auth=("victim", PASSWORD))
    assert answer.status == 207, answer.status
    answer = http_request(almanac.port, "PROPFIND", "/dav/calendars/alice/", PROPFIND,
                          {"Depth": "0", "X-Forwarded-For": "203.0.113.8"}, auth=("alice", PASSWORD))
    assert answer.status == 207, answer.status


@pytest.mark.backends("sqlite")
def test_failed_logins_with_huge_made_up_names_keep_memory_bounded(almanac):
    """The same storm with made-up names of 280 KB each (they fit in a
    request head): whatever the server keeps per failure must not grow
    with the name, or a few hundred failures cost hundreds of MiB."""
    import os
    before = almanac.rss_kib()
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 20

    def worker(w: int) -> None:
        n = 0
        while time.monotonic() < deadline and failures[0] < 400:
            name = os.urandom(6).hex() + "n" * 280_000
            answer = dav_propfind(almanac, name, "guess", source=f"127.0.12.{(w * 997 + n) % 250 + 1}", path="/dav/")
            assert answer.status in (401, 429, 503, 431), answer.status
            if answer.status == 401:
                with lock:
                    failures[0] += 1
            n += 1

    errors = run_threads(4, worker, timeout=60)
    assert not errors, errors[:3]
    time.sleep(1)
    after = almanac.rss_kib()
    print(f"{failures[0]} failed logins with 280 KB names: RSS {before // MB} -> {after // MB} MiB")
    assert after - before < 100 * MB and after < 300 * MB, \
        f"{failures[0]} failed logins with 280 KB made-up names took RSS from {before // MB} to {after // MB} MiB"
