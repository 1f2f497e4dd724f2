"""`KafkaEventLog`: the event log port on a Kafka cluster, assembled from this package's
parts (clients, topic admin, appender, partition reader, consumer group members)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from eventlog.base import (
    Appended,
    Consumer,
    EventLog,
    KeyAppended,
    NewRecord,
    Record,
    StartAt,
    TopicPartition,
    TopicSpec,
)
from eventlog.kafka.admin import TopicAdmin
from eventlog.kafka.clients import (
    CLIENT_ID,
    Clients,
    client_config,
    close_quietly,
    to_record,
    unavailable_on_kafka_error,
)
from eventlog.kafka.consumer import KafkaConsumerGroupMember
from eventlog.kafka.index import IndexStats
from eventlog.kafka.producer import DEFAULT_ID_HORIZON_S, Appender


class KafkaEventLog(EventLog):
    """The event log on a Kafka cluster; see the package docstring for the delivery contract.

    Thread-safe: one instance is meant to be shared by a process's request handlers.
    """

    def __init__(
        self,
        bootstrap: str,
        namespace: str = "",
        replication_factor: int = 1,
        min_insync_replicas: int | None = None,
        request_timeout_s: float = 30.0,
        id_horizon_s: float | None = DEFAULT_ID_HORIZON_S,
    ) -> None:
        """`id_horizon_s`: retries of an event id within it are deduplicated after a
        restart, and start-up reads only that much of a topic (None: all of it); see
        `eventlog.kafka.producer`."""
        self._clients = Clients(bootstrap, namespace, request_timeout_s)
        self._topics = TopicAdmin(self._clients, replication_factor, min_insync_replicas)
        self._appender = Appender(self._clients, self._topics.partition_count, id_horizon_s)
        self._lock = threading.Lock()  # guards the member list and the closed flag
        self._closed = False
        self._consumers: list[KafkaConsumerGroupMember] = []

    # -- topics ---------------------------------------------------------------------------

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        self._topics.ensure_topics(specs)

    def partition_count(self, topic: str) -> int:
        return self._topics.partition_count(topic)

    # -- append ---------------------------------------------------------------------------

    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        return self._appender.append(topic, records)

    def append_together(
        self, batches: Mapping[str, Sequence[NewRecord]]
    ) -> dict[str, list[Appended]]:
        """Every record of every topic produced, then one wait for all acknowledgements.
        Not all or nothing: on `LogUnavailable` one topic's records may have landed and
        another's not (a retry appends the rest)."""
        return self._appender.append_together(batches)

    def append_at_version(
        self, topic: str, key: str, expected: int | None, records: Sequence[NewRecord]
    ) -> KeyAppended:
        return self._appender.append_at_version(topic, key, expected, records)

    def key_records(self, topic: str, key: str, start: int = 0) -> list[Record]:
        return self._appender.key_records(topic, key, start)

    def index_stats(self, topic: str) -> IndexStats | None:
        """What this process's event-id index of `topic` has read (records at start-up,
        since, and below the horizon for key operations); None before its first use."""
        return self._appender.stats(topic)

    # -- reading --------------------------------------------------------------------------

    def read(self, topic: str, partition: int, offset: int, limit: int = 500) -> list[Record]:
        """Records of one partition from `offset` on, at most `limit`, returning as soon as the
        end offset (read first) is reached instead of waiting out a poll timeout."""
        self._topics.check_partition(topic, partition)
        reader = self._clients.reader()
        tp = self._clients.ktp(topic, partition)
        with unavailable_on_kafka_error("read"):
            end = reader.end_offset(tp)
            raws = reader.read(tp, max(0, offset), end, limit)
        return [to_record(topic, raw) for raw in raws]

    def end_offset(self, topic: str, partition: int) -> int:
        self._topics.check_partition(topic, partition)
        with unavailable_on_kafka_error("end_offsets"):
            return self._clients.reader().end_offset(self._clients.ktp(topic, partition))

    # -- consumer groups ------------------------------------------------------------------

    def consumer(self, group: str, topics: Sequence[str], start_at: StartAt) -> Consumer:
        """Join `group` on `topics` (which must exist); the group coordinator spreads their
        partitions among the members, each started at `start_at(tp)`."""
        for topic in topics:
            self.partition_count(topic)  # UnknownTopic now rather than an empty assignment
        clients = self._clients
        physical_group = clients.physical(group)
        with unavailable_on_kafka_error("joining consumer group"):
            member = KafkaConsumerGroupMember(
                client_config(
                    clients.bootstrap, f"{CLIENT_ID}-{physical_group}", clients.timeout_s
                ),
                physical_group,
                [clients.physical(t) for t in topics],
                start_at,
                logical=clients.logical,
                physical=clients.physical,
                request_timeout_s=clients.timeout_s,
            )
        with self._lock:
            self._consumers.append(member)
        return member

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        return self._topics.committed(group, tp)

    def group_members(self, group: str) -> dict[str, list[TopicPartition]]:
        """Each member of `group` and the partitions Kafka assigned it (not on the port:
        the embedded log has one consumer per group)."""
        return self._topics.members(group)

    def reset_groups(self, offsets: dict[str, dict[TopicPartition, int]]) -> None:
        """Set several groups' committed offsets, all or none (refused while any has
        members): `rebuild` sets them to 0, so Kafka's lag tools count what the replay has
        left."""
        self._topics.reset_all(offsets)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close every client (idempotent). Pending appends were awaited by `append`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            consumers, self._consumers = self._consumers, []
        for member in consumers:
            close_quietly(member.close)
        self._clients.close()
