from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlog.base import EventLog
from eventlog.sqlite import SqliteEventLog
from tests.contract.event_log_contract import EventLogContract


class TestSqliteEventLog(EventLogContract):
    @pytest.fixture
    def make_log(self, tmp_path: Path) -> Iterator[Callable[[], EventLog]]:
        made: list[SqliteEventLog] = []

        def make() -> EventLog:
            made.append(SqliteEventLog(tmp_path / "log.sqlite"))
            return made[-1]

        yield make
        for log in made:
            log.close()
