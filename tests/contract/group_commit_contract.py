"""Group commit (eventlog/group_commit.py) on every backend: records of concurrent callers
share one durable append, and each caller learns where its own record landed, or why the
append carrying it failed. Mixed into each backend's event log test class.

The log is real (SQLite file, Kafka broker); `GatedLog` only delegates to it, holding the
first append until every caller has queued its record, so "concurrent" does not depend on
thread timing on a busy machine.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import pytest

from eventlog.base import (
    MAX_RECORD_BYTES,
    Appended,
    EventLog,
    NewRecord,
    RecordTooLarge,
)
from eventlog.group_commit import GroupAppender
from tests.contract.event_log_contract import drain

CALLERS = 24


class GatedLog:
    """A real log whose first `append` waits for `open_gate`; counts the appends made."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.appends: list[int] = []  # records per append
        self._gate = threading.Event()
        self.first_started = threading.Event()

    def open_gate(self) -> None:
        self._gate.set()

    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        if not self.appends:
            self.first_started.set()
            self._gate.wait()
        self.appends.append(len(records))
        return self.log.append(topic, records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)


class GroupCommitContract:
    """Mixed into each backend's event log test class, whose `log` and `topic` it uses."""

    def test_concurrent_callers__share_appends_and_each_learns_its_own_position(
        self, log: EventLog, topic: str
    ) -> None:
        gated = GatedLog(log)
        appender = GroupAppender(gated, topic)  # type: ignore[arg-type]
        records = [
            NewRecord(f"agent-{i % 5}", f"read {i}".encode(), f"e{i}") for i in range(CALLERS)
        ]
        first = appender.submit(records[0])
        assert gated.first_started.wait(30), "the appender never started its first append"
        rest = [appender.submit(r) for r in records[1:]]  # queued while the first is held
        gated.open_gate()
        landed = [f.result(timeout=60) for f in [first, *rest]]
        # The held append carried one record; everything queued meanwhile went in one more.
        assert gated.appends == [1, CALLERS - 1]
        stored = {(p, o): value for p, o, _key, value in drain(log, topic)}
        assert len(stored) == CALLERS
        for record, where in zip(records, landed, strict=True):
            assert not where.duplicate
            assert stored[(where.partition, where.offset)] == record.value

    def test_a_failed_append__fails_every_caller_it_carried_and_the_next_batch_lands(
        self, log: EventLog, topic: str
    ) -> None:
        gated = GatedLog(log)
        appender = GroupAppender(gated, topic)  # type: ignore[arg-type]
        held = appender.submit(NewRecord("k", b"first", "first"))
        assert gated.first_started.wait(30), "the appender never started its first append"
        too_big = NewRecord("k", b"x" * (MAX_RECORD_BYTES + 1), "too-big")
        doomed: list[Future[Appended]] = [
            appender.submit(too_big),
            appender.submit(NewRecord("k", b"beside it", "beside")),
        ]
        gated.open_gate()
        assert not held.result(timeout=60).duplicate
        for future in doomed:
            with pytest.raises(RecordTooLarge):
                future.result(timeout=60)
        retried = appender.append(NewRecord("k", b"beside it", "beside"))  # answered 503, retried
        assert not retried.duplicate
        assert sorted(value for *_rest, value in drain(log, topic)) == [b"beside it", b"first"]
