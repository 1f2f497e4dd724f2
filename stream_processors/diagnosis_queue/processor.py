"""The queue projection as the runner sees it."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import READING
from stream_processors.diagnosis_queue.fold import FOLDS, fold_item
from stream_processors.diagnosis_queue.item import QueueItem, queue_item_id, task_id
from stream_processors.diagnosis_queue.task_to_fhir import to_task
from stream_processors.fhir_projector.fold import index_entries
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
OPEN_INDEX = "QueueItem.open"  # key: reading centre id; only items not yet reported


class QueueProjection:
    name = "diagnosis-queue"
    topics = [READING]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name not in FOLDS:
            return []
        return [("QueueItem", queue_item_id(event["ecg_id"])), ("Task", task_id(event["ecg_id"]))]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        item_ref, task_ref = self.refs(event_name, event)
        before = QueueItem.from_json(state[item_ref]) if item_ref in state else None
        after = fold_item(before, event_name, event)
        if after == before:
            return {}  # e.g. a refused claim: nothing changes, no new version
        out = {item_ref: after.to_json()}
        if after.requested:
            out[task_ref] = to_task(after)
        return out

    def index(self, resource: Json) -> list[IndexEntry]:
        if resource["resourceType"] == "Task":
            return index_entries(resource)
        if not resource["requested"]:
            return []
        if resource["status"] == "reported":
            return []
        return [IndexEntry(OPEN_INDEX, resource["centre_id"], "QueueItem", resource["id"])]
