"""Where the real Kafka and Cassandra of the test run are.

`make test` starts them with deploy/local and exports their addresses; it also sets
GOLDENHOUR_REQUIRE_SERVERS=1, so a missing server fails the run instead of skipping.
Run alone (plain `pytest`), tests needing a server are skipped with the reason.
"""

from __future__ import annotations

import os

import pytest


def _required(var: str, what: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    message = f"{what} not configured: set {var} (make test starts it via deploy/local)"
    if os.environ.get("GOLDENHOUR_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def kafka_bootstrap() -> str:
    """host:port of the test Kafka broker."""
    return _required("GOLDENHOUR_TEST_KAFKA", "Kafka")


def cassandra_contact() -> tuple[str, int]:
    """(host, port) of the test Cassandra node."""
    host, _, port = _required("GOLDENHOUR_TEST_CASSANDRA", "Cassandra").partition(":")
    return host, int(port or 9042)
