"""The in-process event-id index that gives the Kafka log idempotent appends (see
`eventlog.kafka.producer` for how it is kept up to date, and what part of the topic it
holds: from each partition's `floor` on, the horizon's records, until a key operation
deepens the partition to offset 0)."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field


@dataclass
class PartitionState:
    """Per partition: the append lock and which offsets the index holds."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    floor: int = 0  # the records at offsets [floor, indexed_to) are in the index
    indexed_to: int = 0


@dataclass
class IndexStats:
    """What building and keeping one topic's index cost, for logs and tests: records read
    at the first use (`load_records`, in `load_s` seconds), by later catch-ups, and by
    deepening partitions below the horizon for key operations."""

    load_records: int = 0
    load_s: float = 0.0
    catch_up_records: int = 0
    deepened_partitions: int = 0
    deepen_records: int = 0


@dataclass
class TopicIndex:
    """event_id -> (partition, offset) of the first append, for one topic."""

    partitions: list[PartitionState]
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # key -> its offsets, ascending (a key lives in one partition): a key's version is the
    # length, and what a writer at version n missed is offsets[n:].
    key_offsets: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards the two dicts
    load_lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: bool = False
    stats: IndexStats = field(default_factory=IndexStats)

    def find(self, event_id: str) -> tuple[int, int] | None:
        """Where the event id was first appended, if it was."""
        with self.lock:
            return self.positions.get(event_id)

    def key_version(self, key: str, up_to_offset: int | None = None) -> int:
        """The key's record count (all, or those at or below an offset)."""
        with self.lock:
            offsets = self.key_offsets.get(key, [])
            return (
                len(offsets) if up_to_offset is None else bisect.bisect_right(offsets, up_to_offset)
            )

    def offsets_of(self, key: str, start: int) -> list[int]:
        """Offsets of the key's records from its `start`-th on."""
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

    def advance(self, landed: list[tuple[int, int]]) -> None:
        """Move a partition's indexed position past our own records, but only when they
        directly follow it: a gap means another writer appended in between, and the next
        catch-up must read (and index) those records."""
        for partition, offset in sorted(landed):
            state = self.partitions[partition]
            if offset == state.indexed_to:
                state.indexed_to = offset + 1
