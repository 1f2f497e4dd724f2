"""The unit tracker as the runner sees it."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import INCIDENT, POSITION
from stream_processors.unit_tracker.unit import (
    FOLDS,
    RESOURCE_TYPE,
    UnitState,
    fold_unit,
    unit_state_id,
)
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
STATION_INDEX = "UnitState.station"  # key: station id
REGION_INDEX = "UnitState.region"  # key: REGION_KEY; every unit ever seen
REGION_KEY = "all"


class UnitTrackerProjection:
    name = "unit-tracker"
    topics = [POSITION, INCIDENT]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name not in FOLDS:
            return []
        return [(RESOURCE_TYPE, unit_state_id(event["unit_id"]))]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        refs = self.refs(event_name, event)
        if not refs:
            return {}
        (ref,) = refs
        before = UnitState.from_json(state[ref]) if ref in state else None
        # Every fact makes a version, even one that changes nothing (an older fix arriving
        # late): the version count is then the number of facts, whatever their arrival
        # order, so the current version is byte-identical after a rebuild.
        return {ref: fold_unit(before, event_name, event).to_json()}

    def index(self, resource: Json) -> list[IndexEntry]:
        rid = resource["id"]
        entries = [IndexEntry(REGION_INDEX, REGION_KEY, RESOURCE_TYPE, rid)]
        if resource.get("station_id"):
            entries.append(IndexEntry(STATION_INDEX, resource["station_id"], RESOURCE_TYPE, rid))
        return entries
