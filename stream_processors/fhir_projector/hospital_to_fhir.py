"""Hospital ADT events (topic `hospital.adt`, from HL7 v2 ADT via services/hl7_gateway)
-> the hospital's Patient (with its MRN) and the hospital Encounter of the visit.

The Patient is merged with `merge_patient`, like every other Patient write, so an ADT
patient and an ECG or incident patient with the same primary identifier are one resource.
The Encounter (id from hospital id + visit number, PV1-19) is folded from the events of one
patient key (hospital + MRN), which are in one partition, in order:

    class        PV1-2 as HL7 v3 ActCode (IMP, EMER, AMB, PRENC); the latest sent
    period       start PV1-44 (else the A01/A04 event time), end PV1-45 (else the A03 time)
    status       finished once the period has an end, in-progress before
    location     PV1-3 as text (point of care, room, bed, facility); the latest sent
    serviceProvider  the hospital (site id = MSH-4.1)

An event without a visit number changes the Patient only.
"""

from __future__ import annotations

import datetime as dt

from avro_schemas.events import (
    PATIENT_ADMITTED,
    PATIENT_DISCHARGED,
    PATIENT_REGISTERED,
    PATIENT_TRANSFERRED,
    PATIENT_UPDATED,
)
from kernel.codes import SITE_ID
from kernel.ids import patient_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.adapter import Fold, Ref, State, Step
from stream_processors.fhir_projector.patient_to_fhir import merge_patient

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ENCOUNTER_CLASSES = {
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "AMB": "ambulatory",
    "PRENC": "pre-admission",
}
# A hospital's visit numbers (PV1-19): one system per hospital, as MRNs have
# (urn:goldenhour:mrn:<authority> in services/hl7_gateway/oru_ecg.py).
VISIT_NUMBER_SYSTEM = "urn:goldenhour:visit:"
STARTS = {PATIENT_ADMITTED, PATIENT_REGISTERED}
ENDS = {PATIENT_DISCHARGED}


def visit_system(hospital_id: str) -> str:
    return VISIT_NUMBER_SYSTEM + hospital_id


def hospital_encounter_id(hospital_id: str, visit_number: str) -> str:
    return resource_id("Encounter", "hospital", hospital_id, visit_number)


def _encounter_ref(event: Json) -> list[Ref]:
    if not event.get("visit_number"):
        return []
    return [
        ("Encounter", hospital_encounter_id(event.get("hospital_id") or "", event["visit_number"]))
    ]


def adt_refs(event: Json) -> list[Ref]:
    return [("Patient", patient_id(event["patient"]["identifiers"])), *_encounter_ref(event)]


def adt_fold(kind: str) -> Fold:
    """The fold of one ADT event type (`kind` is its event name, e.g. `PATIENT_ADMITTED`)."""

    def fold(state: State, event: Json) -> dict[Ref, Json]:
        refs = adt_refs(event)
        patient = merge_patient(state.get(refs[0]), event["patient"], event["meta"]["occurred_at"])
        out = {refs[0]: patient}
        if len(refs) > 1:
            out[refs[1]] = encounter(state.get(refs[1]), kind, event, patient["id"])
        return out

    return fold


def _time(value: dt.datetime | None) -> str:
    return instant(value) if value is not None else ""


def _period(current: Json, kind: str, event: Json) -> Json:
    occurred = instant(event["meta"]["occurred_at"])
    old = current.get("period", {})
    start = _time(event.get("admitted_at")) or old.get("start", "")
    end = _time(event.get("discharged_at")) or old.get("end", "")
    start = start or (occurred if kind in STARTS else "")
    end = end or (occurred if kind in ENDS else "")
    return {**({"start": start} if start else {}), **({"end": end} if end else {})}


def encounter(current: Json | None, kind: str, event: Json, subject: str) -> Json:
    """The hospital Encounter after one ADT event of its visit (without meta)."""
    current = current or {}
    hospital, visit = event.get("hospital_id") or "", event["visit_number"]
    code = event.get("patient_class") or current.get("class", {}).get("code") or "IMP"
    period = _period(current, kind, event)
    enc: Json = {
        "resourceType": "Encounter",
        "id": hospital_encounter_id(hospital, visit),
        "identifier": [{"use": "official", "system": visit_system(hospital), "value": visit}],
        "status": "finished" if "end" in period else "in-progress",
        "class": {"system": ACT_CODE, "code": code, "display": ENCOUNTER_CLASSES[code]},
        "subject": {"reference": f"Patient/{subject}"},
    }
    if period:
        enc["period"] = period
    location = event.get("location") or _location_text(current)
    if location:
        enc["location"] = [{"location": {"display": location}}]
    if hospital:
        enc["serviceProvider"] = {
            "type": "Organization",
            "identifier": {"system": SITE_ID, "value": hospital},
        }
    if "hospitalization" in current:  # the disposition the hospital reported (outcome_to_fhir)
        enc["hospitalization"] = current["hospitalization"]
    return enc


def _location_text(current: Json) -> str:
    locations = current.get("location") or [{}]
    return str(locations[0].get("location", {}).get("display", ""))


ADT_FOLDS: dict[str, Step] = {
    kind: Step(adt_refs, adt_fold(kind))
    for kind in (
        PATIENT_REGISTERED,
        PATIENT_ADMITTED,
        PATIENT_UPDATED,
        PATIENT_TRANSFERRED,
        PATIENT_DISCHARGED,
    )
}
