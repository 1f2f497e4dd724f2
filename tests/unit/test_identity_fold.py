"""Identity links in the FHIR fold (identity_to_fhir.py): merge then unmerge restores both
Patients; links of unknown Patients; links commute with the Patients' other events."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.provenance import Provenance

from avro_schemas.events import PATIENT_LINKED as LINKED
from avro_schemas.events import PATIENT_UNLINKED as UNLINKED
from kernel.codes import EMS_TEMPORARY_ID, RESIDENT_ID
from kernel.ids import patient_id
from kernel.jsontypes import Json
from tests.adt_messages import valid_resident_id
from tests.fhir_projection import fold

State = dict[tuple[str, str], Json]
ECG_LIKE = "goldenhour.adt.PatientUpdated"  # any Patient-writing event will do
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
TEMP = {"system": EMS_TEMPORARY_ID, "value": "EMS-inc-1"}
MRN = {"system": "urn:goldenhour:mrn:county-hospital", "value": "H-778"}
RESIDENT = {"system": RESIDENT_ID, "value": valid_resident_id()}
SOURCE_ID = patient_id([TEMP])
TARGET_ID = patient_id([MRN, RESIDENT])


def meta(event_id: str, minutes: int, user: str | None = None) -> Json:
    at = T0 + dt.timedelta(minutes=minutes)
    source = {"channel": "http", "device_id": None, "user_id": user, "site_id": None}
    return {"event_id": event_id, "occurred_at": at, "recorded_at": at, "source": source}


def patient_event(identifiers: list[Json], minutes: int, **details: Any) -> tuple[str, Json]:
    patient = {
        "identifiers": identifiers,
        "family": None,
        "given": None,
        "gender": None,
        "birth_date": None,
        "estimated_age_years": None,
        **details,
    }
    event = {
        "meta": meta(f"p-{minutes}", minutes),
        "patient_key": "k",
        "patient": patient,
        "visit_number": None,
    }
    return ECG_LIKE, event


def link(kind: str = LINKED, event_id: str = "l-1", minutes: int = 30) -> tuple[str, Json]:
    event = {
        "meta": meta(event_id, minutes, user="dr-zhao"),
        "patient_key": SOURCE_ID,
        "source": TEMP,
        "target": MRN,
        "reason": "api-merge",
        "source_patient_id": SOURCE_ID,
        "target_patient_id": TARGET_ID,
    }
    return kind, event


def run(events: list[tuple[str, Json]], state: State | None = None) -> State:
    state = dict(state or {})
    for name, event in events:
        state.update(fold(state, name, event))
    return state


def patients(state: State) -> dict[str, Json]:
    return {rid: r for (t, rid), r in state.items() if t == "Patient"}


AMBULANCE = patient_event([TEMP], 5, gender="male", estimated_age_years=58)
HOSPITAL = patient_event([MRN, RESIDENT], 20, family="王", given="建国", gender="male")


def test_merge__source_replaced_by_and_inactive_target_replaces_provenance_says_who() -> None:
    state = run([AMBULANCE, HOSPITAL, link()])
    source, target = state[("Patient", SOURCE_ID)], state[("Patient", TARGET_ID)]
    assert source["active"] is False
    assert source["link"] == [
        {"other": {"reference": f"Patient/{TARGET_ID}"}, "type": "replaced-by"}
    ]
    assert target["link"] == [{"other": {"reference": f"Patient/{SOURCE_ID}"}, "type": "replaces"}]
    assert "active" not in target
    (provenance,) = [r for (t, _), r in state.items() if t == "Provenance"]
    Provenance.model_validate(provenance)
    assert {t["reference"] for t in provenance["target"]} == {
        f"Patient/{SOURCE_ID}",
        f"Patient/{TARGET_ID}",
    }
    assert provenance["activity"]["coding"][0]["code"] == "merge"
    assert provenance["agent"][0]["who"]["display"] == "dr-zhao"
    assert provenance["recorded"] == "2026-11-23T02:30:00.000000Z"
    for body in (source, target):
        Patient.model_validate(body)


def test_merge_then_unmerge__both_patients_exactly_as_before() -> None:
    before = run([AMBULANCE, HOSPITAL])
    after = run([link(), link(UNLINKED, "u-1", 40)], before)
    assert patients(after) == patients(before)
    kinds = sorted(
        r["activity"]["coding"][0]["code"] for (t, _), r in after.items() if t == "Provenance"
    )
    assert kinds == ["merge", "unmerge"]


def test_merge_twice_then_unmerge__restores_too() -> None:
    before = run([AMBULANCE, HOSPITAL])
    after = run([link(), link(event_id="l-2"), link(UNLINKED, "u-1", 40)], before)
    assert patients(after) == patients(before)


def test_merge_of_unknown_patients__stubs_named_by_their_identifiers() -> None:
    state = run([link()])
    source, target = state[("Patient", SOURCE_ID)], state[("Patient", TARGET_ID)]
    assert source["identifier"] == [TEMP] and source["active"] is False
    assert target["identifier"] == [MRN]
    Patient.model_validate(source)


def test_unmerge_of_unknown_patients__writes_only_its_provenance() -> None:
    state = run([link(UNLINKED, "u-1")])
    assert [t for t, _ in state] == ["Provenance"]


def test_patient_never_replaces_itself() -> None:
    name, event = link()
    event = {**event, "target": TEMP, "target_patient_id": SOURCE_ID}
    assert run([(name, event)]) == {}


def test_link_commutes_with_the_patients_own_events() -> None:
    """Any interleaving of the link with the two Patients' events (other topics) gives the
    same current Patients."""
    events = [AMBULANCE, HOSPITAL, link(), patient_event([TEMP], 45, gender="male")]
    results = [patients(run(list(order))) for order in itertools.permutations(events)]
    assert all(r == results[0] for r in results)
    assert results[0][SOURCE_ID]["active"] is False


def test_unlink_before_link_does_not_commute__hence_one_partition() -> None:
    """Documented: link and unlink of one source are keyed by the source, so ordered."""
    assert link()[1]["patient_key"] == link(UNLINKED)[1]["patient_key"] == SOURCE_ID
    wrong_order = run([AMBULANCE, HOSPITAL, link(UNLINKED, "u-1", 40), link()])
    assert wrong_order[("Patient", SOURCE_ID)]["active"] is False


def test_demographic_events_keep_the_links() -> None:
    state = run([AMBULANCE, HOSPITAL, link(), patient_event([MRN, RESIDENT], 50, family="Wang")])
    target = state[("Patient", TARGET_ID)]
    assert target["name"] == [{"family": "Wang"}]
    assert target["link"][0]["type"] == "replaces"
