"""The queue projection as the runner sees it."""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import READING
from stream_processors.diagnosis_queue.fold import FOLDS, fold_item
from stream_processors.diagnosis_queue.item import QueueItem, queue_item_id, task_id
from stream_processors.diagnosis_queue.read_to_fhir import (
    diagnostic_report,
    diagnostic_report_id,
    service_request,
    service_request_id,
)
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
            return []  # e.g. ReportDelivered: other processors' events on the same topic
        ecg_id = event["ecg_id"]
        return [
            ("QueueItem", queue_item_id(ecg_id)),
            ("Task", task_id(ecg_id)),
            ("ServiceRequest", service_request_id(ecg_id)),
            ("DiagnosticReport", diagnostic_report_id(ecg_id)),
        ]

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        refs = self.refs(event_name, event)
        if not refs:
            return {}
        item_ref = refs[0]
        before = QueueItem.from_json(state[item_ref]) if item_ref in state else None
        after = fold_item(before, event_name, event)
        if after == before:
            return {}  # e.g. a refused claim: nothing changes, no new version
        rendered = {item_ref: after.to_json(), **self._fhir(after, refs)}
        # Only what changed gets a new version (a claim changes the Task, not the request).
        return {ref: doc for ref, doc in rendered.items() if state.get(ref) != doc}

    @staticmethod
    def _fhir(item: QueueItem, refs: list[Ref]) -> dict[Ref, Json]:
        _, task_ref, request_ref, report_ref = refs
        if not item.requested:
            return {}
        out = {task_ref: to_task(item)}
        if item.patient_ref:
            out[request_ref] = service_request(item)
        if item.report:
            out[report_ref] = diagnostic_report(item)
        return out

    def index(self, resource: Json) -> list[IndexEntry]:
        if resource["resourceType"] != "QueueItem":
            return index_entries(resource)
        if not resource["requested"]:
            return []
        if resource["status"] == "reported":
            return []
        return [IndexEntry(OPEN_INDEX, resource["centre_id"], "QueueItem", resource["id"])]
