"""The FHIR projection is a pure fold: same events, same resources, whatever the order."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from services.ingest.ecg_models import EcgIn, ecg_event
from stream_processors.fhir_projector.fold import fold, index_entries, refs
from stream_processors.fhir_projector.patient_to_fhir import merge_patient
from tests import fhir_projection
from tests.ecg_payloads import ecg_payload

ECG = "goldenhour.ecg.EcgSubmitted"
RECORDED = dt.datetime(2026, 11, 23, 10, 2, 30, tzinfo=dt.UTC)


def event(**changes: Any) -> dict[str, Any]:
    return ecg_event(EcgIn.model_validate(ecg_payload(**changes)), RECORDED)


def run(events: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        state.update(fhir_projection.fold(state, ECG, e))
    return state


def test_fold__ecg_gives_valid_observation_and_patient() -> None:
    state = run([event()])
    kinds = sorted(t for t, _ in state)
    assert kinds == ["Observation", "Patient"]
    for (rtype, _), resource in state.items():
        model = Observation if rtype == "Observation" else Patient
        model.model_validate(resource)


def test_fold__is_deterministic() -> None:
    e = event()
    assert run([e]) == run([e])


def test_fold__patient_merge_does_not_depend_on_arrival_order() -> None:
    older = event(acquired_at="2026-11-23T08:00:00+08:00")
    older["patient"]["family"] = "Wang"
    newer = event(acquired_at="2026-11-23T09:00:00+08:00")
    newer["patient"]["identifiers"].append({"system": "urn:mrn:county", "value": "M77"})
    newer["patient"]["gender"] = None
    results = [run(list(order)) for order in itertools.permutations([older, newer])]
    assert results[0] == results[1]
    patient = next(r for (t, _), r in results[0].items() if t == "Patient")
    assert patient["name"][0]["family"] == "王"  # the newer event's name wins
    assert patient["gender"] == "male"  # kept from the older event: the newer did not say
    assert [i["value"] for i in patient["identifier"]] == ["11010519491231002X", "M77"]


def test_fold__ignores_events_it_does_not_project() -> None:
    assert refs("goldenhour.reading.ReadClaimed", {}) == []
    assert fold({}, "goldenhour.reading.ReadClaimed", {}) == {}


def test_index__files_identifiers_and_subject() -> None:
    obs = next(r for (t, _), r in run([event(ecg_id="E-1")]).items() if t == "Observation")
    keys = {(e.index, e.key) for e in index_entries(obs)}
    assert ("Observation.identifier", "https://goldenhour.health/sid/ecg-id|E-1") in keys
    assert ("Observation.subject", obs["subject"]["reference"]) in keys


def test_merge_patient__same_instant_ties_resolve_by_content() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    a = {"identifiers": [{"system": "s", "value": "1"}], "family": "A"}
    b = {"identifiers": [{"system": "s", "value": "1"}], "family": "B"}
    assert merge_patient(merge_patient(None, a, at), b, at) == merge_patient(
        merge_patient(None, b, at), a, at
    )
