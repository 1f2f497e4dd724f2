"""The outbound report ORU^R01, parsed back with hl7apy; and the sender's pure parts (ACK
reading, backoff, destination settings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message

from kernel.codes import RESIDENT_ID
from services.hl7_gateway import ack as gateway_ack
from services.hl7_gateway.er7 import read_header, split_segments, unescape
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.oru_report import build_oru, control_id, encode
from services.hl7_gateway.report_sender import (
    Backoff,
    Unreachable,
    parse_destinations,
    read_ack,
)
from stream_processors.report_outbox.fold import OutboxItem

NOW = dt.datetime(2026, 11, 23, 10, 5, tzinfo=dt.UTC)
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [
        {"system": RESIDENT_ID, "value": "11010519491231002X"},
        {"system": "urn:goldenhour:mrn:clinic-baiyang", "value": "A-778"},
        {"system": "https://example.org/other", "value": "x"},
    ],
    "name": [{"family": "王", "given": ["建国"]}],
    "gender": "male",
    "birthDate": "1949-12-31",
}
SCT = "http://snomed.info/sct"


def item(
    interpretation: str = "Acute inferior STEMI. Activate cath lab.",
    codes: list[dict[str, Any]] | None = None,
    ecg_id: str = "ecg-7f3a",
) -> OutboxItem:
    return OutboxItem(
        ecg_id=ecg_id,
        requested=True,
        reading_centre_id="county-ecg-centre",
        destination="clinic-baiyang",
        channel="mllp",
        patient_ref="Patient/p1",
        acquired_at="2026-11-23T10:02:11.000000Z",
        status="reported",
        report={
            "reader_id": "dr-li",
            "interpretation": interpretation,
            "codes": codes
            if codes is not None
            else [
                {
                    "system": SCT,
                    "code": "401303003",
                    "display": "Acute ST segment elevation myocardial infarction",
                }
            ],
            "signed_at": "2026-11-23T10:04:30.000000Z",
            "event_id": "rep-1",
        },
    )


def parsed(message: str) -> Message:
    return parse_message(message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)


def order(message: Message) -> Any:
    return message.oru_r01_patient_result.oru_r01_order_observation


def obxs(message: Message) -> list[Any]:
    return [o.obx for o in order(message).oru_r01_observation]


def test_oru__is_a_valid_2_5_1_oru_r01_with_header_for_the_clinic() -> None:
    message = parsed(build_oru(item(), PATIENT, NOW))
    message.validate()
    msh = message.msh
    assert msh.msh_9.to_er7() == "ORU^R01^ORU_R01" and msh.msh_12.to_er7() == "2.5.1"
    assert msh.msh_3.to_er7() == "GOLDENHOUR" and msh.msh_4.to_er7() == "county-ecg-centre"
    assert msh.msh_6.to_er7() == "clinic-baiyang"
    assert msh.msh_10.to_er7() == control_id("ecg-7f3a", "rep-1")
    assert msh.msh_18.to_er7() == "UNICODE UTF-8"


def test_oru__control_id_is_the_same_on_resend_and_differs_per_report() -> None:
    first = build_oru(item(), PATIENT, NOW)
    again = build_oru(item(), PATIENT, NOW + dt.timedelta(hours=1))
    assert parsed(first).msh.msh_10.to_er7() == parsed(again).msh.msh_10.to_er7()
    assert len(control_id("ecg-7f3a", "rep-1")) <= 20
    assert control_id("ecg-7f3a", "rep-1") != control_id("ecg-7f3a", "rep-2")
    assert control_id("ecg-7f3a", "rep-1") != control_id("ecg-7f3b", "rep-1")


def test_oru__pid_carries_identifiers_in_the_intake_profile() -> None:
    pid = parsed(build_oru(item(), PATIENT, NOW)).oru_r01_patient_result.oru_r01_patient.pid
    assert [r.to_er7() for r in pid.pid_3] == [
        "11010519491231002X^^^CHN^NNCHN",
        "A-778^^^clinic-baiyang^MR",
    ]
    assert pid.pid_5.to_er7() == "王^建国"
    assert (pid.pid_7.to_er7(), pid.pid_8.to_er7()) == ("19491231", "M")


def test_oru__obr_names_the_clinics_ecg_the_study_status_and_interpreter() -> None:
    obr = order(parsed(build_oru(item(), PATIENT, NOW))).obr
    assert obr.obr_3.to_er7() == "ecg-7f3a"
    assert obr.obr_4.to_er7() == "11524-6^EKG study^LN"
    assert obr.obr_7.to_er7() == "20261123100211+0000"
    assert obr.obr_22.to_er7() == "20261123100430+0000"
    assert obr.obr_25.to_er7() == "F" and obr.obr_32.to_er7() == "dr-li"


def test_oru__interpretation_and_one_cwe_per_conclusion_code() -> None:
    codes = [
        {"system": SCT, "code": "401303003", "display": "Acute STEMI"},
        {"system": SCT, "code": "426783006", "display": "Sinus rhythm"},
    ]
    found = obxs(parsed(build_oru(item(codes=codes), PATIENT, NOW)))
    assert [o.obx_2.to_er7() for o in found] == ["TX", "CWE", "CWE"]
    assert all(o.obx_3.to_er7() == "8601-7^EKG impression^LN" for o in found)
    assert found[0].obx_5.to_er7() == "Acute inferior STEMI. Activate cath lab."
    assert [o.obx_5.to_er7() for o in found[1:]] == [
        "401303003^Acute STEMI^SCT",
        "426783006^Sinus rhythm^SCT",
    ]
    assert all(o.obx_11.to_er7() == "F" for o in found)


def test_oru__special_characters_in_text_are_escaped() -> None:
    text = "ST ↑ II|III^aVF & V5~V6 \\ check"
    codes = [{"system": SCT, "code": "1", "display": "a|b^c"}]
    message = build_oru(item(text, codes), PATIENT, NOW)
    found = obxs(parsed(message))
    assert len(found) == 2 and len(split_segments(message)) == 5
    assert unescape(found[0].obx_5.to_er7()) == text
    assert unescape(found[1].obx_5.obx_5_2.to_er7()) == "a|b^c"


def test_oru__multi_line_interpretation_is_ft_with_line_breaks() -> None:
    message = build_oru(item("Sinus rhythm\nNormal ECG", []), PATIENT, NOW)
    assert [o.obx_2.to_er7() for o in obxs(parsed(message))] == ["FT"]
    # Read raw: hl7apy re-escapes the FT formatting escape \.br\ when it parses.
    obx = split_segments(message)[-1].split("|")
    assert obx[5] == "Sinus rhythm\\.br\\Normal ECG"
    assert unescape(obx[5]) == "Sinus rhythm\nNormal ECG"


def test_oru__non_snomed_code_is_marked_local() -> None:
    codes = [{"system": "https://goldenhour.health/cs/x", "code": "k1", "display": None}]
    found = obxs(parsed(build_oru(item(codes=codes), PATIENT, NOW)))
    assert found[1].obx_5.to_er7() == "k1^^L"


def test_oru__utf_8_bytes() -> None:
    assert "王".encode() in encode(build_oru(item(), PATIENT, NOW))


# -- the sender's pure parts -------------------------------------------------------------


def ack_for(message: str, code: str) -> bytes:
    header = read_header(split_segments(message))
    if code == "AA":
        return gateway_ack.accept(header)
    return gateway_ack.error(header, Hl7Error(207, "busy", reject=code == "AR"))


@pytest.mark.parametrize("code", ["AA", "AE", "AR"])
def test_read_ack__code_and_echoed_control_id(code: str) -> None:
    message = build_oru(item(), PATIENT, NOW)
    found = read_ack(ack_for(message, code))
    assert (found.code, found.control_id) == (code, control_id("ecg-7f3a", "rep-1"))


def test_read_ack__garbage_is_unreachable_not_a_crash() -> None:
    with pytest.raises(Unreachable):
        read_ack(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(Unreachable):
        read_ack(b"MSH|^~\\&|X|Y|||20261123||ACK|1|P|2.5.1\r")


def test_backoff__doubles_from_first_to_max_per_key() -> None:
    backoff = Backoff(first_s=5, max_s=600)
    waits = [backoff.failed("a", NOW) for _ in range(10)]
    assert waits == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]
    assert not backoff.ready("a", NOW + dt.timedelta(seconds=599))
    assert backoff.ready("a", NOW + dt.timedelta(seconds=600)) and backoff.ready("b", NOW)
    backoff.succeeded("a")
    assert backoff.ready("a", NOW) and backoff.failed("a", NOW) == 5


def test_parse_destinations__host_port_and_ipv6() -> None:
    assert parse_destinations({"a": "10.0.0.5:2575", "b": "[::1]:6661"}) == {
        "a": ("10.0.0.5", 2575),
        "b": ("::1", 6661),
    }
    with pytest.raises(ValueError):
        parse_destinations({"a": "10.0.0.5"})
