"""What services may use of the unit tracker: the region index of every unit's latest state."""

from __future__ import annotations

from stream_processors.unit_tracker.processor import REGION_INDEX, REGION_KEY

__all__ = [
    "REGION_INDEX",
    "REGION_KEY",
]
