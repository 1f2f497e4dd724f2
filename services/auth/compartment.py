"""A hospital's patient compartment: the Patients it may read through FHIR.

A hospital may read a Patient (read, vread, history, $everything) when that Patient, or a
Patient merged with it (Patient.link, both ways, as $everything follows them), is the
subject of an Encounter that names the hospital: an ambulance Encounter whose
`hospitalization.destination` is the hospital (pre-alerted or handed over to it), or a
hospital Encounter (from its ADT) whose `serviceProvider` is the hospital. Incoming
patients and those linked to them are thus in; a Patient of another hospital is not (403,
whether or not it exists, so a refusal tells nothing about existence).

Coarse, on purpose, and documented: reads of other resource types by id and searches are
not filtered per hospital (any hospital with the `<type>.read` scope reads them), because
that needs the compartment of every resource type at search time.
"""

from __future__ import annotations

import json

from services.fhir_api.everything import linked_patients
from stream_processors.fhir_projector.codes import SITE_ID
from viewstore.base import StoredResource, ViewStore

ENCOUNTER_SUBJECT = "Encounter.subject"  # lookup index: "Patient/<id>" -> Encounters


def hospital_may_read_patient(store: ViewStore, hospital_id: str, patient_id: str) -> bool:
    patient = store.read("Patient", patient_id)
    if patient is None:
        return False
    for person in linked_patients(store.read, patient):
        for rtype, rid in store.lookup(ENCOUNTER_SUBJECT, f"Patient/{person.id}"):
            encounter = store.read(rtype, rid) if rtype == "Encounter" else None
            if encounter is not None and hospital_id in _hospitals(encounter):
                return True
    return False


def _hospitals(encounter: StoredResource) -> set[str]:
    body = json.loads(encounter.body)
    named = [
        body.get("hospitalization", {}).get("destination", {}),
        body.get("serviceProvider", {}),
    ]
    return {
        str(ref["identifier"]["value"])
        for ref in named
        if ref.get("identifier", {}).get("system") == SITE_ID
    }
