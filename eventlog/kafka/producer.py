"""Appending: durable, idempotent by event id, with optimistic concurrency per key.

Durability: the producer uses `acks=all` with the idempotent producer (producer id + sequence
numbers), and `append` returns only after the broker acknowledged every record, i.e. once the
records are in the log of every in-sync replica (`min.insync.replicas` of the topic). The
producer's own retries therefore never duplicate nor reorder a record within a partition.
A timeout or error raises `LogUnavailable`: the records may or may not be in the log.

Partitioning: every record's partition is chosen here with `eventlog.base.partition_for`
(Kafka's default partitioner for keyed records), so the embedded backend, this producer and
any other team's producer with default settings place a key identically.

Kafka has no idempotency by an application key, and the port requires one (`event_id`: a
client retrying after a timeout must not append twice). It is built here:

* The event id travels as the record header `event_id`.
* Each log keeps an in-process index `event_id -> (partition, offset)` per topic
  (`eventlog.kafka.index`), plus, per partition, the offsets it has indexed: every record
  from the partition's floor up to a position.
* On the first use of a topic the index is loaded, each partition read from its *floor* (see
  "Start-up" below) to its end offset.
* Every append serializes on a lock per (topic, partition) it writes to (taken in (topic,
  partition) order, so batches spanning partitions cannot deadlock), then catches those
  partitions up: one ListOffsets round trip for all of them, and a read only when an end
  offset moved past the indexed position (records appended by other processes). Only then
  are the event ids checked and only the absent ones produced (`append_together`: every
  topic's, then one wait for all the acks); their acknowledged offsets go into the index
  before the lock is released. So, within one process, concurrent retries of the same
  event append exactly once, and a retry after a failure (or after a restart) finds what
  did land. A partition written only with fresh ids (`NewRecord.fresh`: a uuid4 just made,
  e.g. an access audit record) skips the catch-up: no process can have appended them, so
  one produce round trip makes the append.

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

Start-up, bounded by a retry horizon. Retention is infinite, so an index loaded from offset
0 costs a restart the whole topic (1 s per 20k small records, growing every day). Instead
the guarantee is kept for retries within `id_horizon_s` (default DEFAULT_ID_HORIZON_S, 7 days;
`kafka://...?id_horizon_days=`): a partition's floor is its first record stamped at or after
`now - horizon` (Kafka's ListOffsets by timestamp, `offsets_for_times`), so the first append
reads the horizon's traffic, whatever the topic's age. `index_stats` reports what was read.
Timestamps are the producers' (CreateTime; ours stamps its wall clock): every record after
the floor is read whatever its stamp, and every record before it is stamped earlier.

* A retry within the horizon is answered `duplicate` across any restart, as before.
* An id first appended before the horizon is unknown to a process started since, and a plain
  `append` writes it again: an ECG device or HIS resending after longer than the horizon,
  `goldenhour dlq replay` of a letter already replayed before it, an old event re-derived
  after a group reset without `remember_emitted`. Views keyed by
  resource fold the copy to the same content (an extra identical version); sums count it
  twice: the surveillance daily counts would, for that record's day. So the horizon must
  exceed the longest time any client retries one id; raise it for store-and-forward devices.
* Key operations (`append_at_version`, `key_records`) need a key's whole history (a version
  is a record count, and a registry party lives for years). Their first use of a partition
  with a floor above 0 *deepens* it: reads [0, floor) once and sets the floor to 0. That is
  the old cost, paid only by a process using key operations on that topic (the API: incident,
  registry, MCI, escort, outcome), per partition touched, and never by plain appenders
  (processors, audit, ECG ingest). A deepened partition knows every id: dedupe there is exact
  at any age, so a tablet's late retry (`append_at_version`) is never doubled.

Why not persist the index (a compacted `<topic>.ids` topic, a checkpoint)? Event ids are
unique, so a compacted id topic keeps one record per event ever appended: smaller records,
but still proportional to the topic, and a second produce on every append. A bounded window
is also how Kafka Streams deduplicates (a windowed store with a retention). Persisting the
key -> offsets state (one record per key) is the next step if deepening shows in a profile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition as KafkaTopicPartition
from kafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError

from eventlog.base import (
    MAX_RECORD_BYTES,
    Appended,
    KeyAppended,
    LogUnavailable,
    NewRecord,
    Record,
    RecordTooLarge,
    StaleVersion,
    partition_for,
)
from eventlog.kafka.clients import (
    EVENT_ID_HEADER,
    Clients,
    event_id_of,
    to_record,
    unavailable_on_kafka_error,
)
from eventlog.kafka.index import IndexStats, PartitionState, TopicIndex
from eventlog.kafka.reader import READ_CHUNK

DEFAULT_ID_HORIZON_S = 7 * 24 * 3600.0
_log = logging.getLogger("eventlog.kafka")


class Appender:
    """Appends through the shared producer, deduplicated by the per-topic event-id index."""

    def __init__(
        self,
        clients: Clients,
        partition_count: Callable[[str], int],
        id_horizon_s: float | None = DEFAULT_ID_HORIZON_S,
    ) -> None:
        """`id_horizon_s`: how far back the index reads at start-up (None: the whole topic)."""
        self._clients = clients
        self._partition_count = partition_count
        self._id_horizon_s = id_horizon_s
        self._lock = threading.Lock()  # guards the index map
        self._indexes: dict[str, TopicIndex] = {}

    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        """Append `records` in order, each to `partition_for(key)`, skipping event ids already
        in the topic; durable (acknowledged by all in-sync replicas) when this returns."""
        return self.append_together({topic: records})[topic]

    def append_together(
        self, batches: Mapping[str, Sequence[NewRecord]]
    ) -> dict[str, list[Appended]]:
        """`append` for several topics at once: every record is handed to the producer, then
        one wait for all the acknowledgements (one round trip, not one per topic)."""
        units = [self._batch(topic, records) for topic, records in batches.items()]
        _check_sizes(units)  # before anything is sent: a refusal appends nothing
        with ExitStack() as held:
            # Sorted acquisition by (topic, partition), a superset of `append`'s order within
            # one topic: batches spanning the same partitions cannot deadlock.
            locks = {(b.topic, p): b.index.partitions[p].lock for b in units for p in b.targets}
            for tp in sorted(locks):
                held.enter_context(locks[tp])
            # Fresh ids (NewRecord.fresh) cannot be in the log: a partition written only
            # with them needs no catch-up round trip. A gap left by other writers is read
            # by the next catch-up (`TopicIndex.advance` stops at it).
            self._catch_up_all(
                [(b.topic, b.index, p) for b in units for p in sorted(b.unfresh_partitions())]
            )
            return self._append_locked(units)

    def _batch(self, topic: str, records: Sequence[NewRecord]) -> _Batch:
        """One topic's part of an append: its index (loaded) and each record's partition."""
        count = self._partition_count(topic)  # UnknownTopic before anything is sent
        index = self._loaded_index(topic, count) if records else TopicIndex([])
        return _Batch(topic, index, records, [partition_for(r.key, count) for r in records])

    def append_at_version(
        self, topic: str, key: str, expected: int | None, records: Sequence[NewRecord]
    ) -> KeyAppended:
        """See `EventLog.append_at_version`: check and append under the partition's lock."""
        if any(r.key != key for r in records):
            raise ValueError(f"append_at_version: every record must have key {key!r}")
        count = self._partition_count(topic)
        index = self._loaded_index(topic, count)
        partition = partition_for(key, count)
        with index.partitions[partition].lock:
            self._deepen(topic, index, partition)
            self._catch_up(topic, index, partition)
            retry = any(index.find(r.event_id) is not None for r in records)
            current = index.key_version(key)
            if not retry and expected is not None and current != expected:
                raise StaleVersion(topic, key, expected, current)
            batch = _Batch(topic, index, records, [partition] * len(records))
            appended = self._append_locked([batch])[topic]
            return KeyAppended(
                appended,
                [index.key_version(key, a.offset) for a in appended],
                index.key_version(key),
            )

    def key_records(self, topic: str, key: str, start: int = 0) -> list[Record]:
        """The key's records from its `start`-th on, in order."""
        count = self._partition_count(topic)
        index = self._loaded_index(topic, count)
        partition = partition_for(key, count)
        with index.partitions[partition].lock:
            self._deepen(topic, index, partition)
            self._catch_up(topic, index, partition)
        wanted = index.offsets_of(key, start)
        if not wanted:
            return []
        # One ranged read over the span, filtered: a key's records are near each other (an
        # incident lasts an hour), so the span is small next to the partition.
        tp = self._clients.ktp(topic, partition)
        out: list[Record] = []
        position, stop, want = wanted[0], wanted[-1] + 1, set(wanted)
        with unavailable_on_kafka_error("reading a key's records"):
            while position < stop:
                chunk = self._clients.reader().read(tp, position, stop, READ_CHUNK)
                if not chunk:
                    break
                out += [to_record(topic, raw) for raw in chunk if raw.offset in want]
                position = chunk[-1].offset + 1
        return out

    def _append_locked(self, units: Sequence[_Batch]) -> dict[str, list[Appended]]:
        """Produce the records whose ids are new, all topics' at once, and wait once for
        every acknowledgement; caller holds their partitions' locks."""
        for b in units:
            b.select_new()
        sent = [(b, i) for b in units for i in b.to_send]
        producer, futures = self._send(sent) if sent else (None, [])
        offsets, failure = self._await_acks(futures)
        # Index whatever was acknowledged, even if a later record failed, so that the retry
        # the caller will make appends only the rest.
        landed = list(zip(sent, offsets, strict=False))
        for (b, i), offset in landed:
            b.index.add(b.records[i].event_id, b.records[i].key, b.targets[i], offset)
        for b in units:
            b.index.advance([(b.targets[i], o) for (c, i), o in landed if c is b])
        if failure is not None:
            if producer is not None:
                self._clients.reset_producer(producer)
            topics = ", ".join(b.topic for b in units)
            if isinstance(failure, MessageSizeTooLargeError | RecordListTooLargeError):
                raise RecordTooLarge(f"kafka: {topics} refused a record: {failure!r}") from failure
            raise LogUnavailable(f"kafka: append to {topics} not acknowledged: {failure!r}") from (
                failure
            )
        return {b.topic: b.results() for b in units}

    def _send(self, sent: Sequence[tuple[_Batch, int]]) -> tuple[Any, list[Any]]:
        """Hand the records `sent` (batch, record number) to the producer, each to its
        explicit partition; (the producer, the futures of their acknowledgements)."""
        producer = self._clients.producer()
        try:
            return producer, self._hand_over(producer, sent)
        except (LogUnavailable, KafkaError):
            # An idempotent producer in a fatal state refuses every send at once: rebuild it
            # (see Clients.reset_producer), or no append would succeed again until a restart.
            self._clients.reset_producer(producer)
            raise

    def _hand_over(self, producer: Any, sent: Sequence[tuple[_Batch, int]]) -> list[Any]:
        with unavailable_on_kafka_error("produce"):
            return [
                producer.send(
                    self._clients.physical(b.topic),
                    key=b.records[i].key.encode("utf-8"),
                    value=b.records[i].value,
                    partition=b.targets[i],
                    headers=[(EVENT_ID_HEADER, b.records[i].event_id.encode("utf-8"))],
                )
                for b, i in sent
            ]

    def _await_acks(self, futures: list[Any]) -> tuple[list[int], BaseException | None]:
        """Offsets of the leading acknowledged records, and the first failure if any.

        Records after a failure are not counted even if they landed (possible in another
        partition): they are not indexed, and the partition's indexed position does not move
        past them, so the retry's catch-up reads and indexes them before deciding anything."""
        deadline = time.monotonic() + self._clients.timeout_s
        offsets: list[int] = []
        for future in futures:
            try:
                meta = future.get(timeout=max(0.0, deadline - time.monotonic()))
            except KafkaError as exc:
                return offsets, exc
            offsets.append(meta.offset)
        return offsets, None

    def stats(self, topic: str) -> IndexStats | None:
        """What the topic's index read so far (None: not used yet in this process)."""
        with self._lock:
            index = self._indexes.get(topic)
        return index.stats if index is not None else None

    def _loaded_index(self, topic: str, count: int) -> TopicIndex:
        """The topic's event-id index, loaded from each partition's floor on first use."""
        with self._lock:
            index = self._indexes.get(topic)
            if index is None:
                index = TopicIndex([PartitionState() for _ in range(count)])
                self._indexes[topic] = index
        if not index.loaded:
            with index.load_lock:
                if not index.loaded:
                    self._load(topic, index)
                    index.loaded = True
        return index

    def _load(self, topic: str, index: TopicIndex) -> None:
        """Read every partition from its floor (the horizon's first record) to its end."""
        started = time.monotonic()
        horizon_ms = None
        if self._id_horizon_s is not None:
            horizon_ms = int((time.time() - self._id_horizon_s) * 1000)
        for p, state in enumerate(index.partitions):
            with state.lock:
                if horizon_ms is not None:
                    tp = self._clients.ktp(topic, p)
                    with unavailable_on_kafka_error("finding the horizon's first offset"):
                        state.floor = self._clients.reader().offset_at_time(tp, horizon_ms)
                    state.indexed_to = state.floor
                index.stats.load_records += self._catch_up(topic, index, p)
        index.stats.load_s = time.monotonic() - started
        _log.info(
            "kafka: event-id index of %s: %d records read in %.2f s (from offsets %s)",
            topic,
            index.stats.load_records,
            index.stats.load_s,
            [state.floor for state in index.partitions],
        )

    def _deepen(self, topic: str, index: TopicIndex, partition: int) -> None:
        """Index the partition's records below its floor, once (a key operation needs the
        key's whole history). Caller holds the partition's lock."""
        state = index.partitions[partition]
        if state.floor == 0:
            return
        read = self._index_range(topic, index, partition, 0, state.floor)
        state.floor = 0
        with index.lock:  # partitions deepen concurrently
            index.stats.deepened_partitions += 1
            index.stats.deepen_records += read

    def _catch_up_all(self, wanted: Sequence[tuple[str, TopicIndex, int]]) -> None:
        """`_catch_up` of several (topic, index, partition), with one ListOffsets request
        for all their end offsets. Caller holds the partitions' locks."""
        if not wanted:
            return
        tps = [self._clients.ktp(topic, p) for topic, _, p in wanted]
        with unavailable_on_kafka_error("catching up the event-id index"):
            ends = self._clients.reader().end_offsets(tps)
        for (topic, index, p), tp in zip(wanted, tps, strict=True):
            self._catch_up(topic, index, p, ends[tp])

    def _catch_up(self, topic: str, index: TopicIndex, partition: int, end: int = -1) -> int:
        """Index the records appended to `partition` since the indexed position (by other
        processes, or acknowledged after a timeout) up to its end offset (`end`, or asked
        now); how many were read. Caller holds the partition's lock.

        Cheap when nothing is new: one ListOffsets round trip, no fetch."""
        state = index.partitions[partition]
        if end < 0:
            with unavailable_on_kafka_error("catching up the event-id index"):
                end = self._clients.reader().end_offset(self._clients.ktp(topic, partition))
        read = self._index_range(topic, index, partition, state.indexed_to, end)
        state.indexed_to = max(state.indexed_to, end)
        if index.loaded:  # the load counts its own reads
            with index.lock:  # partitions catch up concurrently
                index.stats.catch_up_records += read
        return read

    def _index_range(
        self, topic: str, index: TopicIndex, partition: int, start: int, stop: int
    ) -> int:
        """Add the partition's records at offsets [start, stop) to the index; how many."""
        reader = self._clients.reader()
        tp: KafkaTopicPartition = self._clients.ktp(topic, partition)
        read, position = 0, start
        with unavailable_on_kafka_error("reading into the event-id index"):
            while position < stop:
                chunk = reader.read(tp, position, stop, READ_CHUNK)
                for raw in chunk:
                    key = raw.key.decode("utf-8") if raw.key is not None else ""
                    index.add(event_id_of(raw.headers), key, partition, raw.offset)
                read += len(chunk)
                # An empty chunk below `stop` means only offsets without records remained.
                position = chunk[-1].offset + 1 if chunk else stop
        return read


@dataclass
class _Batch:
    """One topic's records in an append, each with its partition; `to_send`: the numbers
    of the records whose event ids are new (set under the partitions' locks)."""

    topic: str
    index: TopicIndex
    records: Sequence[NewRecord]
    targets: list[int]
    to_send: list[int] = field(default_factory=list)

    def unfresh_partitions(self) -> set[int]:
        """Partitions receiving a record whose id may already be in the log (not fresh)."""
        return {p for p, r in zip(self.targets, self.records, strict=True) if not r.fresh}

    def select_new(self) -> None:
        """The records to produce: ids not in the index, each id's first record only."""
        first_in_batch: set[str] = set()
        self.to_send = []
        for i, rec in enumerate(self.records):
            if self.index.find(rec.event_id) is None and rec.event_id not in first_in_batch:
                first_in_batch.add(rec.event_id)
                self.to_send.append(i)

    def results(self) -> list[Appended]:
        """Where each record is (after indexing): the first append's position."""
        sent = set(self.to_send)
        out = []
        for i, rec in enumerate(self.records):
            partition, offset = self.index.find(rec.event_id) or (self.targets[i], -1)
            out.append(Appended(self.topic, partition, offset, duplicate=i not in sent))
        return out


def _check_sizes(units: Sequence[_Batch]) -> None:
    """`RecordTooLarge` for a record over the port's limit, before anything is produced."""
    for b in units:
        for r in b.records:
            if len(r.value) > MAX_RECORD_BYTES:
                size = len(r.value)
                raise RecordTooLarge(f"a record of {size} bytes exceeds {MAX_RECORD_BYTES} bytes")
