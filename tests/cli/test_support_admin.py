"""The contact form, the staff's support desk, and the admin pages (accounts,
maintenance, incidents), end to end through the site's forms with the mail
outbox as the mailbox of everyone involved."""

from __future__ import annotations

import re
import time

import requests

from test_accounts import (
    Site, csrf_of, dav_works, form_token, is_logged_out, log_in, logged_in, sign_up, site, submit,  # noqa: F401
)

ADMIN = ("staff", "the staff's long password")


def admin_session(site: Site) -> requests.Session:
    site.add_user(*ADMIN, admin=True)
    return logged_in(site, *ADMIN)


def ask_support(site: Site, browser: requests.Session, name: str, address: str, subject: str, message: str) -> int:
    """Sends the contact form; returns the number of the new request."""
    shown = browser.get(site.url("/contact"), timeout=30)
    assert shown.status_code == 200, shown.status_code
    before = len(site.mails_to("support@example.org"))
    sent = browser.post(site.url("/contact"), data={
        "csrf": csrf_of(shown.text), "name": name, "email": address, "subject": subject, "message": message,
    }, timeout=30, allow_redirects=False)
    assert sent.status_code == 200, (sent.status_code, sent.text[:1000])
    to_staff = site.wait_mails_to("support@example.org", before + 1)[-1]
    number = re.search(r"\[Support #(\d+)\]", to_staff.subject)
    assert number, to_staff.subject
    assert f"#{number.group(1)}" in sent.text, "the page gives the request's number"
    assert message in to_staff.body and address in to_staff.body
    return int(number.group(1))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def admin_get(site: Site, browser: requests.Session, path: str) -> str:
    page = browser.get(site.url(path), timeout=30, allow_redirects=False)
    assert page.status_code == 200, (path, page.status_code)
    return page.text


def admin_post(site: Site, browser: requests.Session, page: str, action: str, /, **fields: str) -> requests.Response:
    done = submit(browser, site, page, action, **fields)
    assert done.status_code == 303, (action, done.status_code, done.text[:1000])
    return done


def test_contact_form_reaches_the_support_desk_and_replies_reach_the_person(site):
    anonymous = requests.Session()
    first = ask_support(site, anonymous, "Ida Visitor", "ida@example.net", "Question about prices",
                        "Is the service really free for families?")
    [ack] = site.wait_mails_to("ida@example.net", 1)
    assert ack.subject
    assert ack.reply_to == "support@example.org", "answering the acknowledgement reaches support"

    site.add_user("alice", "alice's long password")
    alice = logged_in(site, "alice", "alice's long password")
    second = ask_support(site, alice, "Alice", "alice@example.org", "My phone stopped syncing",
                         "Since yesterday my phone shows an error.")
    assert second != first
    site.wait_mails_to("alice@example.org", 1)
    log = site.access_log()
    deadline = time.time() + 5
    while len(re.findall(r" ev=support_request$", log, re.M)) < 2 and time.time() < deadline:
        time.sleep(0.05)
        log = site.access_log()
    assert len(re.findall(r" ev=support_request$", log, re.M)) == 2

    staff = admin_session(site)
    listed = text_of(admin_get(site, staff, "/admin/support?status=open"))
    assert "Question about prices" in listed and "My phone stopped syncing" in listed
    shown = text_of(admin_get(site, staff, f"/admin/support/{first}"))
    assert "Is the service really free for families?" in shown and "ida@example.net" in shown

    # A reply goes to the person by mail, and the request stays open.
    page = f"/admin/support/{first}"
    form = admin_get(site, staff, page)
    assert "Hello Ida Visitor," in text_of(form), "the answer form starts with a greeting the staff member can change"
    admin_post(site, staff, page, f"/admin/support/{first}/reply", message="Hi Ida,\n\nYes: free for everyone, families too.")
    [_, reply] = site.wait_mails_to("ida@example.net", 2)
    assert f"[Support #{first}]" in reply.subject
    assert reply.body.replace("\r\n", "\n").startswith("Hi Ida,\n\nYes: free for everyone, families too."), "the staff member's words, one greeting"
    assert reply.reply_to == "support@example.org", "the customer can answer the answer"
    assert "Question about prices" in text_of(admin_get(site, staff, "/admin/support?status=open"))
    assert "Yes: free for everyone, families too." in text_of(admin_get(site, staff, page))

    # Reply and close.
    admin_post(site, staff, page, f"/admin/support/{first}/reply", message="Closing this; write again any time.", close="yes")
    [_, _, closing] = site.wait_mails_to("ida@example.net", 3)
    assert f"[Support #{first}]" in closing.subject and "Closing this; write again any time." in closing.body
    assert "Question about prices" not in text_of(admin_get(site, staff, "/admin/support?status=open"))
    assert "Question about prices" in text_of(admin_get(site, staff, "/admin/support?status=closed"))
    everything = text_of(admin_get(site, staff, "/admin/support?status=all"))
    assert "Question about prices" in everything and "My phone stopped syncing" in everything
    assert "My phone stopped syncing" not in text_of(admin_get(site, staff, "/admin/support?status=closed"))

    # Reopen, then close the other one with the status form alone (no mail).
    admin_post(site, staff, page, f"/admin/support/{first}/status", status="open")
    assert "Question about prices" in text_of(admin_get(site, staff, "/admin/support?status=open"))
    mails_before = len(site.mails())
    admin_post(site, staff, f"/admin/support/{second}", f"/admin/support/{second}/status", status="closed")
    assert "My phone stopped syncing" in text_of(admin_get(site, staff, "/admin/support?status=closed"))
    assert "My phone stopped syncing" not in text_of(admin_get(site, staff, "/admin/support?status=open"))
    assert len(site.mails()) == mails_before


def test_contact_form_refuses_bad_input_and_foreign_tokens(site):
    browser = requests.Session()
    stranger = form_token(requests.Session(), site, "/contact")
    refused = browser.post(site.url("/contact"), data={
        "csrf": stranger, "name": "Eve", "email": "eve@example.net", "subject": "Hi", "message": "Hello",
    }, timeout=30, allow_redirects=False)
    assert refused.status_code == 403
    bad = submit(browser, site, "/contact", "/contact", name="Eve", email="not an address", subject="Hi", message="Hello")
    assert bad.status_code == 422 and 'action="/contact"' in bad.text
    assert site.mails() == []


def test_admin_pages_are_for_admins_only(site):
    site.add_user("bobby-jones", "bobby's long password")
    site.add_user("alice-smith", "alice's long password")
    for path in ("/admin/users", "/admin/users?q=alice", "/admin/support", "/admin/support/1", "/admin/operations"):
        visitor = requests.get(site.url(path), timeout=30, allow_redirects=False)
        assert visitor.status_code == 303, (path, visitor.status_code)
        assert visitor.headers["Location"].startswith("/login?next=/admin"), visitor.headers["Location"]
    # /admin itself leads to the log-in page too (through /admin/users).
    visitor = requests.get(site.url("/admin"), timeout=30)
    assert visitor.status_code == 200 and visitor.url.startswith(site.url("/login?next=/admin")), visitor.url
    assert 'action="/login"' in visitor.text

    bobby = logged_in(site, "bobby-jones", "bobby's long password")
    assert bobby.get(site.url("/admin"), timeout=30).status_code == 403, "/admin leads to a refusal"
    for path in ("/admin/users", "/admin/users?q=alice", "/admin/support/1", "/admin/support", "/admin/support?status=all",
                 "/admin/operations"):
        assert bobby.get(site.url(path), timeout=30, allow_redirects=False).status_code == 403, path
    token = form_token(bobby, site, "/account")
    for action, fields in (
        ("/admin/users/alice-smith/lock", {}),
        ("/admin/users/alice-smith/delete", {"confirm": "alice-smith"}),
        ("/admin/maintenance", {"action": "on", "message": "taken over"}),
        ("/admin/incidents", {"kind": "incident", "title": "Fake outage", "status": "investigating", "message": "x"}),
    ):
        refused = bobby.post(site.url(action), data={"csrf": token, **fields}, timeout=30, allow_redirects=False)
        assert refused.status_code == 403, (action, refused.status_code)
    assert dav_works(site, "alice-smith", "alice's long password") == 207, "alice is neither locked nor deleted"
    assert log_in(site, "alice-smith", "alice's long password").status_code == 303
    assert "Fake outage" not in requests.get(site.url("/status"), timeout=30).text
    assert submit(requests.Session(), site, "/signup", "/signup", name="newcomer", email="newcomer@example.org",
                  password="a long enough password", terms="yes").status_code == 200, "no maintenance"

    staff = admin_session(site)
    home = staff.get(site.url("/admin"), timeout=30, allow_redirects=False)
    assert home.status_code == 303 and home.headers["Location"] == "/admin/users"


def test_admin_finds_locks_unlocks_resends_and_deletes_accounts(site):
    site.add_user("alice-smith", "alice's long password")
    site.add_user("bobby-jones", "bobby's long password")
    staff = admin_session(site)

    found = text_of(admin_get(site, staff, "/admin/users?q=smith"))
    assert "alice-smith" in found and "bobby-jones" not in found
    # Staff are not offered to lock or delete themselves (it could only fail).
    own = admin_get(site, staff, f"/admin/users?q={ADMIN[0]}")
    assert f"/admin/users/{ADMIN[0]}/lock" not in own and f"/admin/users/{ADMIN[0]}/delete" not in own
    assert "You (change your own account" in text_of(own)
    found = text_of(admin_get(site, staff, "/admin/users?q=bobby-jones@example"))
    assert "bobby-jones" in found and "alice-smith" not in found

    # Lock: no log-in, no sync, and a running session ends.
    alice = logged_in(site, "alice-smith", "alice's long password")
    done = admin_post(site, staff, "/admin/users?q=smith", "/admin/users/alice-smith/lock")
    assert done.headers["Location"].startswith("/admin/users")
    assert log_in(site, "alice-smith", "alice's long password").status_code == 403
    assert dav_works(site, "alice-smith", "alice's long password") == 401
    assert is_logged_out(site, alice)
    assert dav_works(site, "bobby-jones", "bobby's long password") == 207, "only alice"

    done = admin_post(site, staff, "/admin/users?q=smith", "/admin/users/alice-smith/unlock")
    assert done.headers["Location"].startswith("/admin/users")
    assert log_in(site, "alice-smith", "alice's long password").status_code == 303
    assert dav_works(site, "alice-smith", "alice's long password") == 207

    # Resend the validation mail of an account that never confirmed.
    assert sign_up(site, "carl-pending", "carl's long password", "carl@example.net").status_code == 200
    [first] = site.wait_mails_to("carl@example.net", 1)
    done = admin_post(site, staff, "/admin/users?q=carl", "/admin/users/carl-pending/resend")
    assert done.headers["Location"].startswith("/admin/users")
    [_, second] = site.wait_mails_to("carl@example.net", 2)
    assert second.link("verify") != first.link("verify")
    assert requests.get(first.link("verify"), timeout=30).status_code == 404
    assert requests.get(second.link("verify"), timeout=30).status_code == 200
    assert log_in(site, "carl-pending", "carl's long password").status_code == 303

    # Delete: only with the name typed again.
    site.put_event("bobby-jones", "bobby's long password", "gone@bobby", "Soon gone")
    wrong = submit(staff, site, "/admin/users?q=bobby", "/admin/users/bobby-jones/delete", confirm="bobby")
    assert wrong.status_code in (303, 422), wrong.status_code
    assert dav_works(site, "bobby-jones", "bobby's long password") == 207, "a wrong confirmation deletes nothing"
    bobby = logged_in(site, "bobby-jones", "bobby's long password")
    done = admin_post(site, staff, "/admin/users?q=bobby", "/admin/users/bobby-jones/delete", confirm="bobby-jones")
    assert is_logged_out(site, bobby)
    assert done.headers["Location"].startswith("/admin/users")
    assert dav_works(site, "bobby-jones", "bobby's long password") == 401
    assert log_in(site, "bobby-jones", "bobby's long password").status_code == 401
    assert "bobby-jones" not in text_of(admin_get(site, staff, "/admin/users?q=bobby"))
    assert "bobby-jones" not in site.cli("user", "list").stdout


def signup_refused_for_maintenance(site: Site, message: str) -> None:
    refused = sign_up(site, "maint-visitor", "a long enough password", "visitor@example.net")
    assert refused.status_code == 503, refused.status_code
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "/static/site.css" in refused.text and message in refused.text, "a page in the site's look with the message"
    contact = submit(requests.Session(), site, "/contact", "/contact", name="V", email="visitor@example.net",
                     subject="Down?", message="Is it down?")
    assert contact.status_code == 503 and int(contact.headers["Retry-After"]) > 0
    assert "Is it down?" in contact.text and "Your message is kept below" in contact.text, "nothing typed is lost"
    assert site.mails_to("visitor@example.net") == [] and site.mails_to("support@example.org") == []


def test_maintenance_from_the_admin_page(site):
    site.add_user("alice-smith", "alice's long password")
    staff = admin_session(site)
    admin_get(site, staff, "/admin/operations")
    on = submit(staff, site, "/admin/operations", "/admin/maintenance", action="on",
                message="Moving to a bigger disk, back soon.")
    assert on.status_code in (200, 303), (on.status_code, on.text[:1000])

    signup_refused_for_maintenance(site, "Moving to a bigger disk, back soon.")
    assert "Moving to a bigger disk, back soon." in requests.get(site.url("/status"), timeout=30).text
    assert log_in(site, "alice-smith", "alice's long password").status_code == 303, "log-in still works"
    assert site.dav("GET", "/ics/alice-smith/calendar.ics", "alice-smith", "alice's long password").status_code == 200

    off = submit(staff, site, "/admin/operations", "/admin/maintenance", action="off", message="")
    assert off.status_code in (200, 303), off.status_code
    assert sign_up(site, "maint-visitor", "a long enough password", "visitor@example.net").status_code == 200
    assert "Moving to a bigger disk, back soon." not in requests.get(site.url("/status"), timeout=30).text


def test_maintenance_from_the_command_line(site):
    site.add_user("alice-smith", "alice's long password")
    done = site.cli("maintenance", "on", "--message", "Database upgrade in progress.")
    assert done.returncode == 0, done.stderr
    signup_refused_for_maintenance(site, "Database upgrade in progress.")
    assert log_in(site, "alice-smith", "alice's long password").status_code == 303
    assert site.cli("maintenance", "off").returncode == 0
    assert sign_up(site, "maint-visitor", "a long enough password", "visitor@example.net").status_code == 200


def test_incidents_from_the_admin_page_show_on_the_status_site(site):
    staff = admin_session(site)
    admin_post(site, staff, "/admin/operations", "/admin/incidents", kind="incident",
               title="Slow sync for some users", status="investigating", message="We are looking into it.")
    status = text_of(requests.get(site.url("/status"), timeout=30).text)
    assert "Slow sync for some users" in status and "We are looking into it." in status

    operations = admin_get(site, staff, "/admin/operations")
    numbers = re.findall(r'action="/admin/incidents/(\d+)"', operations)
    assert len(numbers) == 1, numbers
    admin_post(site, staff, "/admin/operations", f"/admin/incidents/{numbers[0]}", status="resolved",
               message="A full disk; fixed.")
    status = text_of(requests.get(site.url("/status"), timeout=30).text)
    assert "A full disk; fixed." in status and "resolved" in status.lower()

    admin_post(site, staff, "/admin/operations", "/admin/incidents", kind="maintenance",
               title="Database upgrade", status="scheduled", message="Writes pause for ten minutes.",
               starts="2099-03-01T22:00", ends="2099-03-01T22:30")
    status = text_of(requests.get(site.url("/status"), timeout=30).text)
    assert "Database upgrade" in status and "Writes pause for ten minutes." in status
    assert "2099-03-01 22:00 UTC to 2099-03-01 22:30 UTC" in status, "planned maintenance shows its window"
    backwards = staff.post(site.url("/admin/incidents"), data={
        "csrf": form_token(staff, site, "/admin/operations"), "kind": "maintenance", "title": "Backwards",
        "status": "scheduled", "message": "x", "starts": "2099-03-02T10:00", "ends": "2099-03-02T09:00"}, timeout=30)
    assert backwards.status_code == 422 and "The end must come after the start." in backwards.text
    listed = site.cli("incident", "list").stdout
    assert "Slow sync for some users" in listed and "Database upgrade" in listed


def test_admin_forms_need_the_admins_own_token(site):
    site.add_user("alice-smith", "alice's long password")
    staff = admin_session(site)
    foreign = form_token(requests.Session(), site, "/contact")
    for action, fields in (
        ("/admin/users/alice-smith/lock", {}),
        ("/admin/users/alice-smith/delete", {"confirm": "alice-smith"}),
        ("/admin/maintenance", {"action": "on", "message": "forged"}),
    ):
        for token in (None, foreign):
            # (a form with no token still has a body, as a browser sends it)
            data = {"note": "no token", **fields} if token is None else {"csrf": token, **fields}
            refused = staff.post(site.url(action), data=data, timeout=30, allow_redirects=False)
            assert refused.status_code == 403, (action, token, refused.status_code)
    assert dav_works(site, "alice-smith", "alice's long password") == 207
    assert "forged" not in requests.get(site.url("/status"), timeout=30).text
    assert sign_up(site, "newcomer", "a long enough password", "newcomer@example.org").status_code == 200


def test_support_requests_cannot_inject_markup_or_mail_headers(site):
    number = ask_support(site, requests.Session(), "Mallory <b>", "mallory@example.net",
                         "<script>alert('subject')</script>", "<img src=x onerror=alert('message')>")
    staff = admin_session(site)
    for page in ("/admin/support?status=open", f"/admin/support/{number}"):
        html = admin_get(site, staff, page)
        assert "<script>alert(" not in html and "<img src=x" not in html, page
        assert "&lt;script&gt;" in html or "&#60;script&#62;" in html or "&lt;script>" in html, page

    browser = requests.Session()
    shown = browser.get(site.url("/contact"), timeout=30)
    before = len(site.mails())
    sent = browser.post(site.url("/contact"), data={
        "csrf": csrf_of(shown.text), "name": "Eve\r\nBcc: eve@evil.example", "email": "eve@example.net",
        "subject": "Hello\r\nBcc: eve@evil.example", "message": "Hi",
    }, timeout=30, allow_redirects=False)
    assert sent.status_code in (200, 422), sent.status_code
    for mail in site.mails()[before:]:
        raw = mail.path.read_bytes().decode(errors="replace")
        headers = raw.split("\r\n\r\n", 1)[0]
        assert not re.search(r"^Bcc:", headers, re.M | re.I), headers
        assert "evil.example" not in mail.to


def test_a_fresh_status_page_says_what_is_unchecked_and_staff_how_to_check_it(site):
    anonymous = text_of(requests.get(site.url("/status"), timeout=30).text)
    assert "Some parts of the service are not checked yet." in anonymous
    assert "have problems" not in anonymous and "interval_seconds" not in anonymous
    staff = admin_session(site)
    shown = text_of(admin_get(site, staff, "/status"))
    assert "turn on the probe" in shown and "interval_seconds" in shown


def test_staff_see_one_account_on_its_own_page(site):
    site.add_user("alice-smith", "alice's long password")
    staff = admin_session(site)
    assert 'href="/admin/users/alice-smith"' in admin_get(site, staff, "/admin/users?q=smith"), "the list links to it"
    before = text_of(admin_get(site, staff, "/admin/users/alice-smith"))
    assert "alice-smith@example.org" in before and "active" in before
    assert re.search(r"Storage used \d+ bytes of 524\.3 MB \(0%\)", before), before
    assert "Open web sessions 0" in before
    assert "Last log-in on the web never" in before and "Last sync from a calendar app never" in before
    event = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:big@x\r\n"
             "DTSTAMP:20260301T000000Z\r\nDTSTART:20260302T090000Z\r\nSUMMARY:" + "x" * 3000 +
             "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    put = requests.put(site.url("/dav/calendars/alice-smith/calendar/big.ics"), data=event.encode(),
                       auth=("alice-smith", "alice's long password"),
                       headers={"Content-Type": "text/calendar"}, timeout=30)
    assert put.status_code == 201
    logged_in(site, "alice-smith", "alice's long password")
    # Syncs are written down in batches, every second or so.
    deadline = time.time() + 10
    while True:
        after = text_of(admin_get(site, staff, "/admin/users/alice-smith"))
        if "Last sync from a calendar app never" not in after or time.time() > deadline:
            break
        time.sleep(0.2)
    assert re.search(r"Storage used 3\.\d kB of 524\.3 MB", after), after
    assert "Open web sessions 1" in after
    assert re.search(r"Last log-in on the web 20\d\d-\d\d-\d\d \d\d:\d\d UTC", after), after
    assert re.search(r"Last sync from a calendar app 20\d\d-\d\d-\d\d \d\d:\d\d UTC", after), after
    assert 'action="/admin/users/alice-smith/lock"' in admin_get(site, staff, "/admin/users/alice-smith")
    nobody = staff.get(site.url("/admin/users/nobody-here"), timeout=30, allow_redirects=False)
    assert nobody.status_code == 404
    outsider = logged_in(site, "alice-smith", "alice's long password")
    assert outsider.get(site.url("/admin/users/alice-smith"), timeout=30, allow_redirects=False).status_code == 403


def test_times_show_in_the_reader_s_zone_once_the_site_knows_it(site):
    site.add_user("alice-smith", "alice's long password")
    staff = admin_session(site)
    assert re.search(r"Since \d{4}-\d\d-\d\d \d\d:\d\d UTC", text_of(admin_get(site, staff, "/admin/users/alice-smith")))
    # A made-up zone is ignored, not echoed.
    staff.cookies.set("almanac_tz", "Mars/Olympus<b>", domain="127.0.0.1", path="/")
    odd = admin_get(site, staff, "/admin/users/alice-smith")
    assert re.search(r"Since \d{4}-\d\d-\d\d \d\d:\d\d UTC", text_of(odd)) and "Olympus" not in odd
    staff.cookies.clear()
    staff = logged_in(site, *ADMIN)
    # zone.js (on every page) keeps the browser's zone in this cookie.
    staff.cookies.set("almanac_tz", "Asia/Tokyo", domain="127.0.0.1", path="/")
    shown = text_of(admin_get(site, staff, "/admin/users/alice-smith"))
    assert re.search(r"Since \d{4}-\d\d-\d\d \d\d:\d\d JST", shown), shown
    assert site.cli("maintenance", "on", "--message", "Moving house.", "--until", "2099-01-01 00:00").returncode == 0
    try:
        banner = text_of(admin_get(site, staff, "/admin/users"))
        assert "Expected back by 2099-01-01 09:00 JST." in banner, banner
    finally:
        site.cli("maintenance", "off")
    # Planned maintenance is typed in the staff member's own time, and the
    # status page shows it in each reader's.
    admin_post(site, staff, "/admin/operations", "/admin/incidents", kind="maintenance", title="Disk swap",
               status="scheduled", message="Ten minutes.", starts="2099-03-02T07:00", ends="2099-03-02T07:30")
    in_tokyo = text_of(staff.get(site.url("/status"), timeout=30).text)
    assert "2099-03-02 07:00 JST to 2099-03-02 07:30 JST" in in_tokyo, in_tokyo
    anywhere = text_of(requests.get(site.url("/status"), timeout=30).text)
    assert "2099-03-01 22:00 UTC to 2099-03-01 22:30 UTC" in anywhere, anywhere
