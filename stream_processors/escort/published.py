"""What services may use of the escort processor: its lookups and item vocabulary."""

from __future__ import annotations

from stream_processors.escort.escort import ACKNOWLEDGED, CRITICAL_KINDS, ITEM, REQUESTED, item_id
from stream_processors.escort.processor import ALL_INDEX, ALL_KEY, PENDING_INDEX

__all__ = [
    "ACKNOWLEDGED",
    "ALL_INDEX",
    "ALL_KEY",
    "CRITICAL_KINDS",
    "ITEM",
    "PENDING_INDEX",
    "REQUESTED",
    "item_id",
]
