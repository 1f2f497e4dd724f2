"""The incident's own memory (internal resource `IncidentRecord`, keyed by incident id).

The runner loads only what `refs(event)` names, and refs come from the event alone; so what a
later event needs of earlier ones (the patient, the timeline, the ids of vitals and
treatments for the handover) is folded here, as JSON, and every FHIR resource of the
incident is derived from it. Lists keep event order; times are FHIR instants (UTC text).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant

RECORD = "IncidentRecord"


@dataclass(frozen=True)
class IncidentResource:
    """A resource an incident has exactly one of (its record, Encounter, Composition): its
    id is the uuid5 of the type, `kind` and the incident id, so every event finds it."""

    resource_type: str
    kind: tuple[str, ...] = ()

    def id(self, incident_id: str) -> str:
        return resource_id(self.resource_type, *self.kind, incident_id)

    def ref(self, incident_id: str) -> tuple[str, str]:
        return self.resource_type, self.id(incident_id)


INCIDENT_RECORD = IncidentResource(RECORD)
ENCOUNTER = IncidentResource("Encounter", ("ems",))  # encounter.py
COMPOSITION = IncidentResource("Composition", ("handover",))  # the handover: handover.py
# Every event of the incident may rewrite these (and loads them: fold.py).
OWN_RESOURCES = (INCIDENT_RECORD, ENCOUNTER, COMPOSITION)
record_ref = INCIDENT_RECORD.ref


def new_record(incident_id: str) -> Json:
    return {
        "incident_id": incident_id,
        "opened": None,  # {dispatch_reason, priority, station_id, unit_id, scene, at}
        "timeline": [],  # [{status, at, unit_id | accepted_by, hospital_id}]
        "patient": None,  # the latest PatientRecorded's details (birth_date as ISO text)
        "patient_id": "",  # id of the Patient the incident's resources refer to, once written
        "age_observation": "",
        "vitals": [],  # [{at, panel, members, summary}]
        "treatments": [],  # [{ref, at, text}]
        "ecgs": [],  # [{ecg_id, ref, at}]
        "prealerts": [],  # [{kind, destination_id, eta, note, at, ref}], one per kind
        "handover": None,  # {at, destination_id, atmist, narrative, user_id}
        "accepted": None,  # {at, accepted_by, hospital_id}
        "date": "",  # the latest occurred_at folded
    }


def load(doc: Json | None, incident_id: str) -> Json:
    if doc is None:
        return new_record(incident_id)
    return {k: v for k, v in doc.items() if k not in ("resourceType", "id", "meta")}


def as_resource(record: Json) -> Json:
    _, rid = record_ref(record["incident_id"])
    return {"resourceType": RECORD, "id": rid, **record}


def at(event: Json) -> str:
    return instant(event["meta"]["occurred_at"])


def destination(record: Json) -> str:
    """The destination hospital: the handover's, else the latest pre-alert's."""
    if record["handover"]:
        return str(record["handover"]["destination_id"])
    latest = max(record["prealerts"], key=lambda p: p["at"], default=None)
    return str(latest["destination_id"]) if latest else ""


def parties(record: Json) -> list[str]:
    """The organizations taking part: the station that opened the incident, then every
    hospital it was pre-alerted or handed over to (a changed destination keeps the first:
    it was told, and its board showed the patient)."""
    station = (record["opened"] or {}).get("station_id", "")
    hospitals = [p["destination_id"] for p in record["prealerts"]]
    hospitals += [record["handover"]["destination_id"]] if record["handover"] else []
    hospitals += [record["accepted"]["hospital_id"]] if record["accepted"] else []
    return [station, *hospitals]


def first_time(record: Json, status: str) -> str:
    return next((p["at"] for p in record["timeline"] if p["status"] == status), "")


def transfer_of_care(record: Json) -> str:
    """When care passed to the hospital: its acceptance, else the unit's own status."""
    if record["accepted"]:
        return str(record["accepted"]["at"])
    return first_time(record, "TRANSFER_OF_CARE")


def care_ended(record: Json) -> str:
    """When the crew's care ended (transfer of care, else back in service), or ""."""
    return transfer_of_care(record) or first_time(record, "BACK_IN_SERVICE")
