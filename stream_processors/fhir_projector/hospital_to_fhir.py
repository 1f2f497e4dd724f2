"""Hospital ADT events (topic `hospital.adt`, from HL7 v2 ADT via services/hl7_gateway)
-> the hospital's Patient (with its MRN) and the hospital Encounter of the visit.

Both are written by the patient projector (patients.py), from what the FHIR projector
re-keys (patient_facts.py): a `PatientStated` keyed by the Patient (merged with
`merge_patient`, like every Patient fact, so an ADT patient and an ECG or incident patient
with the same primary identifier are one resource) and a `VisitReported` keyed by the
Encounter, which the hospital's dispositions (outcome_to_fhir.py) are keyed by too, so one
process writes it. The Encounter (id from hospital id + visit number, PV1-19) is folded from
its visits in the order of its partition of `patient.facts`:

    class        PV1-2 as HL7 v3 ActCode (IMP, EMER, AMB, PRENC); the latest sent
    period       start PV1-44 (else the A01/A04 event time), end PV1-45 (else the A03 time)
    status       finished once the period has an end, in-progress before
    location     PV1-3 as text (point of care, room, bed, facility); the latest sent
    serviceProvider  the hospital (site id = MSH-4.1)

An event without a visit number changes the Patient only.
"""

from __future__ import annotations

import datetime as dt

from avro_schemas.events import PATIENT_ADMITTED, PATIENT_DISCHARGED, PATIENT_REGISTERED
from kernel.codes import SITE_ID
from kernel.ids import patient_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant

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


def visit_of(event_name: str, event: Json) -> Json | None:
    """The visit an ADT event reports (a `VisitReported` without meta and compartments),
    None without a visit number."""
    if not event.get("visit_number"):
        return None
    fields = ("hospital_id", "visit_number", "location", "patient_class")
    times = ("admitted_at", "discharged_at")
    return {
        "encounter_key": hospital_encounter_id(
            event.get("hospital_id") or "", event["visit_number"]
        ),
        "patient_id": patient_id(event["patient"]["identifiers"]),
        "adt_event": event_name,
        **{k: event.get(k) for k in (*fields, *times)},
    }


def visit_encounter(current: Json | None, visit: Json) -> Json:
    """The hospital Encounter after one `VisitReported`."""
    return encounter(current, visit["adt_event"], visit, visit["patient_id"])


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
