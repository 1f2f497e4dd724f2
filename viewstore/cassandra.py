"""Cassandra view store: the regional backend of the view store port (viewstore/base.py).

Tables (viewstore/migrations/cassandra/0001_views.cql), one per query:
- `resources`: partition (resource_type, id), clustering version DESC: read = LIMIT 1, vread,
  history.
- `resource_blobs`: bodies too large to ride in the apply batch, content-addressed (sha256).
- `resource_ids`: partition (resource_type, bucket), clustering id: scan() walks these.
- `lookups`: partition (index_name, key), clustering (resource_type, id).
- `checkpoints`: (processor, topic, topic_partition) -> next_offset.
- `resource_changes` (0002): partition (resource_type, UTC day of lastUpdated), clustering
  (changed_at, id, version) DESC: changes() for type and system history and bulk export;
  `resource_change_days`: the days of a type that hold changes.

Schema: opening a store creates the keyspace if absent and applies the migrations not yet
recorded in its `schema_migrations` table, in file-name order. Schema changes in Cassandra 5.0
are not serialized across nodes: let one process (a deploy step, or the first processor)
migrate a new keyspace before others open it concurrently.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import re
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from importlib import resources as package_files
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, PreparedStatement

from viewstore.base import Change, StoredResource, ViewStore, ViewWrite, change_instant

# Bodies up to this size, in bytes, ride inline in the apply batch and are read in one round
# trip (FHIR resources are mostly 1-5 KB). Larger ones (a 12-lead ECG Observation is ~500 KB
# of JSON) are written to resource_blobs before the batch and cost reads a second round trip.
INLINE_BODY_MAX_BYTES = 16 * 1024
# Inline body bytes per batch at most; bodies beyond it go to resource_blobs too. A logged
# batch is one mutation in the batchlog, so it must stay under max_mutation_size (half the
# commit log segment: 16 MiB stock) whatever one apply carries (the runner folds up to 500
# records per apply); the cluster's batch_size_fail_threshold must be above this budget plus
# the batch's other rows (deploy/local/cassandra/ctl sets 8 MiB; stock is 50 KiB).
INLINE_BATCH_BUDGET_BYTES = 4 * 1024 * 1024
# Size of one resource_blobs row, in bytes: well under Cassandra's per-mutation limit (half
# the 32 MiB commit log segment) and the driver's frame size, so a body of any size fits.
BLOB_CHUNK_BYTES = 1024 * 1024
# resource_ids partitions per resource type: 10 M resources of a type make ~40 MB partitions
# at 16. scan() reads whichever buckets exist, so changing this later breaks nothing.
ID_BUCKETS = 16
# Reads kept in flight by apply's version checks, blob writes and scan().
CONCURRENCY = 32
# Rows per page where rows carry bodies (up to INLINE_BODY_MAX_BYTES each).
BODY_PAGE_ROWS = 64
# TRUNCATE waits for every replica to discard the table: longer than a normal request.
TRUNCATE_TIMEOUT_S = 120.0
SCHEMA_AGREEMENT_WAIT_S = 30
MIGRATIONS_PACKAGE = "viewstore"
MIGRATIONS_DIR = ("migrations", "cassandra")
MIGRATION_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.cql")
KEYSPACE_NAME = re.compile(r"[A-Za-z0-9_]{1,48}")  # Cassandra's own rule for unquoted names
# Truncated in this order: positions first, so that a truncate interrupted half-way leaves
# views without positions (a rebuild from zero then stops at a VersionConflict: loud),
# never positions ahead of emptied views (events silently skipped). Retry truncate() then.
VIEW_TABLES = (
    "checkpoints",
    "lookups",
    "resource_ids",
    "resource_changes",
    "resource_change_days",
    "resources",
    "resource_blobs",
)
# Rows per page of resource_changes (keys only, ~100 bytes each).
CHANGES_PAGE_ROWS = 500
# changes() bounds when a side is open: below and above every day and instant text.
OPEN_LOW, OPEN_HIGH = "", "\uffff"


class _ExpectedProtocolDowngrade(logging.Filter):
    """Drops the driver's warning when it steps its protocol version down while connecting.

    With the protocol version left to negotiation (so the store works with any Cassandra
    since 3.x), the driver first offers the DataStax Enterprise versions 66 and 65; Apache
    Cassandra refuses them, and the driver logs each step down as a warning, on every
    connect. Other driver warnings pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Downgrading core protocol version")


_PROTOCOL_DOWNGRADE_FILTER = _ExpectedProtocolDowngrade()


RECONNECT_MAX_S = 5.0


class CassandraViewStore(ViewStore):
    def __init__(
        self,
        hosts: Sequence[str] = ("127.0.0.1",),
        port: int = 9042,
        keyspace: str = "goldenhour",
        replication_factor: int = 1,
        consistency: str = "LOCAL_QUORUM",
        *,
        local_dc: str = "datacenter1",
    ) -> None:
        if not KEYSPACE_NAME.fullmatch(keyspace):
            raise ValueError(f"keyspace {keyspace!r}: 1 to 48 letters, digits or underscores")
        self._keyspace = keyspace.lower()
        if consistency.upper() not in ConsistencyLevel.name_to_value:
            raise ValueError(f"consistency {consistency!r}: not a Cassandra consistency level")
        self._consistency = ConsistencyLevel.name_to_value[consistency.upper()]
        logging.getLogger("cassandra.cluster").addFilter(_PROTOCOL_DOWNGRADE_FILTER)
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
            consistency_level=self._consistency,
        )
        self._cluster = Cluster(
            list(hosts),
            port=port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            max_schema_agreement_wait=SCHEMA_AGREEMENT_WAIT_S,
            # The driver's default backs off up to 10 min between reconnects: after an outage
            # the processors would sit paused long after the nodes are back. Cap it at 5 s.
            reconnection_policy=ExponentialReconnectionPolicy(0.5, RECONNECT_MAX_S),
        )
        try:
            _migrate(self._cluster, self._keyspace, replication_factor)
            # Table names are qualified, and this session never runs USE: the server warns
            # about prepared statements on a connection with a current keyspace.
            self._session: Session = self._cluster.connect()
            self._q = _Statements(self._session, self._keyspace)
        except BaseException:
            self._cluster.shutdown()
            raise

    # -- reads -------------------------------------------------------------------------------

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        row = self._session.execute(self._q.latest, (resource_type, id)).one()
        return None if row is None else self._resource(resource_type, id, row)

    def vread(self, resource_type: str, id: str, version: int) -> StoredResource | None:
        row = self._session.execute(self._q.one_version, (resource_type, id, version)).one()
        return None if row is None else self._resource(resource_type, id, row)

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        rows = self._session.execute(self._q.versions_desc, (resource_type, id))
        return [self._resource(resource_type, id, row) for row in rows]

    def changes(
        self, resource_types: Sequence[str], since: str | None = None, until: str | None = None
    ) -> Iterator[Change]:
        """One stream per type, day partition by day partition back in time, merged: the
        first change costs two queries per type, each later one a row of a page."""
        low, high = since or OPEN_LOW, until or OPEN_HIGH
        streams = [self._type_changes(t, low, high) for t in sorted(set(resource_types))]
        yield from heapq.merge(*streams, key=_change_order, reverse=True)

    def _type_changes(self, resource_type: str, low: str, high: str) -> Iterator[Change]:
        days = self._session.execute(self._q.change_days, (resource_type, low[:10], high[:10]))
        for day in [row.day for row in days]:
            rows = self._session.execute(self._q.changes, (resource_type, day, low, high))
            for row in rows:
                yield Change(row.changed_at, resource_type, row.id, row.version)

    def lookup(self, index: str, key: str) -> list[tuple[str, str]]:
        rows = self._session.execute(self._q.lookup, (index, key))  # clustering order: sorted
        return [(row.resource_type, row.id) for row in rows]

    def checkpoint(self, processor: str, topic: str, partition: int) -> int | None:
        row = self._session.execute(self._q.checkpoint, (processor, topic, partition)).one()
        return None if row is None else int(row.next_offset)

    def _resource(self, resource_type: str, id: str, row: Any) -> StoredResource:
        body = row.body if row.body_sha256 is None else self._blob(row.body_sha256)
        return StoredResource(resource_type, id, row.version, row.last_updated, body or b"")

    def _blob(self, sha256: bytes) -> bytes:
        body = bytearray()
        for row in self._session.execute(self._q.blob, (sha256,)):
            body[row.byte_offset : row.byte_offset + len(row.data)] = row.data
        if hashlib.sha256(body).digest() != sha256:
            raise RuntimeError(f"resource_blobs {sha256.hex()}: missing or damaged chunks")
        return bytes(body)

    # -- apply -------------------------------------------------------------------------------
    #
    # The write protocol, in order:
    #   1. Position: the stored checkpoint of (processor, topic, partition) must be below the
    #      new one, else PositionAlreadyApplied.
    #   2. Versions: each resource must be version 1 of a new resource or latest+1 (several
    #      versions of one resource may follow each other in one call), else VersionConflict.
    #      Nothing has been written when 1 or 2 refuse.
    #   3. Large bodies (and any beyond the batch's inline budget) are written to
    #      resource_blobs under their sha256. Unreferenced until step 4 succeeds, so invisible to readers; if step 4
    #      never happens they are garbage (removed by truncate), and a retry rewrites the same
    #      bytes under the same key.
    #   4. One LOGGED batch: resource versions, resource_ids, lookups added and removed, and
    #      the checkpoint. A logged batch goes through the batchlog, so once it is accepted all
    #      of it is applied eventually, even if the coordinator dies: the view and its position
    #      never diverge. A batch error (e.g. WriteTimeout) does not mean "nothing written":
    #      the batch may still be replayed. The processor must then not commit its offset; it
    #      re-reads the checkpoint once the cluster is healthy and resumes from there.
    #
    # Why steps 1-2 may read and then write without a lightweight transaction (LWT): the rows
    # they check have one writer. A (processor, topic partition) is consumed by exactly one
    # member of the processor's consumer group, and every version of a resource is written
    # by one (processor, topic partition): the log keys a resource's events (incident, ECG)
    # to one partition, and processors must keep it so (a resource fed from two partitions
    # or two processors would race). Between our reads and our batch nobody else writes those
    # rows, and reads and writes at LOCAL_QUORUM overlap, so the reads see every batch
    # acknowledged before. (An LWT could not guard the batch anyway: a conditional batch must
    # stay within one partition.)
    #
    # What breaks if two processes write the same partition (a zombie that missed its
    # rebalance, or two groups sharing a processor name): both read latest=N and both write
    # N+1 under the same key, the later timestamp winning cell by cell, so a version may mix
    # their writes; their checkpoints overwrite each other, so the stored position may move
    # backwards and events be folded again (then refused as VersionConflict). The fix would
    # be fencing: keep the consumer group generation beside the checkpoint and make its write
    # conditional on it (an LWT before the batch), at the price of a Paxos round per apply.

    def apply_write(self, write: ViewWrite) -> None:
        write.check(self.checkpoint, self._latest_versions)  # steps 1 and 2
        body_refs = self._write_large_bodies(write.resources)
        self._session.execute(self._batch(write, body_refs))

    def _latest_versions(self, keys: list[tuple[str, str]]) -> list[int]:
        """The latest stored version of each (resource_type, id), 0 for none."""
        results = execute_concurrent_with_args(
            self._session, self._q.latest_version, keys, concurrency=CONCURRENCY
        )
        return [row.version if (row := result.one()) else 0 for _, result in results]

    def _write_large_bodies(self, resources: Sequence[StoredResource]) -> list[bytes | None]:
        """Writes the bodies too large to ride inline to resource_blobs; returns, for each
        resource, the sha256 its row refers to, or None when its body rides inline."""
        refs: list[bytes | None] = []
        chunks: list[tuple[bytes, int, bytes]] = []
        budget = INLINE_BATCH_BUDGET_BYTES
        for r in resources:
            if len(r.body) <= min(INLINE_BODY_MAX_BYTES, budget):
                budget -= len(r.body)
                refs.append(None)
                continue
            sha256 = hashlib.sha256(r.body).digest()
            refs.append(sha256)
            for offset in range(0, len(r.body), BLOB_CHUNK_BYTES):
                chunks.append((sha256, offset, r.body[offset : offset + BLOB_CHUNK_BYTES]))
        if chunks:
            execute_concurrent_with_args(
                self._session, self._q.insert_blob, chunks, concurrency=CONCURRENCY
            )
        return refs

    def _batch(self, write: ViewWrite, body_refs: Sequence[bytes | None]) -> BatchStatement:
        batch = BatchStatement(batch_type=BatchType.LOGGED, consistency_level=self._consistency)
        # The statements of a batch share one timestamp, and at equal timestamps a deletion
        # wins: an entry both removed and added in one call is left alone (it stays, as when
        # the removal runs first).
        for e in set(write.unindex).difference(write.index):
            batch.add(self._q.delete_lookup, (e.index, e.key, e.resource_type, e.id))
        for r, ref in zip(write.resources, body_refs, strict=False):
            # UNSET, not None: a null would write a tombstone into the unused column.
            body = r.body if ref is None else UNSET_VALUE
            batch.add(
                self._q.insert_resource,
                (r.resource_type, r.id, r.version, r.last_updated, body, ref or UNSET_VALUE),
            )
            batch.add(self._q.insert_id, (r.resource_type, _bucket(r.id), r.id))
            changed_at = change_instant(r.last_updated)
            day = changed_at[:10]
            batch.add(self._q.insert_change, (r.resource_type, day, changed_at, r.id, r.version))
            batch.add(self._q.insert_change_day, (r.resource_type, day))
        for e in write.index:
            batch.add(self._q.insert_lookup, (e.index, e.key, e.resource_type, e.id))
        cp = write.checkpoint
        batch.add(self._q.insert_checkpoint, (cp.processor, cp.topic, cp.partition, cp.next_offset))
        return batch

    # -- scan, truncate, close ---------------------------------------------------------------

    def scan(self) -> Iterator[StoredResource]:
        """Types in order; each type's ids merged from its buckets in order; each id's versions
        ascending. Streams: memory holds a page per bucket and CONCURRENCY resources."""
        buckets: dict[str, list[int]] = {}
        for row in self._session.execute(self._q.id_partitions):
            buckets.setdefault(row.resource_type, []).append(row.bucket)
        for resource_type in sorted(buckets):
            ids = heapq.merge(*(self._ids(resource_type, b) for b in buckets[resource_type]))
            yield from self._all_versions(resource_type, ids)

    def _ids(self, resource_type: str, bucket: int) -> Iterator[str]:
        for row in self._session.execute(self._q.ids, (resource_type, bucket)):
            yield row.id

    def _all_versions(self, resource_type: str, ids: Iterable[str]) -> Iterator[StoredResource]:
        pending: deque[tuple[str, Any]] = deque()
        for id in ids:
            future = self._session.execute_async(self._q.versions_asc, (resource_type, id))
            pending.append((id, future))
            if len(pending) >= CONCURRENCY:
                yield from self._resources_of(resource_type, *pending.popleft())
        while pending:
            yield from self._resources_of(resource_type, *pending.popleft())

    def _resources_of(self, resource_type: str, id: str, future: Any) -> Iterator[StoredResource]:
        for row in future.result():
            yield self._resource(resource_type, id, row)

    def truncate(self) -> None:
        """Empties every view table (not schema_migrations). Not atomic across tables (see
        VIEW_TABLES for the order and why): if it raises, call it again before folding."""
        for table in VIEW_TABLES:
            self._session.execute(
                f"TRUNCATE TABLE {self._keyspace}.{table}", timeout=TRUNCATE_TIMEOUT_S
            )

    def close(self) -> None:
        if not self._cluster.is_shutdown:
            self._cluster.shutdown()


def _bucket(id: str) -> int:
    return zlib.crc32(id.encode()) % ID_BUCKETS


def _change_order(change: Change) -> tuple[str, str, str, int]:
    return (change.changed_at, change.resource_type, change.id, change.version)


_COLS = "version, last_updated, body, body_sha256"
_BY_ID = "WHERE resource_type = ? AND id = ?"
# Every statement the store runs: name -> (CQL, `{ks}` standing for the keyspace; rows per
# page where the driver's default of 5000 does not suit, else None).
STATEMENTS: dict[str, tuple[str, int | None]] = {
    "latest": (f"SELECT {_COLS} FROM {{ks}}.resources {_BY_ID} LIMIT 1", None),
    "latest_version": (f"SELECT version FROM {{ks}}.resources {_BY_ID} LIMIT 1", None),
    "one_version": (f"SELECT {_COLS} FROM {{ks}}.resources {_BY_ID} AND version = ?", None),
    "versions_desc": (f"SELECT {_COLS} FROM {{ks}}.resources {_BY_ID}", BODY_PAGE_ROWS),
    "versions_asc": (
        f"SELECT {_COLS} FROM {{ks}}.resources {_BY_ID} ORDER BY version ASC",
        BODY_PAGE_ROWS,
    ),
    # 4 chunks of BLOB_CHUNK_BYTES a page
    "blob": ("SELECT byte_offset, data FROM {ks}.resource_blobs WHERE sha256 = ?", 4),
    "lookup": ("SELECT resource_type, id FROM {ks}.lookups WHERE index_name = ? AND key = ?", None),
    "checkpoint": (
        "SELECT next_offset FROM {ks}.checkpoints"
        " WHERE processor = ? AND topic = ? AND topic_partition = ?",
        None,
    ),
    "id_partitions": ("SELECT DISTINCT resource_type, bucket FROM {ks}.resource_ids", None),
    "ids": ("SELECT id FROM {ks}.resource_ids WHERE resource_type = ? AND bucket = ?", None),
    "insert_resource": (
        "INSERT INTO {ks}.resources (resource_type, id, version, last_updated, body, body_sha256)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        None,
    ),
    "insert_blob": (
        "INSERT INTO {ks}.resource_blobs (sha256, byte_offset, data) VALUES (?, ?, ?)",
        None,
    ),
    "insert_id": (
        "INSERT INTO {ks}.resource_ids (resource_type, bucket, id) VALUES (?, ?, ?)",
        None,
    ),
    "insert_lookup": (
        "INSERT INTO {ks}.lookups (index_name, key, resource_type, id) VALUES (?, ?, ?, ?)",
        None,
    ),
    "delete_lookup": (
        "DELETE FROM {ks}.lookups"
        " WHERE index_name = ? AND key = ? AND resource_type = ? AND id = ?",
        None,
    ),
    "change_days": (
        "SELECT day FROM {ks}.resource_change_days"
        " WHERE resource_type = ? AND day >= ? AND day <= ?",
        None,
    ),
    "changes": (
        "SELECT changed_at, id, version FROM {ks}.resource_changes"
        " WHERE resource_type = ? AND day = ? AND changed_at >= ? AND changed_at <= ?",
        CHANGES_PAGE_ROWS,
    ),
    "insert_change": (
        "INSERT INTO {ks}.resource_changes (resource_type, day, changed_at, id, version)"
        " VALUES (?, ?, ?, ?, ?)",
        None,
    ),
    "insert_change_day": (
        "INSERT INTO {ks}.resource_change_days (resource_type, day) VALUES (?, ?)",
        None,
    ),
    "insert_checkpoint": (
        "INSERT INTO {ks}.checkpoints (processor, topic, topic_partition, next_offset)"
        " VALUES (?, ?, ?, ?)",
        None,
    ),
}


def _prepare(session: Session, keyspace: str, name: str) -> PreparedStatement:
    """STATEMENTS[name], prepared with its tables in `keyspace` and its page size."""
    cql, page_rows = STATEMENTS[name]
    statement = session.prepare(cql.format(ks=keyspace))
    if page_rows is not None:
        statement.fetch_size = page_rows
    return statement


class _Statements:
    """Every statement of STATEMENTS, prepared once per store, as a typed attribute."""

    latest: PreparedStatement
    latest_version: PreparedStatement
    one_version: PreparedStatement
    versions_desc: PreparedStatement
    versions_asc: PreparedStatement
    blob: PreparedStatement
    lookup: PreparedStatement
    checkpoint: PreparedStatement
    id_partitions: PreparedStatement
    ids: PreparedStatement
    insert_resource: PreparedStatement
    insert_blob: PreparedStatement
    insert_id: PreparedStatement
    insert_lookup: PreparedStatement
    delete_lookup: PreparedStatement
    change_days: PreparedStatement
    changes: PreparedStatement
    insert_change: PreparedStatement
    insert_change_day: PreparedStatement
    insert_checkpoint: PreparedStatement

    def __init__(self, session: Session, keyspace: str) -> None:
        # The attributes above and STATEMENTS name the same statements; fail at open, not
        # at the first use of a missing one.
        assert STATEMENTS.keys() == _Statements.__annotations__.keys()
        for name in STATEMENTS:
            setattr(self, name, _prepare(session, keyspace, name))


# -- schema ----------------------------------------------------------------------------------


def _migrate(cluster: Cluster, keyspace: str, replication_factor: int) -> None:
    """Creates the keyspace if absent, applies the migrations it has not recorded, in order,
    and waits until every node agrees on the schema. Runs in a session of its own, in the
    keyspace (USE), so that the migration files name their tables unqualified.

    A migration is recorded after its last statement: one interrupted half-way runs again
    whole, so its statements must be idempotent (IF NOT EXISTS)."""
    session = cluster.connect()
    try:
        _migrate_in(session, keyspace, replication_factor)
    finally:
        session.shutdown()


def _migrate_in(session: Session, keyspace: str, replication_factor: int) -> None:
    if keyspace not in session.cluster.metadata.keyspaces:
        _ddl(
            session,
            f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication ="
            f" {{'class': 'SimpleStrategy', 'replication_factor': {int(replication_factor)}}}"
            " AND durable_writes = true",
        )
    session.set_keyspace(keyspace)
    _ddl(
        session,
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version int PRIMARY KEY, name text, applied_at timestamp)",
    )
    applied = {row.version for row in session.execute("SELECT version FROM schema_migrations")}
    for version, name, statements in _migrations():
        if version in applied:
            continue
        for statement in statements:
            _ddl(session, statement)
        if version in BACKFILLS:
            BACKFILLS[version](session, keyspace)
        session.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (version, name, datetime.now(UTC)),
        )


def _backfill_changes(session: Session, keyspace: str) -> None:
    """Migration 0002 on a keyspace that already holds resources: list their versions in
    resource_changes (a paged read of the resources' keys; idempotent, so a rerun is safe)."""
    rows = session.execute("SELECT resource_type, id, version, last_updated FROM resources")
    insert = _prepare(session, keyspace, "insert_change")
    insert_day = _prepare(session, keyspace, "insert_change_day")
    changes, days = [], set()
    for row in rows:
        at = change_instant(row.last_updated)
        changes.append((row.resource_type, at[:10], at, row.id, row.version))
        days.add((row.resource_type, at[:10]))
    execute_concurrent_with_args(session, insert, changes, concurrency=CONCURRENCY)
    execute_concurrent_with_args(session, insert_day, sorted(days), concurrency=CONCURRENCY)


# Data steps run after a migration's statements, before it is recorded.
BACKFILLS = {2: _backfill_changes}


def _ddl(session: Session, statement: str) -> None:
    """Runs a schema statement; the driver then waits (up to SCHEMA_AGREEMENT_WAIT_S) until
    every node reports the same schema version, and we refuse to go on if they do not."""
    result = session.execute(statement)
    if not result.response_future.is_schema_agreed:
        raise RuntimeError(f"nodes disagree on the schema after: {statement}")


def _migrations() -> Iterator[tuple[int, str, list[str]]]:
    """(version, name, statements) of each migration file, by version."""
    folder = package_files.files(MIGRATIONS_PACKAGE).joinpath(*MIGRATIONS_DIR)
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_FILE.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), match[2], _statements(entry.read_text("utf-8"))))
    found.sort()
    yield from found


def _statements(cql: str) -> list[str]:
    """Splits a migration file into statements: `--` comments dropped, `;` ends a statement
    (the files keep `;` and `--` out of string literals)."""
    text = "\n".join(line.split("--", 1)[0] for line in cql.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]
