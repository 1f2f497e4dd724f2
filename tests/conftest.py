"""Shared fixtures: a running system on each backend pair, reached over real HTTP."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.server import Server
from services.settings import Settings
from tests import servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def backend_urls(kind: str) -> tuple[str, str]:
    """(log URL, store URL) of a fresh, isolated namespace on the given backends."""
    if kind == "embedded":
        return "sqlite:", "sqlite:"
    tag = uuid.uuid4().hex[:10]
    host, port = servers.cassandra_contact()
    return (
        f"kafka://{servers.kafka_bootstrap()}?namespace=t{tag}.",
        f"cassandra://{host}:{port}/t_{tag}",
    )


BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "kafka+cassandra", id="kafka+cassandra", marks=[pytest.mark.kafka, pytest.mark.cassandra]
    ),
]


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    log_url, store_url = backend_urls(request.param)
    return Settings(
        data_dir=tmp_path / "data",
        log_url=log_url,
        store_url=store_url,
        http_port=free_port(),
        mllp_port=0,
    )


@pytest.fixture
def make_server(settings: Settings) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(**overrides: object) -> Server:
        server = Server(settings.model_copy(update=overrides))
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
    drop_keyspace(settings.store_url)
    delete_topics(settings.log_url)


def delete_topics(log_url: str) -> None:
    """A test's Kafka topics go with it: every test namespace creates all the catalogue's
    topics, and a broker holding thousands of partitions ran out of heap (seen at 512 MiB)."""
    if not log_url.startswith("kafka://") or "namespace=" not in log_url:
        return
    from kafka import KafkaAdminClient

    namespace = log_url.split("namespace=", 1)[1].split("&", 1)[0]
    admin = KafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap(), request_timeout_ms=30000)
    try:
        mine = [t for t in admin.list_topics() if t.startswith(namespace)]
        if mine:
            admin.delete_topics(mine, timeout_ms=30000)
    except Exception as exc:  # noqa: BLE001 - cleanup: a failure must not fail the test
        print(f"conftest: topics of {namespace} not deleted: {exc!r}")
    finally:
        admin.close()


def drop_keyspace(store_url: str) -> None:
    """A test's Cassandra keyspace is dropped with it: ~10 tables per test, left behind,
    fill the local node's heap within one run (its old generation was seen full at 2 GiB)."""
    if not store_url.startswith("cassandra://"):
        return
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    host, port = servers.cassandra_contact()
    keyspace = store_url.rsplit("/", 1)[1]
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy("datacenter1"))
    cluster = Cluster([host], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
    except Exception as exc:  # noqa: BLE001 - cleanup: a failure must not fail the test
        print(f"conftest: keyspace {keyspace} not dropped: {exc!r}")
    finally:
        cluster.shutdown()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
