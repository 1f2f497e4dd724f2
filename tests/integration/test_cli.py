"""`goldenhour` as a user runs it, as real processes: every error is one line on stderr with
exit 2 (usage) or 1 (runtime) and no traceback (one with --debug); nothing is created or
deleted by a command that fails; the demo binds its port before it touches a data dir and
never empties one it did not make; a data dir in use by a server is not rebuilt, one being
rebuilt is not served; progress to a pipe is a few lines, to a terminal a redrawn bar."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.datadir import locked
from services.server import Server
from services.settings import Settings
from services.system import bootstrap
from stream_processors.fhir_projector.processor import PROCESSOR as FHIR_PROJECTOR
from stream_processors.topology import projections
from tests.conftest import free_port
from tests.ecg_payloads import ecg_payload
from tests.processes import serving

TIMEOUT_S = 300


def goldenhour(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "GOLDENHOUR_MLLP_PORT": "-1", **(env or {})},
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The process failed with `code` and said so in one line naming `words`."""
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (the embedded log and store included)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def post_ecgs(base: str) -> list[dict[str, object]]:
    sent = [ecg_payload(ecg_id=f"cli-{n}") for n in range(3)]
    for body in sent:
        resp = httpx.post(f"{base}/ingest/ecg", json=body, timeout=30)
        assert resp.status_code == 202, resp.text
    return sent


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Settings, str, list[dict[str, object]]]]:
    """`goldenhour serve` on an embedded data dir holding three ECGs (the bodies sent)."""
    settings = Settings(data_dir=tmp_path / "county")
    with serving(settings) as base:
        yield settings, base, post_ecgs(base)


@pytest.fixture
def stopped(tmp_path: Path) -> Settings:
    """An embedded data dir with three ECGs, its server stopped."""
    settings = Settings(data_dir=tmp_path / "county")
    with serving(settings) as base:
        post_ecgs(base)
    return settings


def test_version_and_usage_errors_are_one_line() -> None:
    done = goldenhour("--version")
    assert done.returncode == 0 and done.stdout.startswith("goldenhour ")
    one_line_error(goldenhour("no-such-command"), 2, "invalid choice")
    one_line_error(goldenhour("demo", "--http-port", "eighty"), 2, "--http-port")
    done = goldenhour("dlq", "replay", "--offset", "3")
    assert "None.dlq" not in one_line_error(done, 2, "--topic")


def test_read_only_commands_on_a_mistyped_data_dir_create_nothing(tmp_path: Path) -> None:
    mistyped = tmp_path / "cuonty"
    one_line_error(goldenhour("rebuild", "--data-dir", str(mistyped)), 1, str(mistyped))
    one_line_error(goldenhour("dlq", "list", "--data-dir", str(mistyped)), 1, str(mistyped))
    one_line_error(goldenhour("kpi", "--data-dir", str(mistyped)), 1, str(mistyped))
    assert not mistyped.exists()
    done = goldenhour("dlq", "list", "--data-dir", str(mistyped), "--debug")
    assert done.returncode == 1 and "Traceback" in done.stderr  # asked for
    assert not mistyped.exists()


def test_a_bad_url_is_a_usage_error_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    for flags in (["--log", "kafak://127.0.0.1:9092"], ["--log", "kafka://:9092"]):
        done = goldenhour("demo", "--data-dir", str(data), "--http-port", str(free_port()), *flags)
        one_line_error(done, 2, "log URL")
    done = goldenhour("serve", "--data-dir", str(data), "--store", "cassandra://h:99999/ks")
    one_line_error(done, 2, "store URL", "99999")
    assert not data.exists()


def test_an_unreachable_kafka_is_one_line_and_leaves_no_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = str(free_port())
    done = goldenhour(
        "demo", "--data-dir", str(data), "--http-port", port, "--log", "kafka://127.0.0.1:1"
    )
    one_line_error(done, 1, "event log unavailable", "127.0.0.1:1")
    assert not data.exists()


def test_a_second_demo_on_a_busy_port_or_a_servers_data_dir_changes_nothing(
    served: tuple[Settings, str, list[dict[str, object]]],
) -> None:
    settings, base, sent = served
    data = settings.data_dir
    port = base.rsplit(":", 1)[1]
    files = set(snapshot(data))

    # The accident: a second demo on the same port and data dir emptied the log.
    done = goldenhour("demo", "--data-dir", str(data), "--http-port", port, "--reset")
    one_line_error(done, 1, f"port {port}", "in use")
    # Another port: the data dir is a server's, not the demo's; --reset does not change that.
    for extra in ((), ("--reset",)):
        done = goldenhour("demo", "--data-dir", str(data), "--http-port", str(free_port()), *extra)
        one_line_error(done, 1, "not made by the demo")
    # A rebuild beside the running server is refused.
    one_line_error(goldenhour("rebuild", "--data-dir", str(data)), 1, "in use", "stop it first")
    # The server still runs on its log, which still holds every ECG: a resend is a replay.
    assert files <= set(snapshot(data))
    for body in sent:
        again = httpx.post(f"{base}/ingest/ecg", json=body, timeout=30)
        assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"


def test_a_data_dir_being_rebuilt_is_not_served(tmp_path: Path) -> None:
    data = tmp_path / "county"
    data.mkdir()
    with locked(data, exclusive=True):  # what `goldenhour rebuild` holds while it runs
        done = goldenhour("serve", "--data-dir", str(data), "--http-port", str(free_port()))
        one_line_error(done, 1, "being rebuilt")


def test_a_busy_port_is_refused_before_the_data_dir_is_made(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        for command in ("serve", "demo"):
            done = goldenhour(command, "--data-dir", str(data), "--http-port", port)
            one_line_error(done, 1, f"HTTP port {port}", "in use", "--http-port")
    assert not data.exists()


def rebuild_lines(settings: Settings) -> list[str]:
    done = goldenhour("rebuild", "--data-dir", str(settings.data_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr  # no redraws into a pipe
    return done.stderr.splitlines()


def test_rebuild_prints_a_few_lines_to_a_pipe(stopped: Settings) -> None:
    processors = len(projections(stopped.reading_centre_id, stopped.region_id))
    lines = rebuild_lines(stopped)
    assert sum("folded" in line for line in lines) == processors  # a summary per processor
    # Besides: a heading and the rate/ETA line (every 10 s and at the end), not redraws.
    assert len([line for line in lines if "folded" not in line]) <= 3, lines


def test_rebuild_redraws_a_bar_on_a_terminal(stopped: Settings) -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "rebuild", "--data-dir", str(stopped.data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"},
    )
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=TIMEOUT_S) == 0
    os.close(main)
    text = out.decode("utf-8", "replace")
    assert "\x1b[" in text  # cursor movement: the bar is redrawn in place
    assert "folded" in text


def test_rebuild_derive_again_derives_what_an_older_version_did_not(tmp_path: Path) -> None:
    """A log written before schemas v10: its FHIR projector folded every ECG (group offsets
    at the end) but derived no Patient facts (`patient.facts`, v10). A plain rebuild reuses
    what was derived, so it has no Patient; `rebuild --derive-again` (the RUNBOOK's upgrade
    step) derives them, and then the Patient is there."""
    settings = Settings(
        data_dir=tmp_path / "county", run_processors=False, http_port=free_port(), mllp_port=-1
    )
    server = Server(settings)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            posted = client.post("/ingest/ecg", json=ecg_payload(ecg_id="cli-upgrade"))
            assert posted.status_code == 202, posted.text
        rtype, pid = posted.json()["patient"].split("/")
    finally:
        server.stop()
    system = bootstrap(settings)  # the older version's projector: folded, derived nothing
    try:
        topics = FHIR_PROJECTOR.topics
        ends = {tp: end for t in topics for tp, end in system.log.end_offsets(t).items()}
        consumer = system.log.consumer(FHIR_PROJECTOR.name, topics, lambda tp: ends[tp])
        consumer.commit(ends)
        consumer.close()
    finally:
        system.close()

    def patient_after(*flags: str) -> bool:
        done = goldenhour("rebuild", "--data-dir", str(settings.data_dir), *flags)
        assert done.returncode == 0, done.stderr[-3000:]
        system = bootstrap(settings)
        try:
            return system.store.read(rtype, pid) is not None
        finally:
            system.close()

    assert not patient_after()  # what the upgrade note warns of
    assert patient_after("--derive-again")
