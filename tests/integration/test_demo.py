"""`goldenhour demo` as a user runs it (a real process, embedded backends): the scenario
plays through the clinic, the reading centre, the ambulance and the quality indicators."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port


def test_demo_plays_every_chapter_and_exits(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEMO_EXIT": "1",
        "GOLDENHOUR_HTTP_PORT": str(free_port()),
        "GOLDENHOUR_MLLP_PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--data-dir", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    assert "replayed=true" in out  # clinic and tablet retries answered, not re-appended
    assert "409, it missed ['PatientRecorded'" in out  # the stale tablet told what it missed
    # the refusal as the crew reads it: in Chinese, naming the vital and the bounds
    assert "Heart rate 980 /min 不在合理范围内" in out or "心率 980 /min 不在合理范围内" in out
    assert "Encounter finished, document final" in out  # transfer of care from the board
    assert "Call to dispatch:" in out and "within target" in out
    emr = [line for line in out.splitlines() if "[emr]" in line or "[his]" in line]
    assert any("notification bundle(s)" in line for line in emr), emr
    assert any("ADT^A01" in line and "ACK AA" in line for line in emr), emr
    assert "linked to the ambulance's temporary patient" in out and "answers in-progress" in out
    assert "/board/county-hospital" in out and "demo: done" in out
    # the hospital reports back (issue 13 item 4): PCI and diagnosis, then door-to-balloon
    assert "['201 Created', '201 Created']" in out
    assert "door-to-balloon now measured: 1 case(s), median 52.0 min" in out
    assert 'If-Match W/"1": 200; with a stale ETag: 412' in out
    # the command centre (issue 15): a bus crash distributed, an escort, an alert
    assert "dispatch declares MCI" in out and "T00 -> county-hospital" in out
    assert "escort TP-" in out and "signals held green" in out
    assert "alert dispatch-reason:一氧化碳中毒 at station-01" in out and "EARS C2" in out
