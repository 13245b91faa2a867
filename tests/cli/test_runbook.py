"""The upgrade procedure of RUNBOOK.md, run as written.

`systemctl` is replaced by a small script that stops and starts a real
Almanac server on loopback; `install` copies the same binary over itself
(a new release would be a different file). Everything else is the real
command line."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from test_cli import BIN, EVENT, PASSWORD, almanac, free_port, request, start

REPO = Path(__file__).resolve().parents[2]


def upgrade_procedure() -> str:
    text = (REPO / "RUNBOOK.md").read_text()
    block = re.search(r"<!-- upgrade-procedure:start -->\s*```sh\n(.*?)```\s*<!-- upgrade-procedure:end -->", text, re.S)
    assert block, "RUNBOOK.md has no upgrade procedure block"
    return block.group(1)


def test_upgrade_procedure_runs_as_written(tmp_path):
    data = tmp_path / "data"
    almanac(data, "user", "add", "alice", "--email", "a@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    almanac(data, "user", "add", "probe", "--email", "p@example.org", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "almanac").write_bytes(Path(BIN).read_bytes())
    (bin_dir / "almanac").chmod(0o755)
    new_binary = tmp_path / "almanac-new"
    new_binary.write_bytes(Path(BIN).read_bytes())
    port = free_port()
    pid_file = tmp_path / "server.pid"
    (bin_dir / "systemctl").write_text(f"""#!/usr/bin/env bash
set -e
case "$1" in
  stop) kill -TERM "$(cat {pid_file})"; while kill -0 "$(cat {pid_file})" 2>/dev/null; do sleep 0.05; done ;;
  start)
    almanac serve --listen 127.0.0.1:{port} >>{tmp_path}/server.log 2>&1 &
    echo $! > {pid_file}
    for _ in $(seq 200); do curl -fs http://127.0.0.1:{port}/healthz >/dev/null && exit 0; sleep 0.05; done
    exit 1 ;;
esac
""")
    (bin_dir / "systemctl").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "ALMANAC_DATA_DIR": str(data),
           "ALMANAC_URL": f"http://127.0.0.1:{port}/", "PROBE_PASSWORD_FILE": str(tmp_path / "probe.pw"),
           "BACKUP_DIR": str(tmp_path / "backups"), "NEW_BINARY": str(new_binary)}
    (tmp_path / "probe.pw").write_text(PASSWORD + "\n")
    (tmp_path / "backups").mkdir()
    subprocess.run([bin_dir / "systemctl", "start"], env=env, check=True, timeout=30)
    try:
        assert request(port, "PUT", "/dav/calendars/alice/calendar/before.ics", EVENT)[0] == 201
        run = subprocess.run(["bash", "-c", upgrade_procedure()], env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "OK - " in run.stdout and "Maintenance mode is off." in run.stdout
        assert len(list((tmp_path / "backups").glob("before-upgrade-*.jsonl.gz"))) == 1
        code, body = request(port, "GET", "/dav/calendars/alice/calendar/before.ics")
        assert code == 200 and body == EVENT
        assert request(port, "PUT", "/dav/calendars/alice/calendar/after.ics", EVENT.replace("durable-1", "after"))[0] == 201
    finally:
        subprocess.run([bin_dir / "systemctl", "stop"], env=env, timeout=30)
