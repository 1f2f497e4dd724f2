"""The incident's events as FHIR projector folds: `INCIDENT_FOLDS[event name] = Step(refs, fold)`.

Every event loads and may rewrite the incident's record, Encounter and Composition (ids from
the incident id), plus what it names itself: its new Observations, Procedure or
MedicationAdministration (ids from its event id), the Flags it can change. A resource is
returned only when its content changed, and only if `refs` named it (the runner versions
exactly what it loaded). The incident's Patient is not written here: it is fed by many
partitions (every ECG, every incident of the person), so `stated_patient` gives what an event
says of it, which `patient_facts.py` re-keys by the Patient's id for the patient projector
(one writer per Patient). It is named by the rule in `identity.py`, so the ECG's and the
incident's are one resource; when clinical data comes before any PatientRecorded, the
unidentified patient (the incident id as temporary id) is stated first so every `subject`
resolves.
"""

from __future__ import annotations

from collections.abc import Callable

from avro_schemas import events
from kernel.ids import ecg_observation_id, patient_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.adapter import Ref, Refs, State, Step
from stream_processors.fhir_projector.incident.codes import AGE, LOINC, UCUM
from stream_processors.fhir_projector.incident.encounter import encounter, encounter_id
from stream_processors.fhir_projector.incident.handover import composition
from stream_processors.fhir_projector.incident.identity import (
    patient_details,
    recorded_patient,
    stored_details,
)
from stream_processors.fhir_projector.incident.prealerts import flag, flag_id, flag_refs
from stream_processors.fhir_projector.incident.record import (
    OWN_RESOURCES,
    as_resource,
    at,
    load,
    record_ref,
)
from stream_processors.fhir_projector.incident.treatment import (
    medication_administration,
    medication_administration_id,
    medication_text,
    procedure,
    procedure_id,
    procedure_text,
)
from stream_processors.fhir_projector.incident.vitals import (
    summary,
    vital_observations,
    vitals_refs,
)

Update = Callable[[Json, Json], tuple[Json, list[Json]]]


def _patient_ref(details: Json) -> Ref:
    return "Patient", patient_id(details["identifiers"])


def _unidentified_ref(incident_id: str) -> Ref:
    return _patient_ref(patient_details(incident_id, None))


def age_observation_id(event_id: str) -> str:
    return resource_id("Observation", "estimated-age", event_id)


# -- what each event does to the record (and the resources it makes) ----------------------


def _opened(record: Json, e: Json) -> tuple[Json, list[Json]]:
    opened = {
        "dispatch_reason": e["dispatch_reason"],
        "priority": e["priority"],
        "station_id": e["station_id"],
        "unit_id": e["unit_id"],
        "scene": e.get("scene"),
        "at": at(e),
    }
    return {**record, "opened": opened}, []


def _status(record: Json, e: Json) -> tuple[Json, list[Json]]:
    point = {"status": e["status"], "at": at(e), "unit_id": e["unit_id"]}
    return {**record, "timeline": [*record["timeline"], point]}, []


def _age_observation(record: Json, e: Json, subject: str, years: int) -> Json:
    return {
        "resourceType": "Observation",
        "id": age_observation_id(e["meta"]["event_id"]),
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": AGE[0], "display": AGE[1]}]},
        "subject": {"reference": f"Patient/{subject}"},
        "encounter": {"reference": f"Encounter/{encounter_id(record['incident_id'])}"},
        "effectiveDateTime": at(e),
        "valueQuantity": {"value": years, "unit": "a", "system": UCUM, "code": "a"},
        "method": {"text": "Estimated by the ambulance crew"},
    }


def _patient(record: Json, e: Json) -> tuple[Json, list[Json]]:
    recorded = recorded_patient(e)
    details = patient_details(record["incident_id"], recorded)
    subject = _patient_ref(details)[1]
    record = {**record, "patient": stored_details(recorded), "patient_id": subject}
    years = details.get("estimated_age_years")
    if years is None:
        return {**record, "age_observation": ""}, []
    age = _age_observation(record, e, subject, years)
    return {**record, "age_observation": age["id"]}, [age]


def _vitals(record: Json, e: Json) -> tuple[Json, list[Json]]:
    observations = vital_observations(e, record["patient_id"], encounter_id(record["incident_id"]))
    entry = {
        "at": at(e),
        "panel": observations[-1]["id"],
        "members": [o["id"] for o in observations[:-1]],
        "summary": summary(e),
    }
    return {**record, "vitals": [*record["vitals"], entry]}, observations


def _treated(record: Json, resource: Json, e: Json, text: str) -> tuple[Json, list[Json]]:
    item = {"ref": f"{resource['resourceType']}/{resource['id']}", "at": at(e), "text": text}
    return {**record, "treatments": [*record["treatments"], item]}, [resource]


def _intervention(record: Json, e: Json) -> tuple[Json, list[Json]]:
    proc = procedure(e, record["patient_id"], encounter_id(record["incident_id"]))
    return _treated(record, proc, e, procedure_text(e))


def _medication(record: Json, e: Json) -> tuple[Json, list[Json]]:
    admin = medication_administration(e, record["patient_id"], encounter_id(record["incident_id"]))
    return _treated(record, admin, e, medication_text(e))


def _ecg(record: Json, e: Json) -> tuple[Json, list[Json]]:
    item = {
        "ecg_id": e["ecg_id"],
        "ref": f"Observation/{ecg_observation_id(e['ecg_id'])}",
        "at": instant(e["acquired_at"]),
    }
    return {**record, "ecgs": [*record["ecgs"], item]}, []


def _prealert(record: Json, e: Json) -> tuple[Json, list[Json]]:
    alert = {
        "kind": e["kind"],
        "destination_id": e["destination_id"],
        "eta": instant(e["eta"]) if e.get("eta") else None,
        "note": e.get("note"),
        "at": at(e),
        "ref": flag_id(record["incident_id"], e["kind"]),
    }
    kinds = [p["kind"] for p in record["prealerts"]]
    alerts = list(record["prealerts"])
    if e["kind"] in kinds:  # raised again (a new ETA): the same Flag, updated in place
        alerts[kinds.index(e["kind"])] = alert
    else:
        alerts.append(alert)
    return {**record, "prealerts": alerts}, []


def _handover(record: Json, e: Json) -> tuple[Json, list[Json]]:
    handover = {
        "at": at(e),
        "destination_id": e["destination_id"],
        "atmist": e["atmist"],
        "narrative": e.get("narrative"),
        "user_id": e["meta"]["source"].get("user_id"),
    }
    return {**record, "handover": handover}, []


def _accepted(record: Json, e: Json) -> tuple[Json, list[Json]]:
    accepted = {"at": at(e), "accepted_by": e["accepted_by"], "hospital_id": e.get("hospital_id")}
    point = {"status": "TRANSFER_OF_CARE", **accepted}
    return {**record, "accepted": accepted, "timeline": [*record["timeline"], point]}, []


# -- refs and the fold shared by every event ----------------------------------------------


def _common_refs(e: Json) -> list[Ref]:
    return [own.ref(e["incident_id"]) for own in OWN_RESOURCES]


def _no_refs(e: Json) -> list[Ref]:
    return []


def _patient_refs(e: Json) -> list[Ref]:
    age = [("Observation", age_observation_id(e["meta"]["event_id"]))]
    return [*age, *flag_refs(e["incident_id"])]


Prepare = Callable[[Json], Json]


def _nothing(record: Json) -> Json:
    return record


def _materialize(record: Json) -> Json:
    """Before any PatientRecorded, the unidentified patient becomes the subject."""
    if record["patient_id"]:
        return record
    return {**record, "patient_id": _unidentified_ref(record["incident_id"])[1]}


def stated_patient(state: State, event_name: str, e: Json) -> Json | None:
    """What an incident event says of its Patient, for the patient projector (re-keyed by
    `fhir_projector/patient_facts.py`; `state` as the fold gets it, before the event): a
    PatientRecorded its patient; the first event that needs a subject before any, the
    unidentified patient (so every `subject` resolves); None for the others."""
    if event_name == events.PATIENT_RECORDED:
        return patient_details(e["incident_id"], recorded_patient(e))
    if event_name not in _NEEDS_SUBJECT:
        return None
    record = load(state.get(record_ref(e["incident_id"])), e["incident_id"])
    return None if record["patient_id"] else patient_details(e["incident_id"], None)


def _ref(resource: Json) -> Ref:
    return resource["resourceType"], resource["id"]


def _derived(record: Json) -> list[Json]:
    """Every resource derived from the whole record. Flags are rewritten only by the events
    that can change them (their refs name them): pre-alert, patient, handover accepted."""
    out = [encounter(record)]
    comp = composition(record)
    if comp:
        out.append(comp)
    if record["patient_id"]:
        out.extend(flag(record, alert) for alert in record["prealerts"])
    return out


def _entry(update: Update, prepare: Prepare = _nothing, own: Refs = _no_refs) -> Step:
    """The step of one event type: `prepare` (Patient writes), `update`, then derive."""

    def refs(e: Json) -> list[Ref]:
        return list(dict.fromkeys([*_common_refs(e), *own(e)]))

    def fold(state: State, e: Json) -> dict[Ref, Json]:
        incident = e["incident_id"]
        record = load(state.get(record_ref(incident)), incident)
        record = {**record, "date": max(record["date"], at(e))}
        record = prepare(record)
        record, own_resources = update(record, e)
        allowed = set(refs(e))
        derived = [r for r in _derived(record) if _ref(r) in allowed]
        out: dict[Ref, Json] = {}
        for resource in [as_resource(record), *own_resources, *derived]:
            if _ref(resource) not in allowed:  # the runner would version it from 1: a bug
                raise ValueError(f"fold of {incident} made {_ref(resource)}, not in its refs")
            if resource != state.get(_ref(resource)):
                out[_ref(resource)] = resource
        return out

    return Step(refs, fold)


def _one(make_id: Callable[[str], str], resource_type: str) -> Refs:
    def refs(e: Json) -> list[Ref]:
        return [(resource_type, make_id(e["meta"]["event_id"]))]

    return refs


def _flags_of_kind(e: Json) -> list[Ref]:
    return flag_refs(e["incident_id"], (e["kind"],))


def _all_flags(e: Json) -> list[Ref]:
    return flag_refs(e["incident_id"])


# Events whose resources need a subject: before any PatientRecorded, the unidentified one.
_NEEDS_SUBJECT: dict[str, tuple[Update, Refs]] = {
    events.VITALS_RECORDED: (_vitals, vitals_refs),
    events.INTERVENTION_PERFORMED: (_intervention, _one(procedure_id, "Procedure")),
    events.MEDICATION_GIVEN: (
        _medication,
        _one(medication_administration_id, "MedicationAdministration"),
    ),
    events.ECG_ACQUIRED: (_ecg, _no_refs),
    events.PRE_ALERT_RAISED: (_prealert, _flags_of_kind),
    events.HANDOVER_SUBMITTED: (_handover, _no_refs),
}

INCIDENT_FOLDS: dict[str, Step] = {
    events.INCIDENT_OPENED: _entry(_opened),
    events.UNIT_STATUS_CHANGED: _entry(_status),
    events.PATIENT_RECORDED: _entry(_patient, own=_patient_refs),
    **{name: _entry(update, _materialize, own) for name, (update, own) in _NEEDS_SUBJECT.items()},
    events.HANDOVER_ACCEPTED: _entry(_accepted, own=_all_flags),
}
