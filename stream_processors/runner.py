"""Runs a projection: consume -> decode -> fold -> write views + checkpoint -> commit.

Delivery reasoning (read this before changing the loop):
1. The checkpoint (next offset per partition) is stored *with* the view writes, in one
   `ViewStore.apply`. The consumer starts every partition at that checkpoint, so a crash at
   any point either lost the whole batch's writes (and re-folds it) or kept them (and skips
   it): each position is folded exactly once into the views.
2. Group offsets committed to the log after `apply` are informational (lag monitoring, and
   6 below); the view store's checkpoint is the one that counts. A live runner commits them
   at most every GROUP_COMMIT_EVERY_S, a catch-up after every batch.
3. A record that cannot be decoded or folded is appended to `<topic>.dlq` with the reason and
   its position *before* the checkpoint moves past it. Its event id derives from the
   position, so re-dead-lettering after a crash is deduplicated by the log.
4. A store or log failure (e.g. Cassandra down) pauses the runner: it drops its in-memory
   position, waits with backoff, and resumes from the stored checkpoint.
5. Versions and lastUpdated derive from events: every event touching a resource makes its
   next version, stamped with the latest `recorded_at` seen; never the wall clock.
6. Derived events are emitted once. A record below the group's committed offset (2) was
   folded before, and its derived events were appended before that commit (a batch's
   derived events are appended, one append per topic, before its `apply`, `apply` before
   `commit`): replaying it (a rebuild after `truncate`, a refold after a crash) folds it
   again but does not derive again; the log already has
   what it would emit (same ids). So a rebuild reuses the ECG measurements in the log
   instead of recomputing them. Whoever resets group offsets must first have the runner
   read them (`remember_emitted`), as `goldenhour rebuild` does.
7. Several processes of one processor split the partitions, so a resource fed by several
   partitions would have several writers: the topology re-keys such a resource's facts to
   a topic keyed by it (a Patient's: stream_processors/fhir_projector/patient_facts.py), or
   runs its processor as one process. Should two write one resource anyway, the store
   refuses a version that does not follow the stored one (`VersionConflict`, nothing
   written); the runner then refolds that partition's batch from freshly read versions and
   applies again, keeping its consumer: closing it would rebalance the whole group and
   stall every member (the "conflict storm": each conflict a rebalance, none faster than
   one process). Only after CONFLICT_RETRIES does a conflict count as a failure (4).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from avro_schemas.catalogue import DEAD_LETTER, dlq_topic
from avro_schemas.codec import Codec, UndecodableEvent
from eventlog.base import EventLog, NewRecord, Record, TopicPartition
from kernel.canonical_json import canonical_json
from kernel.jsontypes import Json
from kernel.jurisdiction import (
    UNLABELLED_TYPES,
    compartments_of,
    compartments_of_body,
    security_labels,
)
from kernel.time import instant
from stream_processors.jurisdiction import event_compartments
from viewstore.base import Checkpoint, IndexEntry, StoredResource, VersionConflict, ViewStore

log = logging.getLogger(__name__)


Ref = tuple[str, str]

BACKOFF_S = (0.5, 1, 2, 5, 10)  # pause after a store/log failure, growing, capped at 10 s
LIVE_BATCH = 500  # records per poll while following the log: small, for latency
# Group offsets are informational (2), so a live runner commits them at most this often,
# not after every batch: a commit is a durable write (an fsync on SQLite, a round trip on
# Kafka) that a busy topic (the audit: a batch per request) would otherwise pay per batch.
GROUP_COMMIT_EVERY_S = 1.0
# Records per poll (hence per `apply`: one transaction / logged batch per partition) while
# catching up: large, so a replay pays a commit per thousands of records, and resources
# read once stay in the batch for the records after.
REPLAY_BATCH = 2000
# A batch refused for a version conflict (7) is refolded at once, then after a short pause
# that grows (another member is writing the same resources) and is jittered (so two members
# do not collide again in step); past the last retry the conflict is a failure (4).
CONFLICT_RETRIES = 8
CONFLICT_PAUSE_S = 0.02  # doubled per retry, up to ~2.5 s before the last


class Unavailable(RuntimeError):
    """The view store or the log failed while a record was being folded: not the record's
    fault, so it is not dead-lettered; the runner pauses and refolds from its checkpoint."""


@dataclass(frozen=True)
class Emitted:
    """An event a processor derives from another (e.g. measurements from a waveform). Its
    event id must derive from the source event, so a replay appends nothing new."""

    topic: str
    key: str
    name: str
    event: Json


class Projection(Protocol):
    """What a runner needs of a projection: pure functions, no I/O. A processor that also
    derives events has an `emit(state, event_name, event) -> list[Emitted]` method, given
    the same state as `fold` (before the event); one with a `linger_s` attribute > 0 is
    folded live in batches at most that often (see `_run_consumer`). Every processor of
    the topology is built in this shape by `stream_processors/adapter.py` from its fold
    table."""

    @property
    def name(self) -> str: ...  # its consumer group, and the owner of its checkpoints
    @property
    def topics(self) -> list[str]: ...

    def refs(self, event_name: str, event: Json) -> list[Ref]: ...
    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]: ...
    def index(self, resource: Json) -> list[IndexEntry]: ...


def next_version(
    previous: StoredResource | None, resource: Json, recorded_at: str
) -> StoredResource:
    version = 1 if previous is None else previous.version + 1
    last_updated = recorded_at if previous is None else max(previous.last_updated, recorded_at)
    meta = {"versionId": str(version), "lastUpdated": last_updated}
    if security := resource.get("meta", {}).get("security"):
        meta["security"] = security  # compartments: see _labelled
    body = {**resource, "meta": meta}
    return StoredResource(
        resource["resourceType"], resource["id"], version, last_updated, canonical_json(body)
    )


def without_meta(stored: StoredResource) -> Json:
    try:
        doc: Json = orjson.loads(stored.body)
    except orjson.JSONDecodeError:  # NaN, Infinity or ints beyond 64 bits (canonical_json)
        doc = json.loads(stored.body)
    doc.pop("meta", None)
    return doc


def _labelled(
    record: Record, event: Json, resource: Json, previous: set[str] | None, given: set[str]
) -> Json:
    """The resource with its compartments in `meta.security`: those it had, those its fold
    gave it, and those the event puts it in (stream_processors/jurisdiction.py). Every
    resource of every processor passes here, so none is stored without them."""
    rtype = resource["resourceType"]
    if rtype in UNLABELLED_TYPES:
        return resource
    codes = compartments_of(resource) | event_compartments(
        record.topic, record.key, event, rtype, given
    )
    if previous is not None:  # the compartments of the previous version
        codes |= previous
    if not codes:
        return resource
    return {**resource, "meta": {"security": security_labels(codes)}}


class AppliedSignal:
    """Wakes readers in this process when a processor has applied a batch to its views
    (e.g. the subscription sender when the notifier numbered new notifications), so they
    wait on the fold instead of polling the store. Readers in other processes still poll.
    `ANY` counts every processor's batches: for a reader waiting on a view it cannot name
    the writer of (a notification's focus resource)."""

    ANY = "*"

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._applied: dict[str, int] = defaultdict(int)

    def applied(self, processor: str) -> None:
        with self._changed:
            self._applied[processor] += 1
            self._applied[self.ANY] += 1
            self._changed.notify_all()

    def seen(self, processor: str) -> int:
        """Take this *before* looking at the views; then `wait` misses nothing after it."""
        with self._changed:
            return self._applied[processor]

    def wait(self, processor: str, seen: int, timeout_s: float) -> bool:
        """Until `processor` applies a batch after `seen` (True), or `timeout_s` (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._applied[processor] != seen, timeout_s)


VIEWS_APPLIED = AppliedSignal()  # one per process: every runner of the process signals it


@dataclass
class Stats:
    folded: int = 0
    dead_lettered: int = 0
    versions_written: int = 0
    failures: int = 0
    batches_applied: int = 0


@dataclass
class _Batch:
    """Writes of one partition's batch, with the versions it already produced."""

    latest: dict[Ref, StoredResource | None] = field(default_factory=dict)
    writes: list[StoredResource] = field(default_factory=list)
    # Net effect on the lookups: entry -> present after the batch (last change wins).
    index: dict[IndexEntry, bool] = field(default_factory=dict)
    # What the batch knows of the versions it wrote: (that version, its lookups, its
    # compartments), so the next record touching the resource parses and indexes nothing.
    known: dict[Ref, tuple[StoredResource, list[IndexEntry], set[str]]] = field(
        default_factory=dict
    )
    # Events derived by the batch's records, encoded, appended together before `apply` (6).
    derived: list[tuple[str, NewRecord]] = field(default_factory=list)

    def reindex(self, old: list[IndexEntry], new: list[IndexEntry]) -> None:
        if old == new:
            return  # most versions keep their lookups
        before, after = set(old), set(new)  # not `in` on lists: a version has dozens
        for entry in before - after:
            self.index[entry] = False
        for entry in after - before:
            self.index[entry] = True

    def added(self) -> list[IndexEntry]:
        return [e for e, present in self.index.items() if present]

    def removed(self) -> list[IndexEntry]:
        return [e for e, present in self.index.items() if not present]


class Runner:
    def __init__(self, projection: Projection, log_: EventLog, store: ViewStore, codec: Codec):
        self.projection = projection
        self._log = log_
        self._store = store
        self._codec = codec
        self.stats = Stats()
        self._stop = threading.Event()
        # Per partition: offsets below this were folded and their derivations emitted (6).
        self._emitted_below: dict[TopicPartition, int] = {}

    # -- the loop -------------------------------------------------------------------------

    def run(self, on_batch: Callable[[], None] | None = None) -> None:
        """Process until `stop()`; survives store and log failures (see 4 above)."""
        failures = 0
        while not self._stop.is_set():
            applied = self.stats.batches_applied
            try:
                self._run_consumer(on_batch)
                return
            except Exception:
                if self.stats.batches_applied > applied:
                    failures = 0  # it worked since the last failure: start small again
                self.stats.failures += 1
                pause = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.exception("%s paused %.1fs after a failure", self.projection.name, pause)
                self._stop.wait(pause)

    def _run_consumer(self, on_batch: Callable[[], None] | None) -> None:
        consumer = self._log.consumer(self.projection.name, self.projection.topics, self._start_at)
        done: dict[TopicPartition, int] = {}  # folded, not yet committed to the log (2)
        committed_at = time.monotonic()
        linger_s: float = getattr(self.projection, "linger_s", 0.0)
        try:
            while not self._stop.is_set():
                records = consumer.poll(max_records=LIVE_BATCH, timeout_s=0.5)
                if records:
                    done.update(self.process(records))
                    if on_batch:
                        on_batch()
                    if linger_s and len(records) < LIVE_BATCH:
                        # A lone record is folded at once; a busy topic's next batch carries
                        # whatever arrived meanwhile: one apply per linger, not per record.
                        self._stop.wait(linger_s)
                if done and time.monotonic() - committed_at >= GROUP_COMMIT_EVERY_S:
                    consumer.commit(done)
                    done, committed_at = {}, time.monotonic()
            if done:
                consumer.commit(done)
        finally:
            consumer.close()

    def stop(self) -> None:
        self._stop.set()

    def _start_at(self, tp: TopicPartition) -> int:
        return self._store.checkpoint(self.projection.name, tp.topic, tp.partition) or 0

    def lag(self) -> int:
        """Records in the log not yet folded into the views."""
        behind = 0
        for topic in self.projection.topics:
            for tp, end in self._log.end_offsets(topic).items():
                behind += end - self._start_at(tp)
        return behind

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Fold everything in the log now (for rebuilds, tests, the CLI); returns records folded.
        `progress(done, total)` is called after each batch."""
        total = self.lag()
        done = 0
        consumer = self._log.consumer(self.projection.name, self.projection.topics, self._start_at)
        try:
            while self.lag() > 0:
                records = consumer.poll(max_records=REPLAY_BATCH, timeout_s=0.5)
                if records:
                    consumer.commit(self.process(records))
                    done += len(records)
                    if progress:
                        progress(done, total)
        finally:
            consumer.close()
        return done

    # -- one poll's records -----------------------------------------------------------------

    def process(self, records: Iterable[Record]) -> dict[TopicPartition, int]:
        """Fold records (any partitions, offset order within each); returns next offsets."""
        by_tp: dict[TopicPartition, list[Record]] = defaultdict(list)
        for r in records:
            by_tp[r.tp].append(r)
        for tp, recs in by_tp.items():
            self._process_partition(tp, recs)
        return {tp: recs[-1].offset + 1 for tp, recs in by_tp.items()}

    def _process_partition(self, tp: TopicPartition, records: list[Record]) -> None:
        """Fold one partition's records and apply them; refolded on a version conflict (7)."""
        checkpoint = Checkpoint(
            self.projection.name, tp.topic, tp.partition, records[-1].offset + 1
        )
        for attempt in range(CONFLICT_RETRIES + 1):
            batch, poisoned = self._fold_partition(tp, records)
            self._append_derived(batch.derived)
            try:
                self._store.apply(batch.writes, batch.added(), checkpoint, unindex=batch.removed())
                break
            except VersionConflict as exc:
                if attempt == CONFLICT_RETRIES:
                    raise  # still conflicting: a failure after all (4)
                self._await_refold(tp, attempt, exc)
        self.stats.folded += len(records) - poisoned
        self.stats.dead_lettered += poisoned
        self.stats.versions_written += len(batch.writes)
        self.stats.batches_applied += 1
        VIEWS_APPLIED.applied(self.projection.name)

    def _fold_partition(self, tp: TopicPartition, records: list[Record]) -> tuple[_Batch, int]:
        """The batch of one partition's records, read from the store's current versions, and
        how many records were poison (dead-lettered; again on a refold, which the log
        deduplicates by the letter's id)."""
        batch = _Batch()
        emitted_below = self._emitted_offset(tp)
        poisoned = 0
        for record in records:
            try:
                self._fold_record(batch, record, derive=record.offset >= emitted_below)
            except Unavailable:
                raise  # the store or log, not the record: pause (see 4 above)
            except Exception as exc:  # poison: any decode, fold, index or encode error
                self._dead_letter(record, exc)
                poisoned += 1
        return batch, poisoned

    def _await_refold(self, tp: TopicPartition, attempt: int, exc: VersionConflict) -> None:
        """Before refolding a conflicting batch: at once the first time, then a jittered
        pause growing per attempt (7)."""
        log.info(
            "%s refolds %s/%d after a version conflict (attempt %d): %s",
            self.projection.name,
            tp.topic,
            tp.partition,
            attempt + 1,
            exc,
        )
        if attempt:
            self._stop.wait(CONFLICT_PAUSE_S * 2**attempt * random.uniform(0.5, 1.5))

    def remember_emitted(self) -> None:
        """Read now, for every partition, where derivations stopped (6): before a rebuild
        sets the group's committed offsets back to 0, which they are read from."""
        for topic in self.projection.topics:
            for tp in self._log.end_offsets(topic):
                self._emitted_offset(tp)

    def derive_again(self) -> None:
        """Derive from every record of the next replay, as if none had been derived before
        (6): after an upgrade that derives something new from old events (schemas v10: a
        Patient's facts re-keyed to `patient.facts`), a plain rebuild would skip them. Safe
        to repeat: derived ids come from the source, so what exists is not appended twice;
        the cost is the derivation itself (every ECG measured again)."""
        for topic in self.projection.topics:
            for tp in self._log.end_offsets(topic):
                self._emitted_below[tp] = 0

    def _emitted_offset(self, tp: TopicPartition) -> int:
        """The group's committed offset of `tp` when first seen (see 6): below it, every
        derived event is in the log already. Only processors that derive ask the log."""
        if tp not in self._emitted_below:
            derives = getattr(self.projection, "emit", None) is not None
            try:
                committed = self._log.committed(self.projection.name, tp) if derives else None
            except Exception as exc:
                raise Unavailable(f"log read of the committed offset failed: {exc!r}") from exc
            self._emitted_below[tp] = committed or 0
        return self._emitted_below[tp]

    def _fold_record(self, batch: _Batch, record: Record, derive: bool = True) -> None:
        """Fold one record into the batch, all or nothing: versions and index entries are
        computed first, so a record that fails anywhere (decode, fold, index, emit) leaves
        the batch as it was and goes to the dead-letter topic whole. `derive`: emit its
        derived events (False on a replay of what was derived before, see 6)."""
        name, event = self._codec.decode(record.value)
        refs = self.projection.refs(name, event)
        try:
            loaded = {
                ref: batch.latest[ref] if ref in batch.latest else self._store.read(*ref)
                for ref in refs
            }
        except Exception as exc:
            raise Unavailable(f"view store read failed: {exc!r}") from exc
        state = {ref: without_meta(s) for ref, s in loaded.items() if s is not None}
        changed = self.projection.fold(state, name, event)
        recorded_at = instant(event["meta"]["recorded_at"])
        given = set().union(*(self._compartments(batch, s) for s in loaded.values() if s))
        writes: list[tuple[Ref, StoredResource, list[IndexEntry], list[IndexEntry], set[str]]] = []
        for ref, resource in sorted(changed.items()):
            previous = loaded[ref] if ref in loaded else batch.latest.get(ref)
            before = self._compartments(batch, previous) if previous else None
            resource = _labelled(record, event, resource, before, given)
            old = self._lookups(batch, previous) if previous else []
            stored = next_version(previous, resource, recorded_at)
            writes.append(
                (ref, stored, old, self.projection.index(resource), compartments_of(resource))
            )
        derived = self._derive(state, name, event) if derive else []
        for ref in refs:  # remember what was read, so the next record of the batch reuses it
            batch.latest.setdefault(ref, loaded[ref])
        for ref, stored, old, new, codes in writes:
            batch.latest[ref] = stored
            batch.known[ref] = (stored, new, codes)
            batch.writes.append(stored)
            batch.reindex(old, new)
        batch.derived += derived

    @staticmethod
    def _compartments(batch: _Batch, stored: StoredResource) -> set[str]:
        known = batch.known.get((stored.resource_type, stored.id))
        if known is not None and known[0] is stored:
            return known[2]
        return compartments_of_body(stored.body)

    def _lookups(self, batch: _Batch, stored: StoredResource) -> list[IndexEntry]:
        """The lookups a stored version is filed under (to remove those it loses)."""
        known = batch.known.get((stored.resource_type, stored.id))
        if known is not None and known[0] is stored:
            return known[1]
        return self.projection.index(without_meta(stored))

    def _derive(
        self, state: dict[Ref, Json], name: str, event: Json
    ) -> list[tuple[str, NewRecord]]:
        """The events `event` derives, encoded here: a derived event that cannot be encoded
        is the record's poison."""
        emit = getattr(self.projection, "emit", None)
        return [
            (
                out.topic,
                NewRecord(
                    out.key, self._codec.encode(out.name, out.event), out.event["meta"]["event_id"]
                ),
            )
            for out in (emit(state, name, event) if emit else [])
        ]

    def _append_derived(self, derived: list[tuple[str, NewRecord]]) -> None:
        # Appended before the checkpoint moves: at-least-once, made exactly-once in effect
        # by the derived event ids (the log drops a second append of the same id). One
        # append per topic for the whole batch: one durable commit, not one per record.
        by_topic: dict[str, list[NewRecord]] = defaultdict(list)
        for topic, record in derived:
            by_topic[topic].append(record)
        for topic, topic_records in by_topic.items():
            try:
                self._log.append(topic, topic_records)
            except Exception as exc:
                raise Unavailable(f"log append of derived events failed: {exc!r}") from exc

    def _dead_letter(self, record: Record, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        # The log line names the exception type only: its text may quote event values
        # (patient data); the full reason goes to the dead-letter topic.
        log.warning(
            "%s dead-letters %s/%d@%d: %s",
            self.projection.name,
            record.topic,
            record.partition,
            record.offset,
            type(exc).__name__,
        )
        letter = {
            "processor": self.projection.name,
            "source_topic": record.topic,
            "source_partition": record.partition,
            "source_offset": record.offset,
            "key": record.key,
            "event_id": record.event_id,
            "value": record.value,
            "reason": reason[:2000],
            "failed_at": dt.datetime.now(dt.UTC),
        }
        dlq_id = f"{self.projection.name}:{record.topic}:{record.partition}:{record.offset}"
        self._log.append(
            dlq_topic(record.topic),
            [NewRecord(record.key, self._codec.encode(DEAD_LETTER, letter), dlq_id)],
        )


REPLAY_THREADS = 4  # runners caught up at once by `replay` (I/O overlaps; folds share the GIL)


def replay(
    runners: Sequence[Runner],
    progress: Callable[[int, int], None] | None = None,
    threads: int = REPLAY_THREADS,
) -> None:
    """Catch every runner up with the log, several at once (a rebuild after `truncate`).

    Each processor folds its own topics into its own resources from its own checkpoints,
    so their order does not matter: the views come out as a sequential replay leaves them.
    Derived events are not derived again (6), so a processor reading another's derivations
    usually finds them in the log already; those derived during this replay (all of them
    after `derive_again`) may land after their reader caught up, so the replay goes round
    again for every runner left behind until none is. `progress(done, total)` sums every
    runner's records; the first failure is raised once the others have finished."""
    totals = {id(r): r.lag() for r in runners}
    done = dict.fromkeys(totals, 0)
    earlier = dict.fromkeys(totals, 0)  # folded in previous rounds
    total = sum(totals.values())
    lock = threading.Lock()

    def step(runner: Runner) -> Callable[[int, int], None]:
        def report(runner_done: int, _runner_total: int) -> None:
            with lock:
                done[id(runner)] = earlier[id(runner)] + runner_done
                if progress:
                    progress(sum(done.values()), max(total, sum(done.values())))

        return report

    behind = list(runners)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="replay") as pool:
        while behind:
            futures = [pool.submit(r.catch_up, step(r)) for r in behind]
            for future in futures:
                future.result()
            earlier.update(done)
            behind = [r for r in runners if r.lag() > 0]


__all__ = ["Runner", "replay", "Projection", "UndecodableEvent", "Unavailable", "canonical_json"]
