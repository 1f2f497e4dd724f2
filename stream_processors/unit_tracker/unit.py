"""A unit's real-time state, folded from two topics: GPS fixes on `ems.position` (key
unit_id, high rate) and the incident timeline on `ems.incident` (key incident_id).

The two topics interleave in arrival order, which a rebuild does not reproduce. So every
fact is merged by its own time (`occurred_at`, then event id to break ties): the newest
status wins, the newest fix wins, the newest station wins, whatever order they arrive in.
An older fact arriving late changes nothing (but still counts as a version, see the
processor), so the current version is byte-identical after a rebuild; only the sequence
of intermediate versions follows arrival order (as for a Patient seen in many ECGs).

A fix is the hot path (a unit every few seconds): one comparison and one small resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from avro_schemas.events import INCIDENT_OPENED, UNIT_POSITION_REPORTED, UNIT_STATUS_CHANGED
from kernel.codes import BACK_IN_SERVICE
from kernel.ids import resource_id
from kernel.jsontypes import Json, state_document, state_fields
from kernel.time import instant

RESOURCE_TYPE = "UnitState"


def unit_state_id(unit_id: str) -> str:
    return resource_id(RESOURCE_TYPE, unit_id)


@dataclass(frozen=True)
class UnitState:
    unit_id: str
    station_id: str = ""
    station_at: str = ""  # time of the fact that named the station
    status: str = ""
    status_at: str = ""
    status_event: str = ""  # event id of the status (tie-break)
    status_incident: str = ""  # incident of the latest status ("" once back in service)
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    speed_kmh: float | None = None
    heading_deg: float | None = None
    position_at: str = ""
    position_event: str = ""
    position_incident: str = ""  # incident the latest fix said the unit works on

    @property
    def incident_id(self) -> str:
        """The current incident, by the newer of the latest status and the latest fix."""
        if self.position_at > self.status_at:
            return self.position_incident
        return self.status_incident

    def to_json(self) -> Json:
        rid = unit_state_id(self.unit_id)
        return state_document(RESOURCE_TYPE, rid, self, incident_id=self.incident_id)

    @staticmethod
    def from_json(doc: Json) -> UnitState:
        return UnitState(**state_fields(doc, "incident_id"))


def _stamp(e: Json) -> tuple[str, str]:
    return instant(e["meta"]["occurred_at"]), e["meta"]["event_id"]


def _station(s: UnitState, station_id: str, at: str) -> UnitState:
    if not station_id or (at, station_id) <= (s.station_at, s.station_id):
        return s
    return replace(s, station_id=station_id, station_at=at)


def _position(
    s: UnitState,
    location: Json | None,
    stamp: tuple[str, str],
    **fields: Any,
) -> UnitState:
    if not location or location.get("latitude") is None or location.get("longitude") is None:
        return s
    if stamp <= (s.position_at, s.position_event):
        return s  # an older (or the same) fix: the newer one stays
    return replace(
        s,
        latitude=location["latitude"],
        longitude=location["longitude"],
        address=location.get("address") or "",
        position_at=stamp[0],
        position_event=stamp[1],
        **fields,
    )


def _fix(s: UnitState, e: Json) -> UnitState:
    stamp = _stamp(e)
    s = _station(s, e["station_id"], stamp[0])
    return _position(
        s,
        e["position"],
        stamp,
        speed_kmh=e.get("speed_kmh"),
        heading_deg=e.get("heading_deg"),
        position_incident=e.get("incident_id") or "",
    )


def _status(s: UnitState, e: Json) -> UnitState:
    stamp = _stamp(e)
    incident = "" if e["status"] == BACK_IN_SERVICE else e["incident_id"]
    # A status fix carries no speed or heading: the last known ones would be stale, so clear.
    # Its incident is the fix's, as a GPS fix's is: the newest fix then sets every position
    # field, whatever order the two topics arrive in.
    s = _position(
        s, e.get("position"), stamp, speed_kmh=None, heading_deg=None, position_incident=incident
    )
    if stamp <= (s.status_at, s.status_event):
        return s
    return replace(
        s,
        status=e["status"],
        status_at=stamp[0],
        status_event=stamp[1],
        status_incident=incident,
    )


def _opened(s: UnitState, e: Json) -> UnitState:
    """The dispatcher assigned the unit: its station, and its incident until a status says
    otherwise (the assignment counts as a DISPATCHED status at the opening time)."""
    stamp = _stamp(e)
    s = _station(s, e["station_id"], stamp[0])
    if stamp <= (s.status_at, s.status_event):
        return s
    return replace(
        s,
        status="DISPATCHED",
        status_at=stamp[0],
        status_event=stamp[1],
        status_incident=e["incident_id"],
    )


FOLDS: dict[str, Callable[[UnitState, Json], UnitState]] = {
    UNIT_POSITION_REPORTED: _fix,
    UNIT_STATUS_CHANGED: _status,
    INCIDENT_OPENED: _opened,
}


def fold_unit(state: UnitState | None, event_name: str, event: Json) -> UnitState:
    return FOLDS[event_name](state or UnitState(event["unit_id"]), event)
