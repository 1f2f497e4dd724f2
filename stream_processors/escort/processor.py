"""The escort processor as the runner sees it: `ems.incident` (EscortWatch; emits
EscortRequested to `command.escort`) and `command.escort` (EscortItem; lookups
`EscortItem.all` and `EscortItem.pending`, what the sender still has to deliver)."""

from __future__ import annotations

from avro_schemas.catalogue import ESCORT, INCIDENT
from avro_schemas.events import ESCORT_REQUESTED
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, State, one_document
from stream_processors.escort.escort import (
    ITEM,
    ITEM_EVENTS,
    REQUESTED,
    WATCH,
    WATCH_EVENTS,
    fold_item,
    fold_watch,
    item_id,
    requests,
    watch_id,
)
from stream_processors.runner import Emitted
from viewstore.base import IndexEntry

ALL_KEY = "all"
ALL_INDEX = "EscortItem.all"
PENDING_INDEX = "EscortItem.pending"  # key ALL_KEY: requested, not yet acknowledged


def _watch(before: Json | None, name: str, e: Json) -> Json | None:
    after = fold_watch(before, name, e)
    return None if after == before else after


def _emit(state: State, name: str, e: Json) -> list[Emitted]:
    if name in ITEM_EVENTS or "incident_id" not in e:
        return []
    before = state.get((WATCH, watch_id(e["incident_id"])))
    return [Emitted(ESCORT, r["unit_id"], ESCORT_REQUESTED, r) for r in requests(before, name, e)]


def _index(resource: Json) -> list[IndexEntry]:
    if resource["resourceType"] != ITEM:
        return []
    out = [IndexEntry(ALL_INDEX, ALL_KEY, ITEM, resource["id"])]
    if resource["status"] == REQUESTED:
        out.append(IndexEntry(PENDING_INDEX, ALL_KEY, ITEM, resource["id"]))
    return out


def _item_ref(e: Json) -> tuple[str, str]:
    return ITEM, item_id(e["escort_id"])


PROCESSOR = Processor(
    name="escort",
    topics=[INCIDENT, ESCORT],
    folds={
        **one_document(WATCH_EVENTS, lambda e: (WATCH, watch_id(e["incident_id"])), _watch),
        **one_document(ITEM_EVENTS, _item_ref, fold_item),
    },
    index=_index,
    emit=_emit,
)
