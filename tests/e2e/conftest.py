"""Fixtures of the browser tests: the whole system on the embedded backend serving HTTP, a
client of its API and a headless Chinese Chromium (tests/e2e/chromium.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.server import Server
from services.settings import Settings
from tests.conftest import free_port
from tests.e2e.chromium import start_chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The whole system on the embedded backend, serving HTTP on a free port."""
    running = Server(Settings(data_dir=tmp_path / "data", http_port=free_port(), mllp_port=-1))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium at desktop size, in Chinese."""
    driver = start_chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()
