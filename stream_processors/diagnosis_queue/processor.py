"""The queue projection as the runner sees it."""

from __future__ import annotations

from avro_schemas.catalogue import READING
from kernel.jsontypes import Json
from kernel.jurisdiction import ecg
from kernel.search_params import index_entries
from stream_processors.adapter import Processor, Ref, State, by_name
from stream_processors.diagnosis_queue.fold import FOLDS, fold_item
from stream_processors.diagnosis_queue.item import QueueItem, queue_item_id, task_id
from stream_processors.diagnosis_queue.read_to_fhir import (
    diagnostic_report,
    diagnostic_report_id,
    service_request,
    service_request_id,
)
from stream_processors.diagnosis_queue.task_to_fhir import to_task
from stream_processors.jurisdiction import grant_entries
from viewstore.base import IndexEntry

OPEN_INDEX = "QueueItem.open"  # key: reading centre id; only items not yet reported


def _refs(event: Json) -> list[Ref]:
    ecg_id = event["ecg_id"]
    return [
        ("QueueItem", queue_item_id(ecg_id)),
        ("Task", task_id(ecg_id)),
        ("ServiceRequest", service_request_id(ecg_id)),
        ("DiagnosticReport", diagnostic_report_id(ecg_id)),
    ]


def _fold(state: State, event_name: str, event: Json) -> dict[Ref, Json]:
    refs = _refs(event)
    item_ref = refs[0]
    before = QueueItem.from_json(state[item_ref]) if item_ref in state else None
    after = fold_item(before, event_name, event)
    if after == before:
        return {}  # e.g. a refused claim: nothing changes, no new version
    rendered = {item_ref: after.to_json(), **_fhir(after, refs)}
    # Only what changed gets a new version (a claim changes the Task, not the request).
    return {ref: doc for ref, doc in rendered.items() if state.get(ref) != doc}


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


def _index(resource: Json) -> list[IndexEntry]:
    if resource["resourceType"] != "QueueItem":
        return index_entries(resource)
    # The ECG's compartment is opened to the clinic that sent it and the reading centre
    # that reads it (kernel/jurisdiction.py), for as long as the item exists.
    grants = grant_entries(ecg(resource["ecg_id"]), [resource["centre_id"], resource["site_id"]])
    if not resource["requested"] or resource["status"] == "reported":
        return grants
    return [*grants, IndexEntry(OPEN_INDEX, resource["centre_id"], "QueueItem", resource["id"])]


# Events not in FOLDS (e.g. ReportDelivered) belong to other processors of the topic.
PROCESSOR = Processor(
    name="diagnosis-queue", topics=[READING], folds=by_name(FOLDS, _refs, _fold), index=_index
)
