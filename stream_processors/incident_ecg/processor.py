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
from typing import Any

from avro_schemas.catalogue import CLINIC_ECG, INCIDENT, READING
from stream_processors.diagnosis_queue.requests import read_request
from stream_processors.ids import resource_id
from stream_processors.incident_fhir.identity import (
    event_details,
    patient_details,
    recorded_patient,
    stored_details,
)
from stream_processors.runner import Emitted
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]
STATE = "IncidentEcgState"
ECG_ACQUIRED = "goldenhour.ems.EcgAcquired"


@dataclass(frozen=True)
class IncidentState:
    incident_id: str
    station_id: str = ""
    unit_id: str = ""
    patient: Json = field(default_factory=dict)
    prealert: str = ""

    def patient_details(self) -> Json:
        """The recorded patient, or an unidentified one named by the incident's temporary id
        (the rule shared with the incident's FHIR fold: `incident_fhir.identity`)."""
        return patient_details(self.incident_id, self.patient)


def _opened(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, station_id=e["station_id"], unit_id=e["unit_id"])


def _patient(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, patient=recorded_patient(e))


def _prealert(s: IncidentState, e: Json) -> IncidentState:
    return replace(s, prealert=e["kind"])


FOLDS = {
    "goldenhour.ems.IncidentOpened": _opened,
    "goldenhour.ems.PatientRecorded": _patient,
    "goldenhour.ems.PreAlertRaised": _prealert,
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


class IncidentEcgRouter:
    name = "incident-ecg-router"
    topics = [INCIDENT]

    def __init__(self, reading_centre_id: str, region_id: str) -> None:
        self._centre = reading_centre_id
        self._region = region_id

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name in FOLDS or event_name == ECG_ACQUIRED:
            return [(STATE, resource_id(STATE, event["incident_id"]))]
        return []

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        if event_name not in FOLDS:
            return {}
        ref = self.refs(event_name, event)[0]
        before = _load(state.get(ref), event["incident_id"])
        after = FOLDS[event_name](before, event)
        stored = {**asdict(after), "patient": stored_details(after.patient)}
        return {ref: {"resourceType": STATE, "id": ref[1], **stored}}

    def index(self, resource: Json) -> list[IndexEntry]:
        return []

    def emit(self, state: dict[Ref, Json], event_name: str, event: Json) -> list[Emitted]:
        if event_name != ECG_ACQUIRED:
            return []
        incident = _load(state.get(self.refs(event_name, event)[0]), event["incident_id"])
        ecg = submitted(incident, event)
        request = read_request(ecg, self._centre, self._region, incident.prealert or None)
        return [
            Emitted(CLINIC_ECG, ecg["ecg_id"], "goldenhour.ecg.EcgSubmitted", ecg),
            Emitted(READING, ecg["ecg_id"], "goldenhour.ecg.ReadRequested", request),
        ]


def _load(doc: Json | None, incident_id: str) -> IncidentState:
    if doc is None:
        return IncidentState(incident_id)
    fields = {k: v for k, v in doc.items() if k not in ("resourceType", "id", "meta")}
    return IncidentState(**{**fields, "patient": event_details(fields.get("patient") or {})})
