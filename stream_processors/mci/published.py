"""What services may use of the MCI processor: its lookups, the summaries' reading
functions, and the pure distribution plan (services import this module only)."""

from __future__ import annotations

from stream_processors.mci.capacity import CAPACITY, ED_CLOSED, category_of, remaining
from stream_processors.mci.casualty import (
    ACTIVE,
    CLOSED,
    COLOURS,
    STATE,
    by_destination,
    fold_state,
    mci_state_id,
    triage_counts,
)
from stream_processors.mci.distribution import Hospital, Plan, plan, travel_minutes
from stream_processors.mci.processor import ALL_KEY, CAPACITY_INDEX, EXPECTED_INDEX, MCI_INDEX
from stream_processors.mci.to_fhir import TAGS, encounter_id, flag_id, patient_id

__all__ = [
    "ACTIVE",
    "ALL_KEY",
    "CAPACITY",
    "CAPACITY_INDEX",
    "CLOSED",
    "COLOURS",
    "ED_CLOSED",
    "EXPECTED_INDEX",
    "MCI_INDEX",
    "STATE",
    "TAGS",
    "Hospital",
    "Plan",
    "by_destination",
    "category_of",
    "encounter_id",
    "flag_id",
    "fold_state",
    "mci_state_id",
    "patient_id",
    "plan",
    "remaining",
    "travel_minutes",
    "triage_counts",
]
