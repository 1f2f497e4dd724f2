"""Every processor of the system, in one table: the index of where events are folded.

| processor        | group / name      | topics             | writes                                  |
|------------------|-------------------|--------------------|-----------------------------------------|
| FHIR projector   | fhir-projector    | clinic.ecg,        | Patient, Observation (ECG),             |
|                  |                   | diagnosis.reading, | Observation (automatic measurements);   |
|                  |                   | ems.incident       | per incident: Encounter, Observation    |
|                  |                   |                    | (vital signs, estimated age), Procedure,|
|                  |                   |                    | MedicationAdministration, Flag          |
|                  |                   |                    | (pre-alert), Composition (handover),    |
|                  |                   |                    | IncidentRecord (internal)               |
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
"""

from __future__ import annotations

from stream_processors.audit.processor import AuditProjection
from stream_processors.diagnosis_queue.processor import QueueProjection
from stream_processors.ecg_measurement.processor import MeasurementProcessor
from stream_processors.fhir_projector.processor import FhirProjection
from stream_processors.hospital_board.processor import HospitalBoardProjection
from stream_processors.incident_ecg.processor import IncidentEcgRouter
from stream_processors.notifier.processor import NotifierProjection
from stream_processors.report_outbox.processor import OutboxProjection
from stream_processors.runner import Projection
from stream_processors.unit_tracker.processor import UnitTrackerProjection


def projections(reading_centre_id: str, region_id: str) -> list[Projection]:
    """Every processor; the routing of ambulance ECGs to a reading centre is configuration."""
    return [
        FhirProjection(),
        QueueProjection(),
        MeasurementProcessor(),
        OutboxProjection(),
        IncidentEcgRouter(reading_centre_id, region_id),
        HospitalBoardProjection(),
        UnitTrackerProjection(),
        NotifierProjection(),
        AuditProjection(),
    ]
