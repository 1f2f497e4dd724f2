"""Fixtures shared by the integration tests (the running server is tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from services.server import Server


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client of the server. Diagnostics are asserted in English: the client asks
    for it (the default is Chinese)."""
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"Accept-Language": "en"}) as c:
        yield c


@pytest.fixture
def secured(make_server: Callable[..., Server]) -> Server:
    """A server that requires a token and issues dev tokens (tests/tokens.py)."""
    return make_server(auth_required=True, auth_dev_issuer=True)
