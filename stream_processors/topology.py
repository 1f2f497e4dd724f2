"""Every processor of the system, in one table: the index of where events are folded.

| processor        | group / name      | topics             | writes                                  |
|------------------|-------------------|--------------------|-----------------------------------------|
| FHIR projector   | fhir-projector    | clinic.ecg         | Patient, Observation (ECG)              |
| read queue       | diagnosis-queue   | diagnosis.reading  | QueueItem (internal), Task,             |
|                  |                   |                    | ServiceRequest, DiagnosticReport        |
| ECG measurer     | ecg-measurer      | clinic.ecg         | emits EcgMeasured to diagnosis.reading  |
| report outbox    | report-outbox     | diagnosis.reading  | OutboxItem (internal; lookup            |
|                  |                   |                    | OutboxItem.pending) for HL7 senders     |
"""

from __future__ import annotations

from stream_processors.diagnosis_queue.processor import QueueProjection
from stream_processors.ecg_measurement.processor import MeasurementProcessor
from stream_processors.fhir_projector.processor import FhirProjection
from stream_processors.report_outbox.processor import OutboxProjection
from stream_processors.runner import Projection


def projections() -> list[Projection]:
    return [FhirProjection(), QueueProjection(), MeasurementProcessor(), OutboxProjection()]
