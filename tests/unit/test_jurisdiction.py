"""Who may see what, as pure rules: the compartments an event gives, the parties of an
incident, and a viewer's direct decisions (kernel/jurisdiction.py)."""

from __future__ import annotations

from kernel.jurisdiction import COMPARTMENT, Viewer, compartments_of, security_labels
from stream_processors.fhir_projector.incident.record import new_record, parties
from stream_processors.jurisdiction import event_compartments


def test_incident_events_put_resources_in_the_incident() -> None:
    codes = event_compartments("ems.incident", "I-7", {}, "Observation", set())
    assert codes == {"incident/I-7"}


def test_a_clinic_ecg_is_in_its_clinic_and_an_ambulance_ecg_in_its_incident() -> None:
    clinic = {"site": {"id": "clinic-3", "kind": "clinic"}, "incident_id": None}
    assert event_compartments("clinic.ecg", "E1", clinic, "Observation", set()) == {
        "ecg/E1",
        "org/clinic-3",
    }
    ambulance = {"site": {"id": "unit-12", "kind": "ambulance"}, "incident_id": "I-7"}
    assert "incident/I-7" in event_compartments("clinic.ecg", "E2", ambulance, "Patient", set())


def test_an_adt_belongs_to_the_sending_hospital_even_without_hospital_id() -> None:
    assert event_compartments("hospital.adt", "H2|MRN9", {}, "Encounter", set()) == {"org/H2"}
    named = {"hospital_id": "H3"}
    assert event_compartments("hospital.adt", "H2|MRN9", named, "Patient", set()) == {"org/H3"}


def test_a_hospital_outcome_is_its_hospitals_and_the_ambulance_patients_crew_and_readers() -> None:
    about = {"hospital_id": "h1", "incident_id": "inc-9", "ecg_ids": ["inc-9-ecg-1"]}
    codes = event_compartments("hospital.outcome", "p", about, "Procedure", set())
    assert codes == {"org/h1", "incident/inc-9", "ecg/inc-9-ecg-1"}
    walk_in = {"hospital_id": "h1", "incident_id": None, "ecg_ids": []}
    assert event_compartments("hospital.outcome", "p", walk_in, "Condition", set()) == {"org/h1"}


def test_a_link_labels_its_provenance_with_both_patients_but_not_the_patients() -> None:
    given = {"incident/I-7", "org/H2"}
    assert event_compartments("identity.links", "p1", {}, "Provenance", given) == given
    assert event_compartments("identity.links", "p1", {}, "Patient", given) == set()


def test_audit_events_get_no_compartment_so_only_the_system_sees_them() -> None:
    assert event_compartments("audit.access", "u1", {}, "AuditEvent", set()) == set()


def test_incident_parties_are_the_station_and_every_hospital_told() -> None:
    record = new_record("I-7")
    record["opened"] = {"station_id": "station-1"}
    record["prealerts"] = [{"destination_id": "H1"}]
    record["handover"] = {"destination_id": "H2"}
    assert parties(record) == ["station-1", "H1", "H2"]
    assert parties(new_record("I-8")) == [""]


def test_labels_are_sorted_and_read_back() -> None:
    labels = security_labels(["org/b", "incident/a", "org/b"])
    assert labels == [
        {"system": COMPARTMENT, "code": "incident/a"},
        {"system": COMPARTMENT, "code": "org/b"},
    ]
    other = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    assert compartments_of({"meta": {"security": [*labels, other]}}) == {"incident/a", "org/b"}


def test_a_viewer_sees_its_own_org_and_public_directly_and_asks_grants_for_the_rest() -> None:
    h1 = Viewer(frozenset({"H1"}))
    assert h1.direct({"org/H1"}) and h1.direct({"public"})
    assert not h1.direct({"org/H2", "incident/I"})
    assert h1.dynamic({"org/H2", "incident/I", "ecg/E", "public"}) == ["ecg/E", "incident/I"]
    assert Viewer(None).direct(set())
