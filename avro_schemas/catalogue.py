"""The event catalogue: event type -> topic and the field whose value is the record key.

Keys keep order where it matters: every event of one incident, or of one ECG, lands in one
partition. Partition counts are per topic; changing one re-keys nothing already written but
moves future events of a key, so it is a migration, not a setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventlog.base import TopicSpec

INCIDENT = "ems.incident"
POSITION = "ems.position"
CLINIC_ECG = "clinic.ecg"
READING = "diagnosis.reading"
ADT = "hospital.adt"
IDENTITY = "identity.links"
SUBSCRIPTIONS = "fhir.subscriptions"
AUDIT = "audit.access"


@dataclass(frozen=True)
class EventType:
    name: str  # full Avro record name
    topic: str
    key_field: str


def _types(namespace: str, topic: str, key_field: str, *names: str) -> list[EventType]:
    return [EventType(f"goldenhour.{namespace}.{n}", topic, key_field) for n in names]


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in [
        *_types(
            "ems",
            INCIDENT,
            "incident_id",
            "IncidentOpened",
            "UnitStatusChanged",
            "PatientRecorded",
            "VitalsRecorded",
            "InterventionPerformed",
            "MedicationGiven",
            "EcgAcquired",
            "PreAlertRaised",
            "HandoverSubmitted",
            "HandoverAccepted",
        ),
        *_types("ems", POSITION, "unit_id", "UnitPositionReported"),
        *_types("ecg", CLINIC_ECG, "ecg_id", "EcgSubmitted"),
        # ReadRequested lives on diagnosis.reading, not clinic.ecg: the queue then folds one
        # totally ordered stream per ECG (request, measurement, claims, report), so its
        # decisions (who holds a lease) are the same live and on a rebuild.
        EventType("goldenhour.ecg.ReadRequested", READING, "ecg_id"),
        *_types(
            "reading",
            READING,
            "ecg_id",
            "EcgMeasured",
            "ReadClaimed",
            "ReadReleased",
            "ReadReported",
            "ReadEscalated",
            "ReportDelivered",
        ),
        *_types(
            "adt",
            ADT,
            "patient_key",
            "PatientRegistered",
            "PatientAdmitted",
            "PatientTransferred",
            "PatientDischarged",
            "PatientUpdated",
        ),
        # Keyed by the source Patient's id: the link and the unlink of one source are in one
        # partition, in order (the fold of the two is not commutative; see identity_to_fhir).
        *_types("identity", IDENTITY, "patient_key", "PatientLinked", "PatientUnlinked"),
        # One stream per FHIR Subscription: its request, every notification it triggered (the
        # n-th NotificationTriggered of the key is eventNumber n, the same on a rebuild), its
        # deliveries, status changes and deletion.
        *_types(
            "subscription",
            SUBSCRIPTIONS,
            "subscription_id",
            "SubscriptionRequested",
            "SubscriptionDeleted",
            "NotificationTriggered",
            "NotificationDelivered",
            "SubscriptionStatusChanged",
        ),
        # Who read, searched or wrote patient data (services/auth/audit.py), keyed by the
        # principal's subject ("anonymous" without a valid token): one agent's trail in order.
        EventType("goldenhour.audit.AccessRecorded", AUDIT, "agent_subject"),
    ]
}

DEAD_LETTER = "goldenhour.dlq.DeadLetter"

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
]


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> list[TopicSpec]:
    """Event topics and their dead-letter topics."""
    return TOPICS + [TopicSpec(dlq_topic(t.name), 1) for t in TOPICS]
