"""Web accounts end to end, as a person in a browser and their calendar apps
use them: sign-up with a mailed validation link, log-in sessions, password
reset, the account page (password, address, delete, download), CSRF
protection, isolation between accounts, rate limits and the access log's
event markers.

Each test starts its own server from the built binary (ALMANAC_BIN) with no
SMTP configured, so every mail lands in DATA_DIR/outbox/ as an .eml file.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest
import requests

from test_cli import BIN, REPO, free_port

DEFAULT_LIMITS = {
    "login_per_minute": 1000,
    "signup_per_hour": 1000,
    "reset_per_hour": 1000,
    "contact_per_hour": 1000,
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = r"[A-Za-z0-9_-]{43}"


def event_ics(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//accounts test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    path: Path
    reply_to: str = ""

    def link(self, kind: str) -> str:
        """The single `<base_url>/<kind>/<token>` link in the mail."""
        found = re.findall(rf"https?://\S+/{kind}/{TOKEN}", self.body)
        assert len(found) == 1, f"expected one /{kind}/ link in {self.subject!r}: {self.body}"
        return found[0]


class Site:
    """A running server with its data directory, mail outbox and access log."""

    def __init__(self, root: Path, limits: dict | None = None, mail: dict | None = None):
        self.root = root
        self.data_dir = root / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = root / "almanac.toml"
        rates = {**DEFAULT_LIMITS, **(limits or {})}
        self.config.write_text(
            f'content_dir = "{REPO / "content"}"\n'
            f'[site]\nbase_url = "{self.base}"\nsupport_email = "support@example.org"\n'
            "[rate_limits]\n" + "".join(f"{k} = {v}\n" for k, v in rates.items())
            + ("[mail]\n" + "".join(f'{k} = "{v}"\n' for k, v in mail.items()) if mail else "")
        )
        self.env = {**os.environ, "ALMANAC_CONFIG": str(self.config), "ALMANAC_DATA_DIR": str(self.data_dir)}
        self.env.pop("ALMANAC_ACCESS_LOG", None)
        self.env.pop("ALMANAC_DATABASE_URL", None)
        self.log = open(root / "server.log", "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(self.url("/healthz"), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {(root / 'server.log').read_text()}")
            if time.time() > deadline:
                self.stop()
                raise AssertionError("server did not come up")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def url(self, path: str) -> str:
        return self.base + path

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=60, env=self.env)

    def add_user(self, name: str, password: str, email_address: str | None = None, admin: bool = False) -> None:
        args = ["user", "add", name, "--email", email_address or f"{name}@example.org", "--password-stdin"]
        if admin:
            args.append("--admin")
        done = self.cli(*args, stdin=password + "\n")
        assert done.returncode == 0, done.stderr

    # Mail

    def mails(self) -> list[Mail]:
        outbox = self.data_dir / "outbox"
        found = []
        for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            found.append(Mail(str(message["To"]), str(message["Subject"]), message.get_content(), path,
                              str(message.get("Reply-To", ""))))
        return found

    def mails_to(self, address: str) -> list[Mail]:
        return [m for m in self.mails() if address in m.to]

    def wait_mails_to(self, address: str, count: int, timeout: float = 5) -> list[Mail]:
        """The mails to `address` once there are `count` of them."""
        deadline = time.time() + timeout
        while True:
            found = self.mails_to(address)
            if len(found) >= count or time.time() > deadline:
                assert len(found) == count, f"{len(found)} mails to {address}, expected {count}: {[m.subject for m in found]}"
                return found
            time.sleep(0.05)

    # Access log

    def access_log(self) -> str:
        path = self.data_dir / "access.log"
        return path.read_text() if path.exists() else ""

    def wait_log_event(self, event: str, user: str, timeout: float = 5) -> str:
        """The access-log line marked ` ev=EVENT` for `user`."""
        pattern = re.compile(rf"^.*\b{re.escape(user)}\b.* ev={re.escape(event)}$", re.M)
        deadline = time.time() + timeout
        while True:
            found = pattern.search(self.access_log())
            if found:
                return found.group(0)
            assert time.time() < deadline, f"no ev={event} line for {user} in:\n{self.access_log()}"
            time.sleep(0.05)

    # DAV with Basic auth

    def dav(self, method: str, path: str, user: str, password: str, body: str | None = None,
            depth: str = "0", content_type: str = "text/calendar") -> requests.Response:
        return requests.request(
            method, self.url(path), auth=(user, password), data=body.encode() if body is not None else None,
            headers={"Depth": depth, "Content-Type": content_type}, timeout=30, allow_redirects=False,
        )

    def put_event(self, user: str, password: str, uid: str, summary: str) -> None:
        put = self.dav("PUT", f"/dav/calendars/{user}/calendar/{uid}.ics", user, password, event_ics(uid, summary))
        assert put.status_code == 201, (put.status_code, put.text)


@pytest.fixture
def site(tmp_path):
    running = Site(tmp_path)
    yield running
    running.stop()


# The browser side


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, f"no csrf field in the page:\n{html[:2000]}"
    return found.group(1)


def form_errors(html: str) -> str:
    """The text of the page's error messages (the role="alert" block)."""
    found = re.search(r'<(\w+)[^>]*role="alert"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no error messages in the page:\n{html[:3000]}"
    return re.sub(r"<[^>]+>", " ", found.group(2))


def form_token(browser: requests.Session, site: Site, page: str) -> str:
    """Opens the page that shows a form and returns its CSRF token."""
    shown = browser.get(site.url(page), timeout=30, allow_redirects=False)
    assert shown.status_code == 200, (page, shown.status_code, shown.text[:500])
    return csrf_of(shown.text)


def submit(browser: requests.Session, site: Site, page: str, action: str, /, **fields: str) -> requests.Response:
    """Fills in the form shown on `page` and posts it to `action`, as a browser would."""
    fields = {"csrf": form_token(browser, site, page), **fields}
    return browser.post(site.url(action), data=fields, timeout=30, allow_redirects=False)


def sign_up(site: Site, name: str, password: str, address: str, browser: requests.Session | None = None) -> requests.Response:
    browser = browser or requests.Session()
    return submit(browser, site, "/signup", "/signup", name=name, email=address, password=password, terms="yes")


def signed_up_and_verified(site: Site, name: str, password: str, address: str | None = None) -> None:
    address = address or f"{name}@example.org"
    done = sign_up(site, name, password, address)
    assert done.status_code == 200, done.text
    link = site.wait_mails_to(address, 1)[-1].link("verify")
    assert requests.get(link, timeout=30).status_code == 200


def log_in(site: Site, name: str, password: str, browser: requests.Session | None = None, next_path: str = "") -> requests.Response:
    browser = browser if browser is not None else requests.Session()
    page = "/login" + (f"?next={next_path}" if next_path else "")
    return submit(browser, site, page, "/login", name=name, password=password, next=next_path)


def logged_in(site: Site, name: str, password: str) -> requests.Session:
    browser = requests.Session()
    done = log_in(site, name, password, browser)
    assert done.status_code == 303, (done.status_code, done.text[:500])
    assert done.headers["Location"] == "/calendar", "logging in leads to the calendar"
    return browser


def is_logged_out(site: Site, browser: requests.Session) -> bool:
    page = browser.get(site.url("/account"), timeout=30, allow_redirects=False)
    if page.status_code == 303:
        assert page.headers["Location"] == "/login?next=/account"
        return True
    assert page.status_code == 200, page.status_code
    return False


def dav_works(site: Site, user: str, password: str) -> int:
    return site.dav("PROPFIND", f"/dav/calendars/{user}/", user, password).status_code


def export_files(site: Site, browser: requests.Session) -> dict[str, str]:
    download = browser.get(site.url("/account/export.zip"), timeout=30, allow_redirects=False)
    assert download.status_code == 200, download.status_code
    assert download.headers["Content-Type"].startswith("application/zip")
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


# The tests


def test_sign_up_verify_log_in_sync_and_download(site):
    browser = requests.Session()
    shown = browser.get(site.url("/signup"), timeout=30)
    assert shown.status_code == 200 and 'name="terms"' in shown.text
    done = browser.post(site.url("/signup"), data={
        "csrf": csrf_of(shown.text), "name": "carol", "email": "carol@example.org",
        "password": "carol's long password", "terms": "yes",
    }, timeout=30, allow_redirects=False)
    assert done.status_code == 200 and "Check your mail" in done.text

    [mail] = site.wait_mails_to("carol@example.org", 1)
    link = mail.link("verify")
    assert link.startswith(site.base + "/verify/")

    # Before following the link, neither the site nor the apps let carol in.
    assert log_in(site, "carol", "carol's long password").status_code == 403
    assert dav_works(site, "carol", "carol's long password") == 401

    following = requests.Session()
    confirmed = following.get(link, timeout=30)
    assert confirmed.status_code == 200 and "Your address is confirmed" in confirmed.text
    assert following.get(site.url("/account"), timeout=30, allow_redirects=False).status_code == 200, \
        "the link that proved the address also logged carol in"
    assert requests.get(link, timeout=30).status_code == 404, "a link works once"

    entered = log_in(site, "carol", "carol's long password", browser, next_path="/account")
    assert entered.status_code == 303 and entered.headers["Location"] == "/account"
    account = browser.get(site.url("/account"), timeout=30, allow_redirects=False)
    assert account.status_code == 200
    assert "carol" in account.text and "carol@example.org" in account.text and "Calendar" in account.text

    # The calendar app with the same name and password.
    client = caldav.DAVClient(url=site.url("/dav/"), username="carol", password="carol's long password")
    calendars = client.principal().calendars()
    assert [c.get_display_name() for c in calendars] == ["Calendar"]
    assert str(calendars[0].url).rstrip("/").endswith("/dav/calendars/carol/calendar")
    calendars[0].save_event(event_ics("first-event@accounts", "Lunch with Dana"))
    listed = calendars[0].events()
    assert len(listed) == 1 and "Lunch with Dana" in listed[0].data
    assert "Lunch with Dana" in calendars[0].event_by_uid("first-event@accounts").data

    files = export_files(site, browser)
    assert len(files) == 1 and next(iter(files)).endswith(".ics")
    exported = next(iter(files.values()))
    assert "UID:first-event@accounts" in exported and "SUMMARY:Lunch with Dana" in exported

    # Log out: the session is over.
    out = browser.post(site.url("/logout"), data={"csrf": form_token(browser, site, "/account")},
                       timeout=30, allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/"
    assert is_logged_out(site, browser)
    assert browser.get(site.url("/account/export.zip"), timeout=30, allow_redirects=False).status_code == 303


def test_unvalidated_account_is_refused_until_a_resent_link_is_followed(site):
    assert sign_up(site, "dave", "dave's long password", "dave@example.org").status_code == 200
    [first] = site.wait_mails_to("dave@example.org", 1)

    browser = requests.Session()
    refused = log_in(site, "dave", "dave's long password", browser)
    assert refused.status_code == 403
    assert 'action="/verify/resend"' in refused.text, "the refusal offers to send the link again"
    assert "almanac_session" not in refused.headers.get("Set-Cookie", "")
    assert dav_works(site, "dave", "dave's long password") == 401

    # The resend form of that page.
    again = browser.post(site.url("/verify/resend"), data={"csrf": csrf_of(refused.text), "name": "dave"},
                         timeout=30, allow_redirects=False)
    assert again.status_code == 200
    [_, second] = site.wait_mails_to("dave@example.org", 2)
    assert second.link("verify") != first.link("verify")
    assert requests.get(first.link("verify"), timeout=30).status_code == 404, "the old link stops working"

    # The same answer for a name that does not exist, and no mail.
    before = len(site.mails())
    unknown = submit(requests.Session(), site, "/login", "/verify/resend", name="nobody-here")
    assert unknown.status_code == 200
    assert re.sub(r'value="[^"]*"', "", unknown.text) == re.sub(r'value="[^"]*"', "", again.text)
    assert len(site.mails()) == before

    assert requests.get(second.link("verify"), timeout=30).status_code == 200
    assert log_in(site, "dave", "dave's long password", browser).status_code == 303
    assert dav_works(site, "dave", "dave's long password") == 207

    # A validated account gets no more links.
    assert submit(requests.Session(), site, "/login", "/verify/resend", name="dave").status_code == 200
    assert len(site.mails_to("dave@example.org")) == 2


@pytest.mark.parametrize("fields,message", [
    ({"name": "alice"}, "taken"),
    ({"name": "admin"}, "reserved"),
    ({"email": "not-an-address"}, "valid email"),
    ({"password": "too short"}, "at least 10"),
    ({"terms": ""}, "terms"),
])
def test_sign_up_errors_show_the_form_again(site, fields, message):
    site.add_user("alice", "alice's long password")
    form = {"name": "newcomer", "email": "newcomer@example.org", "password": "a long enough password", "terms": "yes", **fields}
    refused = submit(requests.Session(), site, "/signup", "/signup", **form)
    assert refused.status_code == 422
    assert 'action="/signup"' in refused.text and 'name="csrf"' in refused.text, "the form again"
    assert message in form_errors(refused.text).lower()
    assert site.mails() == [], "no mail for a refused sign-up"
    if fields.get("name") != "alice":
        assert log_in(site, form["name"], form["password"]).status_code == 401, "no account was made"
    # The same form, corrected, works.
    fixed = {**form, "name": "newcomer", "email": "newcomer@example.org", "password": "a long enough password", "terms": "yes"}
    assert submit(requests.Session(), site, "/signup", "/signup", **fixed).status_code == 200


def test_password_reset_end_to_end(site):
    signed_up_and_verified(site, "erin", "erin's old password")
    elsewhere = logged_in(site, "erin", "erin's old password")
    assert dav_works(site, "erin", "erin's old password") == 207

    browser = requests.Session()
    asked = submit(browser, site, "/reset", "/reset", email="erin@example.org")
    assert asked.status_code == 200
    nobody = submit(requests.Session(), site, "/reset", "/reset", email="nobody@example.org")
    assert nobody.status_code == 200, "the same answer whether an account uses the address or not"
    assert site.mails_to("nobody@example.org") == []
    [_, reset] = site.wait_mails_to("erin@example.org", 2)
    link = reset.link("reset")
    assert link.startswith(site.base + "/reset/")

    path = link[len(site.base):]
    changed = submit(browser, site, path, path, password="erin's new password")
    assert changed.status_code == 200 and "Your password is changed" in changed.text

    assert dav_works(site, "erin", "erin's old password") == 401
    assert log_in(site, "erin", "erin's old password").status_code == 401
    assert dav_works(site, "erin", "erin's new password") == 207
    assert log_in(site, "erin", "erin's new password").status_code == 303
    assert is_logged_out(site, elsewhere), "the other browser's session ended"
    assert requests.get(link, timeout=30).status_code == 404, "a reset link works once"


def test_changing_the_email_address_takes_a_link_sent_to_it(site):
    signed_up_and_verified(site, "frank", "frank's long password", "frank@example.org")
    browser = logged_in(site, "frank", "frank's long password")

    wrong = submit(browser, site, "/account", "/account/email", email="frank@new.example.net", password="not his password")
    assert wrong.status_code == 422
    assert site.mails_to("frank@new.example.net") == []

    asked = submit(browser, site, "/account", "/account/email", email="frank@new.example.net", password="frank's long password")
    assert asked.status_code == 303 and asked.headers["Location"] == "/account?done=email"
    [mail] = site.wait_mails_to("frank@new.example.net", 1)
    assert len(site.mails_to("frank@example.org")) == 1, "only the sign-up mail went to the old address"

    page = browser.get(site.url("/account"), timeout=30).text
    assert "frank@example.org" in page and "frank@new.example.net" not in page, "nothing changes before the link"

    confirmed = requests.get(mail.link("verify"), timeout=30)
    assert confirmed.status_code == 200
    page = browser.get(site.url("/account"), timeout=30).text
    assert "frank@new.example.net" in page and "frank@example.org" not in page

    # A reset now goes to the new address.
    submit(requests.Session(), site, "/reset", "/reset", email="frank@new.example.net")
    assert site.wait_mails_to("frank@new.example.net", 2)[-1].link("reset")


def test_forms_refuse_missing_or_foreign_csrf_tokens(site):
    site.add_user("alice", "alice's long password")
    alice = logged_in(site, "alice", "alice's long password")
    stranger = requests.Session()
    foreign = form_token(stranger, site, "/signup")
    site.add_user("bob", "bob's long password")
    bob_token = form_token(logged_in(site, "bob", "bob's long password"), site, "/account")

    change = {"current": "alice's long password", "password": "mallory's chosen password"}
    for token in (None, "", foreign, bob_token):
        data = dict(change) if token is None else {"csrf": token, **change}
        refused = alice.post(site.url("/account/password"), data=data, timeout=30, allow_redirects=False)
        assert refused.status_code == 403, (token, refused.status_code)
        assert "<html" in refused.text.lower()
    assert dav_works(site, "alice", "alice's long password") == 207, "the password is still the old one"
    assert dav_works(site, "alice", "mallory's chosen password") == 401

    gone = alice.post(site.url("/account/delete"), data={"csrf": foreign, "confirm": "alice", "password": "alice's long password"},
                      timeout=30, allow_redirects=False)
    assert gone.status_code == 403 and dav_works(site, "alice", "alice's long password") == 207
    out = alice.post(site.url("/logout"), data={"csrf": foreign}, timeout=30, allow_redirects=False)
    assert out.status_code == 403 and not is_logged_out(site, alice)

    # Log-in and sign-up forms too.
    assert stranger.post(site.url("/login"), data={"name": "alice", "password": "alice's long password"},
                         timeout=30, allow_redirects=False).status_code == 403
    assert stranger.post(site.url("/signup"), data={"csrf": bob_token, "name": "newcomer", "email": "n@example.org",
                                                    "password": "a long enough password", "terms": "yes"},
                         timeout=30, allow_redirects=False).status_code == 403
    assert site.mails() == []


def test_one_account_cannot_read_another(site):
    site.add_user("alice", "alice's long password")
    site.add_user("bob", "bob's long password")
    site.put_event("alice", "alice's long password", "secret@alice", "Alice's secret meeting")
    site.put_event("bob", "bob's long password", "own@bob", "Bob's own meeting")

    assert site.dav("GET", "/ics/alice/calendar.ics", "alice", "alice's long password").status_code == 200
    assert site.dav("GET", "/ics/alice/calendar.ics", "bob", "bob's long password").status_code == 404
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "bob", "bob's long password", depth="1").status_code == 404
    assert site.dav("GET", "/dav/calendars/alice/calendar/", "bob", "bob's long password").status_code == 404
    assert site.dav("GET", "/dav/calendars/alice/calendar/secret@alice.ics", "bob", "bob's long password").status_code == 404

    bob = logged_in(site, "bob", "bob's long password")
    exported = "".join(export_files(site, bob).values())
    assert "Bob's own meeting" in exported and "Alice's secret meeting" not in exported
    assert "secret@alice" not in exported
    page = bob.get(site.url("/account"), timeout=30).text
    assert "alice" not in page
    # A session cookie gives no DAV or webcal access to someone else's data either.
    assert bob.get(site.url("/ics/alice/calendar.ics"), timeout=30, allow_redirects=False).status_code in (401, 404)


def test_deleting_the_account(site):
    signed_up_and_verified(site, "gina", "gina's long password")
    site.put_event("gina", "gina's long password", "keep@gina", "Gina's dentist")
    browser = logged_in(site, "gina", "gina's long password")

    wrong = submit(browser, site, "/account", "/account/delete", confirm="gin", password="gina's long password")
    assert wrong.status_code == 422 and 'action="/account/delete"' in wrong.text
    wrong = submit(browser, site, "/account", "/account/delete", confirm="gina", password="not her password")
    assert wrong.status_code == 422
    kept = site.dav("GET", "/dav/calendars/gina/calendar/keep@gina.ics", "gina", "gina's long password")
    assert kept.status_code == 200 and "Gina's dentist" in kept.text

    gone = submit(browser, site, "/account", "/account/delete", confirm="gina", password="gina's long password")
    assert gone.status_code == 200
    assert dav_works(site, "gina", "gina's long password") == 401
    assert site.dav("GET", "/ics/gina/calendar.ics", "gina", "gina's long password").status_code in (401, 404)
    assert log_in(site, "gina", "gina's long password").status_code == 401
    assert is_logged_out(site, browser)
    assert "gina" not in site.cli("user", "list").stdout
    # Her name is held: someone new cannot take it and receive what was meant for her.
    taken = sign_up(site, "gina", "a stranger's password", "stranger@example.net")
    assert taken.status_code == 422 and "This user name is taken" in taken.text


def test_log_in_rate_limit(tmp_path):
    limited = Site(tmp_path, {"login_per_minute": 3})
    try:
        limited.add_user("alice", "alice's long password")
        browser = requests.Session()
        for _ in range(3):
            assert log_in(limited, "alice", "a wrong password", browser).status_code == 401
        blocked = log_in(limited, "alice", "alice's long password", browser)
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        assert blocked.headers["Content-Type"].startswith("text/html")
        assert "/static/site.css" in blocked.text and "<h1" in blocked.text, "a page in the site's look"
        assert "almanac_session" not in blocked.headers.get("Set-Cookie", "")
        # Other forms and the apps are not affected.
        assert submit(requests.Session(), limited, "/reset", "/reset", email="alice@example.org").status_code == 200
        assert dav_works(limited, "alice", "alice's long password") == 207
    finally:
        limited.stop()


def test_access_log_marks_account_events(site):
    signed_up_and_verified(site, "hank", "hank's long password")
    logged_in(site, "hank", "hank's long password")
    site.wait_log_event("signup", "hank")
    site.wait_log_event("signup_verified", "hank")
    line = site.wait_log_event("login", "hank")
    assert '"POST /login' in line
    # A refused log-in is not counted as one.
    log_in(site, "hank", "a wrong password")
    time.sleep(0.2)
    assert len(re.findall(r" ev=login$", site.access_log(), re.M)) == 1


def test_session_cookie_flags(site):
    site.add_user("alice", "alice's long password")
    browser = requests.Session()
    first = browser.get(site.url("/login"), timeout=30)
    visitor = first.headers.get("Set-Cookie", "")
    assert "HttpOnly" in visitor and "SameSite=" in visitor
    entered = log_in(site, "alice", "alice's long password", browser)
    assert entered.status_code == 303
    cookie = entered.headers["Set-Cookie"]
    assert cookie.startswith("almanac_session=")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags, "plain http on loopback"
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) >= 32, "an unguessable token"
    assert "alice" not in value


def age_mail_links(site: Site) -> None:
    """Moves every mailed link's expiry into the past (as if days went by)."""
    import sqlite3

    db = sqlite3.connect(site.data_dir / "almanac.db", timeout=10)
    with db:
        db.execute("UPDATE mail_tokens SET expires_at = expires_at - 30 * 24 * 3600")
    db.close()


def test_expired_links_say_so(site):
    assert sign_up(site, "ivan", "ivan's long password", "ivan@example.org").status_code == 200
    [mail] = site.wait_mails_to("ivan@example.org", 1)
    age_mail_links(site)
    expired = requests.get(mail.link("verify"), timeout=30)
    assert expired.status_code == 410 and "/static/site.css" in expired.text
    assert log_in(site, "ivan", "ivan's long password").status_code == 403, "still not validated"
    assert requests.get(site.url("/verify/" + "x" * 43), timeout=30).status_code == 404

    site.add_user("judy", "judy's long password")
    submit(requests.Session(), site, "/reset", "/reset", email="judy@example.org")
    [reset] = site.wait_mails_to("judy@example.org", 1)
    age_mail_links(site)
    path = reset.link("reset")[len(site.base):]
    assert requests.get(site.url(path), timeout=30).status_code == 410
    assert dav_works(site, "judy", "judy's long password") == 207


def test_changing_the_password_on_the_account_page(site):
    site.add_user("kate", "kate's old password")
    browser = logged_in(site, "kate", "kate's old password")
    elsewhere = logged_in(site, "kate", "kate's old password")

    wrong = submit(browser, site, "/account", "/account/password", current="not her password", password="kate's new password")
    assert wrong.status_code == 422 and 'action="/account/password"' in wrong.text
    short = submit(browser, site, "/account", "/account/password", current="kate's old password", password="short")
    assert short.status_code == 422
    assert dav_works(site, "kate", "kate's old password") == 207

    done = submit(browser, site, "/account", "/account/password", current="kate's old password", password="kate's new password")
    assert done.status_code == 303 and done.headers["Location"] == "/account?done=password"
    assert not is_logged_out(site, browser), "this browser stays logged in"
    assert is_logged_out(site, elsewhere), "other browsers are logged out"
    assert dav_works(site, "kate", "kate's old password") == 401
    assert dav_works(site, "kate", "kate's new password") == 207
    assert log_in(site, "kate", "kate's old password").status_code == 401
    assert log_in(site, "kate", "kate's new password").status_code == 303


def test_log_in_goes_back_to_local_pages_only(site):
    site.add_user("alice", "alice's long password")
    to_export = log_in(site, "alice", "alice's long password", requests.Session(), next_path="/account/export.zip")
    assert to_export.status_code == 303 and to_export.headers["Location"] == "/account/export.zip"
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        entered = log_in(site, "alice", "alice's long password", requests.Session(), next_path=elsewhere)
        assert entered.status_code == 303 and entered.headers["Location"] == "/calendar", (elsewhere, entered.headers["Location"])


def test_export_has_one_file_per_calendar(site):
    site.add_user("alice", "alice's long password")
    client = caldav.DAVClient(url=site.url("/dav/"), username="alice", password="alice's long password")
    work = client.principal().make_calendar(name="Work", cal_id="work")
    work.save_event(event_ics("review@work", "Quarterly review"))
    site.put_event("alice", "alice's long password", "home@alice", "Plumber visit")
    files = export_files(site, logged_in(site, "alice", "alice's long password"))
    assert len(files) == 2 and all(name.endswith(".ics") for name in files), list(files)
    contents = sorted(files.values(), key=lambda text: "Quarterly review" in text)
    assert "Plumber visit" in contents[0] and "Quarterly review" not in contents[0]
    assert "Quarterly review" in contents[1] and "Plumber visit" not in contents[1]
