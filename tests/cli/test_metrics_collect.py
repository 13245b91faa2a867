"""`almanac metrics collect`: incremental, rotation- and truncation-proof,
with --rebuild; counts checked against the lines written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from test_cli import BIN, REPO

GENLOG = REPO.parent / "shared" / "tools" / "genlog.py"


def lines(n: int, seed: int) -> str:
    out = subprocess.run([sys.executable, str(GENLOG), "--lines", str(n), "--days", "3", "--users", "40", "--seed", str(seed)],
                         capture_output=True, text=True, check=True)
    return out.stdout


def collect(data_dir, *args):
    out = subprocess.run([BIN, "--data-dir", str(data_dir), "metrics", "collect", *map(str, args)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def read_count(stdout: str) -> int:
    assert stdout.startswith("Read "), stdout
    return int(stdout.split()[1])


def hits(data_dir) -> float:
    report = json.loads((data_dir / "metrics" / "report.json").read_text())
    return sum(report["series"]["hits"]["daily"].values())


def test_collect_reads_each_line_once(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(lines(2000, 1))
    assert read_count(collect(tmp_path)) == 2000
    assert read_count(collect(tmp_path)) == 0, "nothing new, nothing read"
    with log.open("a") as f:
        f.write(lines(100, 2))
        f.write("this is not a log line\n")
        f.write('127.0.0.1 - - [26/Nov/2026:01:02:03 +0000] "GET /half')  # still being written
    out = collect(tmp_path)
    assert read_count(out) == 101 and "(1 malformed)" in out and "malformed: this is not a log line" in out
    assert hits(tmp_path) == 2100

    # Rotation: the old file gets its last lines, is renamed, a new one starts.
    with log.open("a") as f:
        f.write(' HTTP/1.1" 200 5 "-" "curl/8.0"\n')
        f.write(lines(10, 3))
    log.rename(tmp_path / "access.log.1")
    log.write_text(lines(50, 4))
    assert read_count(collect(tmp_path)) == 61
    assert hits(tmp_path) == 2161

    # Truncation: the file is read again from its start.
    log.write_text(lines(20, 5))
    assert read_count(collect(tmp_path)) == 20

    # --rebuild forgets everything and reads the given logs from the start.
    out = collect(tmp_path, "--rebuild", tmp_path / "access.log.1", log)
    assert read_count(out) == 2000 + 100 + 1 + 1 + 10 + 20
    assert hits(tmp_path) == 2000 + 100 + 1 + 10 + 20


def test_copytruncate_rotation_reads_each_line_once(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(lines(500, 11))
    assert read_count(collect(tmp_path)) == 500
    with log.open("a") as f:
        f.write(lines(40, 12))  # written after the last collection
    # logrotate's copytruncate: the file is copied to access.log.1, then
    # emptied in place, and the server goes on appending to it.
    shutil.copyfile(log, tmp_path / "access.log.1")
    with log.open("r+") as f:
        f.truncate(0)
    with log.open("a") as f:
        f.write(lines(30, 13))
    assert read_count(collect(tmp_path)) == 40 + 30, "the copy is continued, the emptied file read from its start"
    assert hits(tmp_path) == 570
    assert read_count(collect(tmp_path)) == 0
    # The next rotation: the copy moves on to .2, a new copy is made.
    (tmp_path / "access.log.1").rename(tmp_path / "access.log.2")
    shutil.copyfile(log, tmp_path / "access.log.1")
    with log.open("r+") as f:
        f.truncate(0)
    assert read_count(collect(tmp_path)) == 0
    assert hits(tmp_path) == 570


def test_countries_come_from_the_operators_ip_database(tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    database = tmp_path / "countries.mmdb"
    writer = MMDBWriter(ip_version=4, database_type="Almanac-Test-Country")
    writer.insert_network(IPSet(["192.0.2.0/24"]), {"country": {"iso_code": "US"}})
    writer.insert_network(IPSet(["198.51.100.0/24"]), {"country": {"iso_code": "DE"}})
    writer.to_db_file(str(database))
    log = tmp_path / "proxy.log"
    agent = '"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"'
    log.write_text("".join(
        f'{host} - - [25/Nov/2026:10:00:0{i} +0000] "GET /status HTTP/1.1" 200 100 "-" {agent}\n'
        for i, host in enumerate(["192.0.2.1", "192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.5"])
    ))

    def report_with(config_text: str) -> dict:
        data = tmp_path / f"data-{len(config_text)}"
        config = tmp_path / "almanac.toml"
        config.write_text(f'data_dir = "{data}"\n{config_text}')
        out = subprocess.run([BIN, "--config", str(config), "metrics", "collect", str(log)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads((data / "metrics" / "report.json").read_text())

    placed = report_with(f'[metrics]\ncountry_database = "{database}"\n')
    assert placed["country_database"].startswith("Almanac-Test-Country built "), placed["country_database"]
    by_country = {name.split(":", 1)[1]: sum(s["daily"].values())
                  for name, s in placed["series"].items() if name.startswith("hits_by_country:")}
    assert by_country == {"US": 3, "DE": 1, "(unknown)": 1}
    # Of the three people placed (two at home), one is outside: 33.3 %.
    assert round(placed["series"]["outside_home_share"]["daily"]["2026-11-25"], 1) == 33.3

    unplaced = report_with("")
    assert unplaced["country_database"] is None
    assert not any(name.startswith("hits_by_country:") for name in unplaced["series"])
    assert unplaced["series"]["outside_home_share"]["daily"] == {}

    broken = tmp_path / "broken.toml"
    broken.write_text(f'data_dir = "{tmp_path / "x"}"\n[metrics]\ncountry_database = "{tmp_path / "missing.mmdb"}"\n')
    out = subprocess.run([BIN, "--config", str(broken), "metrics", "collect", str(log)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "cannot use the country database" in out.stderr, out.stderr


def test_account_totals_have_a_history_before_the_first_snapshot(tmp_path):
    import sqlite3

    for name in ("ann", "ben", "cid"):
        add = subprocess.run([BIN, "--data-dir", str(tmp_path), "user", "add", name, "--email", f"{name}@example.org",
                              "--password-stdin"], input="a long enough password\n", capture_output=True, text=True)
        assert add.returncode == 0, add.stderr
    # Made 10, 10 and 3 days ago.
    db = sqlite3.connect(tmp_path / "almanac.db")
    with db:
        db.execute("UPDATE users SET created_at = created_at - 10 * 86400 WHERE name IN ('ann', 'ben')")
        db.execute("UPDATE users SET created_at = created_at - 3 * 86400 WHERE name = 'cid'")
    db.close()
    (tmp_path / "access.log").write_text(lines(10, 1))
    collect(tmp_path)
    report = json.loads((tmp_path / "metrics" / "report.json").read_text())
    totals = report["series"]["accounts_total"]["daily"]
    import datetime
    today = datetime.datetime.now(datetime.timezone.utc).date()
    day = lambda n: (today - datetime.timedelta(days=n)).isoformat()
    assert totals[day(0)] == 3 and totals[day(4)] == 2 and totals[day(3)] == 3 and totals[day(10)] == 2
    assert day(11) not in totals, "nothing before the first account"


def test_collect_takes_plain_proxy_logs(tmp_path):
    proxy = tmp_path / "nginx.log"
    proxy.write_text(
        '203.0.113.9 - - [25/Nov/2026:10:00:00 +0000] "GET /status HTTP/1.1" 200 1234 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"\n'
        '203.0.113.9 - alice [25/Nov/2026:10:00:01 +0000] "PROPFIND /dav/calendars/alice/calendar/ HTTP/1.1" 207 999 "-" "DAVx5/4.4.2-ose (2024/01/01; dav4jvm; okhttp/4.12) Android/14"\n'
    )
    assert read_count(collect(tmp_path, proxy)) == 2
    report = json.loads((tmp_path / "metrics" / "report.json").read_text())
    assert report["series"]["bytes_out"]["daily"] == {"2026-11-25": 2233.0}
    assert report["series"]["native_users"]["daily"] == {"2026-11-25": 1.0}


def test_metrics_api_serves_the_collected_series(tmp_path):
    import base64
    import csv
    import io
    import urllib.error
    import urllib.request

    from test_cli import PASSWORD, almanac, start

    almanac(tmp_path, "user", "add", "boss", "--email", "b@example.org", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    almanac(tmp_path, "user", "add", "carol", "--email", "c@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    log = tmp_path / "old.log"
    log.write_text(lines(3000, 9))
    assert read_count(collect(tmp_path, log)) == 3000
    config = tmp_path / "almanac.toml"
    config.write_text('[metrics]\nsubmit_token = "let-me-submit"\n')
    proc, port = start(tmp_path, env={"ALMANAC_CONFIG": str(config)})

    def get(path, user=None, method="GET", body=None, bearer=None):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
        if user:
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode())
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, r.headers.get("content-type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("content-type"), e.read().decode()

    try:
        assert get("/api/v1/metrics")[0] == 401
        assert get("/api/v1/metrics", "carol")[0] == 403
        code, _, body = get("/api/v1/metrics", "boss")
        assert code == 200
        catalogue = {m["name"]: m for m in json.loads(body)}
        assert catalogue["hits"]["unit_per_day"] == "requests, per day"
        assert catalogue["native_users"]["unit_per_week"] == "people, per week"
        code, _, body = get("/api/v1/metrics/hits?period=day", "boss")
        series = json.loads(body)
        assert series["unit"] == "requests, per day" and sum(p["value"] for p in series["points"]) == 3000
        first = series["points"][0]["date"]
        code, _, body = get(f"/api/v1/metrics/hits?from={first}&to={first}", "boss")
        assert len(json.loads(body)["points"]) == 1
        code, ctype, body = get("/api/v1/metrics/hits.csv?period=week", "boss")
        assert ctype.startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(body)))
        assert sum(float(r["value"]) for r in rows) == 3000
        code, _, body = get("/api/v1/metrics.csv?names=hits,bytes_out", "boss")
        table = list(csv.reader(io.StringIO(body)))
        assert table[0] == ["date", "hits", "bytes_out"] and len(table) > 1
        code, _, body = get("/api/v1/metrics/accounts_total", "boss")
        assert [p["value"] for p in json.loads(body)["points"]] == [2.0], body
        assert get("/api/v1/metrics/nothing", "boss")[0] == 404

        # External series, submitted with the token.
        points = json.dumps({"points": [{"date": "2026-11-02", "value": 5}, {"date": "2026-11-03", "value": 7}]}).encode()
        assert get("/api/v1/metrics/downloads", method="POST", body=points, bearer="wrong")[0] == 401
        assert get("/api/v1/metrics/Bad-Name", method="POST", body=points, bearer="let-me-submit")[0] == 400
        assert get("/api/v1/metrics/hits", method="POST", body=points, bearer="let-me-submit")[0] == 409
        assert get("/api/v1/metrics/downloads", method="POST", body=b"[1,2]", bearer="let-me-submit")[0] == 400
        code, _, body = get("/api/v1/metrics/downloads", method="POST", body=points, bearer="let-me-submit")
        assert code == 200 and json.loads(body) == {"stored": 2}
        code, _, body = get("/api/v1/metrics", "boss")
        assert {m["name"]: m["source"] for m in json.loads(body)}["downloads"] == "external"
        code, _, body = get("/api/v1/metrics/downloads?period=week", "boss")
        assert json.loads(body)["points"] == [{"date": "2026-11-02", "value": 12.0}], body
        code, _, page = get("/dashboard", "boss")
        assert code == 200 and "Client downloads" in page
        assert get("/api/v1/metrics/hits?period=month", "boss")[0] == 400
    finally:
        proc.terminate()
        proc.wait(10)


def test_rules_are_data(tmp_path):
    log = tmp_path / "client.log"
    log.write_text('198.51.100.7 - bob [25/Nov/2026:10:00:01 +0000] "PROPFIND /dav/calendars/bob/calendar/ HTTP/1.1" 207 99 "-" "FancyCal/2.1 (Haiku)"\n')
    collect(tmp_path, log)
    report = json.loads((tmp_path / "metrics" / "report.json").read_text())
    assert "native_users" not in report["series"] or report["series"]["native_users"]["daily"].get("2026-11-25", 0) == 0
    rules = (REPO / "crates" / "metrics" / "src" / "rules.toml").read_text()
    custom = tmp_path / "rules.toml"
    fancy = '[[client]]\nproduct = "FancyCal"\nclass = "native"\ncontains = ["FancyCal/"]\nversion_after = ["FancyCal/"]\nplatform = "Haiku"\n\n'
    at = rules.index("\n[[client]]") + 1
    custom.write_text(rules[:at] + fancy + rules[at:])
    collect(tmp_path, "--rebuild", "--rules", custom, log)
    report = json.loads((tmp_path / "metrics" / "report.json").read_text())
    assert report["series"]["native_users"]["daily"] == {"2026-11-25": 1.0}
    assert report["series"]["hits_by_client:FancyCal"]["daily"] == {"2026-11-25": 1.0}
