"""An incoming ambulance as the receiving emergency department sees it, folded from the
incident's own stream (`ems.incident`, key incident_id: one partition, total order).

`fold_incoming(state, event_name, event) -> state`, one small function per event type.
Internal state, not a FHIR resource (the FHIR handover Composition is another projection's
job). Times are FHIR instants taken from the events (`occurred_at`: the crew's clock),
never from the wall clock, so a rebuild gives the same resource byte for byte.

Board life cycle (`status`):
- `en_route`: a pre-alert or handover names a destination; the unit is on its way.
- `arrived`: the unit reported AT_DESTINATION (or TRANSFER_OF_CARE).
- `handed_over`: the receiving clinician accepted the handover (HandoverAccepted):
  the transfer-of-care time and who accepted are recorded.
An incident is *listed* on its destination's board once a pre-alert or handover names it,
and stays listed (handed-over ones in their own section) until the unit reports
BACK_IN_SERVICE after reaching the hospital or handing over: the crew's own "we are gone"
is the one clock-free end of the story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from avro_schemas import events
from kernel.codes import AT_DESTINATION, BACK_IN_SERVICE, EMS_TEMPORARY_ID, TRANSFER_OF_CARE
from kernel.ids import resource_id
from kernel.jsontypes import Json, state_document, state_fields
from kernel.time import instant

RESOURCE_TYPE = "IncomingAmbulance"
TREND_POINTS = 6  # values kept per vital sign: ~the last half hour at 5-min intervals
ARRIVED_STATUSES = frozenset({AT_DESTINATION, TRANSFER_OF_CARE})


def incoming_id(incident_id: str) -> str:
    return resource_id(RESOURCE_TYPE, incident_id)


@dataclass(frozen=True)
class IncomingAmbulance:
    incident_id: str
    opened_at: str = ""
    dispatch_reason: str = ""
    priority: str = ""
    station_id: str = ""
    unit_id: str = ""
    destination_id: str = ""
    prealert: Json = field(default_factory=dict)  # kind, eta, note, raised_at
    handover: Json = field(default_factory=dict)  # submitted_at, atmist{...}, narrative
    patient: Json = field(default_factory=dict)  # name, gender, age_years, temporary_id
    # LOINC -> {value, unit, at, trend: [{at, value}, ...] oldest first}
    vitals: dict[str, Json] = field(default_factory=dict)
    vitals_at: str = ""
    treatments: list[Json] = field(default_factory=list)  # kind, at, display, code, detail
    ecgs: list[Json] = field(default_factory=list)  # ecg_id, acquired_at
    unit_status: str = ""
    unit_status_at: str = ""
    arrived_at: str = ""
    accepted: Json = field(default_factory=dict)  # at, by, hospital_id
    cleared_at: str = ""  # BACK_IN_SERVICE after arrival or handover: off the board

    @property
    def status(self) -> str:
        if self.accepted:
            return "handed_over"
        return "arrived" if self.arrived_at else "en_route"

    @property
    def listed(self) -> bool:
        """On its destination's board? (See the module docstring.)"""
        return bool(
            self.destination_id and (self.prealert or self.handover) and not self.cleared_at
        )

    def to_json(self) -> Json:
        return state_document(
            RESOURCE_TYPE, incoming_id(self.incident_id), self, status=self.status
        )

    @staticmethod
    def from_json(doc: Json) -> IncomingAmbulance:
        return IncomingAmbulance(**state_fields(doc, "status"))


def _at(e: Json) -> str:
    return instant(e["meta"]["occurred_at"])


def _opened(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    return replace(
        s,
        opened_at=_at(e),
        dispatch_reason=e["dispatch_reason"],
        priority=e["priority"],
        station_id=e["station_id"],
        unit_id=e["unit_id"],
    )


def _status(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    status, at = e["status"], _at(e)
    s = replace(s, unit_id=s.unit_id or e["unit_id"], unit_status=status, unit_status_at=at)
    if status in ARRIVED_STATUSES and not s.arrived_at:
        s = replace(s, arrived_at=at)
    if status == BACK_IN_SERVICE and (s.arrived_at or s.accepted):
        s = replace(s, cleared_at=at)
    return s


def age_years(patient: Json, on: dt.date) -> int | None:
    born = patient.get("birth_date")
    if isinstance(born, dt.date):
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    estimated = patient.get("estimated_age_years")
    return int(estimated) if estimated is not None else None


def _patient(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    p = e["patient"]
    name = f"{p.get('family') or ''}{p.get('given') or ''}".strip()
    temporary = e.get("temporary_id") or next(
        (i["value"] for i in p.get("identifiers", []) if i["system"] == EMS_TEMPORARY_ID), ""
    )
    summary = {
        "name": name,
        "gender": p.get("gender") or "",
        "age_years": age_years(p, e["meta"]["occurred_at"].date()),
        "age_estimated": p.get("birth_date") is None and p.get("estimated_age_years") is not None,
        "temporary_id": temporary,
        "identified": bool(p.get("identifiers")),
    }
    return replace(s, patient=summary)


def _vital(previous: Json | None, value: float, unit: str, at: str) -> Json:
    trend = [*(previous or {}).get("trend", []), {"at": at, "value": value}][-TREND_POINTS:]
    return {"value": value, "unit": unit, "at": at, "trend": trend}


def _vitals(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    at = _at(e)
    vitals = dict(s.vitals)
    for v in e["vitals"]:
        q = v["quantity"]
        vitals[v["loinc"]] = _vital(vitals.get(v["loinc"]), q["value"], q["unit"], at)
    return replace(s, vitals=vitals, vitals_at=max(s.vitals_at, at))


def _treatment(s: IncomingAmbulance, item: Json) -> IncomingAmbulance:
    return replace(s, treatments=[*s.treatments, item])


def _intervention(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    code = e["code"]
    return _treatment(
        s,
        {
            "kind": "intervention",
            "at": _at(e),
            "display": code.get("display") or code["code"],
            "code": code["code"],
            "detail": e.get("note") or "",
        },
    )


def _medication(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    med, dose, route = e["medication"], e["dose"], e["route"]
    amount = f"{dose['value']:g} {dose['unit']}"
    return _treatment(
        s,
        {
            "kind": "medication",
            "at": _at(e),
            "display": med.get("display") or med["code"],
            "code": med["code"],
            "detail": f"{amount} {route.get('display') or route['code']}",
        },
    )


def _ecg(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    if any(x["ecg_id"] == e["ecg_id"] for x in s.ecgs):
        return s
    ecg = {"ecg_id": e["ecg_id"], "acquired_at": instant(e["acquired_at"])}
    return replace(s, ecgs=[*s.ecgs, ecg])


def _prealert(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    eta = e.get("eta")
    prealert = {
        "kind": e["kind"],
        "eta": instant(eta) if eta is not None else "",
        "note": e.get("note") or "",
        "raised_at": _at(e),
    }
    return replace(s, prealert=prealert, destination_id=e["destination_id"])


def _handover(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    handover = {
        "submitted_at": _at(e),
        "atmist": {k: v for k, v in e["atmist"].items() if v},
        "narrative": e.get("narrative") or "",
    }
    return replace(s, handover=handover, destination_id=e["destination_id"])


def _accepted(s: IncomingAmbulance, e: Json) -> IncomingAmbulance:
    if s.accepted:
        return s  # transfer of care happens once; a later acceptance is not a new one
    hospital = e.get("hospital_id") or s.destination_id
    accepted = {"at": _at(e), "by": e["accepted_by"], "hospital_id": hospital}
    # The hospital that took over care is where the patient went, whatever was planned.
    return replace(s, accepted=accepted, destination_id=hospital)


FOLDS: dict[str, Callable[[IncomingAmbulance, Json], IncomingAmbulance]] = {
    events.INCIDENT_OPENED: _opened,
    events.UNIT_STATUS_CHANGED: _status,
    events.PATIENT_RECORDED: _patient,
    events.VITALS_RECORDED: _vitals,
    events.INTERVENTION_PERFORMED: _intervention,
    events.MEDICATION_GIVEN: _medication,
    events.ECG_ACQUIRED: _ecg,
    events.PRE_ALERT_RAISED: _prealert,
    events.HANDOVER_SUBMITTED: _handover,
    events.HANDOVER_ACCEPTED: _accepted,
}


def fold_incoming(
    state: IncomingAmbulance | None, event_name: str, event: Json
) -> IncomingAmbulance:
    before = state or IncomingAmbulance(event["incident_id"])
    return FOLDS[event_name](before, event)
