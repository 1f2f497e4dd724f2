from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlog.base import EventLog, NewRecord, Record, TopicSpec
from eventlog.sqlite import SqliteEventLog
from tests.contract.event_log_contract import EventLogContract
from tests.contract.factories import closed_after
from tests.contract.group_commit_contract import GroupCommitContract
from tests.waits import CEILING_S


class TestSqliteEventLog(EventLogContract, GroupCommitContract):
    @pytest.fixture
    def make_log(self, tmp_path: Path) -> Iterator[Callable[[], EventLog]]:
        yield from closed_after(lambda: SqliteEventLog(tmp_path / "log.sqlite"))


def test_consumer__is_woken_by_another_process_append(tmp_path: Path) -> None:
    """A consumer long-polling one log instance gets records appended through another (a
    CLI command, a second process on the same data dir): nothing in its own process
    appends, so only the log's watcher of the file can wake it. Its poll waits far longer
    than the ceiling here, so a consumer left asleep fails instead of passing late."""
    path = tmp_path / "log.sqlite"
    ours, theirs = SqliteEventLog(path), SqliteEventLog(path)
    try:
        ours.ensure_topics([TopicSpec("t", 2)])
        consumer = ours.consumer("g", ["t"], lambda tp: 0)
        got: list[Record] = []
        polling = threading.Thread(target=lambda: got.extend(consumer.poll(timeout_s=3600)))
        polling.start()
        theirs.append("t", [NewRecord("k", b"from another process", "e1")])
        polling.join(timeout=CEILING_S)
        assert not polling.is_alive(), "the consumer slept through another process's append"
        assert [r.value for r in got] == [b"from another process"]
    finally:
        ours.close()
        theirs.close()


def test_close__while_the_watcher_looks_never_crashes_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server stopping while a consumer waits: the watcher may be mid-query when `close`
    closes the connections. A connection closed under a running query is a segfault in
    sqlite3 (it killed two test workers once), so `close` waits for the look to end. Looks
    every 0.5 ms make the overlap likely; the old code crashed within a few hundred."""
    import eventlog.sqlite as sqlite_log

    monkeypatch.setattr(sqlite_log, "POLL_INTERVAL_S", 0.0005)
    for i in range(200):
        log = SqliteEventLog(tmp_path / f"log-{i}.sqlite")
        log.ensure_topics([TopicSpec("ems.t", 1)])
        waiter = threading.Thread(target=log.wait_for_append, args=(0.02, ["ems.t"], 0))
        waiter.start()
        threading.Event().wait(0.002)  # the watcher starts looking
        log.close()
        waiter.join(timeout=5)
        # the process (this test worker) surviving is the first assertion; a waiter stuck
        # on a closed log would hang a server's shutdown
        assert not waiter.is_alive(), "a waiter outlived the log's close"
