"""The event log port: the append-only, partitioned, replayable truth of the system.

Every fact is appended here once. Views are folds of this log and can be rebuilt from
offset zero, so the contract below is what every backend (embedded SQLite, Kafka) must keep;
`tests/contract/event_log_contract.py` is the executable form of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kafka.partitioner.default import murmur2


@dataclass(frozen=True)
class TopicSpec:
    """A topic the system needs; backends create it if absent (never auto-created).

    `compacted`: only the latest record per key must be kept (e.g. unit positions); a backend
    may drop older ones. Event topics are never compacted: the log is the truth."""

    name: str
    partitions: int
    compacted: bool = False


@dataclass(frozen=True, order=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True)
class NewRecord:
    """What a writer appends. `event_id` is the writer's idempotency key (unique per topic).
    `fresh`: the id was just made at random (uuid4) by this writer, so no process can have
    appended it before; a backend may skip looking for it elsewhere (Kafka: the catch-up
    round trip before the produce). It is still deduplicated against this process's own
    appends."""

    key: str
    value: bytes
    event_id: str
    fresh: bool = False


@dataclass(frozen=True)
class Appended:
    """Where a record landed. `duplicate` is true when the event id was already in the topic:
    the position is then the first append's, and nothing new was written."""

    topic: str
    partition: int
    offset: int
    duplicate: bool = False


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    event_id: str
    timestamp_ms: int

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True)
class KeyAppended:
    """The result of `append_at_version`: where each record is, and its sequence number
    among the key's records (1-based: the key's version once that record is in)."""

    appended: list[Appended]
    sequences: list[int]
    version: int  # the key's record count after the call


class StaleVersion(RuntimeError):
    """`append_at_version` expected the key at a version it is no longer at."""

    def __init__(self, topic: str, key: str, expected: int, current: int) -> None:
        super().__init__(f"{topic}/{key} is at version {current}, not {expected}")
        self.expected = expected
        self.current = current


class UnknownTopic(LookupError):
    """Raised when a topic was never created: an event store does not auto-create topics."""


# The largest record any backend takes: set on Kafka's producer (max.request.size) and on
# every topic (max.message.bytes) together, and checked by the SQLite log alike. 16 MiB is
# the HTTP body limit (services/settings.py max_body_bytes): a record encoded from the
# largest body the API accepts is smaller than the body (Avro integers beat JSON text),
# so what the API accepted always fits; anything larger is refused, never retried.
MAX_RECORD_BYTES = 16 * 1024 * 1024


class RecordTooLarge(ValueError):
    """A record exceeds `MAX_RECORD_BYTES`: not transient, so never "retry" (413 / AR)."""


class LogUnavailable(RuntimeError):
    """The log did not acknowledge in time; the append may or may not have happened.

    Callers answer 5xx/`AE` and let the client retry: the event id makes the retry safe."""


def partition_for(key: str, partitions: int) -> int:
    """Stable key -> partition mapping shared by every backend, so the same incident or ECG
    lands in the same partition whichever engine stores it (and rebuilds are identical).

    It is Kafka's default partitioner for keyed records (Java `BuiltInPartitioner`,
    kafka-python `DefaultPartitioner`): murmur2 of the UTF-8 key, made positive by masking the
    sign bit, modulo the partition count. So another team's producer with default settings
    puts an incident's events in the partition ours does, and its order holds.

    Until 2026-12 this was `zlib.crc32(key) % partitions`; data written then sits in other
    partitions and would need re-partitioning (copy every topic in offset order into new
    topics). No deployment holds such data yet, so none is migrated.
    """
    return (int(murmur2(key.encode("utf-8"))) & 0x7FFFFFFF) % partitions


StartAt = Callable[[TopicPartition], int]
"""Tells a consumer where to start reading an assigned partition (next offset to read)."""


class Consumer(ABC):
    """A member of a consumer group. Partitions of the subscribed topics are shared among the
    members of one group; each member reads its partitions in offset order."""

    @abstractmethod
    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        """Next records of the assigned partitions (may be empty after `timeout_s`)."""

    @abstractmethod
    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Record the group's progress: the next offset to read per partition."""

    @abstractmethod
    def close(self) -> None: ...


class EventLog(ABC):
    """Append-only partitioned log with idempotent appends and consumer groups."""

    @abstractmethod
    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create missing topics with infinite retention; existing ones are left as they are."""

    @abstractmethod
    def partition_count(self, topic: str) -> int:
        """Number of partitions of `topic`; `UnknownTopic` if it does not exist."""

    @abstractmethod
    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        """Append records in order, each to `partition_for(key)`; durable when this returns.

        A record whose event id is already in the topic is not appended again: its entry in
        the result is the first append's position with `duplicate=True`. Records of one key
        keep their relative order. On an exception some records may have been appended;
        retrying the same call is safe and appends only the missing ones.
        """

    @abstractmethod
    def append_together(
        self, batches: Mapping[str, Sequence[NewRecord]]
    ) -> dict[str, list[Appended]]:
        """Append records to several topics (topic -> records) as one durable unit: one
        commit for all of them, not one per topic (an ECG and its read request). Per topic
        exactly as `append`: in order per key, a record whose event id is already in its
        topic (or earlier in its topic's batch) is not appended again and is answered with
        the first append's position and `duplicate=True`; the result maps each topic to its
        records' positions. Every topic is checked before anything is written, so an
        unknown one raises `UnknownTopic` with nothing appended, and a record over
        `MAX_RECORD_BYTES` raises `RecordTooLarge` with nothing appended.

        On another exception (`LogUnavailable`) some records may have been appended: the
        embedded log appends all or none (one transaction), Kafka may have landed some
        topics' records and not others'. Retrying the same call is safe and appends only
        the missing ones.
        """

    @abstractmethod
    def append_at_version(
        self, topic: str, key: str, expected: int | None, records: Sequence[NewRecord]
    ) -> KeyAppended:
        """Append records of one key (optimistic concurrency per key, e.g. per incident).

        A key's version is the number of records it has in the topic. If any record's event
        id is already in the topic the call is a retry: nothing is checked, only the missing
        records are appended (as `append` does). Otherwise, when `expected` is not None and
        the key is not at that version, nothing is appended and `StaleVersion` is raised.
        Check and append are atomic within one process; across processes the Kafka backend
        has the same window as its event-id index (see eventlog/kafka/producer.py).
        """

    @abstractmethod
    def key_records(self, topic: str, key: str, start: int = 0) -> list[Record]:
        """The key's records from its `start`-th on (0-based), in order: what a writer at
        version `start` has not seen."""

    @abstractmethod
    def read(self, topic: str, partition: int, offset: int, limit: int = 500) -> list[Record]:
        """Records of one partition from `offset` on (at most `limit`), in offset order."""

    @abstractmethod
    def end_offset(self, topic: str, partition: int) -> int:
        """The offset the next record appended to this partition will get."""

    @abstractmethod
    def consumer(self, group: str, topics: Sequence[str], start_at: StartAt) -> Consumer:
        """Join consumer group `group`; each newly assigned partition is read from
        `start_at(tp)`, so a processor resumes from the checkpoint stored with its view."""

    @abstractmethod
    def committed(self, group: str, tp: TopicPartition) -> int | None:
        """The group's committed next offset for `tp`, or None if it never committed."""

    @abstractmethod
    def close(self) -> None: ...

    def end_offsets(self, topic: str) -> dict[TopicPartition, int]:
        return {
            TopicPartition(topic, p): self.end_offset(topic, p)
            for p in range(self.partition_count(topic))
        }
