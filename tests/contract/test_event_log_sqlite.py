from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlog.base import EventLog
from eventlog.sqlite import SqliteEventLog
from tests.contract.event_log_contract import EventLogContract
from tests.contract.factories import closed_after


class TestSqliteEventLog(EventLogContract):
    @pytest.fixture
    def make_log(self, tmp_path: Path) -> Iterator[Callable[[], EventLog]]:
        yield from closed_after(lambda: SqliteEventLog(tmp_path / "log.sqlite"))
