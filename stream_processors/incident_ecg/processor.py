"""Incident ECG router: an `EcgAcquired` on an ambulance incident becomes an `EcgSubmitted`
(clinic.ecg) and a `ReadRequested` (diagnosis.reading), so it gets the same FHIR
Observation, automatic measurements and place in the read queue as a clinic's ECG.

The incident's stream is folded into a small state (unit, patient, pre-alert) because the
ECG event carries only the waveform: the patient is who the crew recorded *before* the ECG
(an unidentified patient goes by the incident's temporary id), and a STEMI pre-alert raised
before the ECG makes it critical in the queue. Emitted ids derive from the source event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from avro_schemas.catalogue import CLINIC_ECG, INCIDENT, READING
from avro_schemas.events import (
    ECG_ACQUIRED,
    ECG_SUBMITTED,
    INCIDENT_OPENED,
    PATIENT_RECORDED,
    PRE_ALERT_RAISED,
    READ_REQUESTED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json
from stream_processors.adapter import Emit, Processor, Ref, State, Step, no_change, one_document
from stream_processors.diagnosis_queue.requests import read_request
from stream_processors.fhir_projector.incident.identity import (
    event_details,
    patient_details,
    recorded_patient,
    stored_details,
)
from stream_processors.runner import Emitted

STATE = "IncidentEcgState"


@dataclass(frozen=True)
class IncidentState:
    incident_id: str
    station_id: str = ""
    unit_id: str = ""
    patient: Json = field(default_factory=dict)
    prealert: str = ""

    def patient_details(self) -> Json:
        """The recorded patient, or an unidentified one named by the incident's temporary id
        (the rule shared with the incident's FHIR fold: `fhir_projector.incident.identity`)."""
        return patient_details(self.incident_id, self.patient)


def _opened(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, station_id=e["station_id"], unit_id=e["unit_id"])


def _patient(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, patient=recorded_patient(e))


def _prealert(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, prealert=e["kind"])


FOLDS = {
    INCIDENT_OPENED: _opened,
    PATIENT_RECORDED: _patient,
    PRE_ALERT_RAISED: _prealert,
}


def submitted(state: IncidentState, e: Json) -> Json:
    """The `EcgSubmitted` of an ambulance ECG."""
    return {
        "meta": {**e["meta"], "event_id": f"{e['meta']['event_id']}:submitted"},
        "ecg_id": e["ecg_id"],
        "patient": state.patient_details(),
        "site": {
            "id": state.unit_id or state.incident_id,
            "name": f"120 unit {state.unit_id}".strip(),
            "kind": "ambulance",
        },
        "device": e["device"],
        "acquired_at": e["acquired_at"],
        "waveform": e["waveform"],
        "measurements": e.get("measurements"),
        "clinical_question": "Prehospital 12-lead ECG"
        + (f", pre-alert {state.prealert}" if state.prealert else ""),
        "urgency": "stat" if state.prealert in ("STEMI", "CARDIAC_ARREST") else "urgent",
        "incident_id": state.incident_id,
    }


def _ref(event: Json) -> Ref:
    return STATE, resource_id(STATE, event["incident_id"])


def _step(before: Json | None, event_name: str, event: Json) -> Json:
    after = FOLDS[event_name](_load(before, event["incident_id"]), event)
    stored = {**asdict(after), "patient": stored_details(after.patient)}
    return {"resourceType": STATE, "id": _ref(event)[1], **stored}


def _emitter(reading_centre_id: str, region_id: str) -> Emit:
    def emit(state: State, event_name: str, event: Json) -> list[Emitted]:
        if event_name != ECG_ACQUIRED:
            return []
        incident = _load(state.get(_ref(event)), event["incident_id"])
        ecg = submitted(incident, event)
        request = read_request(ecg, reading_centre_id, region_id, incident.prealert or None)
        return [
            Emitted(CLINIC_ECG, ecg["ecg_id"], ECG_SUBMITTED, ecg),
            Emitted(READING, ecg["ecg_id"], READ_REQUESTED, request),
        ]

    return emit


def incident_ecg_router(reading_centre_id: str, region_id: str) -> Processor:
    """The router; which reading centre (and region) ambulance ECGs go to is configuration.
    An `EcgAcquired` loads the incident's state (for `emit`) without changing it."""
    return Processor(
        name="incident-ecg-router",
        topics=[INCIDENT],
        folds={
            **one_document(FOLDS, _ref, _step),
            ECG_ACQUIRED: Step(lambda event: [_ref(event)], no_change),
        },
        emit=_emitter(reading_centre_id, region_id),
    )


def _load(doc: Json | None, incident_id: str) -> IncidentState:
    if doc is None:
        return IncidentState(incident_id)
    fields = {k: v for k, v in doc.items() if k not in ("resourceType", "id", "meta")}
    return IncidentState(**{**fields, "patient": event_details(fields.get("patient") or {})})
