"""What each hospital can take now (HAvBED / EDXL-HAVE): free beds by category, free surgical
teams, cath lab open, ED status. Folded from `command.capacity` (key hospital_id): each
report replaces the previous one, so the document is the latest report.

**A report says what is free when it is made**, casualties already received included.
Assignments made after it use it up (`remaining`); a new report starts again from what the
hospital says. So a hospital that re-reports after taking patients is not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant

CAPACITY = "HospitalCapacity"
ED_CLOSED = "closed"


def capacity_id(hospital_id: str) -> str:
    return resource_id(CAPACITY, hospital_id)


def fold_capacity(before: Json | None, event_name: str, e: Json) -> Json:
    """The latest report (an older report arriving late changes nothing)."""
    at = instant(e["meta"]["occurred_at"])
    if before is not None and before["reported_at"] > at:
        return before
    return {
        "resourceType": CAPACITY,
        "id": capacity_id(e["hospital_id"]),
        "hospital_id": e["hospital_id"],
        "beds": {b["category"]: b["available"] for b in e["beds"]},
        "surgical_teams": e["surgical_teams"],
        "cath_lab_open": e["cath_lab_open"],
        "ed_status": e["ed_status"],
        "reported_by": e["reported_by"],
        "reported_at": at,
        "recorded_at": instant(e["meta"]["recorded_at"]),
    }


def category_of(casualty: Json) -> str:
    """The bed category a casualty needs: its own (burn, pediatric) or its tag's colour."""
    return str(casualty.get("category") or casualty.get("tag", "")).lower()


def assigned_since(capacity: Json, mcis: Iterable[Json]) -> dict[str, int]:
    """Casualties of active MCIs assigned to the hospital after its report, by category."""
    out: dict[str, int] = {}
    for mci in mcis:
        if mci.get("status") != "active":
            continue
        for casualty in mci["casualties"].values():
            if casualty.get("hospital_id") != capacity["hospital_id"]:
                continue
            if casualty.get("assigned_at", "") <= capacity["recorded_at"]:
                continue
            cat = category_of(casualty)
            out[cat] = out.get(cat, 0) + 1
    return out


def remaining(capacity: Json, mcis: Iterable[Json]) -> dict[str, int]:
    """Free beds by category after the assignments made since the report (may go negative:
    an over-assignment by hand is shown, not hidden)."""
    used = assigned_since(capacity, mcis)
    return {c: n - used.get(c, 0) for c, n in capacity["beds"].items()} | {
        c: -n for c, n in used.items() if c not in capacity["beds"]
    }
