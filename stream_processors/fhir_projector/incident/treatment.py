"""InterventionPerformed -> Procedure; MedicationGiven -> MedicationAdministration.

Codes are the crew's, as sent (the tablet's pick lists carry SNOMED CT procedures and
medication codes); doses are UCUM quantities; the route keeps its Coding. Ids derive from
the event id.
"""

from __future__ import annotations

from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.fhir_projector.incident.vitals import quantity


def procedure_id(event_id: str) -> str:
    return resource_id("Procedure", "ems", event_id)


def medication_administration_id(event_id: str) -> str:
    return resource_id("MedicationAdministration", "ems", event_id)


def coding(c: Json) -> Json:
    return {
        "system": c["system"],
        "code": c["code"],
        **({"display": c["display"]} if c.get("display") else {}),
    }


def concept(c: Json) -> Json:
    return {"coding": [coding(c)], **({"text": c["display"]} if c.get("display") else {})}


# Where the two resources name the encounter and the time of the act (FHIR R4 elements).
ELEMENTS = {
    "Procedure": ("encounter", "performedDateTime"),
    "MedicationAdministration": ("context", "effectiveDateTime"),
}


def _crew_act(resource_type: str, rid: str, event: Json, subject: str, encounter: str) -> Json:
    """What a Procedure and a MedicationAdministration from the crew share: `completed` (the
    crew records what was done), the patient, the EMS Encounter and when it was done."""
    encounter_element, time_element = ELEMENTS[resource_type]
    return {
        "resourceType": resource_type,
        "id": rid,
        "status": "completed",
        "subject": {"reference": f"Patient/{subject}"},
        encounter_element: {"reference": f"Encounter/{encounter}"},
        time_element: instant(event["meta"]["occurred_at"]),
    }


def procedure(event: Json, subject: str, encounter: str) -> Json:
    rid = procedure_id(event["meta"]["event_id"])
    proc = _crew_act("Procedure", rid, event, subject, encounter)
    proc["code"] = concept(event["code"])
    if event.get("note"):
        proc["note"] = [{"text": event["note"]}]
    return proc


def medication_administration(event: Json, subject: str, encounter: str) -> Json:
    rid = medication_administration_id(event["meta"]["event_id"])
    return {
        **_crew_act("MedicationAdministration", rid, event, subject, encounter),
        "medicationCodeableConcept": concept(event["medication"]),
        "dosage": {"route": concept(event["route"]), "dose": quantity(event["dose"])},
    }


def procedure_text(event: Json) -> str:
    name = event["code"].get("display") or event["code"]["code"]
    return f"{name}" + (f" ({event['note']})" if event.get("note") else "")


def medication_text(event: Json) -> str:
    med, route, dose = event["medication"], event["route"], quantity(event["dose"])
    return (
        f"{med.get('display') or med['code']} {dose['value']} {dose['unit']} "
        f"{route.get('display') or route['code']}"
    )
