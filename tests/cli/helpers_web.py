"""Shared helpers for the web calendar and share-link tests: reading the
calendar pages (which entry is on which day, at what time, linking where),
filling in the event form, the python caldav library, the SQLite file."""

from __future__ import annotations

import hashlib
import html
import re
import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import caldav
import requests

from test_accounts import Site, csrf_of, logged_in  # noqa: F401

ALICE = ("alice", "alice's long password")
BOB = ("bob", "bob's long password")
TOKEN_RE = r"[A-Za-z0-9_-]{43}"

CALDAV_NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'


# Pages


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def form_errors(page: str) -> str:
    found = re.search(r'<(\w+)[^>]*role="alert"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no error messages in the page:\n{page[:3000]}"
    return text_of(found.group(2))


@dataclass
class Entry:
    time: str
    title: str
    href: str  # "" when the title is plain text

    @property
    def start(self) -> str:
        """The start time ("09:30") or "All day": the month grid shows only
        that, the week and agenda views the whole span ("09:30–10:00")."""
        return self.time.split("–")[0].strip()

    @property
    def linked(self) -> bool:
        return bool(self.href)

    def path(self) -> str:
        """The link's path, decoded."""
        return unquote(urlsplit(self.href).path)

    def raw_path(self) -> str:
        return urlsplit(self.href).path

    def item(self) -> str:
        """The member name in the edit link (decoded)."""
        return unquote(self.raw_path().rsplit("/", 1)[1])

    def occurrence(self) -> str | None:
        found = re.search(r"[?&]occurrence=(-?\d+)", self.href)
        return found.group(1) if found else None


ENTRY_RE = re.compile(
    r'<span class="time">([^<]*)</span>\s*'
    r'(?:<a class="title" href="([^"]*)">(.*?)</a>|<span class="title">(.*?)</span>)',
    re.S,
)


def entries_in(fragment: str) -> list[Entry]:
    found = []
    for match in ENTRY_RE.finditer(fragment):
        time_text, href, linked_title, plain_title = match.groups()
        found.append(Entry(
            html.unescape(time_text).strip(),
            html.unescape(linked_title if href is not None else plain_title).strip(),
            html.unescape(href or ""),
        ))
    return found


def days_of(page: str) -> dict[str, list[Entry]]:
    """Day label ("Thursday 5 March") -> its entries, for the month, week
    and agenda views."""
    days: dict[str, list[Entry]] = {}
    if '<table class="month">' in page:
        body = page.split('<table class="month">', 1)[1].split("</table>", 1)[0]
        for cell in re.findall(r"<td\b.*?</td>", body, re.S):
            label = re.search(r'class="day-number" title="([^"]+)"', cell)
            assert label, cell
            days.setdefault(html.unescape(label.group(1)), []).extend(entries_in(cell))
    else:
        for label, block in re.findall(r'<section class="day[^"]*" aria-label="([^"]+)">(.*?)</section>', page, re.S):
            days.setdefault(html.unescape(label), []).extend(entries_in(block))
    assert days, f"no days in the page:\n{page[:3000]}"
    return days


def all_entries(page: str) -> list[Entry]:
    return [entry for entries in days_of(page).values() for entry in entries]


def entries_titled(page: str, title: str) -> dict[str, list[Entry]]:
    """Day label -> entries with this title (days without one left out)."""
    found = {}
    for day, entries in days_of(page).items():
        matching = [e for e in entries if e.title == title]
        if matching:
            found[day] = matching
    return found


def get_page(browser: requests.Session, site: Site, path: str, status: int = 200, **params) -> str:
    page = browser.get(site.url(path), params=params or None, timeout=30, allow_redirects=False)
    assert page.status_code == status, (path, params, page.status_code, page.text[:1500])
    return page.text


def calendar_view(browser: requests.Session, site: Site, view: str, date: str, tz: str | None = "Europe/Berlin",
                  base: str = "/calendar", show: list[str] | None = None) -> str:
    params: list[tuple[str, str]] = [("view", view), ("date", date)]
    if tz:
        params.append(("tz", tz))
    for path in show or []:
        params.append(("show", path))
    page = browser.get(site.url(base), params=params, timeout=30, allow_redirects=False)
    assert page.status_code == 200, (base, params, page.status_code, page.text[:1500])
    return page.text


def event_fields(**overrides: str) -> dict[str, str]:
    """The event form as a person fills it in: a one-hour event on
    Monday 2 March 2026 in Berlin, not repeating."""
    fields = {
        "calendar": "calendar", "title": "Untitled", "location": "", "description": "",
        "start_date": "2026-03-02", "start_time": "09:00", "end_date": "2026-03-02", "end_time": "10:00",
        "tz": "Europe/Berlin", "repeat": "none", "interval": "1", "ends": "never", "until": "", "count": "",
        "action": "save",
    }
    fields.update(overrides)
    return fields


def post_new_event(browser: requests.Session, site: Site, base: str = "/calendar", **overrides: str) -> requests.Response:
    """Opens the new-event form (for its CSRF token) and sends it filled in."""
    fields = event_fields(**overrides)
    form = get_page(browser, site, f"{base}/new", date=fields["start_date"])
    assert f'action="{base}/events"' in form, form[:2000]
    return browser.post(site.url(f"{base}/events"), data={"csrf": csrf_of(form), **fields},
                        timeout=30, allow_redirects=False)


def same_location(location: str, expected: str) -> bool:
    """Whether a Location names `expected` (a local path and query), reading
    percent-encoded characters as the characters (RFC 3986 equivalence).
    The reader's zone (`tz`) may ride along."""
    got, want = urlsplit(location), urlsplit(expected)
    got_query = sorted((k, v) for k, v in parse_qsl(got.query, keep_blank_values=True) if k != "tz")
    return (not got.scheme and not got.netloc and unquote(got.path) == unquote(want.path)
            and got_query == sorted(parse_qsl(want.query, keep_blank_values=True)))


def new_event(browser: requests.Session, site: Site, base: str = "/calendar", **overrides: str) -> None:
    done = post_new_event(browser, site, base, **overrides)
    assert done.status_code == 303, (done.status_code, done.text[:2000])
    start = event_fields(**overrides)["start_date"]
    assert same_location(done.headers["Location"], f"{base}?view=week&date={start}&done=saved"), done.headers["Location"]


def open_entry(browser: requests.Session, site: Site, entry: Entry) -> str:
    """The edit form behind an entry's link."""
    assert entry.linked, entry
    form = browser.get(site.url(entry.href), timeout=30, allow_redirects=False)
    assert form.status_code == 200, (entry.href, form.status_code, form.text[:1500])
    return form.text


def form_values(form: str) -> dict[str, str]:
    """The values of the form's text inputs and selected options."""
    values = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        name = re.search(r'\bname="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'\btype="([^"]+)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        values[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        if chosen:
            values[name] = html.unescape(chosen.group(1))
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = html.unescape(text)
    return values


def form_action(form: str, contains: str = "/events") -> str:
    actions = [html.unescape(a) for a in re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', form)]
    matching = [a for a in actions if contains in a]
    assert matching, (contains, actions)
    return matching[0]


def post_entry_form(browser: requests.Session, site: Site, entry: Entry, **changes: str) -> requests.Response:
    """Opens an entry's edit form and sends it back with `changes`."""
    form = open_entry(browser, site, entry)
    fields = {**form_values(form), **changes}
    return browser.post(site.url(form_action(form)), data=fields, timeout=30, allow_redirects=False)


# CalDAV through the python caldav library


def caldav_calendar(site: Site, user: tuple[str, str], path: str = "calendar") -> caldav.Calendar:
    client = caldav.DAVClient(url=site.url("/dav/"), username=user[0], password=user[1])
    return client.calendar(url=site.url(f"/dav/calendars/{user[0]}/{path}/"))


def caldav_texts(calendar: caldav.Calendar) -> list[str]:
    return [event.data for event in calendar.events()]


def unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]", "", text).replace("\r\n", "\n")


def vevent(uid: str, summary: str, start: str, end: str, extra: str = "") -> str:
    """A calendar object with one event; start/end as iCalendar DATE-TIME
    values with their parameters, e.g. ';TZID=Europe/Berlin:20260305T100000'."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//web calendar test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART{start}\r\nDTEND{end}\r\nSUMMARY:{summary}\r\n"
        f"{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


# The database


def db_rows(site: Site, sql: str, *args) -> list[tuple]:
    db = sqlite3.connect(f"file:{site.data_dir / 'almanac.db'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def db_write(site: Site, sql: str, *args) -> None:
    db = sqlite3.connect(site.data_dir / "almanac.db", timeout=10)
    try:
        with db:
            db.execute(sql, args)
    finally:
        db.close()


def origins(site: Site, user: str, path: str = "calendar") -> dict[str, str]:
    """Member name -> origin of its last change, in one calendar."""
    return dict(db_rows(
        site,
        "SELECT ch.name, ch.origin FROM changes ch JOIN collections c ON c.id = ch.collection_id "
        "JOIN users u ON u.id = c.owner_id WHERE u.name = ? AND c.path = ?",
        user, path,
    ))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# The access log


def wait_log(site: Site, pattern: str, timeout: float = 5) -> list[str]:
    """Access-log lines matching `pattern` (a regex), once there is one."""
    compiled = re.compile(pattern)
    deadline = time.time() + timeout
    while True:
        lines = [line for line in site.access_log().splitlines() if compiled.search(line)]
        if lines:
            return lines
        assert time.time() < deadline, f"no line like {pattern!r} in:\n{site.access_log()}"
        time.sleep(0.05)


def wait_log_quiet(site: Site, requests_made: int, timeout: float = 5) -> str:
    """The access log once it holds at least `requests_made` lines."""
    deadline = time.time() + timeout
    while True:
        log = site.access_log()
        if len(log.splitlines()) >= requests_made or time.time() > deadline:
            return log
        time.sleep(0.05)
