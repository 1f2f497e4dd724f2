from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contract.factories import closed_after
from tests.contract.guarded_store_contract import GuardedStoreContract
from tests.contract.view_store_contract import ViewStoreContract
from viewstore.base import ViewStore
from viewstore.sqlite import SqliteViewStore


class TestSqliteViewStore(ViewStoreContract, GuardedStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], ViewStore]]:
        yield from closed_after(lambda: SqliteViewStore(tmp_path / "views.sqlite"))
