"""Every processor of the system, in one table: the index of where events are folded.

| processor        | group / name      | topics             | writes                                  |
|------------------|-------------------|--------------------|-----------------------------------------|
| FHIR projector   | fhir-projector    | clinic.ecg,        | Patient, Observation (ECG),             |
|                  |                   | diagnosis.reading  | Observation (automatic measurements)    |
| read queue       | diagnosis-queue   | diagnosis.reading  | QueueItem (internal), Task,             |
|                  |                   |                    | ServiceRequest, DiagnosticReport        |
| ECG measurer     | ecg-measurer      | clinic.ecg         | emits EcgMeasured to diagnosis.reading  |
| report outbox    | report-outbox     | diagnosis.reading  | OutboxItem (internal; lookup            |
|                  |                   |                    | OutboxItem.pending) for HL7 senders     |
| incident ECGs    | incident-ecg-     | ems.incident       | IncidentEcgState (internal); emits      |
|                  | router            |                    | EcgSubmitted + ReadRequested            |
"""

from __future__ import annotations

from stream_processors.diagnosis_queue.processor import QueueProjection
from stream_processors.ecg_measurement.processor import MeasurementProcessor
from stream_processors.fhir_projector.processor import FhirProjection
from stream_processors.incident_ecg.processor import IncidentEcgRouter
from stream_processors.report_outbox.processor import OutboxProjection
from stream_processors.runner import Projection


def projections(reading_centre_id: str, region_id: str) -> list[Projection]:
    """Every processor; the routing of ambulance ECGs to a reading centre is configuration."""
    return [
        FhirProjection(),
        QueueProjection(),
        MeasurementProcessor(),
        OutboxProjection(),
        IncidentEcgRouter(reading_centre_id, region_id),
    ]
