"""The hospital board as the runner sees it."""

from __future__ import annotations

from avro_schemas.catalogue import INCIDENT
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, one_document
from stream_processors.hospital_board.incoming import (
    FOLDS,
    RESOURCE_TYPE,
    IncomingAmbulance,
    fold_incoming,
    incoming_id,
)
from viewstore.base import IndexEntry

# key: destination hospital id; incidents on that hospital's board (pre-alerted or handed
# over to it, unit not yet back in service). The runner diffs entries between versions, so
# a changed destination or a cleared incident leaves the old hospital's list.
BOARD_INDEX = "IncomingAmbulance.destination"


def _step(before: Json | None, event_name: str, event: Json) -> Json | None:
    old = IncomingAmbulance.from_json(before) if before is not None else None
    new = fold_incoming(old, event_name, event)
    return None if new == old else new.to_json()


def _index(resource: Json) -> list[IndexEntry]:
    incoming = IncomingAmbulance.from_json(resource)
    if not incoming.listed:
        return []
    return [IndexEntry(BOARD_INDEX, incoming.destination_id, RESOURCE_TYPE, resource["id"])]


PROCESSOR = Processor(
    name="hospital-board",
    topics=[INCIDENT],
    folds=one_document(
        FOLDS, lambda event: (RESOURCE_TYPE, incoming_id(event["incident_id"])), _step
    ),
    index=_index,
)
