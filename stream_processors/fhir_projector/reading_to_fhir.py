"""Remote-read events -> FHIR: the request as a `ServiceRequest`, the signed read as a
final `DiagnosticReport` (conclusion, coded statements, interpreter) based on it.

Both events carry the patient reference, so these folds need no other stream (order across
topics differs between a live run and a rebuild; within one ECG's partition it does not).
"""

from __future__ import annotations

from typing import Any

from stream_processors.fhir_projector.codes import LOINC, SITE_ID
from stream_processors.fhir_projector.ecg_to_fhir import instant
from stream_processors.ids import ecg_observation_id, resource_id

Json = dict[str, Any]
READER_ID = "https://goldenhour.health/sid/reader-id"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
EKG_STUDY = {"system": LOINC, "code": "11524-6", "display": "EKG study"}
PRIORITY = {"stat": "stat", "urgent": "urgent", "routine": "routine"}


def service_request_id(ecg_id: str) -> str:
    return resource_id("ServiceRequest", "ecg-read", ecg_id)


def diagnostic_report_id(ecg_id: str) -> str:
    return resource_id("DiagnosticReport", "ecg-read", ecg_id)


def service_request(event: Json, status: str = "active") -> Json:
    site = event.get("site") or {}
    out: Json = {
        "resourceType": "ServiceRequest",
        "id": service_request_id(event["ecg_id"]),
        "status": status,
        "intent": "order",
        "priority": PRIORITY.get(event.get("urgency", "routine"), "routine"),
        "code": {"coding": [EKG_STUDY], "text": "Remote 12-lead ECG read"},
        "subject": {"reference": event["patient_ref"]},
        "supportingInfo": [{"reference": f"Observation/{ecg_observation_id(event['ecg_id'])}"}],
        "authoredOn": instant(event["meta"]["recorded_at"]),
        "performer": [{"identifier": {"system": SITE_ID, "value": event["reading_centre_id"]}}],
    }
    if site:
        out["requester"] = {"identifier": {"system": SITE_ID, "value": site["id"]},
                            **({"display": site["name"]} if site.get("name") else {})}
    if event.get("clinical_question"):
        out["reasonCode"] = [{"text": event["clinical_question"]}]
    return out


def completed(request: Json) -> Json:
    return {**request, "status": "completed"}


def diagnostic_report(event: Json) -> Json:
    reader = {"identifier": {"system": READER_ID, "value": event["reader_id"]}}
    report: Json = {
        "resourceType": "DiagnosticReport",
        "id": diagnostic_report_id(event["ecg_id"]),
        "basedOn": [{"reference": f"ServiceRequest/{service_request_id(event['ecg_id'])}"}],
        "status": "final",
        "category": [{"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "EC", "display": "Electrocardiac (e.g., EKG, EEC, Holter)"}]}],
        "code": {"coding": [EKG_STUDY]},
        "subject": {"reference": event["patient_ref"]},
        "issued": instant(event["signed_at"]),
        "effectiveDateTime": instant(event["signed_at"]),
        "performer": [reader],
        "resultsInterpreter": [reader],
        "result": [{"reference": f"Observation/{ecg_observation_id(event['ecg_id'])}"}],
        "conclusion": event["interpretation"],
    }
    if event.get("codes"):
        report["conclusionCode"] = [
            {"coding": [{k: v for k, v in c.items() if v is not None}]} for c in event["codes"]
        ]
    return report
