"""The view store port: versioned FHIR resources folded from the log, plus the processors'
checkpoints, written together so that a view never runs ahead of or behind its position.

Backends: embedded SQLite (`sqlite.py`) and Cassandra (`cassandra.py`);
`tests/contract/view_store_contract.py` is the executable contract.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kernel.time import instant


@dataclass(frozen=True)
class StoredResource:
    """One version of a resource. `body` is the canonical FHIR JSON (meta included), exactly
    the bytes served; it is derived from events only, so a rebuild reproduces it byte for byte."""

    resource_type: str
    id: str
    version: int
    last_updated: str
    body: bytes


@dataclass(frozen=True)
class Change:
    """One stored version as listed by `ViewStore.changes`: its key and `changed_at`, its
    lastUpdated in the fixed-width UTC form of `change_instant` (sorts as text)."""

    changed_at: str
    resource_type: str
    id: str
    version: int


def change_instant(last_updated: str) -> str:
    """A lastUpdated (any ISO 8601 offset) as fixed-width UTC with microseconds, the form
    `changes` compares and returns: `YYYY-MM-DDThh:mm:ss.ffffffZ`."""
    return instant(dt.datetime.fromisoformat(last_updated))


@dataclass(frozen=True)
class IndexEntry:
    """A secondary lookup, e.g. ("Patient.identifier", "urn:oid:...|110101...", "Patient", id)."""

    index: str
    key: str
    resource_type: str
    id: str


@dataclass(frozen=True)
class Checkpoint:
    """Where a processor is: the next offset to read in one topic partition."""

    processor: str
    topic: str
    partition: int
    next_offset: int


class PositionAlreadyApplied(RuntimeError):
    """`apply` was given a checkpoint not beyond the stored one: that position was folded."""


class VersionConflict(RuntimeError):
    """A new version does not follow the stored latest version of its resource."""


@dataclass(frozen=True)
class ViewWrite:
    """What one `ViewStore.apply` writes as one unit: new resource versions, lookups added
    and removed, and the position they bring their processor to."""

    resources: Sequence[StoredResource]
    index: Sequence[IndexEntry]
    checkpoint: Checkpoint
    unindex: Sequence[IndexEntry] = ()

    def refs(self) -> list[tuple[str, str]]:
        """The distinct (resource_type, id) written, in the order first written."""
        return list(dict.fromkeys((r.resource_type, r.id) for r in self.resources))

    def check(
        self,
        checkpoint_of: Callable[[str, str, int], int | None],
        latest_of: Callable[[list[tuple[str, str]]], list[int]],
    ) -> None:
        """Refuses a write that `apply`'s contract forbids, before anything is written:
        first the position (`checkpoint_of` is the store's `checkpoint`), then each version
        (`latest_of` gives the latest stored version of each of `refs()`, 0 for none)."""
        cp = self.checkpoint
        stored = checkpoint_of(cp.processor, cp.topic, cp.partition)
        if stored is not None and cp.next_offset <= stored:
            raise PositionAlreadyApplied(f"{cp} is not beyond stored next offset {stored}")
        refs = self.refs()
        latest = dict(zip(refs, latest_of(refs), strict=True))
        for r in self.resources:
            expected = latest[r.resource_type, r.id] + 1
            if r.version != expected:
                raise VersionConflict(
                    f"{r.resource_type}/{r.id}: got v{r.version}, next is v{expected}"
                )
            latest[r.resource_type, r.id] = r.version


class ViewStore(ABC):
    """Versioned resources, lookups and checkpoints."""

    @abstractmethod
    def read(self, resource_type: str, id: str) -> StoredResource | None:
        """Latest version (FHIR `read`)."""

    @abstractmethod
    def vread(self, resource_type: str, id: str, version: int) -> StoredResource | None:
        """One version (FHIR `vread`)."""

    @abstractmethod
    def history(self, resource_type: str, id: str) -> list[StoredResource]:
        """All versions, newest first (FHIR instance `_history`)."""

    @abstractmethod
    def changes(
        self, resource_types: Sequence[str], since: str | None = None, until: str | None = None
    ) -> Iterator[Change]:
        """Every stored version of the given types with `since <= changed_at <= until` (bounds
        in `change_instant` form; None leaves that side open), newest first: ordered by
        (changed_at, resource_type, id, version), all descending (FHIR type and system
        `_history`, bulk export). Lazy: a caller that stops early reads little more than
        what it took."""

    @abstractmethod
    def lookup(self, index: str, key: str) -> list[tuple[str, str]]:
        """(resource_type, id) pairs filed under `key` in `index`, sorted."""

    @abstractmethod
    def checkpoint(self, processor: str, topic: str, partition: int) -> int | None:
        """The processor's next offset to read, or None if it never applied anything."""

    def apply(
        self,
        resources: Sequence[StoredResource],
        index: Sequence[IndexEntry],
        checkpoint: Checkpoint,
        unindex: Sequence[IndexEntry] = (),
    ) -> None:
        """Write new resource versions, index entries and the checkpoint as one unit, and
        remove the `unindex` entries (e.g. a queue item leaving the open queue).

        Each resource must be version 1 of a new resource or latest+1 of an existing one,
        where "latest" counts earlier entries of the same call: one call may carry several
        consecutive versions of a resource, in order (`VersionConflict` otherwise). A
        checkpoint not beyond the stored one raises `PositionAlreadyApplied` and writes
        nothing: each position is folded once. (Backends implement `apply_write`.)
        """
        self.apply_write(ViewWrite(resources, index, checkpoint, unindex))

    @abstractmethod
    def apply_write(self, write: ViewWrite) -> None:
        """`apply`, its arguments taken as one value; refuses what `ViewWrite.check` refuses."""

    @abstractmethod
    def scan(self) -> Iterator[StoredResource]:
        """Every version of every resource, ordered by (type, id, version): a view's dump."""

    @abstractmethod
    def truncate(self) -> None:
        """Drop all views, lookups, the change list and checkpoints (before a rebuild from
        offset zero)."""

    @abstractmethod
    def close(self) -> None: ...
