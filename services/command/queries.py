"""What the command centre reads: pure functions over the views (the processors' published
lookups) and the registry. No writes, no clock."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable

from kernel.jsontypes import Json
from services.system import System
from stream_processors.escort.published import ALL_INDEX as ESCORT_INDEX
from stream_processors.escort.published import ALL_KEY as ESCORT_KEY
from stream_processors.mci.published import (
    ACTIVE,
    ALL_KEY,
    CAPACITY_INDEX,
    MCI_INDEX,
    Hospital,
    Plan,
    by_destination,
    plan,
    remaining,
    travel_minutes,
    triage_counts,
)
from stream_processors.registry.published import organization
from stream_processors.surveillance.published import ALERT_INDEX
from stream_processors.surveillance.published import ALL_KEY as ALERT_KEY


def _docs(system: System, index: str, key: str) -> list[Json]:
    out = []
    for rtype, rid in system.store.lookup(index, key):
        stored = system.store.read(rtype, rid)
        if stored is not None:
            out.append(json.loads(stored.body))
    return out


def mcis(system: System) -> list[Json]:
    """Every MCI's summary, active first, then newest declared first."""
    found = [m for m in _docs(system, MCI_INDEX, ALL_KEY) if m.get("declared_at")]
    found.sort(key=lambda m: m["declared_at"], reverse=True)
    return sorted(found, key=lambda m: m["status"] != ACTIVE)


def mci(system: System, mci_id: str) -> Json | None:
    return next((m for m in mcis(system) if m["mci_id"] == mci_id), None)


def mci_json(state: Json, detail: bool = False) -> Json:
    """An MCI as `GET /command/incidents` shows it."""
    out = {
        "id": state["mci_id"],
        "title": state.get("title"),
        "kind": state.get("kind"),
        "scene": state.get("scene"),
        "status": state["status"],
        "declared_at": state.get("declared_at"),
        "estimated_casualties": state.get("estimated_casualties"),
        "station_ids": state.get("station_ids", []),
        "registered": len(state["casualties"]),
        "triage": triage_counts(state),
        "by_destination": by_destination(state),
        "unassigned": sorted(
            cid
            for cid, c in state["casualties"].items()
            if c.get("tag") in ("RED", "YELLOW", "GREEN") and not c.get("hospital_id")
        ),
    }
    if detail:
        out["casualties"] = [
            {"casualty_id": cid, **c} for cid, c in sorted(state["casualties"].items())
        ]
    return out


def capacities(system: System) -> list[Json]:
    return sorted(_docs(system, CAPACITY_INDEX, ALL_KEY), key=lambda c: c["hospital_id"])


def capacity_json(system: System, all_mcis: Iterable[Json] | None = None) -> list[Json]:
    """Each reporting hospital: what it reported, what was assigned since, what remains."""
    active = list(all_mcis if all_mcis is not None else mcis(system))
    out = []
    for cap in capacities(system):
        left = remaining(cap, active)
        out.append(
            {
                "hospital_id": cap["hospital_id"],
                "name": _name(system, cap["hospital_id"]),
                "beds": cap["beds"],
                "remaining": left,
                "assigned": {c: cap["beds"].get(c, 0) - n for c, n in left.items()},
                "surgical_teams": cap["surgical_teams"],
                "cath_lab_open": cap["cath_lab_open"],
                "ed_status": cap["ed_status"],
                "reported_at": cap["reported_at"],
                "location": _site(system, cap["hospital_id"]),
            }
        )
    return out


def _name(system: System, party_id: str) -> str:
    found = organization(system.store, party_id)
    return found.display_name() if found else party_id


def _site(system: System, org_id: str) -> Json | None:
    found = organization(system.store, org_id)
    return found.details.get("location") if found else None


def proposal(system: System, state: Json) -> Plan:
    """The distribution plan for the MCI's unassigned casualties, within remaining beds."""
    all_mcis = mcis(system)
    hospitals = [
        Hospital(
            c["hospital_id"],
            copy.deepcopy(c["remaining"]),
            c["surgical_teams"],
            c["ed_status"],
            travel_minutes(state.get("scene"), c["location"]),
        )
        for c in capacity_json(system, all_mcis)
    ]
    return plan(state, hospitals)


def expected(system: System, hospital_id: str) -> list[Json]:
    """Casualties of active MCIs on their way to (assigned to) a hospital."""
    out = []
    for state in mcis(system):
        if state["status"] != ACTIVE:
            continue
        for cid, c in sorted(state["casualties"].items()):
            if c.get("hospital_id") == hospital_id:
                out.append(
                    {
                        "mci_id": state["mci_id"],
                        "title": state.get("title"),
                        "casualty_id": cid,
                        "tag": c.get("tag"),
                        "category": c.get("category"),
                        "unit_id": c.get("unit_id"),
                        "travel_min": c.get("travel_min"),
                        "assigned_at": c.get("assigned_at"),
                    }
                )
    return out


def escorts(system: System) -> list[Json]:
    """Every escort, newest request first."""
    found = _docs(system, ESCORT_INDEX, ESCORT_KEY)
    return [_public(e) for e in sorted(found, key=lambda e: e["requested_at"], reverse=True)]


def escort(system: System, escort_id: str) -> Json | None:
    return next((e for e in escorts(system) if e["escort_id"] == escort_id), None)


def alerts(system: System) -> list[Json]:
    """Surveillance alerts: unacknowledged first, then newest day first."""
    found = [_public(a) for a in _docs(system, ALERT_INDEX, ALERT_KEY)]
    found.sort(key=lambda a: (a["day"], a["raised_at"]), reverse=True)
    return sorted(found, key=lambda a: bool(a["acknowledged_by"]))


def _public(doc: Json) -> Json:
    return {k: v for k, v in doc.items() if k not in ("resourceType", "id", "meta")}
