"""The FHIR projector as the runner sees it: its group name, its topics, its fold table
(`fold.FOLDS`: event name -> `Step(refs, fold)`), its lookups (`fold.index_entries`) and
the Patient facts it re-keys to `patient.facts` (`patient_facts.py`; the patient projector,
`patients.py`, writes every Patient)."""

from __future__ import annotations

from avro_schemas.catalogue import ADT, CLINIC_ECG, IDENTITY, INCIDENT, OUTCOME, READING
from stream_processors.adapter import Processor
from stream_processors.fhir_projector.fold import FOLDS, index_entries
from stream_processors.fhir_projector.patient_facts import patient_facts

PROCESSOR = Processor(
    name="fhir-projector",
    topics=[CLINIC_ECG, READING, INCIDENT, ADT, IDENTITY, OUTCOME],
    folds=FOLDS,
    index=index_entries,
    emit=patient_facts,
)
