"""The Kafka log's bounded start-up (eventlog/kafka/producer.py, "Start-up"): a restarted
process reads only the retry horizon of a topic to rebuild its event-id index, still answers
a retry within the horizon `duplicate`, and reads below the horizon only for a key's whole
history. Records "before the horizon" are written by a bare kafka-python producer with old
record timestamps (CreateTime), as any producer may; everything else goes through the log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaProducer

from eventlog.base import NewRecord, TopicSpec, partition_for
from eventlog.kafka import KafkaEventLog
from tests import servers
from tests.conftest import delete_topics

pytestmark = pytest.mark.kafka

DAY_S = 24 * 3600
TOPIC = "ems.horizon"
PARTITIONS = 2
OLD = [("inc-old", i) for i in range(7)]  # appended three days ago
RECENT = [("inc-new", i) for i in range(5)] + [("inc-old", i) for i in range(7, 10)]
OpenLog = Callable[..., KafkaEventLog]


def rec(key: str, i: int) -> NewRecord:
    return NewRecord(key, f"{key}:{i}".encode(), f"{key}-ev-{i}")


@pytest.fixture
def open_log() -> Iterator[OpenLog]:
    """Opens logs on one fresh namespace (a second one is a restarted process); the topic
    holds OLD, stamped three days ago, then RECENT, appended through the log now."""
    bootstrap = servers.kafka_bootstrap()
    namespace = f"t{uuid.uuid4().hex[:8]}."
    made: list[KafkaEventLog] = []

    def make(horizon_s: float | None = DAY_S) -> KafkaEventLog:
        made.append(KafkaEventLog(bootstrap, namespace, id_horizon_s=horizon_s))
        return made[-1]

    writer = make()
    writer.ensure_topics([TopicSpec(TOPIC, PARTITIONS)])
    _append_stamped(bootstrap, namespace + TOPIC, time.time() - 3 * DAY_S)
    writer.append(TOPIC, [rec(k, i) for k, i in RECENT])
    writer.close()
    try:
        yield make
    finally:
        for log in made:
            log.close()
        delete_topics(f"kafka://{bootstrap}?namespace={namespace}")


def _append_stamped(bootstrap: str, physical_topic: str, at_s: float) -> None:
    """OLD, through a bare producer, with record timestamps `at_s`."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, i in OLD:
        record = rec(key, i)
        producer.send(
            physical_topic,
            key=key.encode(),
            value=record.value,
            partition=partition_for(key, PARTITIONS),
            headers=[("event_id", record.event_id.encode())],
            timestamp_ms=int(at_s * 1000),
        )
    producer.flush()
    producer.close()


def test_restart__reads_only_the_horizon_and_still_deduplicates_a_retry_in_it(
    open_log: OpenLog,
) -> None:
    restarted = open_log()
    retry = restarted.append(TOPIC, [rec("inc-new", 3)])
    assert retry[0].duplicate
    stats = restarted.index_stats(TOPIC)
    assert stats is not None
    assert (stats.load_records, stats.deepen_records) == (len(RECENT), 0)


def test_restart_without_horizon__reads_the_whole_topic(open_log: OpenLog) -> None:
    restarted = open_log(None)
    assert restarted.append(TOPIC, [rec("inc-old", 0)])[0].duplicate
    stats = restarted.index_stats(TOPIC)
    assert stats is not None and stats.load_records == len(OLD) + len(RECENT)


def test_an_id_older_than_the_horizon__is_appended_again_by_a_plain_append(
    open_log: OpenLog,
) -> None:
    # The stated edge (a client retrying after longer than the horizon): documented, so
    # that raising the horizon is a deliberate choice.
    restarted = open_log()
    assert not restarted.append(TOPIC, [rec("inc-old", 0)])[0].duplicate


def test_key_operations__see_the_whole_history_and_deduplicate_at_any_age(
    open_log: OpenLog,
) -> None:
    restarted = open_log()
    history = restarted.key_records(TOPIC, "inc-old")
    assert [r.value for r in history] == [f"inc-old:{i}".encode() for i in range(10)]
    # A tablet's retry of a three-day-old batch is answered, not appended or refused.
    again = restarted.append_at_version(TOPIC, "inc-old", 0, [rec("inc-old", 1)])
    assert again.appended[0].duplicate and again.version == 10
    later = restarted.append_at_version(TOPIC, "inc-old", 10, [rec("inc-old", 10)])
    assert later.sequences == [11]
    stats = restarted.index_stats(TOPIC)
    assert stats is not None
    # Only the key's own partition was read below the horizon, once.
    assert (stats.deepened_partitions, stats.deepen_records) == (1, len(OLD))
