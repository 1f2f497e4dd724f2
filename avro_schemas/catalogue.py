"""The event catalogue: event type -> topic and the field whose value is the record key.

Keys keep order where it matters: every event of one incident, or of one ECG, lands in one
partition. Partition counts are per topic; changing one re-keys nothing already written but
moves future events of a key, so it is a migration, not a setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from avro_schemas import events
from eventlog.base import TopicSpec

INCIDENT = "ems.incident"
POSITION = "ems.position"
CLINIC_ECG = "clinic.ecg"
READING = "diagnosis.reading"
ADT = "hospital.adt"
IDENTITY = "identity.links"
SUBSCRIPTIONS = "fhir.subscriptions"
AUDIT = "audit.access"
REGISTRY = "registry"
MCI = "command.mci"
CAPACITY = "command.capacity"
ESCORT = "command.escort"
ALERTS = "command.alerts"
OUTCOME = "hospital.outcome"
PATIENT_FACTS = "patient.facts"


@dataclass(frozen=True)
class EventType:
    name: str  # full Avro record name
    topic: str
    key_field: str


def _types(topic: str, key_field: str, *names: str) -> list[EventType]:
    return [EventType(n, topic, key_field) for n in names]


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in [
        *_types(
            INCIDENT,
            "incident_id",
            events.INCIDENT_OPENED,
            events.UNIT_STATUS_CHANGED,
            events.PATIENT_RECORDED,
            events.VITALS_RECORDED,
            events.INTERVENTION_PERFORMED,
            events.MEDICATION_GIVEN,
            events.ECG_ACQUIRED,
            events.PRE_ALERT_RAISED,
            events.HANDOVER_SUBMITTED,
            events.HANDOVER_ACCEPTED,
        ),
        *_types(POSITION, "unit_id", events.UNIT_POSITION_REPORTED),
        *_types(CLINIC_ECG, "ecg_id", events.ECG_SUBMITTED),
        # ReadRequested lives on diagnosis.reading, not clinic.ecg: the queue then folds one
        # totally ordered stream per ECG (request, measurement, claims, report), so its
        # decisions (who holds a lease) are the same live and on a rebuild.
        *_types(
            READING,
            "ecg_id",
            events.READ_REQUESTED,
            events.ECG_MEASURED,
            events.READ_CLAIMED,
            events.READ_RELEASED,
            events.READ_REPORTED,
            events.READ_ESCALATED,
            events.MEASUREMENT_EDITED,
            events.READ_AMENDED,
            events.REPORT_DELIVERED,
        ),
        *_types(
            ADT,
            "patient_key",
            events.PATIENT_REGISTERED,
            events.PATIENT_ADMITTED,
            events.PATIENT_TRANSFERRED,
            events.PATIENT_DISCHARGED,
            events.PATIENT_UPDATED,
        ),
        # Keyed by the source Patient's id: the link and the unlink of one source are in one
        # partition, in order (the fold of the two is not commutative; see identity_to_fhir).
        *_types(IDENTITY, "patient_key", events.PATIENT_LINKED, events.PATIENT_UNLINKED),
        # One stream per FHIR Subscription: its request, every notification it triggered (the
        # n-th NotificationTriggered of the key is eventNumber n, the same on a rebuild), its
        # deliveries, status changes and deletion.
        *_types(
            SUBSCRIPTIONS,
            "subscription_id",
            events.SUBSCRIPTION_REQUESTED,
            events.SUBSCRIPTION_DELETED,
            events.NOTIFICATION_TRIGGERED,
            events.NOTIFICATION_DELIVERED,
            events.SUBSCRIPTION_STATUS_CHANGED,
        ),
        # Who read, searched or wrote patient data (services/auth/audit.py), keyed by the
        # principal's subject ("anonymous" without a valid token): one agent's trail in order.
        *_types(AUDIT, "agent_subject", events.ACCESS_RECORDED),
        # Who is who (stream_processors/registry/): each party's facts in order, keyed by
        # its id. A role is a fact of the practitioner, so it is keyed by the practitioner.
        *_types(
            REGISTRY,
            "organization_id",
            events.ORGANIZATION_REGISTERED,
            events.ORGANIZATION_UPDATED,
            events.ORGANIZATION_RETIRED,
        ),
        *_types(
            REGISTRY, "unit_id", events.UNIT_REGISTERED, events.UNIT_UPDATED, events.UNIT_RETIRED
        ),
        *_types(
            REGISTRY,
            "practitioner_id",
            events.PRACTITIONER_REGISTERED,
            events.PRACTITIONER_UPDATED,
            events.PRACTITIONER_RETIRED,
            events.PRACTITIONER_ROLE_ASSIGNED,
            events.PRACTITIONER_ROLE_ENDED,
        ),
        *_types(
            REGISTRY,
            "device_id",
            events.DEVICE_REGISTERED,
            events.DEVICE_UPDATED,
            events.DEVICE_RETIRED,
        ),
        *_types(
            REGISTRY, "peer_id", events.PEER_REGISTERED, events.PEER_UPDATED, events.PEER_RETIRED
        ),
        # The command centre (stream_processors/command/): each MCI's declaration, casualties
        # (tags, re-triage, destinations) in one ordered stream; a hospital's capacity reports
        # in order; a unit's escorts in order; each surveillance alert's life.
        *_types(
            MCI,
            "mci_id",
            events.MCI_DECLARED,
            events.MCI_CLOSED,
            events.CASUALTY_TRIAGED,
            events.CASUALTY_ASSIGNED,
        ),
        *_types(CAPACITY, "hospital_id", events.HOSPITAL_CAPACITY_REPORTED),
        *_types(
            ESCORT,
            "unit_id",
            events.ESCORT_REQUESTED,
            events.ESCORT_ACKNOWLEDGED,
            events.ESCORT_ROUTE_UPDATED,
        ),
        *_types(
            ALERTS,
            "alert_id",
            events.SURVEILLANCE_ALERT_RAISED,
            events.SURVEILLANCE_ALERT_ACKNOWLEDGED,
        ),
        # What a hospital reports back (FHIR Procedure, Condition, Encounter disposition),
        # keyed by the subject Patient's id: one patient's outcomes in order, so a
        # resource's versions (If-Match) are counted from one partition.
        *_types(
            OUTCOME,
            "patient_key",
            events.PROCEDURE_REPORTED,
            events.CONDITION_REPORTED,
            events.DISPOSITION_REPORTED,
        ),
        # Derived (stream_processors/fhir_projector/patient_facts.py): what ECGs, incidents,
        # ADT, identity links and dispositions say of a Patient or a hospital Encounter,
        # keyed by that resource's id, so one partition (one process) folds each, in one
        # order live and on a rebuild.
        *_types(PATIENT_FACTS, "patient_key", events.PATIENT_STATED, events.PATIENT_LINK_CHANGED),
        *_types(PATIENT_FACTS, "encounter_key", events.VISIT_REPORTED, events.DISPOSITION_STATED),
    ]
}

DEAD_LETTER = events.DEAD_LETTER

# Partitions: enough for a county's processors to scale to a few consumers each.
TOPICS: list[TopicSpec] = [
    TopicSpec(INCIDENT, 6),
    # Compacted: the region view needs each unit's latest fix, not a year of GPS points.
    TopicSpec(POSITION, 3, compacted=True),
    TopicSpec(CLINIC_ECG, 6),
    TopicSpec(READING, 6),
    TopicSpec(ADT, 3),
    TopicSpec(IDENTITY, 3),
    TopicSpec(SUBSCRIPTIONS, 3),
    TopicSpec(AUDIT, 3),
    # Small and read whole by one processor; one partition keeps the registry in one order.
    TopicSpec(REGISTRY, 1),
    # The command centre's topics are small: an MCI is tens of events, a county a few
    # hospitals; the MCI and capacity folds read across keys, so few partitions suffice.
    TopicSpec(MCI, 3),
    TopicSpec(CAPACITY, 1),
    TopicSpec(ESCORT, 3),
    TopicSpec(ALERTS, 1),
    TopicSpec(OUTCOME, 3),
    TopicSpec(PATIENT_FACTS, 6),
]


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[TopicSpec]:
    """Event topics and their dead-letter topics."""
    return TOPICS + [TopicSpec(dlq_topic(t.name), 1) for t in TOPICS]
