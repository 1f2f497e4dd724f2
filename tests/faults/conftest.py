"""Fault tests: real processes on real Kafka and Cassandra, with faults injected while
traffic flows (SIGKILLed processors, a restarted broker, Cassandra down, poison records).

Each test ends with one line "faults: ..." (faults injected, events checked, lost 0),
written at once and again in the session's summary, so it shows in `make test` whatever
the capture mode.

The broker and Cassandra restarts stop the servers every other test uses, so these tests
run after the rest of the suite (`pytest_collection_modifyitems` below: "faults" sorts
before "integration"), and each leaves its server running and ready again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from services.settings import Settings
from tests.conftest import backend_urls, free_port

HERE = Path(__file__).parent
SUMMARY: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the fault tests to the end of the run, keeping every other test's order."""
    faults = [i for i in items if HERE in Path(i.path).parents]
    if faults:
        rest = [i for i in items if HERE not in Path(i.path).parents]
        items[:] = rest + faults


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUMMARY:
        return
    terminalreporter.write_sep("-", f"fault tests: {len(SUMMARY)} summaries")
    for line in SUMMARY:
        terminalreporter.write_line(line)


@pytest.fixture
def fault_summary(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Callable[[str], None]:
    """Print a test's summary line now (past output capture) and in the session summary."""

    def say(line: str) -> None:
        SUMMARY.append(f"{request.node.name}: {line}")
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    return say


@pytest.fixture
def regional(tmp_path: Path) -> Settings:
    """Settings for a fresh namespace on the run's Kafka and Cassandra (no embedded variant:
    the embedded backends' crash safety is test_kill_and_recover's, and each fault test
    takes minutes)."""
    log_url, store_url = backend_urls("kafka+cassandra")
    return Settings(
        data_dir=tmp_path / "data",
        log_url=log_url,
        store_url=store_url,
        http_port=free_port(),
        mllp_port=-1,
    )
