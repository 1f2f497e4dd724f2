"""The hospital board as the runner sees it."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import INCIDENT
from stream_processors.hospital_board.incoming import (
    FOLDS,
    RESOURCE_TYPE,
    IncomingAmbulance,
    fold_incoming,
    incoming_id,
)
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
# key: destination hospital id; incidents on that hospital's board (pre-alerted or handed
# over to it, unit not yet back in service). The runner diffs entries between versions, so
# a changed destination or a cleared incident leaves the old hospital's list.
BOARD_INDEX = "IncomingAmbulance.destination"


class HospitalBoardProjection:
    name = "hospital-board"
    topics = [INCIDENT]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name not in FOLDS:
            return []
        return [(RESOURCE_TYPE, incoming_id(event["incident_id"]))]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        refs = self.refs(event_name, event)
        if not refs:
            return {}
        (ref,) = refs
        before = IncomingAmbulance.from_json(state[ref]) if ref in state else None
        after = fold_incoming(before, event_name, event)
        return {} if after == before else {ref: after.to_json()}

    def index(self, resource: Json) -> list[IndexEntry]:
        incoming = IncomingAmbulance.from_json(resource)
        if not incoming.listed:
            return []
        return [IndexEntry(BOARD_INDEX, incoming.destination_id, RESOURCE_TYPE, resource["id"])]
