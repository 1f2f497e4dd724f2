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
