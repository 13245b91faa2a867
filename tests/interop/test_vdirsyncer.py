"""vdirsyncer: two-way sync between a local folder of .ics files and the
account's calendar, discovered from the server's root URL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import caldav
import pytest
from caldav.lib import error

USER = "vsync"

SEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VEVENT
UID:seed-event@interop
DTSTAMP:20260101T000000Z
DTSTART:20260410T090000Z
DTEND:20260410T100000Z
SUMMARY:Seeded on the server
END:VEVENT
END:VCALENDAR
"""

LOCAL = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Almanac interop//EN
BEGIN:VEVENT
UID:local-event@interop
DTSTAMP:20260101T000000Z
DTSTART:20260412T140000Z
DTEND:20260412T150000Z
SUMMARY:Written locally
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture(scope="module")
def setup(almanac_server, tmp_path_factory):
    if shutil.which("vdirsyncer") is None:
        pytest.skip("vdirsyncer is not installed")
    root = tmp_path_factory.mktemp("vdirsyncer")
    local = root / "local"
    config = root / "config"
    config.write_text(
        f"""[general]
status_path = "{root / 'status'}/"

[pair almanac]
a = "almanac_local"
b = "almanac_remote"
collections = ["from b"]
conflict_resolution = null

[storage almanac_local]
type = "filesystem"
path = "{local}/"
fileext = ".ics"

[storage almanac_remote]
type = "caldav"
url = "{almanac_server.base_url}"
username = "{USER}"
password = "{almanac_server.users[USER]}"
"""
    )
    client = caldav.DAVClient(url=almanac_server.dav_url, username=USER, password=almanac_server.users[USER])
    calendar = client.calendar(url=almanac_server.calendar_url(USER))
    return {"config": config, "local": local / "calendar", "calendar": calendar, "root": root}


def vdirsyncer(setup, *args, answers: str = "") -> str:
    env = dict(os.environ, VDIRSYNCER_CONFIG=str(setup["config"]))
    result = subprocess.run(
        ["vdirsyncer", *args],
        env=env,
        input=answers,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"vdirsyncer {' '.join(args)} exited {result.returncode}:\n{output}"
    assert "error:" not in output.lower(), output
    return output


def local_files(setup) -> dict[str, str]:
    """UID -> file content of the local .ics files."""
    files = {}
    for path in sorted(setup["local"].glob("*.ics")):
        text = path.read_text()
        uid = next(line[4:].strip() for line in text.splitlines() if line.startswith("UID:"))
        files[uid] = text
    return files


def local_path(setup, uid: str) -> Path:
    for path in setup["local"].glob("*.ics"):
        if f"UID:{uid}" in path.read_text():
            return path
    raise AssertionError(f"no local file holds {uid}")


KEEPER = SEED.replace("seed-event@", "keeper@").replace("Seeded on the server", "Stays on both sides")


def summary_of(event) -> str:
    return str(event.icalendar_component["SUMMARY"])


def test_discover_and_initial_sync(setup):
    # The keeper stays: vdirsyncer refuses to sync a storage that was emptied.
    setup["calendar"].save_event(SEED)
    setup["calendar"].save_event(KEEPER)
    out = vdirsyncer(setup, "discover", answers="y\n")
    assert '"calendar"' in out, out  # the server's calendar was discovered
    assert setup["local"].is_dir()
    vdirsyncer(setup, "sync")
    files = local_files(setup)
    assert sorted(files) == ["keeper@interop", "seed-event@interop"]
    assert "SUMMARY:Seeded on the server" in files["seed-event@interop"]


def test_local_add_reaches_server(setup):
    (setup["local"] / "local-event.ics").write_text(LOCAL.replace("\n", "\r\n"))
    vdirsyncer(setup, "sync")
    event = setup["calendar"].event_by_uid("local-event@interop")
    assert summary_of(event) == "Written locally"
    assert sorted(str(e.icalendar_component["UID"]) for e in setup["calendar"].events()) == [
        "keeper@interop",
        "local-event@interop",
        "seed-event@interop",
    ]


def test_server_change_reaches_local(setup):
    event = setup["calendar"].event_by_uid("seed-event@interop")
    event.icalendar_component["SUMMARY"] = "Changed on the server"
    event.save()
    vdirsyncer(setup, "sync")
    files = local_files(setup)
    assert sorted(files) == ["keeper@interop", "local-event@interop", "seed-event@interop"]
    assert "SUMMARY:Changed on the server" in files["seed-event@interop"]
    assert "Seeded on the server" not in files["seed-event@interop"]


def test_local_change_reaches_server(setup):
    path = local_path(setup, "local-event@interop")
    path.write_text(path.read_text().replace("SUMMARY:Written locally", "SUMMARY:Edited locally"))
    vdirsyncer(setup, "sync")
    assert summary_of(setup["calendar"].event_by_uid("local-event@interop")) == "Edited locally"


def test_local_delete_reaches_server(setup):
    local_path(setup, "seed-event@interop").unlink()
    vdirsyncer(setup, "sync")
    with pytest.raises(error.NotFoundError):
        setup["calendar"].event_by_uid("seed-event@interop")
    assert sorted(str(e.icalendar_component["UID"]) for e in setup["calendar"].events()) == [
        "keeper@interop",
        "local-event@interop",
    ]


def test_server_delete_reaches_local(setup):
    setup["calendar"].event_by_uid("local-event@interop").delete()
    vdirsyncer(setup, "sync")
    assert list(local_files(setup)) == ["keeper@interop"]
    # A further sync is a no-op: both sides keep just the keeper, unchanged.
    vdirsyncer(setup, "sync")
    files = local_files(setup)
    assert list(files) == ["keeper@interop"]
    assert "SUMMARY:Stays on both sides" in files["keeper@interop"]
    assert [str(e.icalendar_component["UID"]) for e in setup["calendar"].events()] == ["keeper@interop"]
