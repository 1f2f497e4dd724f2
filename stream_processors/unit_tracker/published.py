"""What services may use of the unit tracker: the region index of every unit's latest state.

Services import from this module only, never from the processor's other modules
(tests/unit/test_architecture.py); what is not here is the processor's own business.
"""

from __future__ import annotations

from stream_processors.unit_tracker.processor import REGION_INDEX, REGION_KEY

__all__ = [
    "REGION_INDEX",
    "REGION_KEY",
]
