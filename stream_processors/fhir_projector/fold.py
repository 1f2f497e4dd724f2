"""The FHIR projection as a pure fold: `fold(state, event) -> new versions`.

`state` maps (resourceType, id) to the current resource (meta excluded) for the refs that
`refs(event)` names; the runner loads them, calls `fold`, and stores every returned resource
as its next version. One small function per event type, found through `FOLDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stream_processors.fhir_projector.ecg_to_fhir import ecg_observation
from stream_processors.fhir_projector.hospital_to_fhir import ADT_FOLDS
from stream_processors.fhir_projector.identity_to_fhir import (
    LINKED,
    UNLINKED,
    fold_linked,
    fold_unlinked,
    link_refs,
)
from stream_processors.fhir_projector.measured_to_fhir import (
    measurement_observation,
    measurement_observation_id,
)
from stream_processors.fhir_projector.patient_to_fhir import merge_patient
from stream_processors.ids import ecg_observation_id, patient_id
from stream_processors.incident_fhir.fold import INCIDENT_FOLDS
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
State = Mapping[Ref, Json]


def _ecg_refs(event: Json) -> list[Ref]:
    return [
        ("Patient", patient_id(event["patient"]["identifiers"])),
        ("Observation", ecg_observation_id(event["ecg_id"])),
    ]


def _fold_ecg_submitted(state: State, event: Json) -> dict[Ref, Json]:
    patient_ref, obs_ref = _ecg_refs(event)
    patient = merge_patient(state.get(patient_ref), event["patient"], event["meta"]["occurred_at"])
    return {patient_ref: patient, obs_ref: ecg_observation(event)}


def _measured_refs(event: Json) -> list[Ref]:
    return (
        [("Observation", measurement_observation_id(event["ecg_id"]))]
        if event.get("patient_ref")
        else []
    )


def _fold_ecg_measured(state: State, event: Json) -> dict[Ref, Json]:
    refs = _measured_refs(event)
    return {refs[0]: measurement_observation(event)} if refs else {}


FOLDS: dict[str, tuple[Callable[[Json], list[Ref]], Callable[[State, Json], dict[Ref, Json]]]] = {
    "goldenhour.ecg.EcgSubmitted": (_ecg_refs, _fold_ecg_submitted),
    "goldenhour.reading.EcgMeasured": (_measured_refs, _fold_ecg_measured),
    # ems.incident: Encounter, Patient, vital signs, Procedure, MedicationAdministration,
    # Flag, handover Composition (stream_processors/incident_fhir/fold.py)
    **INCIDENT_FOLDS,
    # hospital.adt: the hospital's Patient (MRN) and Encounter (hospital_to_fhir.py)
    **ADT_FOLDS,
    # identity.links: Patient.link / active and a Provenance (identity_to_fhir.py)
    LINKED: (link_refs, fold_linked),
    UNLINKED: (link_refs, fold_unlinked),
}


def refs(event_name: str, event: Json) -> list[Ref]:
    """The resources an event touches (empty for events this projection ignores)."""
    entry = FOLDS.get(event_name)
    return entry[0](event) if entry else []


def fold(state: State, event_name: str, event: Json) -> dict[Ref, Json]:
    """New content of every resource the event changes."""
    entry = FOLDS.get(event_name)
    return entry[1](state, event) if entry else {}


def index_entries(resource: Json) -> list[IndexEntry]:
    """Secondary lookups of a resource, for FHIR search by identifier and subject."""
    rtype, rid = resource["resourceType"], resource["id"]
    identifiers = resource.get("identifier", [])
    out = [
        IndexEntry(f"{rtype}.identifier", f"{i['system']}|{i['value']}", rtype, rid)
        # Composition.identifier is a single Identifier, not a list
        for i in ([identifiers] if isinstance(identifiers, dict) else identifiers)
    ]
    if "subject" in resource:
        out.append(IndexEntry(f"{rtype}.subject", resource["subject"]["reference"], rtype, rid))
    if "for" in resource:
        out.append(IndexEntry(f"{rtype}.for", resource["for"]["reference"], rtype, rid))
    for target in resource.get("target", []) if rtype == "Provenance" else []:
        out.append(IndexEntry("Provenance.target", target["reference"], rtype, rid))
    encounter = resource.get("encounter") or resource.get("context")  # context: MedAdmin
    if encounter and "reference" in encounter:
        out.append(IndexEntry(f"{rtype}.encounter", encounter["reference"], rtype, rid))
    if rtype == "Patient":
        out += _patient_entries(resource)
    for param, codings in _token_fields(resource):
        out += [IndexEntry(f"{rtype}.{param}", key, rtype, rid) for key in _token_keys(codings)]
    return out


# Coded elements searched as tokens, per type: search parameter -> the element's codings.
TOKEN_PARAMS: dict[str, dict[str, Callable[[Json], list[Json]]]] = {
    "Encounter": {
        "status": lambda r: [{"code": r["status"]}],
        "class": lambda r: [r["class"]],
    },
    "Flag": {"status": lambda r: [{"code": r["status"]}]},
    "Observation": {
        "code": lambda r: r["code"].get("coding", []),
        "category": lambda r: [c for cat in r.get("category", []) for c in cat.get("coding", [])],
    },
    "Composition": {"type": lambda r: r["type"].get("coding", [])},
    "Patient": {"gender": lambda r: [{"code": r["gender"]}] if "gender" in r else []},
    "DiagnosticReport": {
        "code": lambda r: r["code"].get("coding", []),
        "status": lambda r: [{"code": r["status"]}],
    },
}
NAME_PREFIX_MAX = 12  # FHIR string search matches name starts: index prefixes up to this


def _prefixes(text: str) -> list[str]:
    word = text.strip().lower()
    return [word[:n] for n in range(1, min(len(word), NAME_PREFIX_MAX) + 1)]


def _patient_entries(patient: Json) -> list[IndexEntry]:
    """Name parts (family, given, and the whole name as written: 王建国) by prefix, and the
    birth date by day, month and year."""
    rid, keys = patient["id"], []
    for name in patient.get("name", []):
        family, given = name.get("family", ""), name.get("given", [])
        keys += [("Patient.family", k) for k in _prefixes(family)] if family else []
        for part in given:
            keys += [("Patient.given", k) for k in _prefixes(part)]
        parts = [p for p in [family, *given, name.get("text", "")] if p]
        parts += ["".join([family, *given])] if family and given else []
        keys += [("Patient.name", k) for part in parts for k in _prefixes(part)]
    if born := patient.get("birthDate"):
        keys += [("Patient.birthdate", born[:n]) for n in (4, 7, 10) if len(born) >= n]
    return [IndexEntry(index, key, "Patient", rid) for index, key in dict.fromkeys(keys)]


def _token_fields(resource: Json) -> list[tuple[str, list[Json]]]:
    params = TOKEN_PARAMS.get(resource["resourceType"], {})
    return [(param, codings(resource)) for param, codings in params.items()]


def _token_keys(codings: list[Json]) -> list[str]:
    """`system|code` and bare `code` per coding (search.html#token), without repeats."""
    keys = [f"{c['system']}|{c['code']}" for c in codings if c.get("system")]
    keys += [c["code"] for c in codings]
    return list(dict.fromkeys(keys))
