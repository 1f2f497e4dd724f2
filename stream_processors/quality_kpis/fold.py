"""The pure fold: events of `ems.incident`, `clinic.ecg`, `diagnosis.reading` and
`hospital.outcome` -> the facts each indicator needs, per incident, per ECG and per hospital
outcome case; then the cases (one interval or share
observation per incident or ECG and indicator) those facts give.

Every fact is merged as a minimum over (time, value) or as a union, so the result does not
depend on how the three topics interleave (a live run and a replay of the log agree). The
definitions the cases implement are in `definitions.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from avro_schemas.events import (
    CONDITION_REPORTED,
    ECG_ACQUIRED,
    ECG_MEASURED,
    ECG_SUBMITTED,
    HANDOVER_ACCEPTED,
    HANDOVER_SUBMITTED,
    INCIDENT_OPENED,
    PRE_ALERT_RAISED,
    PROCEDURE_REPORTED,
    READ_REPORTED,
    READ_REQUESTED,
    UNIT_STATUS_CHANGED,
)
from kernel.jsontypes import Json
from stream_processors.quality_kpis import definitions as d

Stamped = tuple[dt.datetime, str]  # (time, value): the earliest wins, the value breaks ties


def _earliest(a: Stamped | None, b: Stamped | None) -> Stamped | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _min(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


@dataclass(frozen=True)
class IncidentFacts:
    incident_id: str
    station_id: str = ""
    reason: str = ""
    opened_at: dt.datetime | None = None
    status_at: Mapping[str, dt.datetime] = field(default_factory=dict)  # first time per status
    first_ecg_at: dt.datetime | None = None
    stemi_prealert: bool = False
    prealert_destination: Stamped | None = None
    handover_destination: Stamped | None = None
    accepted: Stamped | None = None  # (time, hospital id or "")

    @property
    def call_at(self) -> dt.datetime | None:
        return self.status_at.get("CALL_RECEIVED") or self.opened_at

    @property
    def first_contact_at(self) -> dt.datetime | None:
        return self.status_at.get("AT_PATIENT") or self.status_at.get("ON_SCENE")

    @property
    def transfer_at(self) -> dt.datetime | None:
        return _min(self.status_at.get("TRANSFER_OF_CARE"), self.accepted and self.accepted[0])

    @property
    def hospital_id(self) -> str:
        for stamped in (self.accepted, self.handover_destination, self.prealert_destination):
            if stamped and stamped[1]:
                return stamped[1]
        return ""


@dataclass(frozen=True)
class EcgFacts:
    ecg_id: str
    acquired_at: dt.datetime | None = None
    site_id: str = ""
    site_kind: str = ""
    incident_id: str = ""
    centre_id: str = ""
    reported_at: dt.datetime | None = None
    stemi_coded: bool = False
    triaged_critical: bool = False  # EcgMeasured.triage_class critical


Versioned = tuple[int, str, str, dt.datetime | None]  # (version, code, status, time)


@dataclass(frozen=True)
class OutcomeFacts:
    """What a hospital reported about one case: the ambulance incident's patient (key: the
    incident id) or, without an ambulance, the hospital Encounter (or the patient) named.
    Each Procedure and Condition counts at its latest version (the highest wins: the fold
    does not depend on arrival order)."""

    case_id: str
    incident_id: str = ""
    hospital_id: str = ""
    arrived_at: dt.datetime | None = None  # the hospital Encounter's start
    procedures: Mapping[str, Versioned] = field(
        default_factory=dict
    )  # id -> (v, code, status, device)
    conditions: Mapping[str, Versioned] = field(
        default_factory=dict
    )  # id -> (v, code, verification)

    @property
    def device_at(self) -> dt.datetime | None:
        """The earliest balloon / device time of a PCI."""
        times = [
            t
            for _, code, status, t in self.procedures.values()
            if code in d.PCI_SNOMED and status in d.PCI_STATUSES and t is not None
        ]
        return min(times) if times else None

    @property
    def final_stemi(self) -> bool | None:
        """True: STEMI confirmed; False: ruled out (refuted) or only other final diagnoses;
        None: no final diagnosis reported (yet)."""
        latest = [(code, verification) for _, code, verification, _ in self.conditions.values()]
        if any(c == d.STEMI_SNOMED and v in d.CONFIRMED for c, v in latest):
            return True
        if any((c == d.STEMI_SNOMED and v == d.REFUTED) or v in d.CONFIRMED for c, v in latest):
            return False
        return None


@dataclass(frozen=True)
class KpiState:
    incidents: Mapping[str, IncidentFacts] = field(default_factory=dict)
    ecgs: Mapping[str, EcgFacts] = field(default_factory=dict)
    outcomes: Mapping[str, OutcomeFacts] = field(default_factory=dict)


# --- one small function per event type ------------------------------------------------


def _occurred(e: Json) -> dt.datetime:
    return e["meta"]["occurred_at"]  # type: ignore[no-any-return]


def _opened(f: IncidentFacts, e: Json) -> IncidentFacts:
    return replace(
        f,
        station_id=f.station_id or e["station_id"],
        reason=f.reason or e["dispatch_reason"],
        opened_at=_min(f.opened_at, _occurred(e)),
    )


def _status(f: IncidentFacts, e: Json) -> IncidentFacts:
    first = _min(f.status_at.get(e["status"]), _occurred(e))
    assert first is not None
    return replace(f, status_at={**f.status_at, e["status"]: first})


def _ecg_on_incident(f: IncidentFacts, e: Json) -> IncidentFacts:
    return replace(f, first_ecg_at=_min(f.first_ecg_at, e["acquired_at"]))


def _prealert(f: IncidentFacts, e: Json) -> IncidentFacts:
    stamped = (_occurred(e), e["destination_id"])
    return replace(
        f,
        stemi_prealert=f.stemi_prealert or e["kind"] == "STEMI",
        prealert_destination=_earliest(f.prealert_destination, stamped),
    )


def _handover(f: IncidentFacts, e: Json) -> IncidentFacts:
    stamped = (_occurred(e), e["destination_id"])
    return replace(f, handover_destination=_earliest(f.handover_destination, stamped))


def _accepted(f: IncidentFacts, e: Json) -> IncidentFacts:
    stamped = (_occurred(e), e.get("hospital_id") or "")
    return replace(f, accepted=_earliest(f.accepted, stamped))


INCIDENT_FOLDS: dict[str, Callable[[IncidentFacts, Json], IncidentFacts]] = {
    INCIDENT_OPENED: _opened,
    UNIT_STATUS_CHANGED: _status,
    ECG_ACQUIRED: _ecg_on_incident,
    PRE_ALERT_RAISED: _prealert,
    HANDOVER_SUBMITTED: _handover,
    HANDOVER_ACCEPTED: _accepted,
}


def _ecg(f: EcgFacts, e: Json, site_id: str, site_kind: str) -> EcgFacts:
    return replace(
        f,
        acquired_at=_min(f.acquired_at, e["acquired_at"]),
        site_id=f.site_id or site_id,
        site_kind=f.site_kind or site_kind,
        incident_id=f.incident_id or e.get("incident_id") or "",
    )


def _acquired(f: EcgFacts, e: Json) -> EcgFacts:
    return _ecg(f, e, "", "ambulance")


def _submitted(f: EcgFacts, e: Json) -> EcgFacts:
    return _ecg(f, e, e["site"]["id"], e["site"]["kind"])


def _requested(f: EcgFacts, e: Json) -> EcgFacts:
    return replace(f, centre_id=f.centre_id or e["reading_centre_id"])


def _reported(f: EcgFacts, e: Json) -> EcgFacts:
    stemi = any(c.get("code") == d.STEMI_SNOMED for c in e.get("codes") or [])
    return replace(
        f,
        reported_at=_min(f.reported_at, _occurred(e)),
        centre_id=f.centre_id or e.get("reading_centre_id") or "",
        stemi_coded=f.stemi_coded or stemi,
    )


def _measured(f: EcgFacts, e: Json) -> EcgFacts:
    return replace(f, triaged_critical=f.triaged_critical or e["triage_class"] == "critical")


ECG_FOLDS: dict[str, Callable[[EcgFacts, Json], EcgFacts]] = {
    ECG_ACQUIRED: _acquired,
    ECG_SUBMITTED: _submitted,
    READ_REQUESTED: _requested,
    READ_REPORTED: _reported,
    ECG_MEASURED: _measured,
}


def _newer(current: Versioned | None, new: Versioned) -> Versioned:
    return new if current is None or new[0] > current[0] else current


def _outcome(f: OutcomeFacts, e: Json) -> OutcomeFacts:
    return replace(
        f,
        incident_id=f.incident_id or e.get("incident_id") or "",
        hospital_id=f.hospital_id or e["hospital_id"],
        arrived_at=_min(f.arrived_at, e.get("arrived_at")),
    )


def _procedure(f: OutcomeFacts, e: Json) -> OutcomeFacts:
    new = (e["version"], e.get("code") or "", e["status"], e.get("device_at"))
    rid = e["resource_id"]
    procedures = {**f.procedures, rid: _newer(f.procedures.get(rid), new)}
    return replace(_outcome(f, e), procedures=procedures)


def _condition(f: OutcomeFacts, e: Json) -> OutcomeFacts:
    new = (e["version"], e.get("code") or "", e.get("verification_status") or "", None)
    rid = e["resource_id"]
    conditions = {**f.conditions, rid: _newer(f.conditions.get(rid), new)}
    return replace(_outcome(f, e), conditions=conditions)


OUTCOME_FOLDS: dict[str, Callable[[OutcomeFacts, Json], OutcomeFacts]] = {
    PROCEDURE_REPORTED: _procedure,
    CONDITION_REPORTED: _condition,
}
RELEVANT = frozenset(INCIDENT_FOLDS) | frozenset(ECG_FOLDS) | frozenset(OUTCOME_FOLDS)


def outcome_case_id(event: Json) -> str:
    """The case an outcome belongs to: its incident, else its Encounter, else its patient."""
    if event.get("incident_id"):
        return str(event["incident_id"])
    if event.get("encounter_id"):
        return f"Encounter/{event['encounter_id']}"
    return f"Patient/{event['patient_key']}"


def fold_incident(facts: IncidentFacts | None, name: str, event: Json) -> IncidentFacts:
    """The incident's facts once `event` (an `ems.incident` record) is known."""
    return INCIDENT_FOLDS[name](facts or IncidentFacts(event["incident_id"]), event)


def fold_ecg(facts: EcgFacts | None, name: str, event: Json) -> EcgFacts:
    """The ECG's facts once `event` (about that ECG, on any of the three topics) is known."""
    return ECG_FOLDS[name](facts or EcgFacts(event["ecg_id"]), event)


def fold(state: KpiState, name: str, event: Json) -> KpiState:
    """(state, event) -> state. Copies the maps it changes: for a whole log use `fold_all`,
    which applies the same per-key folds in place."""
    incidents, ecgs, outcomes = dict(state.incidents), dict(state.ecgs), dict(state.outcomes)
    _apply(incidents, ecgs, outcomes, name, event)
    return KpiState(incidents, ecgs, outcomes)


def fold_all(events: Iterable[tuple[str, Json]], state: KpiState | None = None) -> KpiState:
    """Fold a stream of (record name, record) in one pass (linear in the events)."""
    incidents = dict(state.incidents) if state else {}
    ecgs = dict(state.ecgs) if state else {}
    outcomes = dict(state.outcomes) if state else {}
    for name, event in events:
        _apply(incidents, ecgs, outcomes, name, event)
    return KpiState(incidents, ecgs, outcomes)


def _apply(
    incidents: dict[str, IncidentFacts],
    ecgs: dict[str, EcgFacts],
    outcomes: dict[str, OutcomeFacts],
    name: str,
    event: Json,
) -> None:
    if name in INCIDENT_FOLDS:
        key = event["incident_id"]
        incidents[key] = fold_incident(incidents.get(key), name, event)
    if name in ECG_FOLDS:
        key = event["ecg_id"]
        ecgs[key] = fold_ecg(ecgs.get(key), name, event)
    if name in OUTCOME_FOLDS:
        key = outcome_case_id(event)
        outcomes[key] = OUTCOME_FOLDS[name](outcomes.get(key) or OutcomeFacts(key), event)


# --- cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One incident's or ECG's observation of one indicator.

    Interval indicators: `start` is known; `end` may be None (missing, as of now). Share
    indicators: `hit` says whether the case is in the numerator."""

    kpi: str
    subject: str
    start: dt.datetime
    end: dt.datetime | None
    dims: Mapping[str, str]
    hit: bool | None = None

    @property
    def micros(self) -> int | None:
        if self.end is None:
            return None
        return (self.end - self.start) // dt.timedelta(microseconds=1)

    @property
    def minutes(self) -> float | None:
        micros = self.micros
        return None if micros is None else micros / d.MICROS_PER_MINUTE


def _incident_dims(f: IncidentFacts, start: dt.datetime) -> dict[str, str]:
    dims = {"station": f.station_id, "hospital": f.hospital_id, "month": d.month_of(start)}
    return {k: v for k, v in dims.items() if v}


def _interval(
    kpi: d.Kpi, f: IncidentFacts, start: dt.datetime | None, end: dt.datetime | None
) -> list[Case]:
    if start is None:
        return []
    return [Case(kpi.code, f.incident_id, start, end, _incident_dims(f, start))]


def incident_cases(f: IncidentFacts, stemi_coded: bool = False) -> list[Case]:
    """The cases of one incident; `stemi_coded`: a read of one of its ECGs is coded STEMI."""
    s = f.status_at
    stemi = f.stemi_prealert or stemi_coded
    cases = [
        *_interval(d.CALL_TO_DISPATCH, f, f.call_at, s.get("DISPATCHED")),
        *_interval(d.RESPONSE_TIME, f, f.call_at, s.get("ON_SCENE")),
        *_interval(d.ON_SCENE_TIME, f, s.get("ON_SCENE"), s.get("LEFT_SCENE")),
        *_interval(d.HANDOVER_TIME, f, s.get("AT_DESTINATION"), f.transfer_at),
    ]
    if stemi or d.is_chest_pain(f.reason):
        cases += _interval(d.FMC_TO_ECG, f, f.first_contact_at, f.first_ecg_at)
    if stemi and f.call_at is not None:
        code, dims = d.STEMI_ECG_TRANSMITTED.code, _incident_dims(f, f.call_at)
        hit = f.first_ecg_at is not None
        cases.append(Case(code, f.incident_id, f.call_at, f.first_ecg_at, dims, hit))
    return cases


def ecg_case(f: EcgFacts, incident: IncidentFacts | None) -> list[Case]:
    if f.acquired_at is None:
        return []
    dims = {
        "clinic": f.site_id if f.site_kind == "clinic" else "",
        "station": incident.station_id if incident else "",
        "hospital": incident.hospital_id if incident else "",
        "centre": f.centre_id,
        "month": d.month_of(f.acquired_at),
    }
    dims = {k: v for k, v in dims.items() if v}
    return [Case(d.ECG_TO_DIAGNOSIS.code, f.ecg_id, f.acquired_at, f.reported_at, dims)]


def arrival_at(outcome: OutcomeFacts, incident: IncidentFacts | None) -> dt.datetime | None:
    """Door time: the unit's AT_DESTINATION, else transfer of care, else the hospital
    Encounter's start."""
    if incident is not None:
        at = incident.status_at.get("AT_DESTINATION") or incident.transfer_at
        if at is not None:
            return at
    return outcome.arrived_at


def door_to_balloon_case(outcome: OutcomeFacts, incident: IncidentFacts | None) -> list[Case]:
    device = outcome.device_at
    start = arrival_at(outcome, incident)
    if device is None or start is None:
        return []
    dims = _incident_dims(incident, start) if incident else {"month": d.month_of(start)}
    if outcome.hospital_id:
        dims["hospital"] = outcome.hospital_id
    return [Case(d.DOOR_TO_BALLOON.code, outcome.case_id, start, device, dims)]


def cases(state: KpiState) -> list[Case]:
    """Every case of every indicator, incidents first, each sorted by subject."""
    coded = {e.incident_id for e in state.ecgs.values() if e.stemi_coded and e.incident_id}
    out: list[Case] = []
    for incident_id in sorted(state.incidents):
        out += incident_cases(state.incidents[incident_id], incident_id in coded)
    for ecg_id in sorted(state.ecgs):
        ecg = state.ecgs[ecg_id]
        out += ecg_case(ecg, state.incidents.get(ecg.incident_id))
    for case_id in sorted(state.outcomes):
        outcome = state.outcomes[case_id]
        out += door_to_balloon_case(outcome, state.incidents.get(outcome.incident_id))
    return out


# --- the triage outcome loop (definitions.TRIAGE_OUTCOME) -------------------------------


@dataclass(frozen=True)
class TriageOutcome:
    """One ambulance incident's STEMI call against the hospital's final diagnosis."""

    incident_id: str
    month: str
    called_stemi: bool
    final_stemi: bool | None  # None: not reported yet

    @property
    def cell(self) -> str:
        """tp, fp, fn, tn, or pending."""
        if self.final_stemi is None:
            return "pending"
        return ("t" if self.called_stemi == self.final_stemi else "f") + (
            "p" if self.called_stemi else "n"
        )


def triage_outcomes(state: KpiState) -> list[TriageOutcome]:
    """Every incident with a STEMI call or a reported outcome, by incident id."""
    critical = {e.incident_id for e in state.ecgs.values() if e.triaged_critical and e.incident_id}
    out = []
    for incident_id in sorted(state.incidents):
        f = state.incidents[incident_id]
        outcome = state.outcomes.get(incident_id)
        called = f.stemi_prealert or incident_id in critical
        final = outcome.final_stemi if outcome else None
        if f.call_at is None or (not called and final is None):
            continue
        out.append(TriageOutcome(incident_id, d.month_of(f.call_at), called, final))
    return out
