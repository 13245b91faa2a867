"""The web calendar end to end, as a person uses it in a browser next to
their calendar apps: month, week and agenda views in their time zone,
events and repeating series made and changed in forms (one occurrence or
the whole series), tasks, calendars (create, rename, colour, delete), .ics
import and export; every change is the same iCalendar the apps read over
CalDAV (checked with the python caldav library), and the database and the
access log tell web, sync and import writes apart.

Each test starts its own server from the built binary (ALMANAC_BIN)."""

from __future__ import annotations

import re
import requests

from helpers_web import (
    ALICE, BOB, all_entries, caldav_calendar, caldav_texts, calendar_view, csrf_of, days_of, db_rows, entries_titled,
    event_fields, form_action, form_errors, form_values, get_page, logged_in, new_event, open_entry, origins,
    post_entry_form, post_new_event, same_location, unfold, vevent, wait_log,
)
from test_accounts import site  # noqa: F401  (the fixture)

# Monday 2 March 2026, 09:30 in Berlin (CET) = 08:30 UTC, and the weekly
# Monday/Wednesday series from there, four times.
SERIES_STARTS = {
    "Monday 2 March": "1772440200",
    "Wednesday 4 March": "1772613000",
    "Monday 9 March": "1773045000",
    "Wednesday 11 March": "1773217800",
}


def alice_in_browser(site) -> requests.Session:
    site.add_user(*ALICE)
    return logged_in(site, *ALICE)


def weekly_series(browser, site, title: str = "Team sync") -> None:
    new_event(browser, site, title=title, location="Room 4", description="Weekly round",
              start_date="2026-03-02", start_time="09:30", end_date="2026-03-02", end_time="10:00",
              tz="Europe/Berlin", repeat="weekly", interval="1", day_mo="yes", day_we="yes",
              ends="count", count="4")


def without_timezones(text: str) -> str:
    """The object without its VTIMEZONE definitions (they carry rules too)."""
    return re.sub(r"BEGIN:VTIMEZONE.*?END:VTIMEZONE\n", "", text, flags=re.S)


def test_logged_out_visitors_are_sent_to_log_in(site):
    site.add_user(*ALICE)
    for path in ("/calendar", "/calendar?view=week&date=2026-03-02"):
        shown = requests.get(site.url(path), timeout=30, allow_redirects=False)
        assert shown.status_code == 303, (path, shown.status_code)
        assert shown.headers["Location"] == "/login?next=/calendar", shown.headers["Location"]
    # Nothing is written without a session either.
    refused = requests.post(site.url("/calendar/events"), data=event_fields(title="Sneaky"),
                            timeout=30, allow_redirects=False)
    assert refused.status_code in (303, 403), refused.status_code
    assert caldav_texts(caldav_calendar(site, ALICE)) == []


def test_a_weekly_event_made_on_the_web_is_what_caldav_reads(site):
    browser = alice_in_browser(site)
    weekly_series(browser, site)

    month = calendar_view(browser, site, "month", "2026-03-01")
    shown = entries_titled(month, "Team sync")
    assert sorted(shown) == sorted(SERIES_STARTS), shown
    for day, [entry] in shown.items():
        assert entry.start == "09:30", (day, entry)
        assert re.fullmatch(r"/calendar/events/calendar/[^/?]+", entry.path()), entry.href
        assert entry.occurrence() == SERIES_STARTS[day], (day, entry.href)
    assert len({entry.item() for [entry] in shown.values()}) == 1, "one calendar object"

    # The same occurrences in UTC, and in the week and agenda views.
    utc = entries_titled(calendar_view(browser, site, "month", "2026-03-01", tz="UTC"), "Team sync")
    assert sorted(utc) == sorted(SERIES_STARTS) and {e.start for [e] in utc.values()} == {"08:30"}
    week = entries_titled(calendar_view(browser, site, "week", "2026-03-04"), "Team sync")
    assert sorted(week) == ["Monday 2 March", "Wednesday 4 March"], week
    assert {e.time for [e] in week.values()} == {"09:30–10:00"}
    agenda = entries_titled(calendar_view(browser, site, "agenda", "2026-03-01"), "Team sync")
    assert sorted(agenda) == sorted(SERIES_STARTS), agenda
    assert calendar_view(browser, site, "month", "2026-04-01").count(">Team sync<") == 0

    # What a calendar app gets.
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    text = unfold(text)
    assert "SUMMARY:Team sync" in text and "LOCATION:Room 4" in text and "DESCRIPTION:Weekly round" in text
    assert "DTSTART;TZID=Europe/Berlin:20260302T093000" in text, text
    assert "DTEND;TZID=Europe/Berlin:20260302T100000" in text, text
    # The zone it names is defined in the object, as RFC 5545 asks.
    assert re.search(r"^BEGIN:VTIMEZONE\nTZID:Europe/Berlin$", text, re.M), text
    [rule] = re.findall(r"^RRULE:(.*)$", without_timezones(text), re.M)
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    assert parts["FREQ"] == "WEEKLY" and parts["COUNT"] == "4", rule
    assert sorted(parts["BYDAY"].split(",")) == ["MO", "WE"], rule

    assert set(origins(site, "alice").values()) == {"web"}
    line = wait_log(site, r'"POST /calendar/events ')[0]
    assert line.endswith(" ev=web_write") and " alice " in line and "auth=session" in line, line


def test_events_saved_by_a_calendar_app_show_in_every_view(site):
    browser = alice_in_browser(site)
    calendar = caldav_calendar(site, ALICE)
    calendar.save_event(vevent("dentist@app", "Dentist", ":20260310T150000Z", ":20260310T160000Z",
                               "LOCATION:Main street 5\r\n"))
    # A series from the app with one occurrence moved (an override).
    calendar.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//app//EN\r\n"
        "BEGIN:VEVENT\r\nUID:yoga@app\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20260303T180000\r\nDTEND;TZID=Europe/Berlin:20260303T190000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Yoga\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:yoga@app\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20260310T180000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260312T070000\r\nDTEND;TZID=Europe/Berlin:20260312T080000\r\n"
        "SUMMARY:Yoga\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    for view, day in (("month", "2026-03-01"), ("week", "2026-03-10"), ("agenda", "2026-03-01")):
        page = calendar_view(browser, site, view, day)
        [entry] = entries_titled(page, "Dentist")["Tuesday 10 March"]
        # 15:00 UTC in Berlin (CET); the month grid shows the start only.
        assert entry.time == ("16:00" if view == "month" else "16:00–17:00"), (view, entry)
        assert entry.occurrence() is None and entry.item() == "dentist@app.ics", entry.href
        assert "Main street 5" in page
    yoga = entries_titled(calendar_view(browser, site, "agenda", "2026-03-01"), "Yoga")
    assert {day: [e.time for e in es] for day, es in yoga.items()} == {
        "Tuesday 3 March": ["18:00–19:00"], "Thursday 12 March": ["07:00–08:00"], "Tuesday 17 March": ["18:00–19:00"],
    }, yoga
    assert all(e.occurrence() for es in yoga.values() for e in es), "recurring entries name their occurrence"

    # The reader's zone: the tz parameter, else the almanac_tz cookie, else UTC.
    def dentist_time(session, **kwargs) -> tuple[str, str]:
        page = calendar_view(session, site, "week", "2026-03-10", **kwargs)
        [(day, [entry])] = entries_titled(page, "Dentist").items()
        return day, entry.time
    assert dentist_time(browser, tz=None) == ("Tuesday 10 March", "15:00–16:00")
    assert dentist_time(browser, tz="America/New_York") == ("Tuesday 10 March", "11:00–12:00")  # EDT from 8 March
    browser.cookies.set("almanac_tz", "Asia/Tokyo", domain="127.0.0.1", path="/")
    assert dentist_time(browser, tz=None) == ("Wednesday 11 March", "00:00–01:00")
    assert dentist_time(browser, tz="Europe/Berlin") == ("Tuesday 10 March", "16:00–17:00"), "the parameter wins"
    browser.cookies.clear()

    assert set(origins(site, "alice").values()) == {"sync"}


def test_showing_only_some_calendars(site):
    browser = alice_in_browser(site)
    client_home = caldav_calendar(site, ALICE)
    client_home.save_event(vevent("home@app", "Plumber", ":20260305T080000Z", ":20260305T090000Z"))
    work = client_home.client.principal().make_calendar(name="Work", cal_id="work")
    work.save_event(vevent("review@app", "Quarterly review", ":20260305T120000Z", ":20260305T130000Z"))

    def titles(show):
        return sorted(e.title for e in all_entries(calendar_view(browser, site, "week", "2026-03-05", show=show)))
    assert titles(None) == ["Plumber", "Quarterly review"]
    assert titles(["calendar"]) == ["Plumber"]
    assert titles(["work"]) == ["Quarterly review"]
    assert titles(["calendar", "work"]) == ["Plumber", "Quarterly review"]
    [review] = [e for e in all_entries(calendar_view(browser, site, "week", "2026-03-05")) if e.title == "Quarterly review"]
    assert review.path().startswith("/calendar/events/work/") and review.item() == "review@app.ics", review.href


def test_forged_remembered_settings_change_nothing_they_should_not(site):
    """The cookies that remember the view and the hidden calendars are the
    browser's to change: odd values are ignored, never echoed, never an error."""
    browser = alice_in_browser(site)
    home = caldav_calendar(site, ALICE)
    home.save_event(vevent("home@app", "Plumber", ":20260305T080000Z", ":20260305T090000Z"))
    home.client.principal().make_calendar(name="Work", cal_id="work")
    for view, hidden in [("<script>alert(1)</script>", "%%zz"), ("year", ",," + "x" * 5000),
                         ("week%0d%0aSet-Cookie:%20a=b", "../../etc")]:
        browser.cookies.set("almanac_view", view, domain="127.0.0.1", path="/calendar")
        browser.cookies.set("almanac_hidden", hidden, domain="127.0.0.1", path="/calendar")
        page = browser.get(site.url("/calendar?date=2026-03-05"), timeout=30)
        assert page.status_code == 200, page.status_code
        assert "<script>alert(1)" not in page.text
        assert re.search(r'aria-current="page"[^>]*>Month<', page.text), "an unknown view is the month"
        assert "Plumber" in page.text, "made-up calendar names hide nothing"
    # A real calendar hidden by the cookie is hidden; the address's choice wins.
    browser.cookies.set("almanac_view", "week", domain="127.0.0.1", path="/calendar")
    browser.cookies.set("almanac_hidden", "calendar", domain="127.0.0.1", path="/calendar")
    assert "Plumber" not in browser.get(site.url("/calendar?date=2026-03-05"), timeout=30).text
    assert "Plumber" in browser.get(site.url("/calendar?date=2026-03-05&show=calendar"), timeout=30).text


def test_moving_one_occurrence_on_the_web(site):
    browser = alice_in_browser(site)
    weekly_series(browser, site)
    [wednesday] = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Team sync")["Wednesday 4 March"]

    form = open_entry(browser, site, wednesday)
    values = form_values(form)
    assert values["title"] == "Team sync" and values["location"] == "Room 4"
    assert (values["start_date"], values["start_time"], values["end_time"]) == ("2026-03-04", "09:30", "10:00"), values
    assert values["tz"] == "Europe/Berlin" and values["occurrence"] == SERIES_STARTS["Wednesday 4 March"]
    assert values["repeat"] == "weekly", values
    assert 'name="scope" value="this"' in form and 'name="scope" value="all"' in form
    assert 'name="csrf"' in form

    moved = post_entry_form(browser, site, wednesday, scope="this", action="save", start_date="2026-03-05",
                            end_date="2026-03-05", start_time="14:00", end_time="15:00")
    assert moved.status_code == 303, (moved.status_code, moved.text[:2000])
    assert same_location(moved.headers["Location"], "/calendar?view=week&date=2026-03-05&done=saved"), moved.headers["Location"]

    shown = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Team sync")
    assert sorted(shown) == ["Monday 2 March", "Monday 9 March", "Thursday 5 March", "Wednesday 11 March"], shown
    assert shown["Thursday 5 March"][0].start == "14:00"
    assert shown["Monday 9 March"][0].start == "09:30"
    week = entries_titled(calendar_view(browser, site, "week", "2026-03-05"), "Team sync")
    assert sorted(week) == ["Monday 2 March", "Thursday 5 March"], week
    assert week["Thursday 5 March"][0].time == "14:00–15:00" and week["Monday 2 March"][0].time == "09:30–10:00"

    # The app sees the series with an override for that occurrence.
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    text = unfold(text)
    assert text.count("BEGIN:VEVENT") == 2, text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260304T093000" in text, text
    override = text[text.rfind("BEGIN:VEVENT", 0, text.index("RECURRENCE-ID")):].split("END:VEVENT", 1)[0]
    assert "DTSTART;TZID=Europe/Berlin:20260305T140000" in override, override
    assert "RRULE" not in override
    assert len(re.findall(r"^RRULE:", without_timezones(text), re.M)) == 1
    assert set(origins(site, "alice").values()) == {"web"}

    # The moved occurrence opens with its new time.
    [thursday] = shown["Thursday 5 March"]
    values = form_values(open_entry(browser, site, thursday))
    assert (values["start_date"], values["start_time"]) == ("2026-03-05", "14:00"), values


def test_changing_and_deleting_a_series_or_one_occurrence(site):
    browser = alice_in_browser(site)
    weekly_series(browser, site)
    month = calendar_view(browser, site, "month", "2026-03-01")
    [monday9] = entries_titled(month, "Team sync")["Monday 9 March"]

    gone = post_entry_form(browser, site, monday9, scope="this", action="delete")
    assert gone.status_code == 303, (gone.status_code, gone.text[:2000])
    shown = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Team sync")
    assert sorted(shown) == ["Monday 2 March", "Wednesday 11 March", "Wednesday 4 March"], shown
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    assert re.search(r"^EXDATE;TZID=Europe/Berlin:20260309T093000", unfold(text), re.M), text

    # The whole series takes a new title; the cancelled day stays cancelled.
    [first] = shown["Monday 2 March"]
    renamed = post_entry_form(browser, site, first, scope="all", action="save", title="Team sync (new room)",
                              location="Room 7")
    assert renamed.status_code == 303, (renamed.status_code, renamed.text[:2000])
    month = calendar_view(browser, site, "month", "2026-03-01")
    assert entries_titled(month, "Team sync") == {}
    renamed_days = entries_titled(month, "Team sync (new room)")
    assert sorted(renamed_days) == ["Monday 2 March", "Wednesday 11 March", "Wednesday 4 March"], renamed_days
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    assert "SUMMARY:Team sync (new room)" in unfold(text) and "LOCATION:Room 7" in unfold(text)

    # Deleting the series removes every occurrence, on the web and in the app.
    [any_one] = renamed_days["Wednesday 11 March"]
    deleted = post_entry_form(browser, site, any_one, scope="all", action="delete")
    assert deleted.status_code == 303, (deleted.status_code, deleted.text[:2000])
    said = browser.get(site.url(deleted.headers["Location"]), timeout=30).text
    assert '<p class="notice" role="status">Deleted.</p>' in said, "the calendar says what happened"
    assert all_entries(calendar_view(browser, site, "month", "2026-03-01")) == []
    assert caldav_texts(caldav_calendar(site, ALICE)) == []
    assert set(origins(site, "alice").values()) == {"web"}
    assert [deleted for (deleted,) in db_rows(site, "SELECT deleted FROM changes")] == [1], "the deletion is recorded"


def test_one_day_of_an_all_day_series(site):
    browser = alice_in_browser(site)
    new_event(browser, site, title="Conference", all_day="yes", start_date="2026-03-02", end_date="2026-03-02",
              start_time="", end_time="", repeat="daily", ends="count", count="5")
    shown = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Conference")
    assert sorted(shown) == sorted(["Monday 2 March", "Tuesday 3 March", "Wednesday 4 March",
                                    "Thursday 5 March", "Friday 6 March"]), shown
    assert {e.time for es in shown.values() for e in es} == {"All day"}
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    assert "DTSTART;VALUE=DATE:20260302" in unfold(text), text

    # Open Wednesday (from the page shown in Berlin time) and cancel only it.
    [wednesday] = shown["Wednesday 4 March"]
    values = form_values(open_entry(browser, site, wednesday))
    assert values["start_date"] == "2026-03-04" and values.get("all_day") == "yes", values
    gone = post_entry_form(browser, site, wednesday, scope="this", action="delete")
    assert gone.status_code == 303, (gone.status_code, gone.text[:2000])
    left = entries_titled(calendar_view(browser, site, "month", "2026-03-01"), "Conference")
    assert sorted(left) == sorted(["Monday 2 March", "Tuesday 3 March", "Thursday 5 March", "Friday 6 March"]), left
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    assert re.search(r"^EXDATE;VALUE=DATE:20260304$", unfold(text), re.M), text


def test_web_changes_keep_what_the_app_stored(site):
    browser = alice_in_browser(site)
    calendar = caldav_calendar(site, ALICE)
    calendar.save_event(vevent(
        "alarm@app", "Flight", ";TZID=Europe/Berlin:20260305T100000", ";TZID=Europe/Berlin:20260305T120000",
        "X-APP-COLOUR:teal\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Leave now\r\nTRIGGER:-PT2H\r\nEND:VALARM\r\n",
    ))
    [flight] = entries_titled(calendar_view(browser, site, "week", "2026-03-05"), "Flight")["Thursday 5 March"]
    assert flight.time == "10:00–12:00"
    changed = post_entry_form(browser, site, flight, title="Flight to Lisbon", action="save")
    assert changed.status_code == 303, (changed.status_code, changed.text[:2000])
    text = unfold(calendar.event_by_uid("alarm@app").data)
    assert "SUMMARY:Flight to Lisbon" in text
    assert "BEGIN:VALARM" in text and "TRIGGER:-PT2H" in text and "X-APP-COLOUR:teal" in text, text
    assert "DTSTART;TZID=Europe/Berlin:20260305T100000" in text, text
    assert origins(site, "alice") == {"alarm@app.ics": "web"}, "the last change came from the web"


def test_a_form_with_mistakes_comes_back_with_messages(site):
    browser = alice_in_browser(site)
    cases = [
        ({"title": ""}, "title"),
        ({"end_time": "08:00"}, "end before"),
        ({"tz": "Mars/Olympus"}, "time zone"),
        ({"start_date": "someday"}, "date"),
        ({"repeat": "weekly", "ends": "count", "count": "0"}, "times"),
    ]
    for change, message in cases:
        refused = post_new_event(browser, site, **{"title": "Checkup", **change})
        assert refused.status_code == 422, (change, refused.status_code)
        assert 'action="/calendar/events"' in refused.text and 'name="csrf"' in refused.text, "the form again"
        assert message in form_errors(refused.text).lower(), (change, form_errors(refused.text))
        kept = form_values(refused.text)
        assert kept["title"] == change.get("title", "Checkup"), "what was typed is kept"
    assert caldav_texts(caldav_calendar(site, ALICE)) == [], "nothing was saved"


def test_forms_refuse_missing_or_foreign_csrf_tokens(site):
    browser = alice_in_browser(site)
    site.add_user(*BOB)
    bob_token = csrf_of(get_page(logged_in(site, *BOB), site, "/calendar/new"))
    for token in (None, "", bob_token):
        fields = event_fields(title="Forged")
        if token is not None:
            fields["csrf"] = token
        refused = browser.post(site.url("/calendar/events"), data=fields, timeout=30, allow_redirects=False)
        assert refused.status_code == 403, (token, refused.status_code)
        refused = browser.post(site.url("/calendar/calendars"), data={**({"csrf": token} if token is not None else {}),
                                                                      "name": "Forged", "color": "#112233"},
                               timeout=30, allow_redirects=False)
        assert refused.status_code == 403, (token, refused.status_code)
    assert caldav_texts(caldav_calendar(site, ALICE)) == []
    assert "Forged" not in get_page(browser, site, "/calendar/calendars")


def test_one_account_cannot_reach_another_ones_events(site):
    alice = alice_in_browser(site)
    site.add_user(*BOB)
    bob = logged_in(site, *BOB)
    new_event(alice, site, title="Alice's appointment", start_date="2026-03-05", end_date="2026-03-05")
    [entry] = entries_titled(calendar_view(alice, site, "week", "2026-03-05"), "Alice's appointment")["Thursday 5 March"]

    assert "Alice's appointment" not in calendar_view(bob, site, "week", "2026-03-05")
    assert bob.get(site.url(entry.href), timeout=30, allow_redirects=False).status_code == 404
    fields = {**event_fields(title="Hijacked", start_date="2026-03-05", end_date="2026-03-05", scope="all"),
              "csrf": csrf_of(get_page(bob, site, "/calendar/new"))}
    for action in ("save", "delete"):
        tried = bob.post(site.url(entry.raw_path()), data={**fields, "action": action}, timeout=30, allow_redirects=False)
        assert tried.status_code == 404, (action, tried.status_code)
    [text] = caldav_texts(caldav_calendar(site, ALICE))
    assert "SUMMARY:Alice's appointment" in text
    assert bob.get(site.url("/calendar/calendars/calendar/export.ics"), timeout=30).text.count("Alice") == 0


def test_tasks(site):
    browser = alice_in_browser(site)
    page = get_page(browser, site, "/calendar/tasks")
    added = browser.post(site.url("/calendar/tasks"), data={"csrf": csrf_of(page), "title": "Buy milk",
                                                            "due": "2026-03-03", "calendar": "calendar"},
                         timeout=30)
    assert added.status_code == 200 and "Buy milk" in added.text, (added.status_code, added.text[:1500])
    added = browser.post(site.url("/calendar/tasks"), data={"csrf": csrf_of(page), "title": "Call the bank",
                                                            "calendar": "calendar"}, timeout=30)
    assert added.status_code == 200 and "Call the bank" in added.text

    calendar = caldav_calendar(site, ALICE)
    todos = {re.search(r"^SUMMARY:(.*)$", unfold(t.data), re.M).group(1): unfold(t.data) for t in calendar.todos()}
    assert sorted(todos) == ["Buy milk", "Call the bank"], todos
    assert re.search(r"^DUE;VALUE=DATE:20260303$", todos["Buy milk"], re.M), todos["Buy milk"]
    assert "DUE" not in todos["Call the bank"]

    page = get_page(browser, site, "/calendar/tasks")
    # One address per task (its done form and its delete form post there;
    # its edit form posts to .../edit).
    [milk_action] = sorted({a for a in re.findall(r'action="(/calendar/tasks/[^"]+)"', page)
                            if not a.endswith("/edit")
                            and "Buy milk" in page.split(f'action="{a}"', 1)[1].split("</form>", 1)[0]})
    done = browser.post(site.url(milk_action), data={"csrf": csrf_of(page), "action": "done"}, timeout=30)
    assert done.status_code == 200, done.status_code
    [milk] = [t for t in calendar.todos(include_completed=True) if "Buy milk" in t.data]
    assert "STATUS:COMPLETED" in milk.data
    assert "Buy milk" not in [t.data for t in calendar.todos()], "an app hides done tasks"

    reopened = browser.post(site.url(milk_action), data={"csrf": csrf_of(page), "action": "open"}, timeout=30)
    assert reopened.status_code == 200
    [milk] = [t for t in calendar.todos() if "Buy milk" in t.data]
    assert "STATUS:NEEDS-ACTION" in milk.data

    deleted = browser.post(site.url(milk_action), data={"csrf": csrf_of(page), "action": "delete"}, timeout=30)
    assert deleted.status_code == 200 and "Buy milk" not in deleted.text
    assert [t for t in calendar.todos(include_completed=True) if "Buy milk" in t.data] == []
    assert set(origins(site, "alice").values()) == {"web"}

    refused = browser.post(site.url("/calendar/tasks"), data={"title": "No token", "calendar": "calendar"},
                           timeout=30, allow_redirects=False)
    assert refused.status_code == 403


def calendar_paths(page: str) -> dict[str, str]:
    """Calendar name -> path, from the calendars page's save forms."""
    found = {}
    for path, name in re.findall(
            r'action="/calendar/calendars/([^"/]+)">\s*<input type="hidden" name="csrf"[^>]*>\s*'
            r'<label>Name <input type="text" name="name" value="([^"]*)"', page):
        found[name] = path
    return found


def test_making_renaming_recolouring_and_deleting_calendars(site):
    browser = alice_in_browser(site)
    page = get_page(browser, site, "/calendar/calendars")
    made = browser.post(site.url("/calendar/calendars"), data={"csrf": csrf_of(page), "name": "Work", "color": "#aa3300"},
                        timeout=30)
    assert made.status_code == 200, made.status_code
    page = get_page(browser, site, "/calendar/calendars")
    paths = calendar_paths(page)
    assert sorted(paths) == ["Calendar", "Work"], paths
    work = paths["Work"]
    assert 'value="#aa3300"' in page.lower()

    principal = caldav_calendar(site, ALICE).client.principal()
    assert sorted(c.get_display_name() for c in principal.calendars()) == ["Calendar", "Work"]

    # An event in the new calendar, from the web, shows there and in the app.
    new_event(browser, site, title="Standup", calendar=work, start_date="2026-03-05", end_date="2026-03-05")
    [standup] = entries_titled(calendar_view(browser, site, "week", "2026-03-05"), "Standup")["Thursday 5 March"]
    assert standup.path().startswith(f"/calendar/events/{work}/")
    assert ["Standup" in t for t in caldav_texts(caldav_calendar(site, ALICE, work))] == [True]
    assert caldav_texts(caldav_calendar(site, ALICE)) == []
    assert calendar_view(browser, site, "week", "2026-03-05", show=["calendar"]).count(">Standup<") == 0

    renamed = browser.post(site.url(f"/calendar/calendars/{work}"), data={
        "csrf": csrf_of(page), "action": "save", "name": "Office", "color": "#0055aa"}, timeout=30)
    assert renamed.status_code == 200
    page = get_page(browser, site, "/calendar/calendars")
    assert sorted(calendar_paths(page)) == ["Calendar", "Office"] and 'value="#0055aa"' in page.lower()
    assert sorted(c.get_display_name() for c in principal.calendars()) == ["Calendar", "Office"]

    kept = browser.post(site.url(f"/calendar/calendars/{work}"), data={"csrf": csrf_of(page), "action": "delete"},
                        timeout=30, allow_redirects=False)
    assert kept.status_code == 422, "deleting takes the confirmation box"
    assert "Office" in calendar_paths(get_page(browser, site, "/calendar/calendars"))

    deleted = browser.post(site.url(f"/calendar/calendars/{work}"), data={
        "csrf": csrf_of(page), "action": "delete", "confirm": "yes"}, timeout=30)
    assert deleted.status_code == 200
    assert sorted(calendar_paths(get_page(browser, site, "/calendar/calendars"))) == ["Calendar"]
    assert [c.get_display_name() for c in principal.calendars()] == ["Calendar"]
    assert "Standup" not in calendar_view(browser, site, "week", "2026-03-05")


IMPORTED = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other service//EN\r\n"
    "BEGIN:VEVENT\r\nUID:imported-1@elsewhere\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260306T110000\r\nDTEND;TZID=Europe/Berlin:20260306T113000\r\n"
    "SUMMARY:Imported coffee\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:imported-2@elsewhere\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20260307\r\nDTEND;VALUE=DATE:20260308\r\nSUMMARY:Imported birthday\r\n"
    "RRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_importing_and_exporting_ics_files(site):
    browser = alice_in_browser(site)
    calendar = caldav_calendar(site, ALICE)
    calendar.save_event(vevent("own@app", "Own event", ":20260305T080000Z", ":20260305T090000Z"))
    page = get_page(browser, site, "/calendar/calendars")
    imported = browser.post(site.url("/calendar/calendars/calendar/import"),
                            data={"csrf": csrf_of(page)},
                            files={"file": ("other.ics", IMPORTED.encode(), "text/calendar")}, timeout=30,
                            allow_redirects=False)
    assert imported.status_code == 200, (imported.status_code, imported.text[:1500])
    assert "Imported 2 events" in re.sub(r"\s+", " ", imported.text), imported.text[:3000]

    week = calendar_view(browser, site, "week", "2026-03-06")
    assert entries_titled(week, "Imported coffee")["Friday 6 March"][0].time == "11:00–11:30"
    assert entries_titled(week, "Imported birthday")["Saturday 7 March"][0].time == "All day"
    assert "Imported birthday" in calendar_view(browser, site, "month", "2027-03-01"), "yearly"
    texts = caldav_texts(calendar)
    assert sorted(re.search(r"^SUMMARY:(.*)$", unfold(t), re.M).group(1) for t in texts) == [
        "Imported birthday", "Imported coffee", "Own event"]

    found = origins(site, "alice")
    assert found.pop("own@app.ics") == "sync"
    assert len(found) == 2 and set(found.values()) == {"import"}, found
    line = wait_log(site, r'"POST /calendar/calendars/calendar/import ')[0]
    assert line.endswith(" ev=web_write"), line

    exported = browser.get(site.url("/calendar/calendars/calendar/export.ics"), timeout=30)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/calendar")
    text = unfold(exported.text)
    assert text.startswith("BEGIN:VCALENDAR") and text.count("BEGIN:VCALENDAR") == 1
    for uid in ("imported-1@elsewhere", "imported-2@elsewhere", "own@app"):
        assert f"UID:{uid}" in text, uid
    assert "SUMMARY:Imported coffee" in text and "RRULE:FREQ=YEARLY" in text and "SUMMARY:Own event" in text

    # The export reads back in: importing it again replaces, not duplicates.
    again = browser.post(site.url("/calendar/calendars/calendar/import"), data={"csrf": csrf_of(page)},
                         files={"file": ("export.ics", exported.content, "text/calendar")}, timeout=30)
    assert again.status_code == 200 and "Imported 3 events" in re.sub(r"\s+", " ", again.text)
    assert len(caldav_texts(calendar)) == 3


def test_each_kind_of_write_is_recorded_with_its_origin(site):
    browser = alice_in_browser(site)
    calendar = caldav_calendar(site, ALICE)
    calendar.save_event(vevent("from-app@app", "From the app", ":20260305T080000Z", ":20260305T090000Z"))
    new_event(browser, site, title="From the web", start_date="2026-03-05", end_date="2026-03-05")
    page = get_page(browser, site, "/calendar/calendars")
    browser.post(site.url("/calendar/calendars/calendar/import"), data={"csrf": csrf_of(page)},
                 files={"file": ("one.ics", vevent("from-file@x", "From a file", ":20260306T080000Z",
                                                   ":20260306T090000Z").encode(), "text/calendar")}, timeout=30)
    found = origins(site, "alice")
    [web_name] = [name for name in found if name not in ("from-app@app.ics", "from-file@x.ics")]
    assert found == {"from-app@app.ics": "sync", web_name: "web", "from-file@x.ics": "import"}, found

    # The last change decides: the app edits the web's event, the web the app's.
    web_event = calendar.event_by_url(site.url(f"/dav/calendars/alice/calendar/{web_name}"))
    web_event.load()
    web_event.data = web_event.data.replace("SUMMARY:From the web", "SUMMARY:Changed in the app")
    web_event.save()
    [app_entry] = entries_titled(calendar_view(browser, site, "week", "2026-03-05"), "From the app")["Thursday 5 March"]
    assert post_entry_form(browser, site, app_entry, title="Changed on the web").status_code == 303
    found = origins(site, "alice")
    assert found[web_name] == "sync" and found["from-app@app.ics"] == "web", found

    # A deletion from the web is a web change too.
    [entry] = entries_titled(calendar_view(browser, site, "week", "2026-03-05"), "Changed on the web")["Thursday 5 March"]
    assert post_entry_form(browser, site, entry, action="delete", scope="all").status_code == 303
    assert origins(site, "alice")["from-app@app.ics"] == "web"
    deleted = dict(db_rows(site, "SELECT name, deleted FROM changes"))
    assert deleted["from-app@app.ics"] == 1
    web_writes = wait_log(site, r" ev=web_write$")
    assert all(" alice " in line and "auth=session" in line for line in web_writes)
    assert not any("PUT /dav/" in line for line in web_writes), "app writes are not web writes"


def test_dates_and_views_are_navigable(site):
    browser = alice_in_browser(site)
    new_event(browser, site, title="Late meeting", start_date="2026-03-31", end_date="2026-03-31",
              start_time="23:30", end_time="23:45", tz="UTC")
    # 23:30 UTC on 31 March is 01:30 on 1 April in Berlin (CEST).
    berlin = entries_titled(calendar_view(browser, site, "month", "2026-04-10"), "Late meeting")
    assert list(berlin) == ["Wednesday 1 April"] and berlin["Wednesday 1 April"][0].start == "01:30"
    week = entries_titled(calendar_view(browser, site, "week", "2026-04-01"), "Late meeting")
    assert list(week) == ["Wednesday 1 April"] and week["Wednesday 1 April"][0].time == "01:30–01:45"
    utc = entries_titled(calendar_view(browser, site, "month", "2026-03-10", tz="UTC"), "Late meeting")
    assert list(utc) == ["Tuesday 31 March"]
    page = calendar_view(browser, site, "month", "2026-03-10")
    assert "March 2026" in page
    assert re.search(r'href="/calendar\?view=month&amp;date=2026-04-01[^"]*"', page), "a link to the next month"
    assert re.search(r'href="/calendar\?view=month&amp;date=2026-02-01[^"]*"', page), "a link to the previous month"
    week = calendar_view(browser, site, "week", "2026-03-04")
    assert sorted(days_of(week)) == sorted(["Monday 2 March", "Tuesday 3 March", "Wednesday 4 March", "Thursday 5 March",
                                            "Friday 6 March", "Saturday 7 March", "Sunday 8 March"])
    new_page = get_page(browser, site, "/calendar/new", date="2026-03-04")
    values = form_values(new_page)
    assert values["start_date"] == "2026-03-04" and values["calendar"] == "calendar", values
    assert form_action(new_page) == "/calendar/events"


def test_a_new_calendar_does_not_move_the_default_one(site):
    site.add_user(*ALICE)
    browser = logged_in(site, *ALICE)
    page = get_page(browser, site, "/calendar/calendars")
    made = browser.post(site.url("/calendar/calendars"), data={"csrf": csrf_of(page), "name": "Anniversaries",
                                                               "color": "#aa3300"}, timeout=30)
    assert made.status_code == 200
    form = get_page(browser, site, "/calendar/new", date="2026-03-02")
    selected = re.search(r'<option value="([^"]+)" selected>', form)
    assert selected and selected.group(1) == "calendar", "new events still go to the first calendar"
    tasks = get_page(browser, site, "/calendar/tasks")
    first = re.search(r'<select name="calendar"><option value="([^"]+)"', tasks)
    assert first and first.group(1) == "calendar", "and new tasks too"
