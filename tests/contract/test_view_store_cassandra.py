from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy

from tests.contract.factories import closed_after
from tests.contract.guarded_store_contract import GuardedStoreContract
from tests.contract.view_store_contract import ViewStoreContract
from tests.servers import cassandra_contact
from viewstore.base import ViewStore
from viewstore.cassandra import CassandraViewStore

pytestmark = pytest.mark.cassandra


class TestCassandraViewStore(ViewStoreContract, GuardedStoreContract):
    @pytest.fixture
    def make_store(self) -> Iterator[Callable[[], ViewStore]]:
        host, port = cassandra_contact()
        keyspace = f"t_{uuid.uuid4().hex[:12]}"  # fresh, empty storage for each test
        yield from closed_after(lambda: CassandraViewStore((host,), port=port, keyspace=keyspace))
        profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy("datacenter1"))
        cluster = Cluster([host], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
        try:
            cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        finally:
            cluster.shutdown()
