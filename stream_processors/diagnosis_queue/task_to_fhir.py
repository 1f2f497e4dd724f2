"""QueueItem -> FHIR R4 Task (the remote-read request as hospital systems see it)."""

from __future__ import annotations

from typing import Any

from kernel.codes import LOINC, SITE_ID
from stream_processors.diagnosis_queue.item import QueueItem, task_id

READER_ID = "https://goldenhour.health/sid/reader-id"
TASK_STATUS = {"queued": "requested", "claimed": "in-progress", "reported": "completed"}
TASK_PRIORITY = {"critical": "stat", "urgent": "asap", "routine": "routine"}
TRIAGE_URL = "https://goldenhour.health/fhir/StructureDefinition/ecg-triage-class"


def to_task(item: QueueItem) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id(item.ecg_id),
        "extension": [{"url": TRIAGE_URL, "valueCode": item.triage_class}],
        "status": TASK_STATUS[item.status],
        "businessStatus": {
            "text": "escalated" if item.escalated and item.status != "reported" else item.status
        },
        "intent": "order",
        "priority": TASK_PRIORITY[item.triage_class],
        "code": {
            "coding": [{"system": LOINC, "code": "11524-6", "display": "EKG study"}],
            "text": "Remote 12-lead ECG read",
        },
        "authoredOn": item.submitted_at,
        "requester": {
            "identifier": {"system": SITE_ID, "value": item.site_id},
            **({"display": item.site_name} if item.site_name else {}),
        },
        "restriction": {"period": {"end": item.due_at}},
    }
    if item.patient_ref:
        task["for"] = {"reference": item.patient_ref}
        task["focus"] = {"reference": f"Observation/{_observation(item)}"}
    if item.holder:
        task["owner"] = {"identifier": {"system": READER_ID, "value": item.holder}}
    if item.clinical_question:
        task["note"] = [{"text": item.clinical_question}]
    return task


def _observation(item: QueueItem) -> str:
    from kernel.ids import ecg_observation_id

    return ecg_observation_id(item.ecg_id)
