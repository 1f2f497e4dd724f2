"""Kafka backend of the event log port (kafka-python >= 3.0.12, Kafka 4.x in KRaft mode).

Topics: one Kafka topic per logical topic, named `namespace + topic` (the namespace isolates
tests and tenants of a shared cluster; every `Record`, `Appended` and `TopicPartition` this
module returns carries the logical name); consumer group ids get the same prefix. Topics are
created explicitly with infinite retention (`retention.ms=-1`): the log is the system's truth,
never a cache. Auto-creation is refused on every client, so a typo is an `UnknownTopic`, not a
new empty topic.

Partitioning: the partition of every record is chosen here with `eventlog.base.partition_for`,
not by Kafka's murmur2 partitioner, so the embedded backend and Kafka place a key identically
and a rebuild from either gives the same per-partition order.

Delivery and idempotency
------------------------
Durability: the producer uses `acks=all` with the idempotent producer (producer id + sequence
numbers), and `append` returns only after the broker acknowledged every record, i.e. once the
records are in the log of every in-sync replica (`min.insync.replicas` of the topic). The
producer's own retries therefore never duplicate nor reorder a record within a partition.
A timeout or error raises `LogUnavailable`: the records may or may not be in the log.

Kafka has no idempotency by an application key, and the port requires one (`event_id`: a
client retrying after a timeout must not append twice). It is built here:

* The event id travels as the record header `event_id`.
* Each `KafkaEventLog` keeps an in-process index `event_id -> (partition, offset)` per topic,
  plus, per partition, the offset below which every record has been indexed.
* On the first append to a topic the index is loaded by reading every partition from offset 0
  to its end offset (the cost of a restart: proportional to the topic's size).
* Every append serializes on a lock per (topic, partition) it writes to (taken in partition
  order, so batches spanning partitions cannot deadlock), then catches those partitions up:
  one ListOffsets round trip, and a read only when the end offset moved past the indexed
  position (records appended by other processes). Only then are the event ids checked and
  only the absent ones produced; their acknowledged offsets go into the index before the lock
  is released. So, within one process, concurrent retries of the same event append exactly
  once, and a retry after a failure (or after a restart) finds what did land.

The remaining gap: two *processes* appending the same event id at the same moment can both
miss the other's record (each catches up, then produces, within the other's window), and the
id is then in the log twice. The index keeps the first position, so later retries are answered
`duplicate` with the first append's offset. Views tolerate it: folding the same event twice
gives the same content (resource ids and fields derive from the event), so at worst a resource
gets one extra version with identical content, and a rebuild replays the same log to the same
views. Only the raw log shows the extra record. Closing it needs a single writer per
partition (route writes by partition) or a transactional fence, not more reads. Likewise a
record whose acknowledgement timed out may still land later; a retry catches up first, but if
the late record arrives after that catch-up it is appended twice, with the same outcome.

Consumers: plain Kafka consumer groups with auto-commit off; each newly assigned partition is
sought to `start_at(tp)` in the rebalance listener, so a processor resumes from the checkpoint
stored with its view (the committed group offset is informative only).
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import (
    KafkaError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)
from kafka.errors import for_code as kafka_error_for_code
from kafka.structs import OffsetAndMetadata

from eventlog.base import (
    Appended,
    Consumer,
    EventLog,
    KeyAppended,
    LogUnavailable,
    NewRecord,
    Record,
    StaleVersion,
    StartAt,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
    partition_for,
)

EVENT_ID_HEADER = "event_id"
CLIENT_ID = "goldenhour-eventlog"
_READ_CHUNK = 500
_RETRY_BACKOFF_S = 0.1

T = TypeVar("T")
_log = logging.getLogger(__name__)


def _client_config(bootstrap: str, client_id: str, timeout_s: float) -> dict[str, Any]:
    """Settings shared by every client of one log."""
    timeout_ms = int(timeout_s * 1000)
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        # kafka-python backs off reconnects *and metadata refreshes* exponentially up to this
        # (default 30 s): after a broker restart a client would keep a stale leader epoch and
        # fail fetches for that long. One second is plenty for a handful of brokers.
        "reconnect_backoff_max_ms": 1000,
    }


@contextmanager
def _unavailable_on_kafka_error(what: str) -> Iterator[None]:
    """Map client errors to the port's `LogUnavailable` (the caller may retry safely)."""
    try:
        yield
    except UnknownTopicOrPartitionError as exc:
        raise UnknownTopic(str(exc)) from exc
    except KafkaError as exc:
        raise LogUnavailable(f"kafka: {what} failed: {exc!r}") from exc


def _retry_retriable(call: Callable[[], T], timeout_s: float) -> T:
    """Run an admin call, retrying errors Kafka marks retriable (e.g. no group coordinator
    yet on a fresh cluster, while `__consumer_offsets` is being created) until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() >= deadline:
                raise
        time.sleep(_RETRY_BACKOFF_S)


def _event_id_of(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The record's event id; None for a record some other producer wrote without one."""
    for name, value in headers or ():
        if name == EVENT_ID_HEADER and value is not None:
            return value.decode("utf-8")
    return None


def _to_record(logical_topic: str, raw: Any) -> Record:
    """A kafka-python ConsumerRecord as the port's `Record` (logical topic name)."""
    return Record(
        topic=logical_topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode("utf-8") if raw.key is not None else "",
        value=raw.value if raw.value is not None else b"",
        event_id=_event_id_of(raw.headers) or "",
        timestamp_ms=raw.timestamp,
    )


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads partition ranges with one group-less consumer (assign + seek), for `read`,
    `end_offset` and the idempotency catch-up. KafkaConsumer is not thread-safe: one lock."""

    def __init__(self, bootstrap: str, request_timeout_s: float) -> None:
        self._timeout_s = request_timeout_s
        self._lock = threading.Lock()
        self._consumer = KafkaConsumer(
            **_client_config(bootstrap, f"{CLIENT_ID}-reader", request_timeout_s),
            group_id=None,
            enable_auto_commit=False,
            # Seeking below the log start (never with infinite retention, but a topic could
            # have been truncated by hand) restarts at the earliest record, not at the end.
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            # Reads stop at a known end offset, so an empty fetch wait is pure latency.
            fetch_max_wait_ms=100,
        )

    def end_offset(self, tp: KafkaTopicPartition) -> int:
        with self._lock:
            offsets = self._consumer.end_offsets([tp], timeout_ms=int(self._timeout_s * 1000))
        return int(offsets[tp])

    def read(self, tp: KafkaTopicPartition, start: int, stop: int, limit: int) -> list[Any]:
        """Records of `tp` with `start <= offset < stop`, at most `limit`, in offset order.

        `stop` is an end offset read beforehand: reading stops there instead of waiting for a
        poll timeout at the end of the partition."""
        out: list[Any] = []
        if start >= stop or limit <= 0:
            return out
        deadline = time.monotonic() + self._timeout_s
        with self._lock:
            self._consumer.assign([tp])
            self._consumer.seek(tp, start)
            position = start
            while position < stop and len(out) < limit:
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    raise LogUnavailable(f"kafka: reading {tp} [{start}, {stop}) timed out")
                batch = self._consumer.poll(
                    timeout_ms=int(min(remaining_s, 1.0) * 1000),
                    max_records=min(limit - len(out), _READ_CHUNK),
                )
                for raw in batch.get(tp, ()):
                    if raw.offset >= stop or len(out) >= limit:
                        break
                    out.append(raw)
                # Offsets may have gaps (transaction markers, compaction): follow the
                # consumer's position, not the count of records.
                position = max(position, self._consumer.position(tp))
        return out

    def close(self) -> None:
        with self._lock:
            self._consumer.close()


# --------------------------------------------------------------------------- idempotency index


@dataclass
class _PartitionState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    indexed_to: int = 0  # every record below this offset is in the index


@dataclass
class _TopicIndex:
    """event_id -> (partition, offset) of the first append, for one topic."""

    partitions: list[_PartitionState]
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # key -> its offsets, ascending (a key lives in one partition): a key's version is the
    # length, and what a writer at version n missed is offsets[n:].
    key_offsets: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards the two dicts
    load_lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: bool = False

    def find(self, event_id: str) -> tuple[int, int] | None:
        with self.lock:
            return self.positions.get(event_id)

    def key_version(self, key: str, up_to_offset: int | None = None) -> int:
        with self.lock:
            offsets = self.key_offsets.get(key, [])
            return (
                len(offsets) if up_to_offset is None else bisect.bisect_right(offsets, up_to_offset)
            )

    def offsets_of(self, key: str, start: int) -> list[int]:
        with self.lock:
            return list(self.key_offsets.get(key, [])[start:])

    def add(self, event_id: str | None, key: str, partition: int, offset: int) -> None:
        """Remember a position; the earliest one in the log is the first append's."""
        with self.lock:
            offsets = self.key_offsets.setdefault(key, [])
            at = bisect.bisect_left(offsets, offset)
            if at == len(offsets) or offsets[at] != offset:  # a catch-up may re-read ours
                offsets.insert(at, offset)
            if event_id is None:
                return  # not written through this port: nothing to deduplicate against
            known = self.positions.get(event_id)
            if known is None or (known[0] == partition and offset < known[1]):
                self.positions[event_id] = (partition, offset)


# --------------------------------------------------------------------------- consumer groups


class _SeekOnAssign(ConsumerRebalanceListener):  # type: ignore[misc]
    """Starts each newly assigned partition where the processor's checkpoint says."""

    def __init__(self, consumer: KafkaConsumer, start_at: StartAt, logical: Callable[[str], str]):
        self._consumer = consumer
        self._start_at = start_at
        self._logical = logical

    def on_partitions_revoked(self, revoked: Any) -> None:
        pass  # offsets are checkpointed with the views; nothing to flush here

    def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            start = self._start_at(TopicPartition(self._logical(tp.topic), tp.partition))
            self._consumer.seek(tp, start)


class KafkaConsumerGroupMember(Consumer):
    """One member of a Kafka consumer group (classic protocol), reading logical topics."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        physical_topics: Sequence[str],
        start_at: StartAt,
        logical: Callable[[str], str],
        physical: Callable[[str], str],
        request_timeout_s: float,
    ) -> None:
        self._logical = logical
        self._physical = physical
        self._timeout_ms = int(request_timeout_s * 1000)
        self._consumer = KafkaConsumer(
            **_client_config(bootstrap, f"{CLIENT_ID}-{group}", request_timeout_s),
            group_id=group,
            # Processors commit after their view write; never behind their back.
            enable_auto_commit=False,
            # Only used where start_at gave no position; never skip history.
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            fetch_max_wait_ms=100,
            # A killed processor's partitions move to its replacement once its session ends:
            # 6 s is the broker's default minimum (10 s is the client default).
            session_timeout_ms=6000,
            heartbeat_interval_ms=2000,
            # A group formed before the broker's metadata listed every topic gets no
            # partitions of the missing ones until a metadata refresh shows them (then it
            # rejoins); refresh every 5 s instead of the default 5 min.
            metadata_max_age_ms=5000,
        )
        self._await_metadata(list(physical_topics), request_timeout_s)
        self._consumer.subscribe(
            topics=list(physical_topics),
            listener=_SeekOnAssign(self._consumer, start_at, logical),
        )

    def _await_metadata(self, topics: list[str], timeout_s: float) -> None:
        """Know every topic's partitions before joining: a member that leads the group's
        first assignment without them assigns none of those partitions ("No partition
        metadata"), and the group then idles until a metadata refresh and a rebalance."""
        deadline = time.monotonic() + timeout_s
        for topic in topics:
            while self._consumer.partitions_for_topic(topic) is None:
                if time.monotonic() > deadline:
                    return  # join anyway: the refresh and rebalance will mend it
                time.sleep(0.05)

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        """Next records of the assigned partitions. The first polls also join the group
        (assignment happens inside poll), which may take part of `timeout_s`."""
        with _unavailable_on_kafka_error("poll"):
            batches = self._consumer.poll(
                timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_records
            )
        out: list[Record] = []
        for tp, raws in batches.items():
            logical = self._logical(tp.topic)
            out.extend(_to_record(logical, raw) for raw in raws)
        return out

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Synchronously commit the next offsets to read (not the last ones read)."""
        if not offsets:
            return
        kafka_offsets = {
            KafkaTopicPartition(self._physical(tp.topic), tp.partition): OffsetAndMetadata(
                offset, "", -1
            )
            for tp, offset in offsets.items()
        }
        with _unavailable_on_kafka_error("commit"):
            self._consumer.commit(offsets=kafka_offsets, timeout_ms=self._timeout_ms)

    def close(self) -> None:
        """Leave the group (so the partitions move at once) without committing anything."""
        self._consumer.close(autocommit=False)


# --------------------------------------------------------------------------- the log


class KafkaEventLog(EventLog):
    """The event log on a Kafka cluster; see the module docstring for the delivery contract.

    Thread-safe: one instance is meant to be shared by a process's request handlers.
    """

    def __init__(
        self,
        bootstrap: str,
        namespace: str = "",
        replication_factor: int = 1,
        min_insync_replicas: int | None = None,
        request_timeout_s: float = 30.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._namespace = namespace
        self._replication_factor = replication_factor
        self._min_insync_replicas = min_insync_replicas
        self._timeout_s = request_timeout_s
        self._timeout_ms = int(request_timeout_s * 1000)

        self._lock = threading.Lock()  # guards the lazily built clients and the maps below
        self._closed = False
        self._admin_client: KafkaAdminClient | None = None
        self._producer_client: KafkaProducer | None = None
        self._reader_client: _Reader | None = None
        self._consumers: list[KafkaConsumerGroupMember] = []
        self._partition_counts: dict[str, int] = {}
        self._indexes: dict[str, _TopicIndex] = {}

    # ----------------------------------------------------------------- names and clients

    def _physical(self, topic: str) -> str:
        return self._namespace + topic

    def _logical(self, physical: str) -> str:
        return physical.removeprefix(self._namespace)

    def _ktp(self, topic: str, partition: int) -> KafkaTopicPartition:
        return KafkaTopicPartition(self._physical(topic), partition)

    def _client(self, attr: str, build: Callable[[], T]) -> T:
        """Build a client on first use (a reader-only process never opens a producer)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("KafkaEventLog is closed")
            client = getattr(self, attr)
            if client is None:
                with _unavailable_on_kafka_error(f"connecting to {self._bootstrap}"):
                    client = build()
                setattr(self, attr, client)
            return client  # type: ignore[no-any-return]

    def _admin(self) -> KafkaAdminClient:
        return self._client(
            "_admin_client",
            lambda: KafkaAdminClient(
                **_client_config(self._bootstrap, f"{CLIENT_ID}-admin", self._timeout_s),
            ),
        )

    def _producer(self) -> KafkaProducer:
        return self._client(
            "_producer_client",
            lambda: KafkaProducer(
                **_client_config(self._bootstrap, f"{CLIENT_ID}-producer", self._timeout_s),
                acks="all",
                enable_idempotence=True,
                allow_auto_create_topics=False,
                linger_ms=0,
                delivery_timeout_ms=self._timeout_ms,
                max_block_ms=self._timeout_ms,
            ),
        )

    def _reader(self) -> _Reader:
        return self._client("_reader_client", lambda: _Reader(self._bootstrap, self._timeout_s))

    # ----------------------------------------------------------------- topics

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create the missing topics (infinite retention) and wait until they have leaders.
        Existing topics are left as they are, whatever their partition count."""
        specs = list(specs)
        if not specs:
            return
        configs = {"retention.ms": "-1"}
        if self._min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(self._min_insync_replicas)
        new_topics = {
            self._physical(spec.name): {
                "num_partitions": spec.partitions,
                "replication_factor": self._replication_factor,
                "configs": {**configs, "cleanup.policy": "compact"} if spec.compacted else configs,
            }
            for spec in specs
        }
        admin = self._admin()
        with _unavailable_on_kafka_error("create_topics"):
            response = _retry_retriable(
                lambda: admin.create_topics(
                    new_topics, timeout_ms=self._timeout_ms, raise_errors=False
                ),
                self._timeout_s,
            )
        for result in response["topics"]:
            error = kafka_error_for_code(result["error_code"])
            if result["error_code"] and error is not TopicAlreadyExistsError:
                raise error(f"creating topic {result['name']}: {result.get('error_message')}")
        # CreateTopics answers once the controller accepted; the broker's metadata and the
        # partition leaders follow a moment later. Appending before that would fail.
        with _unavailable_on_kafka_error("waiting for topic metadata"):
            admin.wait_for_topics(list(new_topics), timeout_ms=self._timeout_ms)

    def partition_count(self, topic: str) -> int:
        """Partitions of `topic` (cached: partitions are never added to an event topic, since
        that would move keys between partitions)."""
        cached = self._partition_counts.get(topic)
        if cached is not None:
            return cached
        admin = self._admin()
        with _unavailable_on_kafka_error("describe_topics"):
            described = _retry_retriable(
                lambda: admin.describe_topics([self._physical(topic)]), self._timeout_s
            )
        meta = described[0] if described else None
        if meta is None or kafka_error_for_code(meta["error_code"]) is UnknownTopicOrPartitionError:
            raise UnknownTopic(topic)
        if meta["error_code"] or not meta["partitions"]:
            raise LogUnavailable(f"kafka: topic {topic} metadata error {meta['error_code']}")
        count = len(meta["partitions"])
        self._partition_counts[topic] = count
        return count

    def _check_partition(self, topic: str, partition: int) -> None:
        count = self.partition_count(topic)
        if not 0 <= partition < count:
            raise ValueError(f"{topic} has {count} partitions, no partition {partition}")

    # ----------------------------------------------------------------- append

    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        """Append `records` in order, each to `partition_for(key)`, skipping event ids already
        in the topic; durable (acknowledged by all in-sync replicas) when this returns."""
        if not records:
            return []
        count = self.partition_count(topic)
        index = self._loaded_index(topic, count)
        targets = [partition_for(r.key, count) for r in records]
        with ExitStack() as held:
            # Sorted acquisition: two batches spanning the same partitions cannot deadlock.
            for p in sorted(set(targets)):
                held.enter_context(index.partitions[p].lock)
            for p in sorted(set(targets)):
                self._catch_up(topic, index, p)
            return self._append_locked(topic, index, records, targets)

    def append_at_version(
        self, topic: str, key: str, expected: int | None, records: Sequence[NewRecord]
    ) -> KeyAppended:
        if any(r.key != key for r in records):
            raise ValueError(f"append_at_version: every record must have key {key!r}")
        count = self.partition_count(topic)
        index = self._loaded_index(topic, count)
        partition = partition_for(key, count)
        with index.partitions[partition].lock:
            self._catch_up(topic, index, partition)
            retry = any(index.find(r.event_id) is not None for r in records)
            current = index.key_version(key)
            if not retry and expected is not None and current != expected:
                raise StaleVersion(topic, key, expected, current)
            appended = self._append_locked(topic, index, records, [partition] * len(records))
            return KeyAppended(
                appended,
                [index.key_version(key, a.offset) for a in appended],
                index.key_version(key),
            )

    def key_records(self, topic: str, key: str, start: int = 0) -> list[Record]:
        count = self.partition_count(topic)
        index = self._loaded_index(topic, count)
        partition = partition_for(key, count)
        with index.partitions[partition].lock:
            self._catch_up(topic, index, partition)
        wanted = index.offsets_of(key, start)
        if not wanted:
            return []
        # One ranged read over the span, filtered: a key's records are near each other (an
        # incident lasts an hour), so the span is small next to the partition.
        tp = self._ktp(topic, partition)
        out: list[Record] = []
        position, stop, want = wanted[0], wanted[-1] + 1, set(wanted)
        with _unavailable_on_kafka_error("reading a key's records"):
            while position < stop:
                chunk = self._reader().read(tp, position, stop, _READ_CHUNK)
                if not chunk:
                    break
                out += [_to_record(topic, raw) for raw in chunk if raw.offset in want]
                position = chunk[-1].offset + 1
        return out

    def _append_locked(
        self,
        topic: str,
        index: _TopicIndex,
        records: Sequence[NewRecord],
        targets: list[int],
    ) -> list[Appended]:
        """Produce the records whose ids are new; caller holds their partitions' locks."""
        first_in_batch: dict[str, int] = {}  # event id -> index of its first record here
        to_send: list[int] = []
        for i, rec in enumerate(records):
            if index.find(rec.event_id) is None and rec.event_id not in first_in_batch:
                first_in_batch[rec.event_id] = i
                to_send.append(i)

        futures = self._send(topic, records, targets, to_send) if to_send else []
        offsets, failure = self._await_acks(futures)
        # Index whatever was acknowledged, even if a later record failed, so that the retry
        # the caller will make appends only the rest.
        for i, offset in zip(to_send, offsets, strict=False):
            index.add(records[i].event_id, records[i].key, targets[i], offset)
        self._advance_indexed(
            index, [(targets[i], o) for i, o in zip(to_send, offsets, strict=False)]
        )
        if failure is not None:
            raise LogUnavailable(f"kafka: append to {topic} not acknowledged: {failure!r}") from (
                failure
            )

        out = []
        sent = set(to_send)
        for i, rec in enumerate(records):
            partition, offset = index.find(rec.event_id) or (targets[i], -1)
            out.append(Appended(topic, partition, offset, duplicate=i not in sent))
        return out

    def _send(
        self, topic: str, records: Sequence[NewRecord], targets: list[int], which: list[int]
    ) -> list[Any]:
        """Hand records `which` to the producer, each to its explicit partition."""
        producer = self._producer()
        physical = self._physical(topic)
        with _unavailable_on_kafka_error("produce"):
            return [
                producer.send(
                    physical,
                    key=records[i].key.encode("utf-8"),
                    value=records[i].value,
                    partition=targets[i],
                    headers=[(EVENT_ID_HEADER, records[i].event_id.encode("utf-8"))],
                )
                for i in which
            ]

    def _await_acks(self, futures: list[Any]) -> tuple[list[int], BaseException | None]:
        """Offsets of the leading acknowledged records, and the first failure if any.

        Records after a failure are not counted even if they landed (possible in another
        partition): they are not indexed, and the partition's indexed position does not move
        past them, so the retry's catch-up reads and indexes them before deciding anything."""
        deadline = time.monotonic() + self._timeout_s
        offsets: list[int] = []
        for future in futures:
            try:
                meta = future.get(timeout=max(0.0, deadline - time.monotonic()))
            except KafkaError as exc:
                return offsets, exc
            offsets.append(meta.offset)
        return offsets, None

    @staticmethod
    def _advance_indexed(index: _TopicIndex, landed: list[tuple[int, int]]) -> None:
        """Move a partition's indexed position past our own records, but only when they
        directly follow it: a gap means another writer appended in between, and the next
        catch-up must read (and index) those records."""
        for partition, offset in sorted(landed):
            state = index.partitions[partition]
            if offset == state.indexed_to:
                state.indexed_to = offset + 1

    def _loaded_index(self, topic: str, count: int) -> _TopicIndex:
        """The topic's event-id index, loaded from the whole topic on first use."""
        with self._lock:
            index = self._indexes.get(topic)
            if index is None:
                index = _TopicIndex([_PartitionState() for _ in range(count)])
                self._indexes[topic] = index
        if not index.loaded:
            with index.load_lock:
                if not index.loaded:
                    for p in range(count):
                        with index.partitions[p].lock:
                            self._catch_up(topic, index, p)
                    index.loaded = True
        return index

    def _catch_up(self, topic: str, index: _TopicIndex, partition: int) -> None:
        """Index the records appended to `partition` since the indexed position (by other
        processes, or acknowledged after a timeout). Caller holds the partition's lock.

        Cheap when nothing is new: one ListOffsets round trip, no fetch."""
        state = index.partitions[partition]
        reader = self._reader()
        tp = self._ktp(topic, partition)
        with _unavailable_on_kafka_error("catching up the event-id index"):
            end = reader.end_offset(tp)
            while state.indexed_to < end:
                chunk = reader.read(tp, state.indexed_to, end, _READ_CHUNK)
                for raw in chunk:
                    key = raw.key.decode("utf-8") if raw.key is not None else ""
                    index.add(_event_id_of(raw.headers), key, partition, raw.offset)
                # An empty chunk below `end` means only offsets without records remained.
                state.indexed_to = chunk[-1].offset + 1 if chunk else end

    # ----------------------------------------------------------------- reading

    def read(self, topic: str, partition: int, offset: int, limit: int = 500) -> list[Record]:
        """Records of one partition from `offset` on, at most `limit`, returning as soon as the
        end offset (read first) is reached instead of waiting out a poll timeout."""
        self._check_partition(topic, partition)
        reader = self._reader()
        tp = self._ktp(topic, partition)
        with _unavailable_on_kafka_error("read"):
            end = reader.end_offset(tp)
            raws = reader.read(tp, max(0, offset), end, limit)
        return [_to_record(topic, raw) for raw in raws]

    def end_offset(self, topic: str, partition: int) -> int:
        self._check_partition(topic, partition)
        with _unavailable_on_kafka_error("end_offsets"):
            return self._reader().end_offset(self._ktp(topic, partition))

    # ----------------------------------------------------------------- consumer groups

    def consumer(self, group: str, topics: Sequence[str], start_at: StartAt) -> Consumer:
        """Join `group` on `topics` (which must exist); the group coordinator spreads their
        partitions among the members, each started at `start_at(tp)`."""
        for topic in topics:
            self.partition_count(topic)  # UnknownTopic now rather than an empty assignment
        with _unavailable_on_kafka_error("joining consumer group"):
            member = KafkaConsumerGroupMember(
                self._bootstrap,
                self._physical(group),
                [self._physical(t) for t in topics],
                start_at,
                logical=self._logical,
                physical=self._physical,
                request_timeout_s=self._timeout_s,
            )
        with self._lock:
            self._consumers.append(member)
        return member

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        admin = self._admin()
        ktp = self._ktp(tp.topic, tp.partition)
        physical_group = self._physical(group)
        with _unavailable_on_kafka_error("list_group_offsets"):
            result = _retry_retriable(
                lambda: admin.list_group_offsets({physical_group: [ktp]}), self._timeout_s
            )
        meta = result.get(physical_group, {}).get(ktp)
        # The broker answers -1 for a partition the group never committed.
        if meta is None or meta.offset is None or meta.offset < 0:
            return None
        return int(meta.offset)

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close every client (idempotent). Pending appends were awaited by `append`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            consumers, self._consumers = self._consumers, []
            producer, self._producer_client = self._producer_client, None
            reader, self._reader_client = self._reader_client, None
            admin, self._admin_client = self._admin_client, None
        for member in consumers:
            _close_quietly(member.close)
        if producer is not None:
            # Bounded: a broker that is gone must not make close() hang.
            _close_quietly(lambda: producer.close(timeout=self._timeout_s))
        if reader is not None:
            _close_quietly(reader.close)
        if admin is not None:
            _close_quietly(admin.close)


def _close_quietly(close: Callable[[], object]) -> None:
    # Closing is best effort: a broker that is gone must not turn close() into an error.
    try:
        close()
    except Exception:  # noqa: BLE001 - whatever the client raises, the others still close
        _log.warning("kafka: error while closing a client", exc_info=True)
