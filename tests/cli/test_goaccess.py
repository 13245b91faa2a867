"""The metrics agree with GoAccess (Debian) on the same plain combined log:
hits, visitors and bytes per day."""

from __future__ import annotations

import json
import subprocess
import sys

from test_metrics_collect import GENLOG, collect


def test_counts_agree_with_goaccess(tmp_path):
    log = tmp_path / "combined.log"
    subprocess.run([sys.executable, str(GENLOG), "--lines", "20000", "--days", "14", "--users", "150", "--seed", "21",
                    "-o", str(log)], check=True)
    goaccess = tmp_path / "goaccess.json"
    subprocess.run(["goaccess", str(log), "--log-format=COMBINED", "--no-global-config", "-o", str(goaccess)],
                   check=True, capture_output=True, timeout=120)
    theirs = {row["data"]: row for row in json.loads(goaccess.read_text())["visitors"]["data"]}
    collect(tmp_path, log)
    ours = json.loads((tmp_path / "metrics" / "report.json").read_text())["series"]
    assert len(theirs) == 14
    for compact, row in sorted(theirs.items()):
        day = f"{compact[:4]}-{compact[4:6]}-{compact[6:]}"
        assert ours["hits"]["daily"][day] == row["hits"]["count"], day
        assert ours["visitors"]["daily"][day] == row["visitors"]["count"], day
        assert ours["bytes_out"]["daily"][day] == row["bytes"]["count"], day
