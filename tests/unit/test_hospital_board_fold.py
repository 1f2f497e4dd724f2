"""The hospital board fold: an incident's events -> IncomingAmbulance, and its listing
under the destination hospital. Pure: no log, no store."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kernel.jsontypes import Json
from stream_processors.hospital_board.incoming import IncomingAmbulance, incoming_id
from stream_processors.hospital_board.processor import BOARD_INDEX, PROCESSOR
from stream_processors.runner import canonical_json
from viewstore.base import IndexEntry

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)
INCIDENT = "INC-0001"


def ev(name: str, minutes: float, **fields: Any) -> tuple[str, Json]:
    at = T0 + dt.timedelta(minutes=minutes)
    meta = {
        "event_id": f"{name}-{minutes}",
        "occurred_at": at,
        "recorded_at": at + dt.timedelta(seconds=2),
        "source": {"channel": "tablet", "device_id": "tab-3", "user_id": "crew-7", "site_id": None},
    }
    return f"goldenhour.ems.{name}", {"meta": meta, "incident_id": INCIDENT, **fields}


def opened(minutes: float = 0) -> tuple[str, Json]:
    return ev(
        "IncidentOpened",
        minutes,
        dispatch_reason="chest pain",
        priority="1",
        station_id="station-2",
        unit_id="A12",
        scene=None,
    )


def prealert(
    minutes: float, destination: str = "county-hospital", kind: str = "STEMI"
) -> tuple[str, Json]:
    return ev(
        "PreAlertRaised",
        minutes,
        kind=kind,
        destination_id=destination,
        eta=T0 + dt.timedelta(minutes=35),
        note="Activate cath lab",
    )


def handover(minutes: float, destination: str = "county-hospital") -> tuple[str, Json]:
    atmist = {
        "age": "60s male",
        "time": "onset 09:10",
        "mechanism": "chest pain at rest",
        "injuries": None,
        "signs": "ST elevation II, III, aVF",
        "treatment": "aspirin 300 mg",
    }
    return ev(
        "HandoverSubmitted",
        minutes,
        destination_id=destination,
        atmist=atmist,
        narrative="Pale, sweaty.",
    )


def vitals(minutes: float, hr: float, sbp: float = 130) -> tuple[str, Json]:
    return ev(
        "VitalsRecorded",
        minutes,
        vitals=[
            {"loinc": "8867-4", "quantity": {"value": hr, "unit": "/min"}},
            {"loinc": "8480-6", "quantity": {"value": sbp, "unit": "mm[Hg]"}},
            {"loinc": "8462-4", "quantity": {"value": 80.0, "unit": "mm[Hg]"}},
        ],
    )


def status(minutes: float, value: str) -> tuple[str, Json]:
    return ev("UnitStatusChanged", minutes, unit_id="A12", status=value, position=None)


def accepted(
    minutes: float, by: str = "Dr Wang", hospital: str | None = "county-hospital"
) -> tuple[str, Json]:
    return ev("HandoverAccepted", minutes, accepted_by=by, hospital_id=hospital)


class Folded:
    """What the runner would store: each version's JSON and the index entries."""

    def __init__(self) -> None:
        self.projection = PROCESSOR
        self.doc: Json | None = None
        self.versions = 0

    def apply(self, *events: tuple[str, Json]) -> Folded:
        for name, event in events:
            refs = self.projection.refs(name, event)
            state = {refs[0]: self.doc} if refs and self.doc is not None else {}
            changed = self.projection.fold(state, name, event)
            for resource in changed.values():
                self.doc = json.loads(canonical_json(resource))  # as stored and read back
                self.versions += 1
        return self

    @property
    def state(self) -> IncomingAmbulance:
        assert self.doc is not None
        return IncomingAmbulance.from_json(self.doc)

    def index(self) -> list[IndexEntry]:
        return self.projection.index(self.doc) if self.doc else []


def listed_under(folded: Folded) -> list[str]:
    return [e.key for e in folded.index() if e.index == BOARD_INDEX]


def test_fold__incident_is_listed_only_once_a_prealert_names_the_destination() -> None:
    f = Folded().apply(opened(), vitals(5, 96))
    assert listed_under(f) == []
    f.apply(prealert(12))
    assert listed_under(f) == ["county-hospital"]
    assert f.index() == [
        IndexEntry(BOARD_INDEX, "county-hospital", "IncomingAmbulance", incoming_id(INCIDENT))
    ]
    s = f.state
    assert s.prealert == {
        "kind": "STEMI",
        "eta": "2026-11-23T10:15:00.000000Z",
        "note": "Activate cath lab",
        "raised_at": "2026-11-23T09:52:00.000000Z",
    }
    assert (s.unit_id, s.station_id, s.status) == ("A12", "station-2", "en_route")


def test_fold__handover_to_another_hospital_moves_the_card() -> None:
    f = Folded().apply(opened(), prealert(12, "county-hospital"), handover(20, "city-hospital"))
    assert listed_under(f) == ["city-hospital"]
    h = f.state.handover
    assert h["atmist"]["signs"] == "ST elevation II, III, aVF"
    assert "injuries" not in h["atmist"]  # empty parts are not shown
    assert h["narrative"] == "Pale, sweaty." and h["submitted_at"] == "2026-11-23T10:00:00.000000Z"


def test_fold__latest_vitals_with_units_and_a_short_trend() -> None:
    f = Folded().apply(opened(), *(vitals(m, hr) for m, hr in [(5, 88), (10, 96), (15, 104)]))
    hr = f.state.vitals["8867-4"]
    assert (hr["value"], hr["unit"], hr["at"]) == (104, "/min", "2026-11-23T09:55:00.000000Z")
    assert [p["value"] for p in hr["trend"]] == [88, 96, 104]
    assert f.state.vitals["8480-6"]["unit"] == "mm[Hg]"
    f.apply(*(vitals(20 + m, 100 + m) for m in range(10)))
    assert len(f.state.vitals["8867-4"]["trend"]) == 6
    assert f.state.vitals["8867-4"]["trend"][-1]["value"] == 109


def test_fold__treatments_and_ecgs_in_order_and_an_ecg_once() -> None:
    ecg = ev(
        "EcgAcquired",
        11,
        ecg_id="amb-1",
        device={"id": "lp15", "manufacturer": None, "model": None},
        acquired_at=T0 + dt.timedelta(minutes=10, seconds=30),
        waveform={"sampling_rate_hz": 500.0, "units": "uV", "leads": []},
        measurements=None,
    )
    aspirin = ev(
        "MedicationGiven",
        13,
        medication={"system": "http://www.whocc.no/atc", "code": "B01AC06", "display": "Aspirin"},
        dose={"value": 300.0, "unit": "mg"},
        route={"system": "http://snomed.info/sct", "code": "26643006", "display": "oral"},
    )
    iv = ev(
        "InterventionPerformed",
        14,
        code={"system": "http://snomed.info/sct", "code": "392230005", "display": "IV access"},
        note="18G left antecubital",
    )
    f = Folded().apply(opened(), ecg, aspirin, iv, ecg)
    assert f.state.ecgs == [{"ecg_id": "amb-1", "acquired_at": "2026-11-23T09:50:30.000000Z"}]
    assert [(t["kind"], t["display"], t["detail"]) for t in f.state.treatments] == [
        ("medication", "Aspirin", "300 mg oral"),
        ("intervention", "IV access", "18G left antecubital"),
    ]


def test_fold__unidentified_patient_goes_by_the_temporary_id_and_estimated_age() -> None:
    patient: Json = {
        "identifiers": [],
        "family": None,
        "given": None,
        "gender": "male",
        "birth_date": None,
        "estimated_age_years": 60,
    }
    f = Folded().apply(opened(), ev("PatientRecorded", 9, patient=patient, temporary_id="TMP-7"))
    assert f.state.patient == {
        "name": "",
        "gender": "male",
        "age_years": 60,
        "age_estimated": True,
        "temporary_id": "TMP-7",
        "identified": False,
    }


def test_fold__named_patient_age_from_birth_date_on_the_day_of_the_incident() -> None:
    patient = {
        "identifiers": [{"system": "urn:x", "value": "1"}],
        "family": "王",
        "given": "建国",
        "gender": "male",
        "birth_date": dt.date(1960, 11, 24),
        "estimated_age_years": None,
    }
    f = Folded().apply(opened(), ev("PatientRecorded", 9, patient=patient, temporary_id=None))
    assert (f.state.patient["name"], f.state.patient["age_years"]) == ("王建国", 65)


def test_fold__arrival_then_acceptance_records_the_transfer_of_care() -> None:
    f = Folded().apply(opened(), prealert(12), handover(20), status(34, "AT_DESTINATION"))
    assert f.state.status == "arrived" and f.state.arrived_at == "2026-11-23T10:14:00.000000Z"
    f.apply(accepted(36))
    s = f.state
    assert s.status == "handed_over" and f.doc is not None and f.doc["status"] == "handed_over"
    assert s.accepted == {
        "at": "2026-11-23T10:16:00.000000Z",
        "by": "Dr Wang",
        "hospital_id": "county-hospital",
    }
    assert listed_under(f) == ["county-hospital"]  # stays, in the handed-over section


def test_fold__a_second_acceptance_changes_nothing() -> None:
    f = Folded().apply(opened(), prealert(12), handover(20), accepted(36, "Dr Wang"))
    versions = f.versions
    f.apply(accepted(37, "Dr Li"))
    assert f.state.accepted["by"] == "Dr Wang"
    assert f.versions == versions  # no new version for a fact that changes nothing


def test_fold__acceptance_by_another_hospital_moves_the_card_there() -> None:
    f = Folded().apply(
        opened(),
        prealert(12, "county-hospital"),
        handover(20),
        accepted(40, hospital="city-hospital"),
    )
    assert listed_under(f) == ["city-hospital"]


def test_fold__back_in_service_after_handover_takes_the_card_off_the_board() -> None:
    f = Folded().apply(opened(), status(1, "EN_ROUTE"), prealert(12), status(13, "BACK_IN_SERVICE"))
    assert listed_under(f) == ["county-hospital"]  # not arrived yet: a stray status clears nothing
    f.apply(handover(20), accepted(36), status(50, "BACK_IN_SERVICE"))
    assert f.state.cleared_at == "2026-11-23T10:30:00.000000Z"
    assert listed_under(f) == []


def test_fold__rebuild_gives_the_same_bytes() -> None:
    events = [
        opened(),
        prealert(12),
        vitals(14, 101),
        handover(20),
        status(34, "AT_DESTINATION"),
        accepted(36),
    ]
    first, second = Folded().apply(*events), Folded().apply(*events)
    assert canonical_json(first.doc or {}) == canonical_json(second.doc or {})
    assert first.doc is not None and first.doc["id"] == incoming_id(INCIDENT)


def test_fold__events_of_no_interest_touch_nothing() -> None:
    projection = PROCESSOR
    name, event = "goldenhour.ems.UnitPositionReported", {"unit_id": "A12"}
    assert projection.refs(name, event) == [] and projection.fold({}, name, event) == {}
