"""litmus, the WebDAV conformance suite, against a calendar home.

The locks suite is left out: Almanac does not claim DAV class 2.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

USER = "litmus"
SUITES = ["basic", "copymove", "props", "http"]
LITMUS = os.environ.get("LITMUS", shutil.which("litmus") or "/usr/bin/litmus")

SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


@pytest.fixture(scope="module")
def litmus_run(almanac_server, tmp_path_factory):
    if not os.path.exists(LITMUS):
        pytest.fail(f"litmus not found at {LITMUS}: install Debian's litmus package (scripts/test does)")
    workdir = tmp_path_factory.mktemp("litmus")
    url = almanac_server.home_url(USER)
    env = dict(os.environ, TESTS=" ".join(SUITES))
    result = subprocess.run(
        [LITMUS, url, USER, almanac_server.users[USER]],
        env=env,
        cwd=workdir,  # litmus writes debug.log and child.log here
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    debug_log = workdir / "debug.log"
    return result.returncode, output, debug_log


def _failures(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if re.search(r"\bFAIL\b", line)]


def test_litmus_exits_zero(litmus_run):
    code, output, _ = litmus_run
    print(output)
    assert code == 0, f"litmus exited {code}; failing tests: {_failures(output)}\n{output}"


@pytest.mark.parametrize("suite", SUITES)
def test_litmus_suite_has_no_failures(litmus_run, suite):
    _, output, _ = litmus_run
    summaries = {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4))) for m in SUMMARY.finditer(output)}
    assert suite in summaries, f"litmus printed no summary for {suite}:\n{output}"
    run, passed, failed = summaries[suite]
    assert run > 0
    assert failed == 0 and passed == run, (
        f"{suite}: {failed} of {run} failed: {_failures(output)}\n{output}"
    )
