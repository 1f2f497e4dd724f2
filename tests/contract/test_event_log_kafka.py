"""The event log contract against a real Kafka broker (deploy/local/kafka/ctl starts one)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaTopicPartition

from eventlog.base import LogUnavailable, TopicPartition, TopicSpec
from eventlog.kafka import KafkaEventLog
from tests import servers
from tests.conftest import delete_topics
from tests.contract.event_log_contract import EventLogContract, poll_until, rec
from tests.contract.factories import closed_after
from tests.contract.group_commit_contract import GroupCommitContract

pytestmark = pytest.mark.kafka


class TestKafkaEventLog(EventLogContract, GroupCommitContract):
    @pytest.fixture
    def make_log(self) -> Iterator[Callable[[], KafkaEventLog]]:
        bootstrap = servers.kafka_bootstrap()
        # One namespace per test: its topics and groups are invisible to every other test,
        # and every log the factory builds sees the same ones (reopen is part of the contract).
        namespace = f"t{uuid.uuid4().hex[:8]}."
        yield from closed_after(lambda: KafkaEventLog(bootstrap, namespace=namespace))


def test_groups__carry_the_namespace_and_a_reset_shows_in_kafkas_own_offsets() -> None:
    """What `kafka-consumer-groups.sh --describe` reads (OffsetFetch through the bare admin
    client): the group under `namespace + name`, at the committed offset, and at 0 after
    `reset_groups` (what `goldenhour rebuild` does): Kafka's lag then counts the replay's work."""
    bootstrap = servers.kafka_bootstrap()
    namespace = f"t{uuid.uuid4().hex[:8]}."
    topic, group = "ems.groups", "fhir-projector"
    log = KafkaEventLog(bootstrap, namespace=namespace)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        log.ensure_topics([TopicSpec(topic, 1)])
        log.append(topic, [rec("k", i) for i in range(3)])
        consumer = log.consumer(group, [topic], lambda tp: 0)
        try:
            poll_until(consumer, 3)
            consumer.commit({TopicPartition(topic, 0): 3})
        finally:
            consumer.close()
        physical = KafkaTopicPartition(namespace + topic, 0)
        names = {g["group_id"] for g in admin.list_groups()}
        assert namespace + group in names

        def kafkas_offset() -> int:
            offsets = admin.list_group_offsets({namespace + group: None})
            return int(offsets[namespace + group][physical].offset)

        assert kafkas_offset() == 3
        log.reset_groups({group: {TopicPartition(topic, 0): 0}})
        assert kafkas_offset() == 0
    finally:
        log.close()
        admin.delete_groups([namespace + group])
        admin.close()
        delete_topics(f"kafka://{bootstrap}?namespace={namespace}")


def test_groups__a_reset_refused_for_a_running_member_resets_no_group() -> None:
    """`goldenhour rebuild` under a running processor: refused, and no other group was set
    back to 0 meanwhile (a reset group makes the next replay derive every derived event
    again: every ECG re-measured). Once the member has gone, all are reset."""
    bootstrap = servers.kafka_bootstrap()
    namespace = f"t{uuid.uuid4().hex[:8]}."
    topic = "ems.groups"
    tp = TopicPartition(topic, 0)
    log = KafkaEventLog(bootstrap, namespace=namespace)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    groups = ("audit", "fhir-projector")  # the first is idle, the second running

    def kafkas_offset(group: str) -> int:
        offsets = admin.list_group_offsets({namespace + group: None})
        return int(offsets[namespace + group][KafkaTopicPartition(namespace + topic, 0)].offset)

    try:
        log.ensure_topics([TopicSpec(topic, 1)])
        log.append(topic, [rec("k", i) for i in range(3)])
        idle = log.consumer(groups[0], [topic], lambda _: 0)
        poll_until(idle, 3)
        idle.commit({tp: 3})
        idle.close()
        running = log.consumer(groups[1], [topic], lambda _: 0)
        try:
            poll_until(running, 3)
            running.commit({tp: 3})
            with pytest.raises(LogUnavailable, match="fhir-projector"):
                log.reset_groups({g: {tp: 0} for g in groups})
            assert [kafkas_offset(g) for g in groups] == [3, 3]
        finally:
            running.close()
        log.reset_groups({g: {tp: 0} for g in groups})
        assert [kafkas_offset(g) for g in groups] == [0, 0]
    finally:
        log.close()
        admin.delete_groups([namespace + g for g in groups])
        admin.close()
        delete_topics(f"kafka://{bootstrap}?namespace={namespace}")
