"""When to ask for an escort, and each escort's life, as pure folds.

An incident's `EscortWatch` (folded from `ems.incident`) remembers the pre-alert and the
units that left the scene. As soon as both are there (a time-critical pre-alert: STEMI,
stroke, trauma, cardiac arrest; and LEFT_SCENE), in whichever order they came, the
processor emits one `EscortRequested` per unit. Its event id and escort id derive from the
incident and the unit, so a replay or a rebuild appends nothing new.

An `EscortItem` (folded from `command.escort`, key unit_id: one unit's escorts in order)
is the escort as the sender and the command page see it: requested -> acknowledged (the
traffic platform's 202 and ack id) -> planned / active / completed / cancelled (its
callbacks).
"""

from __future__ import annotations

import uuid
from typing import Any

from avro_schemas.events import (
    ESCORT_ACKNOWLEDGED,
    ESCORT_REQUESTED,
    ESCORT_ROUTE_UPDATED,
    INCIDENT_OPENED,
    PRE_ALERT_RAISED,
    UNIT_STATUS_CHANGED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant, parse_instant

WATCH = "EscortWatch"
ITEM = "EscortItem"
CRITICAL_KINDS = frozenset({"STEMI", "STROKE", "TRAUMA", "CARDIAC_ARREST"})
LEFT_SCENE = "LEFT_SCENE"
REQUESTED, ACKNOWLEDGED = "requested", "acknowledged"
NAMESPACE = uuid.UUID("9a3e1f7c-6d2b-5c84-a1e0-3f5b7d9c2e61")


def watch_id(incident_id: str) -> str:
    return resource_id(WATCH, incident_id)


def escort_id(incident_id: str, unit_id: str) -> str:
    """One escort per unit and incident."""
    return str(uuid.uuid5(NAMESPACE, f"{incident_id}/{unit_id}"))


def item_id(escort_id_: str) -> str:
    return resource_id(ITEM, escort_id_)


def _at(value: Any) -> str | None:
    """An event's time as an instant (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return instant(value)


# --- the incident's watch ---------------------------------------------------------------------


def fold_watch(before: Json | None, name: str, e: Json) -> Json:
    w = before or {
        "resourceType": WATCH,
        "id": watch_id(e["incident_id"]),
        "incident_id": e["incident_id"],
        "scene": None,
        "prealert": None,
        "left": {},
    }
    if name == INCIDENT_OPENED:
        return {**w, "scene": e.get("scene")}
    if name == PRE_ALERT_RAISED:
        alert = {"kind": e["kind"], "destination_id": e["destination_id"], "eta": _at(e.get("eta"))}
        return {**w, "prealert": alert}
    if name == UNIT_STATUS_CHANGED and e["status"] == LEFT_SCENE:
        origin = e.get("position") or w.get("scene") or {}
        left = {**w["left"], e["unit_id"]: {"origin": origin, "at": _at(e["meta"]["occurred_at"])}}
        return {**w, "left": left}
    return w


def requests(before: Json | None, name: str, e: Json) -> list[Json]:
    """The EscortRequested events this incident event makes due (none when the pre-alert is
    not time-critical or no unit left the scene yet)."""
    if name == UNIT_STATUS_CHANGED and e["status"] == LEFT_SCENE:
        units = [e["unit_id"]]  # this unit, if the pre-alert came first
    elif name == PRE_ALERT_RAISED:
        units = None  # every unit that already left
    else:
        return []
    w = fold_watch(before, name, e)
    alert = w["prealert"]
    if not alert or alert["kind"] not in CRITICAL_KINDS:
        return []
    left = sorted((u, d) for u, d in w["left"].items() if units is None or u in units)
    return [_request(w, unit_id, departed, e) for unit_id, departed in left]


def _request(w: Json, unit_id: str, left: Json, source: Json) -> Json:
    alert = w["prealert"]
    eid = escort_id(w["incident_id"], unit_id)
    origin = {k: left["origin"].get(k) for k in ("latitude", "longitude", "address")}
    return {
        "meta": {**source["meta"], "event_id": eid},
        "escort_id": eid,
        "unit_id": unit_id,
        "incident_id": w["incident_id"],
        "origin": origin,
        "destination_id": alert["destination_id"],
        "destination": None,
        "route": [origin],
        "eta": parse_instant(alert["eta"]) if alert["eta"] else None,
        "priority": "critical",
        "reason": alert["kind"],
    }


# --- each escort --------------------------------------------------------------------------------


def fold_item(before: Json | None, name: str, e: Json) -> Json | None:
    if name == ESCORT_REQUESTED:
        if before is not None:
            return None
        return {
            "resourceType": ITEM,
            "id": item_id(e["escort_id"]),
            "escort_id": e["escort_id"],
            "unit_id": e["unit_id"],
            "incident_id": e["incident_id"],
            "origin": e["origin"],
            "destination_id": e["destination_id"],
            "destination": e.get("destination"),
            "route": e["route"],
            "eta": _at(e.get("eta")),
            "priority": e["priority"],
            "reason": e["reason"],
            "requested_at": _at(e["meta"]["recorded_at"]),
            "status": REQUESTED,
            "ack_id": "",
            "attempts": 0,
            "updates": [],
        }
    if before is None:
        return None
    if name == ESCORT_ACKNOWLEDGED:
        if before["ack_id"]:
            return None
        return {
            **before,
            "status": ACKNOWLEDGED,
            "ack_id": e["ack_id"],
            "attempts": e["attempts"],
            "acknowledged_at": _at(e["meta"]["recorded_at"]),
        }
    update = {
        "status": e["status"],
        "eta": _at(e.get("eta")),
        "note": e.get("note"),
        "signals_cleared": e.get("signals_cleared"),
        "at": _at(e["meta"]["recorded_at"]),
    }
    route = e.get("route") or before["route"]
    return {
        **before,
        "status": e["status"],
        "eta": update["eta"] or before["eta"],
        "route": route,
        "updates": [*before["updates"], update],
    }


ITEM_EVENTS = (ESCORT_REQUESTED, ESCORT_ACKNOWLEDGED, ESCORT_ROUTE_UPDATED)
WATCH_EVENTS = (INCIDENT_OPENED, PRE_ALERT_RAISED, UNIT_STATUS_CHANGED)
