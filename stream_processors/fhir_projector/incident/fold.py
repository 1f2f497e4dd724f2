"""The incident's events as FHIR projector folds: `INCIDENT_FOLDS[event name] = Step(refs, fold)`.

Every event loads and may rewrite the incident's record, Encounter and Composition (ids from
the incident id), plus what it names itself: its new Observations, Procedure or
MedicationAdministration (ids from its event id), the Patient it records, the Flags it can
change. A resource is returned only when its content changed, and only if `refs` named it
(the runner versions exactly what it loaded). The incident's Patient is merged with
`merge_patient`, like the ECG's, and named by the rule in `identity.py`, so both are one
resource; when clinical data comes before any PatientRecorded, the unidentified patient (the
incident id as temporary id) is written first so every `subject` resolves.
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
from stream_processors.fhir_projector.patient_to_fhir import merge_patient

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
    details = patient_details(e["incident_id"], recorded_patient(e))
    age = [("Observation", age_observation_id(e["meta"]["event_id"]))]
    return [_patient_ref(details), *age, *flag_refs(e["incident_id"])]


def _subject_refs(own: Callable[[Json], list[Ref]]) -> Callable[[Json], list[Ref]]:
    """Refs of an event whose resources need a subject: the unidentified Patient too."""

    def refs(e: Json) -> list[Ref]:
        return [_unidentified_ref(e["incident_id"]), *own(e)]

    return refs


Prepare = Callable[[State, Json, Json], tuple[Json, list[Json]]]


def _nothing(state: State, record: Json, e: Json) -> tuple[Json, list[Json]]:
    return record, []


def _materialize(state: State, record: Json, e: Json) -> tuple[Json, list[Json]]:
    """Before any PatientRecorded, the unidentified patient becomes the subject (written)."""
    if record["patient_id"]:
        return record, []
    details = patient_details(record["incident_id"], None)
    ref = _patient_ref(details)
    patient = merge_patient(state.get(ref), details, e["meta"]["occurred_at"])
    return {**record, "patient_id": ref[1]}, [patient]


def _write_patient(state: State, record: Json, e: Json) -> tuple[Json, list[Json]]:
    """The recorded patient, merged into its Patient (shared with the ECG projector)."""
    details = patient_details(e["incident_id"], recorded_patient(e))
    merged = merge_patient(state.get(_patient_ref(details)), details, e["meta"]["occurred_at"])
    return record, [merged]


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
        record, made = prepare(state, record, e)
        record, own_resources = update(record, e)
        allowed = set(refs(e))
        derived = [r for r in _derived(record) if _ref(r) in allowed]
        out: dict[Ref, Json] = {}
        for resource in [as_resource(record), *made, *own_resources, *derived]:
            if _ref(resource) not in allowed:  # the runner would version it from 1: a bug
                raise ValueError(f"fold of {incident} made {_ref(resource)}, not in its refs")
            # A Patient is versioned by every event that touches it, changed or not (as the
            # ECG projector does), so its version count does not depend on the order in which
            # incident and ECG partitions are folded.
            if resource in made or resource != state.get(_ref(resource)):
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


INCIDENT_FOLDS: dict[str, Step] = {
    events.INCIDENT_OPENED: _entry(_opened),
    events.UNIT_STATUS_CHANGED: _entry(_status),
    events.PATIENT_RECORDED: _entry(_patient, _write_patient, _patient_refs),
    events.VITALS_RECORDED: _entry(_vitals, _materialize, _subject_refs(vitals_refs)),
    events.INTERVENTION_PERFORMED: _entry(
        _intervention, _materialize, _subject_refs(_one(procedure_id, "Procedure"))
    ),
    events.MEDICATION_GIVEN: _entry(
        _medication,
        _materialize,
        _subject_refs(_one(medication_administration_id, "MedicationAdministration")),
    ),
    events.ECG_ACQUIRED: _entry(_ecg, _materialize, _subject_refs(_no_refs)),
    events.PRE_ALERT_RAISED: _entry(_prealert, _materialize, _subject_refs(_flags_of_kind)),
    events.HANDOVER_SUBMITTED: _entry(_handover, _materialize, _subject_refs(_no_refs)),
    events.HANDOVER_ACCEPTED: _entry(_accepted, own=_all_flags),
}
