"""The incident ECG router's pure fold and what it emits for an ambulance 12-lead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kernel.codes import EMS_TEMPORARY_ID, RESIDENT_ID
from stream_processors.adapter import Processor
from stream_processors.incident_ecg.processor import incident_ecg_router

AT = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)


def ev(event_id: str, **fields: Any) -> dict[str, Any]:
    meta = {
        "event_id": event_id,
        "occurred_at": AT,
        "recorded_at": AT,
        "source": {"channel": "tablet"},
    }
    return {"meta": meta, "incident_id": "INC-1", **fields}


def run(*events: tuple[str, dict[str, Any]]) -> tuple[Processor, dict[Any, Any]]:
    router, state = incident_ecg_router("county-ecg-centre", "county"), {}
    for name, e in events:
        state.update(router.fold(state, f"goldenhour.ems.{name}", e))
    return router, state


def ecg() -> dict[str, Any]:
    wave = {"sampling_rate_hz": 500.0, "units": "uV", "leads": []}
    return ev(
        "e-ecg",
        ecg_id="AMB-1",
        device={"id": "lp15"},
        acquired_at=AT,
        waveform=wave,
        measurements=None,
    )


def emitted(router: Processor, state: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    return {e.name: e.event for e in router.emit(state, "goldenhour.ems.EcgAcquired", ecg())}


def test_identified_patient_and_stemi_prealert_make_a_stat_request() -> None:
    patient = {
        "identifiers": [{"system": RESIDENT_ID, "value": "11010519491231002X"}],
        "family": "王",
    }
    router, state = run(
        (
            "IncidentOpened",
            ev(
                "e1",
                dispatch_reason="chest pain",
                priority="1",
                station_id="s2",
                unit_id="A12",
                scene=None,
            ),
        ),
        ("PatientRecorded", ev("e2", patient=patient, temporary_id=None)),
        ("PreAlertRaised", ev("e3", kind="STEMI", destination_id="h1", eta=None)),
    )
    out = emitted(router, state)
    submitted, request = out["goldenhour.ecg.EcgSubmitted"], out["goldenhour.ecg.ReadRequested"]
    assert (
        submitted["meta"]["event_id"] == "e-ecg:submitted"
        and request["meta"]["event_id"] == "e-ecg:submitted:read"
    )
    assert submitted["patient"]["identifiers"] == patient["identifiers"]
    assert submitted["site"] == {"id": "A12", "name": "120 unit A12", "kind": "ambulance"}
    assert submitted["urgency"] == "stat" and submitted["incident_id"] == "INC-1"
    assert request["prealert"] == "STEMI" and request["reading_centre_id"] == "county-ecg-centre"


def test_unidentified_patient_goes_by_the_temporary_id() -> None:
    router, state = run(
        (
            "PatientRecorded",
            ev("e2", patient={"identifiers": [], "gender": "female"}, temporary_id="T-9"),
        )
    )
    patient = emitted(router, state)["goldenhour.ecg.EcgSubmitted"]["patient"]
    assert patient["identifiers"] == [{"system": EMS_TEMPORARY_ID, "value": "T-9"}]


def test_ecg_before_anything_else_is_urgent_and_filed_under_the_incident() -> None:
    router, state = run()
    out = emitted(router, state)["goldenhour.ecg.EcgSubmitted"]
    assert out["urgency"] == "urgent"
    assert out["patient"]["identifiers"] == [{"system": EMS_TEMPORARY_ID, "value": "INC-1"}]


def test_other_events_emit_nothing() -> None:
    router, state = run()
    assert router.emit(state, "goldenhour.ems.VitalsRecorded", ev("v", vitals=[])) == []
