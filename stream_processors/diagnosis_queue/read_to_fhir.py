"""A queue item -> FHIR: the remote-read request as a `ServiceRequest` and the signed read as
a final `DiagnosticReport` (conclusion, coded statements, interpreter) based on it.

Rendered from the queue's state rather than from raw events, so only a report the queue
accepted (signed by the lease holder) ever becomes a DiagnosticReport.
"""

from __future__ import annotations

from kernel.codes import ECG_MEASUREMENTS, LOINC, SITE_ID
from kernel.ids import ecg_observation_id, resource_id
from kernel.jsontypes import Json
from stream_processors.diagnosis_queue.addendum_text import addendum_line
from stream_processors.diagnosis_queue.item import QueueItem
from stream_processors.fhir_projector.measured_to_fhir import measurement_observation_id

READER_ID = "https://goldenhour.health/sid/reader-id"
# On a reader-corrected measurement component: the automatic value it replaces.
AUTOMATIC_VALUE = "https://goldenhour.health/fhir/StructureDefinition/automatic-value"
EDITED_ID = "reader-measurements"  # the contained Observation of reader corrections
UCUM = "http://unitsofmeasure.org"
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


def _reader(reader_id: str) -> Json:
    return {"identifier": {"system": READER_ID, "value": reader_id}}


def diagnostic_report(item: QueueItem) -> Json:
    """The signed read; with addenda it is `amended` (each addendum is a new version of the
    same resource, so `_history` keeps the read as first signed)."""
    signed = item.report
    reader = _reader(signed["reader_id"])
    report: Json = {
        "resourceType": "DiagnosticReport",
        "id": diagnostic_report_id(item.ecg_id),
        "basedOn": [{"reference": f"ServiceRequest/{service_request_id(item.ecg_id)}"}],
        "status": "amended" if item.addenda else "final",
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
    codes = [*signed.get("codes", []), *(c for a in item.addenda for c in a["codes"])]
    if codes:
        report["conclusionCode"] = [
            {"coding": [{k: v for k, v in c.items() if v is not None}]} for c in codes
        ]
    if item.edits:
        report["contained"] = [edited_measurements(item)]
        report["result"].append({"reference": f"#{EDITED_ID}"})
    return _with_addenda(report, item) if item.addenda else report


def _with_addenda(report: Json, item: QueueItem) -> Json:
    """Addenda after the signed conclusion, each with its reader and time; the report is
    issued again at the latest addendum, and every addendum's reader interprets it too."""
    texts = [addendum_line(a["signed_at"], a["reader_id"], a["addendum"]) for a in item.addenda]
    readers = dict.fromkeys([item.report["reader_id"], *(a["reader_id"] for a in item.addenda)])
    return {
        **report,
        "issued": item.addenda[-1]["signed_at"],
        "resultsInterpreter": [_reader(r) for r in readers],
        "conclusion": "\n\n".join([report["conclusion"], *texts]),
    }


def edited_measurements(item: QueueItem) -> Json:
    """The reader's corrected measurements as an Observation contained in the report: each
    component's value is the reader's, its extension the automatic value it replaces."""
    components = [_edited_component(f, e) for f, e in sorted(item.edits.items())]
    return {
        "resourceType": "Observation",
        "id": EDITED_ID,
        "status": "amended",
        "code": {"coding": [EKG_STUDY], "text": "ECG measurements corrected by the reader"},
        "subject": {"reference": item.patient_ref},
        "derivedFrom": [{"reference": f"Observation/{measurement_observation_id(item.ecg_id)}"}],
        "component": components,
        "note": [{"text": _edit_note(f, e)} for f, e in sorted(item.edits.items())],
    }


def _quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _edited_component(field_: str, edit: Json) -> Json:
    code, display, unit = ECG_MEASUREMENTS.get(field_, ("", field_, ""))
    out: Json = {
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "valueQuantity": _quantity(edit["value"], unit),
    }
    if edit.get("automatic") is not None:
        out["extension"] = [
            {"url": AUTOMATIC_VALUE, "valueQuantity": _quantity(edit["automatic"], unit)}
        ]
    return out


def _edit_note(field_: str, edit: Json) -> str:
    _code, display, unit = ECG_MEASUREMENTS.get(field_, ("", field_, ""))
    auto = "none" if edit.get("automatic") is None else f"{edit['automatic']:g} {unit}"
    why = f"; {edit['reason']}" if edit.get("reason") else ""
    return (
        f"{display}: {edit['value']:g} {unit} by {edit['reader_id']} at {edit['edited_at']} "
        f"(automatic {auto}){why}"
    )
