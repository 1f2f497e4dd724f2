"""The patient projector (group `patient-projector`): every Patient and hospital Encounter,
folded from `patient.facts` only. The FHIR projector re-keys there what ECGs, incidents, ADT,
links and dispositions say of them (patient_facts.py), each fact keyed by the resource it
changes, so each is written by the one process that owns its partition, in the topic's order,
live and on a rebuild alike.

| fact               | the resource's next version                                         |
|--------------------|---------------------------------------------------------------------|
| PatientStated      | Patient: `merge_patient` of the details (patient_to_fhir.py)        |
| PatientLinkChanged | Patient: its link to the other added (a stub if unknown) or removed |
|                    | (an unknown Patient stays unknown: identity_to_fhir.link_side)       |
| VisitReported      | hospital Encounter of the visit (hospital_to_fhir.visit_encounter)  |
| DispositionStated  | hospital Encounter's disposition (outcome_to_fhir.with_disposition) |
"""

from __future__ import annotations

from avro_schemas.catalogue import PATIENT_FACTS
from avro_schemas.events import (
    DISPOSITION_STATED,
    PATIENT_LINK_CHANGED,
    PATIENT_STATED,
    VISIT_REPORTED,
)
from kernel.jsontypes import Json
from kernel.search_params import index_entries
from stream_processors.adapter import Processor, Ref, one_document
from stream_processors.fhir_projector.hospital_to_fhir import visit_encounter
from stream_processors.fhir_projector.identity_to_fhir import link_side
from stream_processors.fhir_projector.outcome_to_fhir import with_disposition
from stream_processors.fhir_projector.patient_to_fhir import merge_patient


def _patient(fact: Json) -> Ref:
    return "Patient", fact["patient_key"]


def _encounter(fact: Json) -> Ref:
    return "Encounter", fact["encounter_key"]


def _patient_step(before: Json | None, event_name: str, fact: Json) -> Json | None:
    if event_name == PATIENT_STATED:
        return merge_patient(before, fact["patient"], fact["meta"]["occurred_at"])
    return link_side(
        before,
        fact["patient_key"],
        fact["identifier"],
        fact["other_patient_id"],
        fact["link_type"],
        fact["linked"],
    )


def _encounter_step(before: Json | None, event_name: str, fact: Json) -> Json | None:
    if event_name == VISIT_REPORTED:
        return visit_encounter(before, fact)
    return with_disposition(before, fact)


PROCESSOR = Processor(
    name="patient-projector",
    topics=[PATIENT_FACTS],
    folds={
        **one_document([PATIENT_STATED, PATIENT_LINK_CHANGED], _patient, _patient_step),
        **one_document([VISIT_REPORTED, DISPOSITION_STATED], _encounter, _encounter_step),
    },
    index=index_entries,
)
