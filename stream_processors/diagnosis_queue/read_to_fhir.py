"""A queue item -> FHIR: the remote-read request as a `ServiceRequest` and the signed read as
a final `DiagnosticReport` (conclusion, coded statements, interpreter) based on it.

Rendered from the queue's state rather than from raw events, so only a report the queue
accepted (signed by the lease holder) ever becomes a DiagnosticReport.
"""

from __future__ import annotations

from kernel.codes import LOINC, SITE_ID
from kernel.ids import ecg_observation_id, resource_id
from kernel.jsontypes import Json
from stream_processors.diagnosis_queue.item import QueueItem
from stream_processors.fhir_projector.measured_to_fhir import measurement_observation_id

READER_ID = "https://goldenhour.health/sid/reader-id"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
EKG_STUDY = {"system": LOINC, "code": "11524-6", "display": "EKG study"}
PRIORITY = {"stat": "stat", "urgent": "urgent", "routine": "routine"}


def service_request_id(ecg_id: str) -> str:
    return resource_id("ServiceRequest", "ecg-read", ecg_id)


def diagnostic_report_id(ecg_id: str) -> str:
    return resource_id("DiagnosticReport", "ecg-read", ecg_id)


def service_request(item: QueueItem) -> Json:
    out: Json = {
        "resourceType": "ServiceRequest",
        "id": service_request_id(item.ecg_id),
        "status": "completed" if item.status == "reported" else "active",
        "intent": "order",
        "priority": PRIORITY.get(item.urgency, "routine"),
        "code": {"coding": [EKG_STUDY], "text": "Remote 12-lead ECG read"},
        "subject": {"reference": item.patient_ref},
        "supportingInfo": [{"reference": f"Observation/{ecg_observation_id(item.ecg_id)}"}],
        "authoredOn": item.submitted_at,
        "performer": [{"identifier": {"system": SITE_ID, "value": item.centre_id}}],
    }
    if item.site_id:
        out["requester"] = {
            "identifier": {"system": SITE_ID, "value": item.site_id},
            **({"display": item.site_name} if item.site_name else {}),
        }
    if item.clinical_question:
        out["reasonCode"] = [{"text": item.clinical_question}]
    return out


def diagnostic_report(item: QueueItem) -> Json:
    signed = item.report
    reader = {"identifier": {"system": READER_ID, "value": signed["reader_id"]}}
    report: Json = {
        "resourceType": "DiagnosticReport",
        "id": diagnostic_report_id(item.ecg_id),
        "basedOn": [{"reference": f"ServiceRequest/{service_request_id(item.ecg_id)}"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": DIAGNOSTIC_SERVICE,
                        "code": "EC",
                        "display": "Electrocardiac (e.g., EKG, EEC, Holter)",
                    }
                ]
            }
        ],
        "code": {"coding": [EKG_STUDY]},
        "subject": {"reference": item.patient_ref},
        "issued": signed["signed_at"],
        "effectiveDateTime": signed["signed_at"],
        "performer": [reader],
        "resultsInterpreter": [reader],
        "result": [{"reference": f"Observation/{ecg_observation_id(item.ecg_id)}"}]
        + (
            [{"reference": f"Observation/{measurement_observation_id(item.ecg_id)}"}]
            if item.measurements
            else []
        ),
        "conclusion": signed["interpretation"],
    }
    if signed.get("codes"):
        report["conclusionCode"] = [
            {"coding": [{k: v for k, v in c.items() if v is not None}]} for c in signed["codes"]
        ]
    return report
