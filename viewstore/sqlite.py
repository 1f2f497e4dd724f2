"""Embedded view store: one SQLite file; `apply` is one transaction, so a view and its
checkpoint can never diverge, even if the process is killed mid-write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from embedded.sqlite import ThreadConnections
from viewstore.base import Change, StoredResource, ViewStore, ViewWrite, change_instant

# Rows fetched per round of `changes` (keys only, ~100 bytes each).
CHANGES_PAGE_ROWS = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    resource_type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    last_updated TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (resource_type, id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lookups (
    idx TEXT NOT NULL, key TEXT NOT NULL, resource_type TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (idx, key, resource_type, id)
) WITHOUT ROWID;
-- Every version by lastUpdated (fixed-width UTC text, viewstore.base.change_instant), for
-- type and system history: the primary key serves one type, the index all types.
CREATE TABLE IF NOT EXISTS changes (
    resource_type TEXT NOT NULL, changed_at TEXT NOT NULL, id TEXT NOT NULL,
    version INTEGER NOT NULL, PRIMARY KEY (resource_type, changed_at, id, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_by_time ON changes (changed_at, resource_type, id, version);
CREATE TABLE IF NOT EXISTS checkpoints (
    processor TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL, PRIMARY KEY (processor, topic, partition)
) WITHOUT ROWID;
"""
VIEW_TABLES = ("resources", "changes", "lookups", "checkpoints")


class SqliteViewStore(ViewStore):
    def __init__(self, path: str | Path) -> None:
        # NORMAL: a power cut may lose the last view writes, never corrupt them; the
        # checkpoint is lost with them, so the processor re-folds from the log.
        self._db = ThreadConnections(path, "NORMAL", SCHEMA)
        self._backfill_changes()

    def _backfill_changes(self) -> None:
        """Files written before the `changes` table existed: list their versions once."""
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM changes LIMIT 1").fetchone() is not None:
                return
            rows = conn.execute("SELECT resource_type, id, version, last_updated FROM resources")
            conn.executemany(
                "INSERT INTO changes VALUES (?, ?, ?, ?)",
                [(t, change_instant(lu), i, v) for t, i, v, lu in rows.fetchall()],
            )

    def _conn(self) -> sqlite3.Connection:
        return self._db.get()

    def read(self, resource_type: str, id: str) -> StoredResource | None:
        row = (
            self._conn()
            .execute(
                "SELECT version, last_updated, body FROM resources"
                " WHERE resource_type = ? AND id = ? ORDER BY version DESC LIMIT 1",
                (resource_type, id),
            )
            .fetchone()
        )
        return None if row is None else StoredResource(resource_type, id, *row)

    def vread(self, resource_type: str, id: str, version: int) -> StoredResource | None:
        row = (
            self._conn()
            .execute(
                "SELECT version, last_updated, body FROM resources"
                " WHERE resource_type = ? AND id = ? AND version = ?",
                (resource_type, id, version),
            )
            .fetchone()
        )
        return None if row is None else StoredResource(resource_type, id, *row)

    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        rows = self._conn().execute(
            "SELECT version, last_updated, body FROM resources"
            " WHERE resource_type = ? AND id = ? ORDER BY version DESC",
            (resource_type, id),
        )
        return [StoredResource(resource_type, id, *row) for row in rows]

    def changes(
        self, resource_types: Sequence[str], since: str | None = None, until: str | None = None
    ) -> Iterator[Change]:
        """Pages by keyset (the last key seen), so a long walk holds no read transaction."""
        if not resource_types:
            return
        types = ", ".join("?" * len(resource_types))
        sql = (
            "SELECT changed_at, resource_type, id, version FROM changes"
            f" WHERE resource_type IN ({types}) AND changed_at >= ? AND changed_at <= ?"
            " AND (changed_at, resource_type, id, version) < (?, ?, ?, ?)"
            " ORDER BY changed_at DESC, resource_type DESC, id DESC, version DESC LIMIT ?"
        )
        low, high = since or "", until or "\uffff"
        after: tuple[str, str, str, int] = ("\uffff", "", "", 0)
        while True:
            args = (*resource_types, low, high, *after, CHANGES_PAGE_ROWS)
            rows = self._conn().execute(sql, args).fetchall()
            for row in rows:
                yield Change(*row)
            if len(rows) < CHANGES_PAGE_ROWS:
                return
            after = tuple(rows[-1])

    def lookup(self, index: str, key: str) -> list[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT resource_type, id FROM lookups WHERE idx = ? AND key = ?"
            " ORDER BY resource_type, id",
            (index, key),
        )
        return [(t, i) for t, i in rows]

    def checkpoint(self, processor: str, topic: str, partition: int) -> int | None:
        row = (
            self._conn()
            .execute(
                "SELECT next_offset FROM checkpoints WHERE processor = ? AND topic = ? AND partition = ?",
                (processor, topic, partition),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def apply_write(self, write: ViewWrite) -> None:
        with self._db.transaction() as conn:
            write.check(self.checkpoint, self._latest_versions)
            self._write(conn, write)

    def _latest_versions(self, refs: list[tuple[str, str]]) -> list[int]:
        """The latest stored version of each (resource_type, id), 0 for none; reads the
        version only: the body (up to MBs) is not needed."""
        sql = "SELECT MAX(version) FROM resources WHERE resource_type = ? AND id = ?"
        return [int(self._conn().execute(sql, ref).fetchone()[0] or 0) for ref in refs]

    @staticmethod
    def _write(conn: sqlite3.Connection, write: ViewWrite) -> None:
        # Rows in primary-key order: the B-tree inserts of a large batch (a rebuild's are
        # thousands of rows) then touch each page once, not at random (~2x less CPU).
        resources, cp = write.resources, write.checkpoint
        conn.executemany(
            "DELETE FROM lookups WHERE idx = ? AND key = ? AND resource_type = ? AND id = ?",
            [(e.index, e.key, e.resource_type, e.id) for e in write.unindex],
        )
        conn.executemany(
            "INSERT INTO resources VALUES (?, ?, ?, ?, ?)",
            sorted((r.resource_type, r.id, r.version, r.last_updated, r.body) for r in resources),
        )
        conn.executemany(
            "INSERT INTO changes VALUES (?, ?, ?, ?)",
            sorted(
                (r.resource_type, change_instant(r.last_updated), r.id, r.version)
                for r in resources
            ),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO lookups VALUES (?, ?, ?, ?)",
            sorted((e.index, e.key, e.resource_type, e.id) for e in write.index),
        )
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?)",
            (cp.processor, cp.topic, cp.partition, cp.next_offset),
        )

    def scan(self) -> Iterator[StoredResource]:
        rows = self._conn().execute(
            "SELECT resource_type, id, version, last_updated, body FROM resources"
            " ORDER BY resource_type, id, version"
        )
        for row in rows:
            yield StoredResource(*row)

    def truncate(self) -> None:
        with self._db.transaction() as conn:
            for table in VIEW_TABLES:
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        self._db.close()
