"""ADT profile (services/hl7_gateway/adt_in.py): what is read from each message, and every
refusal located by segment, field and HL7 table 0357 code."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient

from kernel.codes import EMS_TEMPORARY_ID, RESIDENT_ID
from services.hl7_gateway.adt_in import AdtIn, to_adt
from services.hl7_gateway.adt_intake import adt_event
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.oru_ecg import read_message
from tests.adt_messages import adt, valid_resident_id
from tests.fhir_projection import fold
from tests.hl7_messages import set_field

MRN = "urn:goldenhour:mrn:county-hospital"
CCU = "CCU^12^2^county-hospital"
SOURCE = {"channel": "mllp", "device_id": "HIS", "user_id": None, "site_id": "county-hospital"}


def parse(message: str) -> AdtIn:
    header, segments = read_message(message.encode())
    return to_adt(header, segments)


def refusal(message: str) -> Hl7Error:
    with pytest.raises(Hl7Error) as caught:
        parse(message)
    return caught.value


def test_a01__patient_visit_and_incident_reference_are_read() -> None:
    resident = valid_resident_id()
    got = parse(adt("A01", resident=resident, incident="inc-42", control_id="c1"))
    assert got.event_name == "goldenhour.adt.PatientAdmitted"
    assert got.event_id == "county-hospital:c1"
    assert got.patient_key == "county-hospital|H-778"
    assert got.patient["identifiers"] == [
        {"system": MRN, "value": "H-778"},
        {"system": RESIDENT_ID, "value": resident},
    ]
    assert (got.patient["family"], got.patient["given"], got.patient["gender"]) == (
        "王",
        "建国",
        "male",
    )
    assert got.visit is not None
    assert got.visit.visit_number == "V-2026-001"
    assert got.visit.patient_class == "EMER"
    assert got.visit.location == "ED, room 3, bed 1, county-hospital"
    assert got.visit.admitted_at == dt.datetime.fromisoformat("2026-11-23T10:12:00+08:00")
    assert got.incident_id == "inc-42"
    assert got.occurred_at == dt.datetime.fromisoformat("2026-11-23T10:15:00+08:00")


@pytest.mark.parametrize(
    ("trigger", "event"),
    [
        ("A04", "PatientRegistered"),
        ("A08", "PatientUpdated"),
        ("A02", "PatientTransferred"),
        ("A03", "PatientDischarged"),
        ("A40", "PatientUpdated"),
    ],
)
def test_each_trigger_has_its_event(trigger: str, event: str) -> None:
    prior = "EMS-inc-1^^^EMS" if trigger == "A40" else None
    assert parse(adt(trigger, prior=prior)).event_name == f"goldenhour.adt.{event}"


def test_a40__mrg_1_names_the_prior_patient() -> None:
    got = parse(adt("A40", prior="EMS-inc-1^^^EMS~H-1^^^county-hospital^MR"))
    assert got.prior == [
        {"system": EMS_TEMPORARY_ID, "value": "EMS-inc-1"},
        {"system": MRN, "value": "H-1"},
    ]
    assert got.visit is None


def test_ems_id_in_pid_3_is_not_taken_as_the_patients_identifier() -> None:
    message = set_field(adt("A01"), "PID", 3, "H-778^^^county-hospital^MR~EMS-1^^^EMS")
    assert parse(message).patient["identifiers"] == [{"system": MRN, "value": "H-778"}]


def test_mr_without_authority_is_the_sending_hospitals() -> None:
    message = set_field(adt("A01"), "PID", 3, "H-9^^^^MR")
    assert parse(message).patient["identifiers"] == [{"system": MRN, "value": "H-9"}]


def test_bad_resident_id_check_digit_is_ae_102_at_its_pid_3_repetition() -> None:
    bad = valid_resident_id()[:17] + ("1" if valid_resident_id()[17] != "1" else "2")
    err = refusal(adt("A01", resident=bad))
    assert (err.code, str(err.location), err.reject) == (102, "PID^1^3^2^1", False)
    assert "check digit" in err.message


@pytest.mark.parametrize(
    ("edit", "code", "where"),
    [
        (lambda m: set_field(m, "PID", 3, "A-778^^^county-hospital^AN"), 101, "PID^1^3^1^5"),
        (lambda m: set_field(m, "PID", 3, ""), 101, "PID^1^3"),
        (lambda m: set_field(m, "PID", 8, "Q"), 103, "PID^1^8"),
        (lambda m: set_field(m, "PV1", 2, "Z"), 103, "PV1^1^2"),
        (lambda m: set_field(m, "PV1", 44, "2026112310"), 102, "PV1^1^44"),
        (lambda m: set_field(m, "MSH", 10, ""), 101, "MSH^1^10"),
        (lambda m: set_field(m, "EVN", 2, "2026112310"), 102, "EVN^1^2"),
    ],
)
def test_content_errors_are_ae_at_their_field(edit: object, code: int, where: str) -> None:
    err = refusal(edit(adt("A01")))  # type: ignore[operator]
    assert (err.code, str(err.location), err.reject) == (code, where, False)


def test_a01_without_pv1_is_ae_100() -> None:
    err = refusal(adt("A01", visit=None))
    assert (err.code, str(err.location)) == (100, "PV1")


def test_a01_without_visit_number_records_the_patient_only() -> None:
    # PV1-19 is optional in HL7 v2 (chapter 3): the admission has no visit to key on.
    got = parse(set_field(adt("A01"), "PV1", 19, ""))
    assert (got.visit, got.mrn) == (None, "H-778")


def test_a08_without_pv1_updates_the_patient_only() -> None:
    assert parse(adt("A08", visit=None)).visit is None


def test_a40_without_mrg_is_ae_100() -> None:
    err = refusal(adt("A40"))
    assert (err.code, str(err.location)) == (100, "MRG")


def test_unsupported_trigger_and_version_are_ar() -> None:
    # HL7 table 0357: 201 unsupported event code, 203 unsupported version id
    err = refusal(set_field(adt("A01"), "MSH", 9, "ADT^A31^ADT_A05"))
    assert (err.code, err.reject) == (201, True)
    err = refusal(set_field(adt("A01"), "MSH", 12, "2.2"))
    assert (err.code, err.reject) == (203, True)


def test_empty_sending_facility_is_ar_101_at_msh_4() -> None:
    err = refusal(set_field(adt("A01"), "MSH", 4, ""))
    assert (err.code, str(err.location), err.reject) == (101, "MSH^1^4", True)


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.7", "2.7.1", "2.8"])
def test_versions_2_3_to_2_8_are_read(version: str) -> None:
    assert parse(set_field(adt("A01"), "MSH", 12, version)).mrn == "H-778"


def test_mr_of_another_authority_name_is_the_sending_hospitals() -> None:
    # A HIS names its MRN authority as it likes ("HIS", an OID...): its MRNs are its own.
    message = set_field(adt("A01"), "PID", 3, "778^^^2.16.840.1.113883.19.5^MR")
    assert parse(message).patient["identifiers"] == [{"system": MRN, "value": "778"}]


def test_untyped_identifiers_are_mrns_in_pid_3_and_mrg_1() -> None:
    message = set_field(adt("A40", prior="H-1"), "PID", 3, "H-778")
    got = parse(message)
    assert (got.mrn, got.prior) == ("H-778", [{"system": MRN, "value": "H-1"}])


def test_local_times_are_read_in_the_hospitals_zone() -> None:
    message = set_field(set_field(adt("A01"), "EVN", 2, "200612051200"), "PV1", 44, "")
    china = dt.timezone(dt.timedelta(hours=8))
    assert parse(message).occurred_at == dt.datetime(2006, 12, 5, 12, 0, tzinfo=china)


def test_lower_case_x_resident_id_is_normalised() -> None:
    resident = valid_resident_id()  # 11010519491231002X, the standard's example
    got = parse(adt("A01", resident=resident.lower()))
    assert {"system": RESIDENT_ID, "value": resident} in got.patient["identifiers"]


# -- the fold of the events ----------------------------------------------------------------


def run(messages: list[str]) -> dict[tuple[str, str], dict[str, object]]:
    state: dict[tuple[str, str], dict[str, object]] = {}
    for message in messages:
        got = parse(message)
        event = adt_event(got, SOURCE)
        event["meta"]["recorded_at"] = dt.datetime(2026, 11, 23, 2, 16, tzinfo=dt.UTC)
        state.update(fold(state, got.event_name, event))
    return state


def _only(state: dict[tuple[str, str], dict[str, object]], rtype: str) -> dict[str, object]:
    (found,) = [r for (t, _), r in state.items() if t == rtype]
    return found


def test_a01_a08_a03__patient_with_mrn_and_a_finished_encounter() -> None:
    state = run(
        [
            adt("A01"),
            adt("A08", location=CCU, patient_class="I"),
            adt("A03", discharged="20261128093000+0800", patient_class="I", location=CCU),
        ]
    )
    patient, encounter = _only(state, "Patient"), _only(state, "Encounter")
    Patient.model_validate(patient)
    Encounter.model_validate(encounter)
    assert {"system": MRN, "value": "H-778"} in patient["identifier"]  # type: ignore[operator]
    assert encounter["status"] == "finished"
    assert encounter["class"]["code"] == "IMP"  # type: ignore[index]
    assert encounter["period"] == {
        "start": "2026-11-23T02:12:00.000000Z",
        "end": "2026-11-28T01:30:00.000000Z",
    }
    assert encounter["location"] == [
        {"location": {"display": "CCU, room 12, bed 2, county-hospital"}}
    ]
    assert encounter["subject"] == {"reference": f"Patient/{patient['id']}"}


def test_a01_alone__encounter_in_progress() -> None:
    encounter = _only(run([adt("A01")]), "Encounter")
    assert encounter["status"] == "in-progress"
    assert "end" not in encounter["period"]  # type: ignore[operator]
