"""The unit tracker as the runner sees it."""

from __future__ import annotations

from avro_schemas.catalogue import INCIDENT, POSITION
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, one_document
from stream_processors.unit_tracker.unit import (
    FOLDS,
    RESOURCE_TYPE,
    UnitState,
    fold_unit,
    unit_state_id,
)
from viewstore.base import IndexEntry

STATION_INDEX = "UnitState.station"  # key: station id
REGION_INDEX = "UnitState.region"  # key: REGION_KEY; every unit ever seen
REGION_KEY = "all"


def _step(before: Json | None, event_name: str, event: Json) -> Json:
    # Every fact makes a version, even one that changes nothing (an older fix arriving
    # late): the version count is then the number of facts, whatever their arrival
    # order, so the current version is byte-identical after a rebuild.
    old = UnitState.from_json(before) if before is not None else None
    return fold_unit(old, event_name, event).to_json()


def _index(resource: Json) -> list[IndexEntry]:
    rid = resource["id"]
    entries = [IndexEntry(REGION_INDEX, REGION_KEY, RESOURCE_TYPE, rid)]
    if resource.get("station_id"):
        entries.append(IndexEntry(STATION_INDEX, resource["station_id"], RESOURCE_TYPE, rid))
    return entries


PROCESSOR = Processor(
    name="unit-tracker",
    topics=[POSITION, INCIDENT],
    folds=one_document(
        FOLDS, lambda event: (RESOURCE_TYPE, unit_state_id(event["unit_id"])), _step
    ),
    index=_index,
)
