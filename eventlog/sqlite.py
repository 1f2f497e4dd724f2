"""Embedded event log: one SQLite file in WAL mode, for one machine without Java.

Durability: `synchronous=FULL` makes every committed append survive a power cut, so an
append that returned is on disk before the API answers 2xx. Idempotency is a unique index on
(topic, event_id), checked in the same IMMEDIATE transaction as the insert, so racing
retries (threads or processes) append once.

Consumer groups here have one member: a consumer is assigned every partition of its topics.
That is the embedded deployment (one process runs every processor); scaling out is Kafka's job.

Consumers long-poll: an append in this process wakes the consumers of its topic at once;
appends by other processes are seen within POLL_INTERVAL_S by one watcher thread, which
looks at the append counts of every topic waited on (`topic_appends`, one query) and wakes
the consumers of those that moved. A consumer's look costs one query plus one read per
partition whose topic has new records, and it looks only when woken: a dozen idle
processors cost nothing however busy one topic (the audit) is. (Each polling on its own
every 50 ms, they cost more CPU than the audited reads they sat beside.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from embedded.sqlite import ThreadConnections
from eventlog.base import (
    MAX_RECORD_BYTES,
    Appended,
    Consumer,
    EventLog,
    KeyAppended,
    NewRecord,
    Record,
    RecordTooLarge,
    StaleVersion,
    StartAt,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
    partition_for,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key TEXT NOT NULL, value BLOB NOT NULL, event_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS records_by_event_id ON records (topic, event_id);
CREATE INDEX IF NOT EXISTS records_by_key ON records (topic, key, partition, offset);
-- Appends per topic, counted in each append's transaction: an idle consumer asks this one
-- row per topic whether anything (from any process) arrived, not every partition.
CREATE TABLE IF NOT EXISTS topic_appends (
    topic TEXT PRIMARY KEY, appends INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
"""

POLL_INTERVAL_S = 0.05  # how often the watcher looks for appends by other processes
WATCH_IDLE_EXIT_S = 5.0  # the watcher exits after this long with no consumer waiting


class SqliteEventLog(EventLog):
    def __init__(self, path: str | Path) -> None:
        self._db = ThreadConnections(path, "FULL", SCHEMA)
        # Long poll: appends bump their topic's count and wake the consumers of that topic
        # only (see the module doc): ours at once, other processes' by the watcher.
        self._appended = threading.Lock()
        self._appends: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._db_appends: dict[str, int] = {}  # per topic, the count the watcher last read
        self._watching = False
        self._watch_lock = threading.Lock()  # the watcher's query vs `close`
        self._closed = False
        self._partitions: dict[str, int] = {}

    def _conn(self) -> sqlite3.Connection:
        return self._db.get()

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)",
                [(s.name, s.partitions) for s in specs],
            )

    def partition_count(self, topic: str) -> int:
        if topic not in self._partitions:
            row = (
                self._conn()
                .execute("SELECT partitions FROM topics WHERE name = ?", (topic,))
                .fetchone()
            )
            if row is None:
                raise UnknownTopic(topic)
            self._partitions[topic] = int(row[0])
        return self._partitions[topic]

    def append(self, topic: str, records: Sequence[NewRecord]) -> list[Appended]:
        return self.append_together({topic: records})[topic]

    def append_together(
        self, batches: Mapping[str, Sequence[NewRecord]]
    ) -> dict[str, list[Appended]]:
        """One IMMEDIATE transaction, one commit (fsync) for every topic: all or nothing."""
        partitions = {topic: self.partition_count(topic) for topic in batches}  # UnknownTopic
        now_ms = int(time.time() * 1000)
        out: dict[str, list[Appended]] = {}
        with self._db.transaction() as conn:
            for topic, records in batches.items():
                next_offsets: dict[int, int] = {}
                out[topic] = [
                    self._append_one(conn, topic, partitions[topic], r, now_ms, next_offsets)
                    for r in records
                ]
                _count_appends(conn, topic)
        for topic in batches:
            self._notify_appended(topic)
        return out

    def append_at_version(
        self, topic: str, key: str, expected: int | None, records: Sequence[NewRecord]
    ) -> KeyAppended:
        _same_key(key, records)
        partitions = self.partition_count(topic)
        now_ms = int(time.time() * 1000)
        with self._db.transaction() as conn:
            retry = any(
                conn.execute(
                    "SELECT 1 FROM records WHERE topic = ? AND event_id = ?", (topic, r.event_id)
                ).fetchone()
                for r in records
            )
            current = self._key_count(conn, topic, key)
            if not retry and expected is not None and current != expected:
                raise StaleVersion(topic, key, expected, current)
            next_offsets: dict[int, int] = {}
            appended = [
                self._append_one(conn, topic, partitions, r, now_ms, next_offsets) for r in records
            ]
            if retry:
                sequences = [self._key_count(conn, topic, key, a.offset) for a in appended]
                version = self._key_count(conn, topic, key)
            else:  # all new and in order: numbered after the current version
                sequences = list(range(current + 1, current + 1 + len(records)))
                version = current + len(records)
            _count_appends(conn, topic)
        self._notify_appended(topic)
        return KeyAppended(appended, sequences, version)

    @staticmethod
    def _key_count(
        conn: sqlite3.Connection, topic: str, key: str, up_to_offset: int | None = None
    ) -> int:
        """Records of `key` (all, or those at or below an offset of its partition)."""
        sql = "SELECT COUNT(*) FROM records WHERE topic = ? AND key = ?"
        args: tuple[object, ...] = (topic, key)
        if up_to_offset is not None:
            sql += " AND offset <= ?"
            args += (up_to_offset,)
        return int(conn.execute(sql, args).fetchone()[0])

    def key_records(self, topic: str, key: str, start: int = 0) -> list[Record]:
        self.partition_count(topic)
        rows = (
            self._conn()
            .execute(
                "SELECT topic, partition, offset, key, value, event_id, ts_ms FROM records "
                "WHERE topic = ? AND key = ? ORDER BY offset LIMIT -1 OFFSET ?",
                (topic, key, start),
            )
            .fetchall()
        )
        return [Record(*row) for row in rows]

    def _append_one(
        self,
        conn: sqlite3.Connection,
        topic: str,
        partitions: int,
        r: NewRecord,
        now_ms: int,
        next_offsets: dict[int, int],
    ) -> Appended:
        """Insert one record unless its event id is in the topic; `next_offsets` carries
        each partition's next offset through one transaction (one MAX query per partition)."""
        if len(r.value) > MAX_RECORD_BYTES:  # the same limit as Kafka's (raises: rolls back)
            raise RecordTooLarge(f"a record of {len(r.value)} bytes exceeds {MAX_RECORD_BYTES}")
        found = conn.execute(
            "SELECT partition, offset FROM records WHERE topic = ? AND event_id = ?",
            (topic, r.event_id),
        ).fetchone()
        if found:
            return Appended(topic, found[0], found[1], duplicate=True)
        partition = partition_for(r.key, partitions)
        if partition not in next_offsets:
            next_offsets[partition] = self._next_offset(conn, topic, partition)
        offset = next_offsets[partition]
        next_offsets[partition] = offset + 1
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
            (topic, partition, offset, r.key, r.value, r.event_id, now_ms),
        )
        return Appended(topic, partition, offset)

    @staticmethod
    def _next_offset(conn: sqlite3.Connection, topic: str, partition: int) -> int:
        row = conn.execute(
            "SELECT MAX(offset) FROM records WHERE topic = ? AND partition = ?", (topic, partition)
        ).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def read(self, topic: str, partition: int, offset: int, limit: int = 500) -> list[Record]:
        self.partition_count(topic)
        rows = self._conn().execute(
            "SELECT offset, key, value, event_id, ts_ms FROM records"
            " WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?",
            (topic, partition, offset, limit),
        )
        return [Record(topic, partition, o, k, v, e, ts) for o, k, v, e, ts in rows]

    def end_offset(self, topic: str, partition: int) -> int:
        self.partition_count(topic)
        return self._next_offset(self._conn(), topic, partition)

    def consumer(self, group: str, topics: Sequence[str], start_at: StartAt) -> Consumer:
        tps = [TopicPartition(t, p) for t in topics for p in range(self.partition_count(t))]
        return SqliteConsumer(self, group, {tp: start_at(tp) for tp in tps})

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        row = (
            self._conn()
            .execute(
                "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND partition = ?",
                (group, tp.topic, tp.partition),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def commit_group(self, group: str, offsets: dict[TopicPartition, int]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO group_offsets VALUES (?, ?, ?, ?)",
                [(group, tp.topic, tp.partition, o) for tp, o in offsets.items()],
            )

    def _notify_appended(self, topic: str) -> None:
        """After the commit: a consumer that reads after this sees the records."""
        with self._appended:
            self._appends[topic] += 1
            waiters = list(self._waiters[topic])
        for waiter in waiters:
            waiter.set()

    def topic_appends(self, topics: Sequence[str]) -> dict[str, int]:
        """Per topic, how many appends (by any process) have committed records to it: a
        consumer that saw a count and read a partition empty need not read it again
        until the count changes."""
        marks = ", ".join("?" * len(topics))
        rows = self._conn().execute(
            f"SELECT topic, appends FROM topic_appends WHERE topic IN ({marks})", tuple(topics)
        )
        return {t: int(n) for t, n in rows}

    def appends_seen(self, topics: Sequence[str]) -> int:
        """A count of this process's appends to `topics`: take it *before* reading, then
        `wait_for_append(timeout, topics, seen)` cannot miss an append made in between."""
        with self._appended:
            return sum(self._appends[t] for t in topics)

    def wait_for_append(self, timeout_s: float, topics: Sequence[str], seen: int) -> None:
        """Sleep until an append to `topics` after `seen` (this process's at once, another
        process's within POLL_INTERVAL_S), or at most `timeout_s`."""
        woken = threading.Event()
        with self._appended:
            if sum(self._appends[t] for t in topics) != seen:
                return
            for t in topics:
                self._waiters[t].add(woken)
            if not self._watching and not self._closed:
                self._watching = True
                threading.Thread(target=self._watch, name="sqlite-log-watch", daemon=True).start()
        try:
            woken.wait(timeout_s)
        finally:
            with self._appended:
                for t in topics:
                    self._waiters[t].discard(woken)

    def _watch(self) -> None:
        """Other processes' appends: every POLL_INTERVAL_S, one look at the counts of the
        topics waited on. A count that moved counts as an append here (so a consumer that
        took `appends_seen` before reading cannot miss it) and wakes that topic's waiters;
        our own appends move it too, costing their consumers one extra look."""
        idle_since = time.monotonic()
        while True:
            time.sleep(POLL_INTERVAL_S)
            with self._appended:
                topics = [t for t, waiting in self._waiters.items() if waiting]
                idle = time.monotonic() - idle_since > WATCH_IDLE_EXIT_S
                if self._closed or (not topics and idle):
                    self._watching = False
                    return
            if not topics:
                continue
            idle_since = time.monotonic()
            # Under the watch lock, which `close` takes before closing the connections: a
            # connection closed by another thread while it runs a query crashes the process
            # (a segfault in sqlite3, seen when a server stopped mid-look).
            with self._watch_lock:
                if self._closed:
                    with self._appended:
                        self._watching = False
                    return
                try:
                    counts = self.topic_appends(topics)
                except sqlite3.Error:  # busy: the next look decides
                    continue
            for topic, count in counts.items():
                with self._appended:
                    moved = self._db_appends.get(topic) != count
                    self._db_appends[topic] = count
                if moved:
                    self._notify_appended(topic)

    def close(self) -> None:
        with self._watch_lock:  # not while the watcher runs a query (see `_watch`)
            with self._appended:
                self._closed = True
            self._db.close()


def _count_appends(conn: sqlite3.Connection, topic: str) -> None:
    conn.execute(
        "INSERT INTO topic_appends VALUES (?, 1)"
        " ON CONFLICT (topic) DO UPDATE SET appends = appends + 1",
        (topic,),
    )


def _same_key(key: str, records: Sequence[NewRecord]) -> None:
    if any(r.key != key for r in records):
        raise ValueError(f"append_at_version: every record must have key {key!r}")


class SqliteConsumer(Consumer):
    def __init__(self, log: SqliteEventLog, group: str, positions: dict[TopicPartition, int]):
        self._log = log
        self._group = group
        self._positions = positions
        self._topics = sorted({tp.topic for tp in positions})
        # A partition read empty, with its topic's append count then: not read again until
        # the count changes, so a look costs one query, plus one per partition that changed.
        self._quiet: dict[TopicPartition, int] = {}

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self._log.appends_seen(self._topics)
            batch = self._read_available(max_records)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return batch
            self._log.wait_for_append(remaining, self._topics, seen)

    def _read_available(self, max_records: int) -> list[Record]:
        counts = self._log.topic_appends(self._topics)  # before reading: appends after change it
        out: list[Record] = []
        for tp, offset in sorted(self._positions.items()):
            if len(out) >= max_records:
                break
            count = counts.get(tp.topic, 0)
            if self._quiet.get(tp) == count:
                continue
            records = self._log.read(tp.topic, tp.partition, offset, max_records - len(out))
            if records:
                self._positions[tp] = records[-1].offset + 1
                self._quiet.pop(tp, None)
                out += records
            else:
                self._quiet[tp] = count
        return out

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self._log.commit_group(self._group, offsets)

    def close(self) -> None:
        pass
