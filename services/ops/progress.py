"""Is every processor making progress? Lag alone cannot tell a busy processor from a stuck
one; a processor is *stalled* when it is behind the log and its checkpoints (stored with its
views, so any process sees them) have not moved for `STALL_S`.

`/readyz` answers 503 naming stalled processors and `/metrics` exports how long each has been
stalled beside its lag. The clock starts at the first probe that sees a processor behind
without progress, so a stall shows within `STALL_S` plus one probe interval.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from services.system import System
from stream_processors.topology import projections

# Longer than a consumer needs to rejoin its group after losing it (eventlog/kafka/consumer.py:
# 20 s of silence) plus a rebalance: a processor still behind after this is not catching up.
STALL_S = 60.0


@dataclass(frozen=True)
class Progress:
    """One processor's position: records behind the log's end, and the sum of its
    checkpoints (moves whenever it folds anything)."""

    behind: int
    folded_to: int


def progress(system: System) -> dict[tuple[str, str], Progress]:
    """(processor, topic) -> its progress on that topic, from the log and the view store."""
    log, store, settings = system.log, system.store, system.settings
    out: dict[tuple[str, str], Progress] = {}
    ends: dict[str, dict[int, int]] = {}
    for projection in projections(settings.reading_centre_id, settings.region_id):
        for topic in projection.topics:
            if topic not in ends:
                ends[topic] = {tp.partition: e for tp, e in log.end_offsets(topic).items()}
            checkpoints = {p: store.checkpoint(projection.name, topic, p) or 0 for p in ends[topic]}
            out[(projection.name, topic)] = Progress(
                sum(ends[topic][p] - c for p, c in checkpoints.items()), sum(checkpoints.values())
            )
    return out


class StallWatch:
    """Remembers, per processor, since when it has been behind without its checkpoints
    moving (between probes of one process)."""

    def __init__(self) -> None:
        self._since: dict[str, tuple[int, float]] = {}  # processor -> (folded_to, since)

    def stalled_for(self, processor: str, behind: int, folded_to: int, now: float) -> float:
        """Seconds the processor has been behind with no progress (0 if it is not)."""
        seen = self._since.get(processor)
        if behind <= 0:
            self._since.pop(processor, None)
            return 0.0
        if seen is None or seen[0] != folded_to:
            self._since[processor] = (folded_to, now)
            return 0.0
        return now - seen[1]

    def observe(self, system: System) -> dict[str, tuple[int, float]]:
        """processor -> (records behind, seconds stalled), for every processor."""
        totals: dict[str, Progress] = {}
        for (name, _), p in progress(system).items():
            t = totals.get(name, Progress(0, 0))
            totals[name] = Progress(t.behind + p.behind, t.folded_to + p.folded_to)
        now = time.monotonic()
        return {
            name: (p.behind, self.stalled_for(name, p.behind, p.folded_to, now))
            for name, p in totals.items()
        }


# id(system) -> (a weak reference to it, its watch): System is an unhashable dataclass.
_watches: dict[int, tuple[weakref.ref[System], StallWatch]] = {}


def watch(system: System) -> StallWatch:
    """The stall watch of one running system (several run side by side in tests)."""
    key = id(system)
    known = _watches.get(key)
    if known is None or known[0]() is not system:
        known = (weakref.ref(system, lambda _: _watches.pop(key, None)), StallWatch())
        _watches[key] = known
    return known[1]


def stalled(system: System) -> str:
    """ "ok", or which processors are stalled and how far behind."""
    bad = [
        f"{name} {behind} behind, no progress for {secs:.0f} s"
        for name, (behind, secs) in sorted(watch(system).observe(system).items())
        if secs >= STALL_S
    ]
    return "ok" if not bad else "stalled: " + "; ".join(bad)
