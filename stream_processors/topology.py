"""Every long-running worker of the system, in one list (`workers`): the processors (the
index of where events are folded) and the background tasks that act on their views. `serve`
runs what this list names (all, or those in GOLDENHOUR_PROCESSORS), and
deploy/region/render.py renders one region Deployment / compose service per worker from it,
so a worker cannot be forgotten in a region (tests/unit/test_deploy_manifests.py).

| processor        | group / name      | topics             | writes                                  |
|------------------|-------------------|--------------------|-----------------------------------------|
| FHIR projector   | fhir-projector    | clinic.ecg,        | Observation (ECG), Observation          |
|                  |                   | diagnosis.reading, | (automatic measurements); per incident: |
|                  |                   | ems.incident,      | Encounter, Observation (vital signs,    |
|                  |                   | hospital.adt,      | estimated age), Procedure,              |
|                  |                   | identity.links,    | MedicationAdministration, Flag          |
|                  |                   | hospital.outcome   | (pre-alert), Composition (handover),    |
|                  |                   |                    | IncidentRecord (internal); hospital     |
|                  |                   |                    | Encounter, Procedure, Condition;        |
|                  |                   |                    | Provenance (links); emits PatientStated |
|                  |                   |                    | + PatientLinkChanged to patient.facts   |
| patient projector| patient-projector | patient.facts      | Patient (its one writer: the topic is   |
|                  |                   |                    | keyed by the Patient's id)              |
| read queue       | diagnosis-queue   | diagnosis.reading  | QueueItem (internal), Task,             |
|                  |                   |                    | ServiceRequest, DiagnosticReport        |
| ECG measurer     | ecg-measurer      | clinic.ecg         | emits EcgMeasured to diagnosis.reading  |
| report outbox    | report-outbox     | diagnosis.reading  | OutboxItem (internal; lookup            |
|                  |                   |                    | OutboxItem.pending) for HL7 senders     |
| incident ECGs    | incident-ecg-     | ems.incident       | IncidentEcgState (internal); emits      |
|                  | router            |                    | EcgSubmitted + ReadRequested            |
| hospital board   | hospital-board    | ems.incident       | IncomingAmbulance (internal; lookup     |
|                  |                   |                    | IncomingAmbulance.destination)          |
| unit tracker     | unit-tracker      | ems.position,      | UnitState (internal; lookups            |
|                  |                   | ems.incident       | UnitState.station, UnitState.region)    |
| notifier         | notifier          | fhir.subscriptions,| emits NotificationTriggered; writes     |
|                  |                   | ems.incident,      | Subscription, SubscriptionState (lookup |
|                  |                   | diagnosis.reading, | SubscriptionState.channel),             |
|                  |                   | identity.links     | SubscriptionEvent (internal)            |
| access audit     | audit             | audit.access       | AuditEvent (lookups AuditEvent.agent,   |
|                  |                   |                    | .entity, .type, .subtype)               |
| registry         | registry          | registry           | RegistryEntry (internal; lookups by     |
|                  |                   |                    | kind, region, station, reads-for,       |
|                  |                   |                    | member, facility), Organization,        |
|                  |                   |                    | Location, Practitioner,                 |
|                  |                   |                    | PractitionerRole, Device, Endpoint      |
| MCI              | mci               | command.mci,       | MciState, HospitalCapacity (internal);  |
|                  |                   | command.capacity   | per casualty: Patient, Encounter, Flag  |
|                  |                   |                    | (triage tag), MciCasualty (grants)      |
| escort           | escort            | ems.incident,      | EscortWatch, EscortItem (internal;      |
|                  |                   | command.escort     | lookups .all, .pending); emits          |
|                  |                   |                    | EscortRequested                         |
| surveillance     | surveillance      | ems.incident,      | SurveillanceCounts, SurveillanceAlert   |
|                  |                   | diagnosis.reading, | (internal); emits                       |
|                  |                   | command.alerts     | SurveillanceAlertRaised (EARS C2)       |

| background task     | entry (services/workers.py)  | what it does                            |
|---------------------|------------------------------|-----------------------------------------|
| queue-sweeper       | queue_sweeper                | escalates overdue reads (ReadEscalated),|
|                     |                              | hands back expired leases               |
| hl7-report-sender   | hl7_report_sender            | sends signed reads owed to HL7 clinics  |
|                     |                              | (OutboxItem.pending) over MLLP          |
| subscription-sender | subscription_sender          | delivers SubscriptionEvents to          |
|                     |                              | rest-hook endpoints                     |
| escort-sender       | escort_sender                | posts EscortRequested to the traffic    |
|                     |                              | platform until it answers 202           |

Tasks live in services (they use the API's clients) and are named here by dotted path, so
processors never import services; a task is started as `entry(system, stop_event)` and
returns when the event is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream_processors.audit.processor import PROCESSOR as AUDIT
from stream_processors.diagnosis_queue.processor import PROCESSOR as QUEUE
from stream_processors.ecg_measurement.processor import PROCESSOR as MEASURER
from stream_processors.escort.processor import PROCESSOR as ESCORT
from stream_processors.fhir_projector.patients import PROCESSOR as PATIENT_PROJECTOR
from stream_processors.fhir_projector.processor import PROCESSOR as FHIR_PROJECTOR
from stream_processors.hospital_board.processor import PROCESSOR as HOSPITAL_BOARD
from stream_processors.incident_ecg.processor import incident_ecg_router
from stream_processors.mci.processor import PROCESSOR as MCI
from stream_processors.notifier.processor import PROCESSOR as NOTIFIER
from stream_processors.registry.processor import PROCESSOR as REGISTRY
from stream_processors.report_outbox.processor import PROCESSOR as OUTBOX
from stream_processors.runner import Projection
from stream_processors.surveillance.processor import PROCESSOR as SURVEILLANCE
from stream_processors.unit_tracker.processor import PROCESSOR as UNIT_TRACKER

# Processes of a consumer group a region starts with; it scales up to the partitions of its
# topics (more consumers than partitions would idle).
GROUP_REPLICAS = 2


@dataclass(frozen=True)
class Worker:
    """One long-running worker: a processor (`projection`, folded by a runner in a consumer
    group named `name`) or a background task (`task`: "module:function" in services).
    `replicas`: how many processes a region runs; `scalable`: may it run more?"""

    name: str
    replicas: int = 1
    scalable: bool = False
    projection: Projection | None = None
    task: str = ""

    @property
    def topics(self) -> list[str]:
        """The topics a processor reads (none for a task)."""
        return list(self.projection.topics) if self.projection else []


def _group(projection: Projection) -> Worker:
    return Worker(projection.name, GROUP_REPLICAS, True, projection)


def workers(reading_centre_id: str, region_id: str) -> list[Worker]:
    """Every worker; the routing of ambulance ECGs to a reading centre is configuration."""
    return [
        # A Patient, fed by ECGs, incidents, ADT and links on many partitions, is not
        # written by the FHIR projector: it re-keys those facts to patient.facts (keyed by
        # the Patient), so each Patient has one writer (tests/integration/test_scale_out.py).
        _group(FHIR_PROJECTOR),
        _group(PATIENT_PROJECTOR),
        _group(QUEUE),
        _group(MEASURER),
        _group(OUTBOX),
        _group(incident_ecg_router(reading_centre_id, region_id)),
        _group(HOSPITAL_BOARD),
        # One writer: a unit's state is fed by incidents and by its positions (two topics).
        Worker(UNIT_TRACKER.name, 1, False, UNIT_TRACKER),
        # One consumer: the subscription registry is one document that every partition
        # read triggers on (stream_processors/notifier/processor.py).
        Worker(NOTIFIER.name, 1, False, NOTIFIER),
        _group(AUDIT),
        # One consumer: the registry topic has one partition (one order for who is who).
        Worker(REGISTRY.name, 1, False, REGISTRY),
        _group(MCI),
        _group(ESCORT),
        # One consumer: a count sums events of every partition (two would race on it).
        Worker(SURVEILLANCE.name, 1, False, SURVEILLANCE),
        # Escalation ids derive from the ECG, so two sweepers would be harmless; one is enough.
        Worker("queue-sweeper", task="services.workers:queue_sweeper"),
        # One sender per destination: two would race to deliver the same report.
        Worker("hl7-report-sender", task="services.workers:hl7_report_sender"),
        # One sender per subscription: two would post notifications twice.
        Worker("subscription-sender", task="services.workers:subscription_sender"),
        # One sender: two would race to deliver the same escort request.
        Worker("escort-sender", task="services.workers:escort_sender"),
    ]


def projections(reading_centre_id: str, region_id: str) -> list[Projection]:
    """Every processor (the workers that fold a topic)."""
    return [w.projection for w in workers(reading_centre_id, region_id) if w.projection]
