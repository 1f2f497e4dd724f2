"""The FHIR projection as a pure fold: `fold(state, event) -> new versions`.

`state` maps (resourceType, id) to the current resource (meta excluded) for the refs that
`refs(event)` names; the runner loads them, calls `fold`, and stores every returned resource
as its next version. One small function per event type, found through `FOLDS`. Patients are
not written here: they have one writer, the patient projector (patients.py), fed by the
facts this projector re-keys (patient_facts.py).
"""

from __future__ import annotations

from avro_schemas.events import ECG_MEASURED, ECG_SUBMITTED, PATIENT_LINKED, PATIENT_UNLINKED
from kernel.ids import ecg_observation_id
from kernel.jsontypes import Json
from kernel.jurisdiction import incident
from kernel.search_params import NAME_PREFIX_MAX  # noqa: F401 (stream_processors/registry)
from kernel.search_params import index_entries as search_index_entries
from stream_processors.adapter import Ref, State, Step
from stream_processors.fhir_projector.ecg_to_fhir import (
    ecg_document,
    ecg_document_id,
    ecg_observation,
)
from stream_processors.fhir_projector.identity_to_fhir import (
    fold_linked,
    fold_unlinked,
    link_refs,
    provenance_only,
)
from stream_processors.fhir_projector.incident.fold import INCIDENT_FOLDS
from stream_processors.fhir_projector.incident.record import RECORD, parties
from stream_processors.fhir_projector.measured_to_fhir import (
    measurement_observation,
    measurement_observation_id,
)
from stream_processors.fhir_projector.outcome_to_fhir import OUTCOME_FOLDS
from stream_processors.jurisdiction import grant_entries
from viewstore.base import IndexEntry


def _ecg_refs(event: Json) -> list[Ref]:
    refs = [("Observation", ecg_observation_id(event["ecg_id"]))]
    if event.get("document"):
        refs.append(("DocumentReference", ecg_document_id(event["ecg_id"])))
    return refs


def _fold_ecg_submitted(state: State, event: Json) -> dict[Ref, Json]:
    # Its Patient is re-keyed to the patient projector (patient_facts.py).
    out = {_ecg_refs(event)[0]: ecg_observation(event)}
    if (document := ecg_document(event)) is not None:
        out[("DocumentReference", document["id"])] = document
    return out


def _measured_refs(event: Json) -> list[Ref]:
    return (
        [("Observation", measurement_observation_id(event["ecg_id"]))]
        if event.get("patient_ref")
        else []
    )


def _fold_ecg_measured(state: State, event: Json) -> dict[Ref, Json]:
    refs = _measured_refs(event)
    return {refs[0]: measurement_observation(event)} if refs else {}


FOLDS: dict[str, Step] = {
    ECG_SUBMITTED: Step(_ecg_refs, _fold_ecg_submitted),
    ECG_MEASURED: Step(_measured_refs, _fold_ecg_measured),
    # ems.incident: Encounter, Patient, vital signs, Procedure, MedicationAdministration,
    # Flag, handover Composition (stream_processors/fhir_projector/incident/fold.py)
    **INCIDENT_FOLDS,
    # hospital.adt: nothing here; its Patient (MRN) and hospital Encounter are re-keyed to
    # the patient projector (patient_facts.py, hospital_to_fhir.py)
    # identity.links: a Provenance (identity_to_fhir.py); Patient.link / active are
    # re-keyed to the patient projector, as every Patient fact (patient_facts.py)
    PATIENT_LINKED: Step(link_refs, provenance_only(fold_linked)),
    PATIENT_UNLINKED: Step(link_refs, provenance_only(fold_unlinked)),
    # hospital.outcome: the hospital's Procedure, Condition (outcome_to_fhir.py); an
    # Encounter disposition is re-keyed to the patient projector (patient_facts.py)
    **OUTCOME_FOLDS,
}


def refs(event_name: str, event: Json) -> list[Ref]:
    """The resources an event touches (empty for events this projection ignores)."""
    step = FOLDS.get(event_name)
    return step.refs(event) if step else []


def fold(state: State, event_name: str, event: Json) -> dict[Ref, Json]:
    """New content of every resource the event changes."""
    step = FOLDS.get(event_name)
    return step.fold(state, event) if step else {}


def index_entries(resource: Json) -> list[IndexEntry]:
    """Lookups of a resource: its search parameters (declared in kernel/search_params.py)
    and, for an incident record, who takes part in the incident (kernel/jurisdiction.py)."""
    out = search_index_entries(resource)
    if resource["resourceType"] == RECORD:
        out += grant_entries(incident(resource["incident_id"]), parties(resource))
    return out
