"""What the FHIR projector re-keys to `patient.facts` (stream_processors/fhir_projector/
patient_facts.py): each fact keyed by the one resource it changes, so one process writes
it; derived ids from the source event's, so a replay derives nothing new."""

from __future__ import annotations

import datetime as dt

from kernel.codes import EMS_TEMPORARY_ID, RESIDENT_ID
from kernel.ids import patient_id
from services.ingest.ecg_models import EcgIn, ecg_event
from stream_processors.fhir_projector.processor import PROCESSOR
from stream_processors.runner import Emitted
from tests.ecg_payloads import RESIDENT, ecg_payload

ECG = "goldenhour.ecg.EcgSubmitted"
LINKED = "goldenhour.identity.PatientLinked"
RECORDED = dt.datetime(2026, 11, 23, 10, 2, 30, tzinfo=dt.UTC)


def facts(name: str, event: dict[str, object]) -> list[Emitted]:
    assert PROCESSOR.emit is not None
    return PROCESSOR.emit({}, name, event)


def test_an_ecg_states_its_patient_keyed_by_the_patient_with_the_ecgs_compartments() -> None:
    event = ecg_event(EcgIn.model_validate(ecg_payload(ecg_id="E-1")), RECORDED)
    (fact,) = facts(ECG, event)
    key = patient_id([{"system": RESIDENT_ID, "value": RESIDENT}])
    assert (fact.topic, fact.key, fact.event["patient_key"]) == ("patient.facts", key, key)
    assert fact.event["compartments"] == ["ecg/E-1", "org/clinic-baiyang"]
    assert fact.event["meta"]["event_id"] == event["meta"]["event_id"] + ":patient"
    assert facts(ECG, event) == [fact]  # a replay derives the same fact (the log drops it)


def test_a_link_changes_each_patient_by_a_fact_keyed_by_that_patient() -> None:
    source = {"system": EMS_TEMPORARY_ID, "value": "EMS-inc-1"}
    target = {"system": RESIDENT_ID, "value": RESIDENT}
    at = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    meta = {"event_id": "l-1", "occurred_at": at, "recorded_at": at, "source": {}}
    link = {"meta": meta, "source": source, "target": target, "reason": "api-merge"}
    sides = {f.key: f.event for f in facts(LINKED, link)}
    ids = patient_id([source]), patient_id([target])
    assert set(sides) == set(ids)
    assert sides[ids[0]]["link_type"] == "replaced-by" and sides[ids[0]]["linked"]
    assert sides[ids[1]]["other_patient_id"] == ids[0]
    assert len({s["meta"]["event_id"] for s in sides.values()}) == 2  # one id per side
