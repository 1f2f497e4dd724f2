"""One MCI's command-centre summary, folded from its stream on `command.mci` (key mci_id,
so every event of an MCI is folded in log order): the declaration, each casualty's current
tag with its whole tag history (a re-triage appends, never overwrites), its destination.

The summary holds no names, ages or notes (those are in the casualty's FHIR resources,
visible to its station and destination only): the command centre sees tags and destinations.
"""

from __future__ import annotations

from typing import Any

from avro_schemas.events import CASUALTY_ASSIGNED, CASUALTY_TRIAGED, MCI_CLOSED, MCI_DECLARED
from kernel.ids import resource_id
from kernel.jsontypes import Json, pick
from kernel.time import instant

STATE = "MciState"
RECORD = "MciCasualty"  # one casualty: the record its grants are written from
ACTIVE, CLOSED = "active", "closed"
COLOURS = ("RED", "YELLOW", "GREEN", "BLACK")  # the national tag colours, in priority order


def mci_state_id(mci_id: str) -> str:
    return resource_id(STATE, mci_id)


def casualty_record_id(mci_id: str, casualty_id: str) -> str:
    return resource_id(RECORD, mci_id, casualty_id)


def _at(value: Any) -> str:
    return value if isinstance(value, str) else instant(value)


def empty_state(mci_id: str) -> Json:
    return {
        "resourceType": STATE,
        "id": mci_state_id(mci_id),
        "mci_id": mci_id,
        "status": ACTIVE,
        "casualties": {},
    }


def _declared(s: Json, e: Json) -> Json:
    return {
        **s,
        "kind": e["kind"],
        "title": e["title"],
        "scene": e["scene"],
        "estimated_casualties": e["estimated_casualties"],
        "station_ids": list(e["station_ids"]),
        "declared_by": e["declared_by"],
        "declared_at": _at(e["meta"]["occurred_at"]),
    }


def _closed(s: Json, e: Json) -> Json:
    return {**s, "status": CLOSED, "closed_at": _at(e["meta"]["occurred_at"])}


def _triaged(s: Json, e: Json) -> Json:
    before = s["casualties"].get(e["casualty_id"], {})
    step = {
        **pick(e, "tag", "method", "station_id"),
        "at": _at(e["meta"]["occurred_at"]),
        "by": e["triaged_by"],
    }
    casualty = {
        **before,
        "tag": e["tag"],
        "category": e.get("category") or "",
        "station_id": before.get("station_id") or e["station_id"],
        "unit_id": e.get("unit_id") or before.get("unit_id") or "",
        "history": [*before.get("history", []), step],
    }
    return {**s, "casualties": {**s["casualties"], e["casualty_id"]: casualty}}


def _assigned(s: Json, e: Json) -> Json:
    before = s["casualties"].get(e["casualty_id"], {"history": []})
    casualty = {
        **before,
        "hospital_id": e["hospital_id"],
        "unit_id": e.get("unit_id") or before.get("unit_id") or "",
        "travel_min": e.get("travel_min"),
        "planned": e["planned"],
        "assigned_at": _at(e["meta"]["recorded_at"]),
    }
    return {**s, "casualties": {**s["casualties"], e["casualty_id"]: casualty}}


FOLDS = {
    MCI_DECLARED: _declared,
    MCI_CLOSED: _closed,
    CASUALTY_TRIAGED: _triaged,
    CASUALTY_ASSIGNED: _assigned,
}


def fold_state(before: Json | None, event_name: str, event: Json) -> Json:
    """The MCI's summary after `event`."""
    return FOLDS[event_name](before or empty_state(event["mci_id"]), event)


def triage_counts(state: Json) -> dict[str, int]:
    """Casualties by current tag colour (every colour present, 0 when none)."""
    counts = dict.fromkeys(COLOURS, 0)
    for casualty in state["casualties"].values():
        if casualty.get("tag") in counts:
            counts[casualty["tag"]] += 1
    return counts


def by_destination(state: Json) -> dict[str, int]:
    """Casualties assigned to each hospital."""
    out: dict[str, int] = {}
    for casualty in state["casualties"].values():
        if casualty.get("hospital_id"):
            out[casualty["hospital_id"]] = out.get(casualty["hospital_id"], 0) + 1
    return dict(sorted(out.items()))


def casualty_record(state: Json, mci_id: str, casualty_id: str) -> Json:
    """The casualty's own record: who takes part (station, destination) and its tag
    history; its grants open the casualty's FHIR resources to exactly those parties."""
    casualty = state["casualties"][casualty_id]
    return {
        "resourceType": RECORD,
        "id": casualty_record_id(mci_id, casualty_id),
        "mci_id": mci_id,
        "casualty_id": casualty_id,
        "station_id": casualty.get("station_id", ""),
        "hospital_id": casualty.get("hospital_id", ""),
        "tag": casualty.get("tag", ""),
        "history": casualty.get("history", []),
    }
