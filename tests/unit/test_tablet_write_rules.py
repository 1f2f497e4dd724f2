"""Tablet input without I/O: validation of one event, the incident's order rules, and the
JSON <-> Avro mapping (a stale tablet must get back exactly what it would have sent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from avro_schemas.codec import Codec
from services.ingest.incident_rules import IncidentFacts, advance, check_batch
from services.ingest.tablet_events import to_event, to_tablet
from services.ingest.tablet_models import IncidentBatch, TabletEvent
from services.simulate.stemi_incident import stemi_incident, valid_resident_id

ADAPTER: TypeAdapter[TabletEvent] = TypeAdapter(TabletEvent)
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def avro(events: list[dict[str, Any]], incident: str = "inc-1") -> list[tuple[str, Any]]:
    return [to_event(ADAPTER.validate_python(e), incident, NOW, "tab-1", "crew-1") for e in events]


def vitals(*entries: tuple[str, float, str]) -> dict[str, Any]:
    return {
        "type": "VitalsRecorded",
        "event_id": "v-1",
        "occurred_at": "2026-11-23T10:00:00+08:00",
        "vitals": [{"code": c, "value": v, "unit": u} for c, v, u in entries],
    }


def error_of(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        ADAPTER.validate_python(doc)
    return str(caught.value)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("8867-4", 400, "/min")], "Heart rate 400 /min is implausible"),
        ([("8867-4", 80, "bpm")], "recorded in UCUM '/min', not 'bpm'"),
        ([("8310-5", 98.6, "[degF]")], "recorded in UCUM 'Cel'"),
        ([("9269-2", 2, "{score}")], "Glasgow coma score total 2 {score} is implausible"),
        ([("9269-2", 12.5, "{score}")], "is a whole number"),
        ([("59408-5", 101, "%")], "implausible"),
        ([("1234-5", 1, "/min")], "LOINC 1234-5 is not a recorded vital sign"),
        ([("8480-6", 120, "mm[Hg]")], "needs both systolic (8480-6) and diastolic"),
        ([("8480-6", 80, "mm[Hg]"), ("8462-4", 90, "mm[Hg]")], "diastolic 90 mm[Hg] is not below"),
        ([("8867-4", 80, "/min"), ("8867-4", 82, "/min")], "repeated 8867-4"),
    ],
)
def test_vitals__implausible_or_miscoded_values_are_refused_with_the_reason(
    entries: list[tuple[str, float, str]], message: str
) -> None:
    assert message in error_of(vitals(*entries))


def test_vitals__cardiac_arrest_values_are_recorded_not_refused() -> None:
    ADAPTER.validate_python(vitals(("8867-4", 0, "/min"), ("9269-2", 3, "{score}")))


def test_times_without_offset_are_refused() -> None:
    doc = vitals(("8867-4", 80, "/min"))
    doc["occurred_at"] = "2026-11-23T10:00:00"
    assert "timezone" in error_of(doc)


def test_resident_id_check_digit_is_verified() -> None:
    good = valid_resident_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    doc = {
        "type": "PatientRecorded",
        "event_id": "p-1",
        "occurred_at": "2026-11-23T10:00:00+08:00",
        "identifiers": [{"system": "https://goldenhour.health/sid/cn-resident-id", "value": bad}],
    }
    assert "GB 11643 MOD 11-2" in error_of(doc)
    doc["identifiers"][0]["value"] = good
    ADAPTER.validate_python(doc)


def test_unidentified_patient_needs_a_temporary_id() -> None:
    doc = {"type": "PatientRecorded", "event_id": "p", "occurred_at": "2026-11-23T10:00:00Z"}
    assert "temporary_id" in error_of({**doc, "gender": "male"})
    ADAPTER.validate_python({**doc, "temporary_id": "EMS-7", "estimated_age_years": 60})


def test_dose_units_are_ucum() -> None:
    doc = {
        "type": "MedicationGiven",
        "event_id": "m",
        "occurred_at": "2026-11-23T10:00:00Z",
        "medication": {"system": "http://snomed.info/sct", "code": "387458008"},
        "route": {"system": "http://snomed.info/sct", "code": "26643006"},
    }
    assert "'mcg' is not a UCUM dose unit" in error_of(
        {**doc, "dose": {"value": 300, "unit": "mcg"}}
    )
    assert "dose must be positive" in error_of({**doc, "dose": {"value": 0, "unit": "mg"}})


def test_batch__repeated_event_id_is_refused() -> None:
    one = vitals(("8867-4", 80, "/min"))
    with pytest.raises(ValidationError, match="event_id used twice"):
        IncidentBatch.model_validate({"expected_version": 0, "events": [one, one]})


def test_every_tablet_event_round_trips_through_avro() -> None:
    codec = Codec()
    script = stemi_incident("inc-rt", resident_id=valid_resident_id())
    for doc, (name, event) in zip(script, avro(script, "inc-rt"), strict=True):
        _, decoded = codec.decode(codec.encode(name, event))
        back = ADAPTER.validate_python(to_tablet(name, decoded))
        # Avro keeps the instant, not the tablet's offset: equal as aware datetimes.
        assert back.model_dump(exclude_none=True) == (
            ADAPTER.validate_python(doc).model_dump(exclude_none=True)
        ), name


# ----------------------------------------------------------------- order rules


def facts_after(events: list[tuple[str, Any]]) -> IncidentFacts:
    facts = IncidentFacts()
    for name, event in events:
        facts = advance(facts, name, event)
    return facts


def test_rules__the_scripted_incident_is_in_order() -> None:
    events = avro(stemi_incident("inc-ok"))
    assert check_batch(IncidentFacts(), events) == []
    assert facts_after(events).version == len(events)


def test_rules__incident_must_be_opened_first_and_once() -> None:
    script = avro(stemi_incident("inc-o"))
    opened, rest = script[0], script[1:]
    problems = check_batch(IncidentFacts(), [rest[0], opened])
    assert problems == [(0, "the incident is not open: its first event must be IncidentOpened")]
    assert check_batch(facts_after([opened]), [opened]) == [(0, "the incident is already open")]


def test_rules__a_unit_timeline_never_goes_back() -> None:
    script = stemi_incident("inc-t")
    on_scene = next(e for e in script if e.get("status") == "ON_SCENE")
    en_route = next(e for e in script if e.get("status") == "EN_ROUTE")
    facts = facts_after(avro(script[:1] + [on_scene]))
    late = {**en_route, "event_id": "late"}
    [(index, why)] = check_batch(facts, avro([late]))
    assert index == 0 and "already ON_SCENE; EN_ROUTE cannot follow it" in why
    backwards = {
        **on_scene,
        "event_id": "b",
        "status": "AT_PATIENT",
        "occurred_at": script[0]["occurred_at"],
    }
    [(_, why)] = check_batch(facts, avro([backwards]))
    assert "earlier than ON_SCENE" in why


def test_rules__handover_accepted_needs_a_submitted_handover_and_happens_once() -> None:
    script = avro(stemi_incident("inc-h"))
    accepted = avro(
        [
            {
                "type": "HandoverAccepted",
                "event_id": "acc",
                "occurred_at": "2026-11-23T10:20:00+08:00",
                "accepted_by": "Dr Zhao",
            }
        ]
    )
    before_handover = [e for e in script if not e[0].endswith("HandoverSubmitted")]
    assert check_batch(facts_after(before_handover), accepted) == [
        (0, "no handover was submitted for this incident")
    ]
    assert check_batch(facts_after(script), accepted) == []
    assert check_batch(facts_after(script + accepted), accepted) == [
        (0, "the handover was already accepted")
    ]


def test_rules__every_bad_event_of_a_batch_is_named() -> None:
    script = avro(stemi_incident("inc-b"))
    problems = check_batch(facts_after(script), [script[0], script[2], script[7]])
    assert [i for i, _ in problems] == [0, 1, 2]
