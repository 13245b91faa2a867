"""caldav-server-tester (the python-caldav project's server probe).

Its full, verbose feature table goes to artifacts/caldav-server-tester.txt
(and a per-backend copy).  The test fails on anything the tool reports as
"broken", and on any RFC-required feature it does not find fully supported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

USER = "tester"
# The second account the multi-user scheduling checks invite (RFC 6638).
ATTENDEE = "bob"

# Features the tool checks that the RFCs Almanac claims (DAV: 1, 3,
# calendar-access, calendar-auto-schedule; sync-collection) require.
# Anything else it probes is optional or not claimed (principal-search =
# RFC 3744, colours, '@' spellings, auto-created calendars, well-known on
# localhost).
REQUIRED = {
    # RFC 4918 / RFC 9110
    "propfind": "RFC 4918 9.1",
    "non-existing-raises-not-found.object": "RFC 9110 15.5.5 (404 for a missing resource)",
    "non-existing-raises-not-found.collection": "RFC 9110 15.5.5 (404 for a missing resource)",
    # RFC 5397
    "get-current-user-principal": "RFC 5397 3",
    # RFC 4791
    "create-calendar": "RFC 4791 5.3.1 MKCALENDAR",
    "create-calendar.set-displayname": "RFC 4791 5.3.1",
    "delete-calendar": "RFC 4918 9.6",
    "save-load.event": "RFC 4791 5.3.2",
    "save-load.event.recurrences": "RFC 4791 4.1",
    "save-load.event.recurrences.exception": "RFC 4791 4.1",
    "save-load.todo": "RFC 4791 5.3.2",
    "save.etag": "RFC 4791 5.3.4",
    "save.if-none-match": "RFC 9110 13.1.2",
    "save.no-uid-conflict": "RFC 4791 5.3.2.1",
    "search.comp-type": "RFC 4791 9.7.1",
    "search.time-range.event": "RFC 4791 9.9",
    "search.time-range.todo": "RFC 4791 9.9",
    "search.time-range.alarm": "RFC 4791 9.9",
    "search.recurrences.includes-implicit.event": "RFC 4791 9.9",
    "search.recurrences.expanded.event": "RFC 4791 9.6.5",
    "search.recurrences.expanded.exception": "RFC 4791 9.6.5",
    "search.is-not-defined.category": "RFC 4791 9.7.4",
    "search.is-not-defined.class": "RFC 4791 9.7.4",
    "search.is-not-defined.dtend": "RFC 4791 9.7.4",
    "search.text.substring": "RFC 4791 9.7.5",
    "search.text.case-insensitive": "RFC 4791 9.7.5 (i;ascii-casemap)",
    "freebusy-query": "RFC 4791 7.10",
    # RFC 6578
    "sync-token": "RFC 6578 3.2",
    "sync-token.delete": "RFC 6578 3.5.1",
    "sync-token.invalid-token": "RFC 6578 3.2 (DAV:valid-sync-token)",
    # RFC 6638, checked between two accounts
    "scheduling": "RFC 6638 2 (calendar-auto-schedule)",
    "scheduling.mailbox": "RFC 6638 2.1, 2.2",
    "scheduling.calendar-user-address-set": "RFC 6638 2.4.1",
    "scheduling.calendar-user-address-set.populated": "RFC 6638 2.4.1",
    "scheduling.freebusy-query": "RFC 6638 5",
    "scheduling.schedule-tag": "RFC 6638 3.2.10",
    "scheduling.mailbox.inbox-delivery": "RFC 6638 4.1",
    "scheduling.auto-schedule": "RFC 6638 4.1 (SCHEDULE-AGENT=SERVER)",
    "scheduling.schedule-tag.stable-partstat": "RFC 6638 3.2.10",
}

FEATURE = re.compile(r"^## (\S+)\nFeature support level found: (\S+)", re.MULTILINE)


@pytest.fixture(scope="module")
def tester_run(almanac_server, artifacts_dir, tmp_path_factory):
    # The attendee account, as a section of caldav's configuration file.
    config = tmp_path_factory.mktemp("caldav-config") / "calendar.conf"
    config.write_text(json.dumps({"attendee": {
        "caldav_url": almanac_server.dav_url,
        "caldav_username": ATTENDEE,
        "caldav_password": almanac_server.users[ATTENDEE],
    }}))
    command = shutil.which("caldav-server-tester")
    base = [command] if command else [sys.executable, "-m", "caldav_server_tester"]
    args = [
        *base,
        "--verbose",
        "--format",
        "text",
        "--caldav-url",
        almanac_server.dav_url,
        "--caldav-username",
        USER,
        "--caldav-password",
        almanac_server.users[USER],
        "--config-section",
        "attendee",
    ]
    env = {**os.environ, "CALDAV_CONFIG_FILE": str(config)}
    result = subprocess.run(args, capture_output=True, text=True, timeout=150, env=env)
    header = (
        f"# caldav-server-tester --verbose against Almanac ({almanac_server.backend} backend)\n"
        f"# exit code {result.returncode}\n\n"
    )
    report = header + result.stdout + "\n# stderr:\n" + result.stderr
    (artifacts_dir / "caldav-server-tester.txt").write_text(report)
    (artifacts_dir / f"caldav-server-tester-{almanac_server.backend}.txt").write_text(report)
    features = dict(FEATURE.findall(result.stdout))
    return result, features


def test_tester_ran(tester_run):
    result, features = tester_run
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "Feature compatibility" in result.stdout
    assert len(features) >= 50, f"only {len(features)} features in the table:\n{result.stdout}"
    print("\ncaldav-server-tester, features not 'full':")
    for name, level in sorted(features.items()):
        if level != "full":
            print(f"  {name}: {level}")


def test_nothing_broken(tester_run):
    _, features = tester_run
    broken = {name: level for name, level in features.items() if level == "broken"}
    assert broken == {}


def test_rfc_required_features_fully_supported(tester_run):
    _, features = tester_run
    missing = sorted(set(REQUIRED) - set(features))
    assert missing == [], f"the tester did not report {missing}"
    deviations = {
        name: f"{features[name]} ({rfc})" for name, rfc in REQUIRED.items() if features[name] != "full"
    }
    assert deviations == {}, f"RFC-required features not fully supported: {deviations}"
