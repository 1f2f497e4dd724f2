"""The incident's FHIR projection as a pure fold: a scripted STEMI incident (tests/incident_script.py)
folded by the FHIR projector's table and the Patient facts it derives by the patient
projector's (tests/fhir_projection.py), with the ECG router's EcgSubmitted in between, as the
runner would (state = what `refs` names, every returned resource becomes the next version)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from kernel.codes import EMS_TEMPORARY_ID, LOINC, RESIDENT_ID, UCUM
from kernel.ids import ecg_observation_id, patient_id
from services.ingest.resident_id import problem
from stream_processors.fhir_projector import fold as projector
from stream_processors.fhir_projector.incident.codes import INCIDENT_ID, TIMELINE_URL
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.handover import composition_id
from stream_processors.incident_ecg.processor import incident_ecg_router
from stream_processors.runner import canonical_json
from tests import fhir_projection
from tests import incident_script as script

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)
RESIDENT = "11010519491231002X"
INCIDENT = "INC-7"
Ref = tuple[str, str]
Store = dict[Ref, list[dict[str, Any]]]  # every version of every resource, oldest first


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _apply(store: Store, name: str, event: dict[str, Any]) -> None:
    state = {r: versions[-1] for r, versions in store.items()}
    for ref, resource in fhir_projection.fold(state, name, event).items():
        store.setdefault(ref, []).append(stored(resource))


def stored(resource: dict[str, Any]) -> dict[str, Any]:
    """What the runner stores and loads back: canonical JSON."""
    return json.loads(canonical_json(resource))  # type: ignore[no-any-return]


def project(events: list[tuple[str, dict[str, Any]]]) -> Store:
    """Fold like the runner; the router's EcgSubmitted is folded right after its EcgAcquired."""
    store: Store = {}
    router = incident_ecg_router("county-ecg-centre", "county")
    routed: dict[Ref, dict[str, Any]] = {}
    for name, event in events:
        router_state = {r: routed[r] for r in router.refs(name, event) if r in routed}
        emitted = router.emit(router_state, name, event)
        routed.update({r: stored(s) for r, s in router.fold(router_state, name, event).items()})
        _apply(store, name, event)
        for out in emitted:
            if out.name == "goldenhour.ecg.EcgSubmitted":
                _apply(store, out.name, out.event)
    return store


def latest(store: Store, rtype: str) -> list[dict[str, Any]]:
    return [versions[-1] for (t, _), versions in store.items() if t == rtype]


def only(store: Store, rtype: str) -> dict[str, Any]:
    (resource,) = latest(store, rtype)
    return resource


@pytest.fixture(scope="module")
def store() -> Store:
    assert problem(RESIDENT) is None  # a valid GB 11643 check digit
    return project(script.stemi_incident(INCIDENT, T0, RESIDENT))


def test_every_resource_validates_with_its_r4b_model(store: Store) -> None:
    kinds = sorted({t for t, _ in store})
    assert kinds == [
        "Composition",
        "Encounter",
        "Flag",
        "IncidentRecord",
        "MedicationAdministration",
        "Observation",
        "Patient",
        "Procedure",
    ]
    for (rtype, rid), versions in store.items():
        if rtype == "IncidentRecord":
            continue
        for version in versions:
            model = get_fhir_model_class(rtype).model_validate(version)
            assert model.model_dump()["id"] == rid


def test_transfer_of_care_time_and_acceptor_land_in_the_encounter(store: Store) -> None:
    enc = store[("Encounter", encounter_id(INCIDENT))][-1]
    toc = at(script.TRANSFER_OF_CARE_MIN)
    assert enc["status"] == "finished"
    assert enc["period"] == {"start": at(0), "end": toc}
    assert enc["statusHistory"] == [
        {"status": "in-progress", "period": {"start": at(0), "end": toc}},
        {"status": "finished", "period": {"start": toc}},
    ]
    points = {
        parts["status"]["valueCoding"]["code"]: parts
        for ext in enc["extension"]
        if ext["url"] == TIMELINE_URL
        for parts in [{p["url"]: p for p in ext["extension"]}]
    }
    assert list(points) == [
        "CALL_RECEIVED",
        "DISPATCHED",
        "EN_ROUTE",
        "ON_SCENE",
        "AT_PATIENT",
        "LEFT_SCENE",
        "AT_DESTINATION",
        "TRANSFER_OF_CARE",
    ]
    transfer = points["TRANSFER_OF_CARE"]
    assert transfer["time"]["valueDateTime"] == toc
    assert transfer["acceptedBy"]["valueReference"]["identifier"]["value"] == script.ACCEPTED_BY
    assert transfer["hospital"]["valueIdentifier"]["value"] == script.HOSPITAL
    assert points["ON_SCENE"]["time"]["valueDateTime"] == at(9)


def test_encounter_is_an_emergency_ambulance_encounter_of_the_identified_patient(
    store: Store,
) -> None:
    enc = store[("Encounter", encounter_id(INCIDENT))][-1]
    assert enc["class"]["code"] == "EMER"
    assert enc["type"][0]["coding"][0]["code"] == "409971007"
    assert enc["identifier"] == [{"system": INCIDENT_ID, "value": INCIDENT}]
    assert enc["priority"]["coding"][0]["code"] == "EM"
    assert enc["reasonCode"][0]["text"].startswith("Chest pain")
    assert enc["serviceProvider"]["identifier"]["value"] == script.STATION
    resident = patient_id([{"system": RESIDENT_ID, "value": RESIDENT}])
    assert enc["subject"] == {"reference": f"Patient/{resident}"}
    places = [(loc["location"].get("display"), loc.get("period")) for loc in enc["location"]]
    assert places == [
        ("Scene", {"start": at(9), "end": at(18)}),
        (f"Ambulance {script.UNIT}", {"start": at(18), "end": at(38)}),
        (f"Destination {script.HOSPITAL}", {"start": at(38), "end": at(40)}),
    ]
    assert enc["contained"][0]["position"] == {"latitude": 30.2741, "longitude": 120.1551}


def test_encounter_is_in_progress_until_care_ends() -> None:
    events = script.stemi_incident(INCIDENT, T0, RESIDENT)
    before_acceptance = project(events[:-1])
    enc = only(before_acceptance, "Encounter")
    assert enc["status"] == "in-progress" and "end" not in enc["period"]
    assert only(before_acceptance, "Flag")["status"] == "active"
    assert only(before_acceptance, "Composition")["status"] == "preliminary"


def _observations(store: Store, code: str) -> list[dict[str, Any]]:
    return [o for o in latest(store, "Observation") if o["code"]["coding"][0]["code"] == code]


@pytest.mark.parametrize(
    ("code", "values", "unit"),
    [
        ("8867-4", [112, 104], "/min"),
        ("9279-1", [22], "/min"),
        ("59408-5", [94, 96], "%"),
        ("8310-5", [36.8], "Cel"),
        ("9269-2", [15], "{score}"),
        ("15074-8", [7.2], "mmol/L"),
        ("19889-5", [34], "mm[Hg]"),
        ("72514-3", [8, 5], "{score}"),
    ],
)
def test_vital_signs_have_loinc_codes_and_ucum_quantities(
    store: Store, code: str, values: list[float], unit: str
) -> None:
    found = sorted(_observations(store, code), key=lambda o: o["effectiveDateTime"])
    assert [o["valueQuantity"]["value"] for o in found] == values
    for obs in found:
        assert obs["valueQuantity"] == {
            **obs["valueQuantity"],
            "unit": unit,
            "system": UCUM,
            "code": unit,
        }
        assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
        assert obs["encounter"] == {"reference": f"Encounter/{encounter_id(INCIDENT)}"}
    assert found[0]["effectiveDateTime"] == at(13)


def test_spo2_also_carries_the_arterial_saturation_code(store: Store) -> None:
    obs = _observations(store, "59408-5")[0]
    assert [c["code"] for c in obs["code"]["coding"]] == ["59408-5", "2708-6"]


def test_systolic_and_diastolic_entries_join_into_one_blood_pressure_panel(store: Store) -> None:
    panels = sorted(_observations(store, "85354-9"), key=lambda o: o["effectiveDateTime"])
    assert len(panels) == 2 and not _observations(store, "8480-6")
    parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in panels[0]["component"]}
    assert parts == {
        "8480-6": {"value": 158, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        "8462-4": {"value": 96, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
    }
    assert "valueQuantity" not in panels[0]


def test_each_vitals_set_has_a_panel_listing_its_members(store: Store) -> None:
    panels = sorted(_observations(store, "85353-1"), key=lambda o: o["effectiveDateTime"])
    assert [len(p["hasMember"]) for p in panels] == [9, 4]  # BP counts once
    ids = {o["id"] for o in latest(store, "Observation")}
    assert all(m["reference"].removeprefix("Observation/") in ids for m in panels[0]["hasMember"])


def test_procedure_and_medication_administration(store: Store) -> None:
    proc, med = only(store, "Procedure"), only(store, "MedicationAdministration")
    assert proc["code"]["coding"][0]["code"] == "392230005"
    assert proc["performedDateTime"] == at(14) and proc["note"] == [
        {"text": "18G left antecubital"}
    ]
    assert proc["encounter"]["reference"] == f"Encounter/{encounter_id(INCIDENT)}"
    assert med["status"] == "completed" and med["effectiveDateTime"] == at(15)
    assert med["medicationCodeableConcept"]["coding"][0]["code"] == "1191"
    assert med["dosage"]["dose"] == {"value": 300, "unit": "mg", "system": UCUM, "code": "mg"}
    assert med["dosage"]["route"]["coding"][0]["code"] == "26643006"
    assert med["context"] == {"reference": f"Encounter/{encounter_id(INCIDENT)}"}
    assert proc["subject"] == med["subject"]


def test_prealert_flag_is_active_until_the_handover_is_accepted(store: Store) -> None:
    versions = [v for (t, _), vs in store.items() if t == "Flag" for v in vs]
    assert [v["status"] for v in versions] == ["active", "inactive"]
    flag = versions[-1]
    assert flag["code"]["coding"][0]["code"] == "STEMI"
    assert flag["code"]["coding"][1]["code"] == "401303003"
    assert flag["period"] == {"start": at(17), "end": at(script.TRANSFER_OF_CARE_MIN)}
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in flag["extension"]}
    assert extensions["prealert-eta"]["valueDateTime"] == at(script.ETA_MIN)
    assert extensions["prealert-destination"]["valueIdentifier"]["value"] == script.HOSPITAL


def test_handover_composition_is_preliminary_then_final_with_atmist_sections(
    store: Store,
) -> None:
    versions = store[("Composition", composition_id(INCIDENT))]
    assert [v["status"] for v in versions][0] == "preliminary"
    assert versions[-1]["status"] == "final"
    comp = versions[-1]
    assert comp["type"]["coding"][0] == {
        "system": LOINC,
        "code": "67796-3",
        "display": "EMS patient care report",
    }
    assert comp["date"] == at(script.TRANSFER_OF_CARE_MIN)
    titles = [s["title"] for s in comp["section"]]
    assert titles[:6] == [
        "Age",
        "Time of onset",
        "Mechanism",
        "Injuries / illness",
        "Signs (vital signs trend)",
        "Treatment",
    ]
    sections = {s["code"]["coding"][-1]["code"]: s for s in comp["section"]}
    for section in comp["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert sections["signs"]["code"]["coding"][0]["code"] == "8716-3"
    signs = [e["reference"] for e in sections["signs"]["entry"]]
    assert len(signs) == 9 + 1 + 4 + 1
    assert "HR 112 /min, BP 158/96 mm[Hg]" in sections["signs"]["text"]["div"]
    treatment = [e["reference"].split("/")[0] for e in sections["treatment"]["entry"]]
    assert treatment == ["Procedure", "MedicationAdministration"]
    ecg = ecg_observation_id(script.ecg_id(INCIDENT))
    assert sections["ecg"]["entry"] == [{"reference": f"Observation/{ecg}"}]
    assert sections["prealerts"]["entry"][0]["reference"].startswith("Flag/")
    assert "No allergies known." in sections["narrative"]["text"]["div"]


def test_identified_patient_is_one_resource_with_the_ambulance_ecg_patient(store: Store) -> None:
    resident = patient_id([{"system": RESIDENT_ID, "value": RESIDENT}])
    ecg = store[("Observation", ecg_observation_id(script.ecg_id(INCIDENT)))][-1]
    assert ecg["subject"] == {"reference": f"Patient/{resident}"}
    patient = store[("Patient", resident)][-1]
    assert [(i["system"], i["value"]) for i in patient["identifier"]] == [
        (RESIDENT_ID, RESIDENT),
        (EMS_TEMPORARY_ID, script.temporary_id(INCIDENT)),
    ]
    assert patient["birthDate"] == "1949-12-31" and patient["gender"] == "male"
    comp = only(store, "Composition")
    assert comp["subject"] == ecg["subject"] == only(store, "Procedure")["subject"]


def test_unidentified_patient_keeps_gender_and_estimated_age() -> None:
    store = project(script.stemi_incident(INCIDENT, T0, None))
    temporary = patient_id([{"system": EMS_TEMPORARY_ID, "value": script.temporary_id(INCIDENT)}])
    (patient,) = latest(store, "Patient")
    assert patient["id"] == temporary and patient["gender"] == "male"
    (age,) = _observations(store, "30525-0")
    assert age["valueQuantity"] == {"value": 60, "unit": "a", "system": UCUM, "code": "a"}
    assert age["subject"] == {"reference": f"Patient/{temporary}"}
    age_section = only(store, "Composition")["section"][0]
    assert {"reference": f"Observation/{age['id']}"} in age_section["entry"]
    assert "about 60 years (estimated)" in age_section["text"]["div"]


def test_care_before_any_patient_record_goes_to_the_incident_patient() -> None:
    events = script.stemi_incident(INCIDENT, T0, None)
    without_patient = [e for e in events if not e[0].endswith("PatientRecorded")]
    store = project(without_patient)
    incident_patient = patient_id([{"system": EMS_TEMPORARY_ID, "value": INCIDENT}])
    assert [p["id"] for p in latest(store, "Patient")] == [incident_patient]
    assert only(store, "Encounter")["subject"] == {"reference": f"Patient/{incident_patient}"}
    ecg = store[("Observation", ecg_observation_id(script.ecg_id(INCIDENT)))][-1]
    assert ecg["subject"] == {"reference": f"Patient/{incident_patient}"}


def test_fold_is_deterministic_twice_gives_identical_json() -> None:
    def dump() -> list[bytes]:
        store = project(script.stemi_incident(INCIDENT, T0, RESIDENT))
        return [canonical_json(v) for ref in sorted(store) for v in store[ref]]

    assert dump() == dump()


def test_search_index_has_tokens_and_references_of_the_new_types(store: Store) -> None:
    enc = projector.index_entries(only(store, "Encounter"))
    keys = {(e.index, e.key) for e in enc}
    assert ("Encounter.status", "finished") in keys
    assert ("Encounter.class", "http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER") in keys
    assert ("Encounter.identifier", f"{INCIDENT_ID}|{INCIDENT}") in keys
    comp = {(e.index, e.key) for e in projector.index_entries(only(store, "Composition"))}
    assert ("Composition.type", f"{LOINC}|67796-3") in comp
    assert ("Composition.encounter", f"Encounter/{encounter_id(INCIDENT)}") in comp
    med = {
        (e.index, e.key) for e in projector.index_entries(only(store, "MedicationAdministration"))
    }
    assert ("MedicationAdministration.encounter", f"Encounter/{encounter_id(INCIDENT)}") in med
