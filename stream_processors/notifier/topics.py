"""The SubscriptionTopics this server offers, and which log events trigger them.

A topic is defined here once: its canonical URL (what a Subscription names as `criteria`),
the events that trigger it, the resource a notification is about (its *focus*) and the
filter parameters a Subscription may set (`backport-filter-criteria`, e.g.
`Composition?destination=county-hospital`). `to_fhir` renders the R4B SubscriptionTopic
served at `/fhir/SubscriptionTopic`; `match` is the pure rule the notifier applies to each
event, given the little context it keeps per incident and per ECG (see `fold.py`).

| topic (canonical tail) | triggered by                                 | focus             | filters                        |
|------------------------|----------------------------------------------|-------------------|--------------------------------|
| handover               | HandoverSubmitted, HandoverAccepted          | Composition       | destination, incident          |
| ecg-report-final       | ReadReported accepted by the queue's lease;  | DiagnosticReport  | patient, site                  |
|                        | ReadAmended of a signed read (amended)       |                   |                                |
| encounter-status       | UnitStatusChanged (EMS Encounter timeline)   | Encounter         | encounter, status, destination |
| patient-linked         | PatientLinked                                | Patient           | patient                        |

Hospital ADT events (admit/transfer/discharge) do not trigger `encounter-status` yet: no
processor makes a hospital Encounter of them, so there would be no focus to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from avro_schemas.events import (
    HANDOVER_ACCEPTED,
    HANDOVER_SUBMITTED,
    PATIENT_LINKED,
    READ_AMENDED,
    READ_REPORTED,
    UNIT_STATUS_CHANGED,
)
from kernel.ids import patient_id
from kernel.jsontypes import Json
from stream_processors.diagnosis_queue.read_to_fhir import diagnostic_report_id
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.handover import composition_id

CANONICAL_BASE = "https://goldenhour.example.org/fhir/SubscriptionTopic/"
TOPIC_DATE = "2026-11-23"


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    description: str
    resource: str  # the focus's resource type
    interactions: tuple[str, ...]  # create, update
    triggers: tuple[str, ...]  # event names
    filters: dict[str, str]  # parameter -> documentation

    @property
    def url(self) -> str:
        return CANONICAL_BASE + self.slug


HANDOVER = Topic(
    "handover",
    "New or updated ambulance handover for a hospital",
    "The pre-arrival handover (ATMIST Composition) was submitted by the crew, or accepted "
    "by the receiving hospital (transfer of care).",
    "Composition",
    ("create", "update"),
    (HANDOVER_SUBMITTED, HANDOVER_ACCEPTED),
    {
        "destination": "Receiving hospital id (the handover's destination_id)",
        "incident": "Incident id of the ambulance run",
    },
)
ECG_REPORT_FINAL = Topic(
    "ecg-report-final",
    "ECG report final",
    "A cardiologist signed the read of an ECG: its DiagnosticReport is final. A report the "
    "queue refused (lease taken over) does not trigger. An addendum to the signed read "
    "triggers again (the report is then amended).",
    "DiagnosticReport",
    ("create", "update"),
    (READ_REPORTED, READ_AMENDED),
    {
        "patient": "Reference of the patient, Patient/<id>",
        "site": "Id of the site (clinic, ambulance service) that sent the ECG",
    },
)
ENCOUNTER_STATUS = Topic(
    "encounter-status",
    "EMS encounter status changed",
    "A unit's status on an ambulance run changed (dispatched, on scene, transporting, at "
    "destination, transfer of care, ...): the EMS Encounter's timeline moved.",
    "Encounter",
    ("create", "update"),
    (UNIT_STATUS_CHANGED,),
    {
        "encounter": "Reference of the EMS Encounter, Encounter/<id>",
        "status": "Unit status code (goldenhour unit-status, e.g. TRANSFER_OF_CARE)",
        "destination": "Destination hospital id, once a pre-alert or handover named it",
    },
)
PATIENT_LINKED_TOPIC = Topic(
    "patient-linked",
    "Patient linked or merged",
    "Two patient records were found to be one person (e.g. a temporary EMS id and the "
    "hospital MRN).",
    "Patient",
    ("update",),
    (PATIENT_LINKED,),
    {"patient": "Reference of either linked patient, Patient/<id>"},
)

TOPICS: dict[str, Topic] = {
    t.url: t for t in (HANDOVER, ECG_REPORT_FINAL, ENCOUNTER_STATUS, PATIENT_LINKED_TOPIC)
}
TRIGGERS = frozenset(name for t in TOPICS.values() for name in t.triggers)


@dataclass(frozen=True)
class Match:
    """An event is about `focus` under `topic`; `values` are what filters compare."""

    topic: str
    focus: str
    values: dict[str, str]


def matches_filters(filters: dict[str, str], values: dict[str, str]) -> bool:
    """Every filter of a Subscription equals the event's value (missing value: no match)."""
    return all(values.get(name) == wanted for name, wanted in filters.items())


def match(event_name: str, event: Json, context: Json) -> list[Match]:
    """What `event` triggers, given the context before it (`fold.context_*`). ECG reports are
    matched by the fold (they depend on the lease rule), not here."""
    if event_name == HANDOVER_SUBMITTED:
        return [_handover(event, event["destination_id"])]
    if event_name == HANDOVER_ACCEPTED:
        return [_handover(event, event.get("hospital_id") or context.get("destination", ""))]
    if event_name == UNIT_STATUS_CHANGED:
        return [_encounter(event, context.get("destination", ""))]
    if event_name == PATIENT_LINKED:
        return _linked(event)
    return []


def _handover(event: Json, destination: str) -> Match:
    incident = event["incident_id"]
    values = {"destination": destination, "incident": incident}
    return Match(HANDOVER.url, f"Composition/{composition_id(incident)}", values)


def _encounter(event: Json, destination: str) -> Match:
    ref = f"Encounter/{encounter_id(event['incident_id'])}"
    values = {"encounter": ref, "status": str(event["status"]), "destination": destination}
    return Match(ENCOUNTER_STATUS.url, ref, values)


def _linked(event: Json) -> list[Match]:
    """One match per side: a subscriber filtering on either patient hears of the link."""
    refs = [f"Patient/{patient_id([event[side]])}" for side in ("source", "target")]
    return [Match(PATIENT_LINKED_TOPIC.url, ref, {"patient": ref}) for ref in dict.fromkeys(refs)]


def report_match(ecg_id: str, patient_ref: str, site: str) -> Match:
    ref = f"DiagnosticReport/{diagnostic_report_id(ecg_id)}"
    return Match(ECG_REPORT_FINAL.url, ref, {"patient": patient_ref, "site": site})


def to_fhir(topic: Topic) -> Json:
    """The R4B SubscriptionTopic resource of `topic`."""
    return {
        "resourceType": "SubscriptionTopic",
        "id": topic.slug,
        "url": topic.url,
        "version": "1",
        "title": topic.title,
        "status": "active",
        "date": TOPIC_DATE,
        "description": topic.description,
        "resourceTrigger": [
            {
                "description": topic.description,
                "resource": f"http://hl7.org/fhir/StructureDefinition/{topic.resource}",
                "supportedInteraction": list(topic.interactions),
            }
        ],
        "canFilterBy": [
            {
                "description": doc,
                "resource": topic.resource,
                "filterParameter": name,
                "modifier": ["="],
            }
            for name, doc in topic.filters.items()
        ],
        "notificationShape": [{"resource": topic.resource}],
    }
