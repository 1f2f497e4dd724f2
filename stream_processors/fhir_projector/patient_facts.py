"""Re-keying to `patient.facts` (as Kafka Streams repartitions) of what events say of a
resource fed by several partitions, so that one process writes each such resource.

| resource           | fed by (key)                                     | fact, keyed by it        |
|--------------------|--------------------------------------------------|--------------------------|
| Patient            | clinic.ecg (ECG), ems.incident (incident),       | PatientStated            |
|                    | hospital.adt (hospital + MRN),                   |                          |
|                    | identity.links (the link's source)               | PatientLinkChanged       |
| hospital Encounter | hospital.adt (hospital + MRN),                   | VisitReported            |
|                    | hospital.outcome (subject Patient)               | DispositionStated        |

Two FHIR projector processes would each check and write the next version of such a
resource. The projector therefore writes none of them: its `emit` derives the facts, each
keyed by the resource it changes, with the compartments its source event gives that resource
(stream_processors/jurisdiction.py), and the patient projector (`patients.py`, its own group)
folds only those. Every fact makes one version, as every source event did. A derived id is
the source event's id plus a suffix, so a replay appends nothing new
(stream_processors/runner.py 6).
"""

from __future__ import annotations

from avro_schemas import events
from avro_schemas.catalogue import EVENT_TYPES, PATIENT_FACTS
from kernel.ids import patient_id
from kernel.jsontypes import Json
from stream_processors.adapter import State
from stream_processors.fhir_projector.hospital_to_fhir import visit_of
from stream_processors.fhir_projector.identity_to_fhir import link_sides
from stream_processors.fhir_projector.incident.fold import INCIDENT_FOLDS, stated_patient
from stream_processors.jurisdiction import event_compartments
from stream_processors.runner import Emitted

ADT_EVENTS = (
    events.PATIENT_REGISTERED,
    events.PATIENT_ADMITTED,
    events.PATIENT_TRANSFERRED,
    events.PATIENT_DISCHARGED,
    events.PATIENT_UPDATED,
)


def _meta(event: Json, suffix: str) -> Json:
    return {**event["meta"], "event_id": f"{event['meta']['event_id']}:{suffix}"}


def _compartments(event_name: str, event: Json, resource_type: str) -> list[str]:
    """What the source event gives a resource of its own topic (the fact carries it)."""
    source = EVENT_TYPES[event_name]
    key = event[source.key_field]
    return sorted(event_compartments(source.topic, key, event, resource_type, set()))


def _stated(event_name: str, event: Json, details: Json) -> Emitted:
    key = patient_id(details["identifiers"])
    fact = {
        "meta": _meta(event, "patient"),
        "patient_key": key,
        "patient": details,
        "compartments": _compartments(event_name, event, "Patient"),
    }
    return Emitted(PATIENT_FACTS, key, events.PATIENT_STATED, fact)


def _patient_stated(state: State, event_name: str, event: Json) -> list[Emitted]:
    if event_name in INCIDENT_FOLDS:
        details = stated_patient(state, event_name, event)
    elif event_name == events.ECG_SUBMITTED or event_name in ADT_EVENTS:
        details = dict(event["patient"])
    else:
        details = None
    return [] if details is None else [_stated(event_name, event, details)]


def _visit(event_name: str, event: Json) -> list[Emitted]:
    visit = visit_of(event_name, event) if event_name in ADT_EVENTS else None
    if visit is None:
        return []
    compartments = _compartments(event_name, event, "Encounter")
    fact = {"meta": _meta(event, "visit"), **visit, "compartments": compartments}
    return [Emitted(PATIENT_FACTS, visit["encounter_key"], events.VISIT_REPORTED, fact)]


def _disposition(event_name: str, event: Json) -> list[Emitted]:
    if event_name != events.DISPOSITION_REPORTED:
        return []
    fact = {
        "meta": _meta(event, "encounter"),
        "encounter_key": event["resource_id"],
        "resource": event["resource"],
        "compartments": _compartments(event_name, event, "Encounter"),
    }
    return [Emitted(PATIENT_FACTS, event["resource_id"], events.DISPOSITION_STATED, fact)]


def _link_changes(event_name: str, event: Json) -> list[Emitted]:
    if event_name not in (events.PATIENT_LINKED, events.PATIENT_UNLINKED):
        return []
    out = []
    for (_, rid), identifier, other, link_type in link_sides(event):
        change = {
            "meta": _meta(event, f"patient:{link_type}"),
            "patient_key": rid,
            "identifier": identifier,
            "other_patient_id": other,
            "link_type": link_type,
            "linked": event_name == events.PATIENT_LINKED,
        }
        out.append(Emitted(PATIENT_FACTS, rid, events.PATIENT_LINK_CHANGED, change))
    return out


def patient_facts(state: State, event_name: str, event: Json) -> list[Emitted]:
    """The facts an event derives (the FHIR projector's `emit`; `state` as its fold gets)."""
    return [
        *_patient_stated(state, event_name, event),
        *_visit(event_name, event),
        *_disposition(event_name, event),
        *_link_changes(event_name, event),
    ]
