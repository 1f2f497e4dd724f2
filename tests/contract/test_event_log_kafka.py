"""The event log contract against a real Kafka broker (deploy/local/kafka/ctl starts one)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from eventlog.kafka import KafkaEventLog
from tests import servers
from tests.contract.event_log_contract import EventLogContract
from tests.contract.factories import closed_after

pytestmark = pytest.mark.kafka


class TestKafkaEventLog(EventLogContract):
    @pytest.fixture
    def make_log(self) -> Iterator[Callable[[], KafkaEventLog]]:
        bootstrap = servers.kafka_bootstrap()
        # One namespace per test: its topics and groups are invisible to every other test,
        # and every log the factory builds sees the same ones (reopen is part of the contract).
        namespace = f"t{uuid.uuid4().hex[:8]}."
        yield from closed_after(lambda: KafkaEventLog(bootstrap, namespace=namespace))
