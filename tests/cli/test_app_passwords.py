"""App passwords, as people and their calendar apps use them: one made per
device on the account page and shown once, used by a real CalDAV client,
its last use shown, revoked with immediate effect; staff requiring them for
calendar apps; and the hostile side (someone else's password, forged
forms, other accounts' ids, guessing)."""

from __future__ import annotations

import gzip
import re
import time

import caldav
import requests

from test_accounts import csrf_of, event_ics, form_token, logged_in, site  # noqa: F401  (fixture)

PASSWORD = "alice's long password"
SHAPE = re.compile(r"\b[a-z2-7]{4}(?:-[a-z2-7]{4}){5}\b")


def make(browser: requests.Session, site, label: str) -> str:
    """Makes an app password on the account page; returns it as shown."""
    made = browser.post(site.url("/account/app-passwords"), data={"csrf": form_token(browser, site, "/account"),
                                                                  "label": label}, timeout=30, allow_redirects=False)
    assert made.status_code == 303 and made.headers["Location"] == "/account#app-passwords", made.status_code
    page = browser.get(site.url("/account"), timeout=30)
    assert page.headers.get("Cache-Control") == "no-store", "a page showing a password is not kept"
    shown = SHAPE.findall(page.text)
    assert len(shown) == 1, page.text
    return shown[0]


def listed(browser: requests.Session, site) -> str:
    page = browser.get(site.url("/account"), timeout=30).text
    section = page.split('id="app-passwords"', 1)[1].split("</section>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_an_app_password_is_shown_once_and_lets_a_calendar_app_in(site):
    site.add_user("alice", PASSWORD)
    browser = logged_in(site, "alice", PASSWORD)
    secret = make(browser, site, "Phone")
    assert not SHAPE.search(browser.get(site.url("/account"), timeout=30).text), "shown once only"

    # A real CalDAV client with the app password.
    client = caldav.DAVClient(url=site.url("/dav/"), username="alice", password=secret)
    calendar = client.principal().calendars()[0]
    calendar.save_event(event_ics("app@x", "Saved with an app password"))
    assert "Saved with an app password" in calendar.event_by_uid("app@x").data
    # Typed in capitals or without dashes, it still works.
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", secret.upper().replace("-", "")).status_code == 207

    # Uses are written down in batches, every second or so.
    deadline = time.time() + 10
    while "not yet" in (text := listed(browser, site)) and time.time() < deadline:
        time.sleep(0.2)
    assert "Phone" in text and "not yet" not in text, text
    assert re.search(r"Phone 20\d\d-\d\d-\d\d \d\d:\d\d UTC 20\d\d-\d\d-\d\d \d\d:\d\d UTC", text), text
    # The database keeps only a digest.
    backup = site.cli("backup", str(site.root / "backup.jsonl"))
    assert backup.returncode == 0, backup.stderr
    kept = gzip.decompress((site.root / "backup.jsonl").read_bytes()).decode()
    assert '"app_passwords":1' in kept.splitlines()[0], "the backup holds it"
    assert secret not in kept and secret.replace("-", "") not in kept


def test_revoking_signs_the_app_out_at_once(site):
    site.add_user("alice", PASSWORD)
    browser = logged_in(site, "alice", PASSWORD)
    phone, laptop = make(browser, site, "Phone"), make(browser, site, "Laptop")
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", phone).status_code == 207
    page = browser.get(site.url("/account"), timeout=30).text
    ids = re.findall(r'action="/account/app-passwords/(\d+)/revoke"', page)
    assert len(ids) == 2
    phone_id = ids[1]  # newest first: the laptop's, then the phone's
    revoked = browser.post(site.url(f"/account/app-passwords/{phone_id}/revoke"), data={"csrf": csrf_of(page)},
                           timeout=30, allow_redirects=False)
    assert revoked.status_code == 303
    assert "revoked" in browser.get(site.url(revoked.headers["Location"]), timeout=30).text
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", phone).status_code == 401, "the very next request"
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", laptop).status_code == 207, "the other still works"
    text = listed(browser, site)
    assert "Laptop" in text and "Phone" not in text


def test_staff_can_require_app_passwords_for_calendar_apps(site):
    site.add_user("boss", "the staff password", admin=True)
    site.add_user("alice", PASSWORD)
    alice = logged_in(site, "alice", PASSWORD)
    secret = make(alice, site, "Phone")
    staff = logged_in(site, "boss", "the staff password")
    token = form_token(staff, site, "/admin/operations")
    assert staff.post(site.url("/admin/app-passwords"), data={"csrf": token, "action": "require"},
                      timeout=30, allow_redirects=False).status_code == 303
    assert "Required: calendar apps sign in only with app passwords" in staff.get(site.url("/admin/operations"), timeout=30).text

    refused = site.dav("PROPFIND", "/dav/calendars/alice/", "alice", PASSWORD)
    assert refused.status_code == 401 and "app password" in refused.text, refused.text
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", secret).status_code == 207
    assert logged_in(site, "alice", PASSWORD), "the web site still takes the account password"
    assert "This service requires them" in alice.get(site.url("/account"), timeout=30).text

    token = form_token(staff, site, "/admin/operations")
    staff.post(site.url("/admin/app-passwords"), data={"csrf": token, "action": "allow"}, timeout=30)
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", PASSWORD).status_code == 207
    # Only staff decide.
    token = form_token(alice, site, "/account")
    assert alice.post(site.url("/admin/app-passwords"), data={"csrf": token, "action": "require"},
                      timeout=30, allow_redirects=False).status_code == 403
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", PASSWORD).status_code == 207


def test_an_app_password_opens_only_its_own_account(site):
    site.add_user("alice", PASSWORD)
    site.add_user("bob", "bob's long password")
    alice = logged_in(site, "alice", PASSWORD)
    bob = logged_in(site, "bob", "bob's long password")
    alices = make(alice, site, "Phone")
    make(bob, site, "Tablet")
    assert site.dav("PROPFIND", "/dav/calendars/bob/", "bob", alices).status_code == 401, "alice's password, bob's name"
    assert site.dav("PROPFIND", "/dav/calendars/bob/", "alice", alices).status_code in (403, 404)
    # A guess of the right shape is refused like any wrong password.
    guess = "abcd-efgh-ijkl-mnop-qrst-uvwx"
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", guess).status_code == 401
    # bob cannot revoke alice's password by its id, nor make one without a form token.
    alice_id = re.search(r'/account/app-passwords/(\d+)/revoke', alice.get(site.url("/account"), timeout=30).text).group(1)
    bob.post(site.url(f"/account/app-passwords/{alice_id}/revoke"), data={"csrf": form_token(bob, site, "/account")},
             timeout=30, allow_redirects=False)
    assert site.dav("PROPFIND", "/dav/calendars/alice/", "alice", alices).status_code == 207
    forged = bob.post(site.url("/account/app-passwords"), data={"label": "Forged"}, timeout=30, allow_redirects=False)
    assert forged.status_code == 403
    assert "Forged" not in listed(bob, site)
    # Visitors are sent to log in.
    anonymous = requests.post(site.url("/account/app-passwords"), data={"label": "x"}, timeout=30, allow_redirects=False)
    assert anonymous.status_code in (303, 403)


def test_labels_and_the_number_of_app_passwords_are_limited(site):
    site.add_user("alice", PASSWORD)
    browser = logged_in(site, "alice", PASSWORD)
    token = form_token(browser, site, "/account")
    for label in ["", "x" * 101, "two\nlines"]:
        refused = browser.post(site.url("/account/app-passwords"), data={"csrf": token, "label": label},
                               timeout=30, allow_redirects=False)
        assert refused.status_code == 303 and "app-password-label" in refused.headers["Location"]
    assert "at most 100 characters" in browser.get(site.url("/account?done=app-password-label"), timeout=30).text
    for i in range(50):
        browser.post(site.url("/account/app-passwords"), data={"csrf": token, "label": f"Device {i}"}, timeout=30,
                     allow_redirects=False)
    over = browser.post(site.url("/account/app-passwords"), data={"csrf": token, "label": "One too many"},
                        timeout=30, allow_redirects=False)
    assert "app-password-limit" in over.headers["Location"]
    assert "One too many" not in listed(browser, site)
