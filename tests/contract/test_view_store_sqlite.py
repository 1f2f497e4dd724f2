from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contract.guarded_store_contract import GuardedStoreContract
from tests.contract.view_store_contract import ViewStoreContract
from viewstore.base import ViewStore
from viewstore.sqlite import SqliteViewStore


class TestSqliteViewStore(ViewStoreContract, GuardedStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], ViewStore]]:
        made: list[SqliteViewStore] = []

        def make() -> ViewStore:
            made.append(SqliteViewStore(tmp_path / "views.sqlite"))
            return made[-1]

        yield make
        for store in made:
            store.close()
