"""ORU^R01 -> EcgIn and the ACKs, without I/O: good messages give the submission's fields;
each broken one gives the HL7 error code and location (ERR-2/ERR-3) a cart can act on."""

from __future__ import annotations

import datetime as dt
import functools
from types import SimpleNamespace
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from avro_schemas.codec import Codec
from eventlog.base import LogUnavailable
from services.hl7_gateway import ack
from services.hl7_gateway.er7 import escape, unescape
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.intake import handle_frame
from services.hl7_gateway.oru_ecg import parse_oru_ecg, read_message
from stream_processors.fhir_projector.codes import RESIDENT_ID
from tests.ecg_payloads import RESIDENT, ecg_payload
from tests.hl7_messages import drop_lead, event_id_of, obx_sequence_of, oru_r01, set_field


@functools.lru_cache(maxsize=1)
def _message() -> tuple[dict[str, Any], str]:
    body = ecg_payload(ecg_id="ecg-unit-1")
    return body, oru_r01(body, control_id="CTRL0001")


def good() -> tuple[dict[str, Any], str]:
    body, message = _message()
    return body, message


def refusal(message: str) -> Hl7Error:
    with pytest.raises(Hl7Error) as refused:
        parse_oru_ecg(message.encode())
    return refused.value


# -- good messages -------------------------------------------------------------------------


def test_good_message__maps_to_the_submission() -> None:
    body, message = good()
    ecg = parse_oru_ecg(message.encode())
    assert ecg.event_id == "clinic-baiyang:CTRL0001" == event_id_of(message)
    assert ecg.ecg_id == "ecg-unit-1"
    assert [(i.system, i.value) for i in ecg.patient.identifiers] == [(RESIDENT_ID, RESIDENT)]
    assert (ecg.patient.family, ecg.patient.given, ecg.patient.gender) == ("王", "建国", "male")
    assert ecg.patient.birth_date == dt.date(1949, 12, 31)
    assert ecg.acquired_at == dt.datetime.fromisoformat("2026-11-23T18:02:11+08:00")
    assert ecg.acquired_at.utcoffset() == dt.timedelta(hours=8)
    assert (ecg.site.id, ecg.site.name) == ("clinic-baiyang", "白杨镇卫生院")
    assert ecg.device.id == "cart-017"
    assert ecg.sampling_rate_hz == 500 and ecg.units == "uV"
    assert ecg.leads == body["leads"]
    assert ecg.clinical_question == "Chest pain for 40 min, rule out STEMI"
    assert ecg.urgency == "urgent"


def test_good_message__device_measurements_and_statements() -> None:
    _, message = good()
    m = parse_oru_ecg(message.encode()).measurements
    assert m is not None
    assert (m.heart_rate_bpm, m.pr_ms, m.qrs_ms, m.qt_ms, m.qtc_ms) == (75, 160, 92, 380, 410)
    assert m.statements == ["Sinus rhythm"]


@pytest.mark.parametrize("version", ["2.5", "2.5.1", "2.6"])
def test_supported_versions_parse(version: str) -> None:
    body = ecg_payload()
    assert parse_oru_ecg(oru_r01(body, version=version).encode()).leads == body["leads"]


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_lf_and_crlf_segment_separators_are_accepted(separator: str) -> None:
    body = ecg_payload()
    ecg = parse_oru_ecg(oru_r01(body, segment_separator=separator).encode())
    assert ecg.leads["V6"] == body["leads"]["V6"]


def test_millivolt_leads_are_converted_to_integer_microvolts() -> None:
    body = ecg_payload()
    ecg = parse_oru_ecg(oru_r01(body, units="mV").encode())
    assert ecg.leads == body["leads"]
    assert all(isinstance(v, int) for v in ecg.leads["II"])


def test_lead_named_by_text_only_is_accepted() -> None:
    body, message = good()
    seq = obx_sequence_of(message, "V1")
    ecg = parse_oru_ecg(set_field(message, "OBX", 3, "^V1", occurrence=seq).encode())
    assert ecg.leads["V1"] == body["leads"]["V1"]


def test_mr_identifier_gets_a_system_per_assigning_authority() -> None:
    _, message = good()
    pid3 = f"{RESIDENT}^^^CHN^NNCHN~A-778^^^Baiyang Clinic^MR~999^^^X^SS"
    ecg = parse_oru_ecg(set_field(message, "PID", 3, pid3).encode())
    assert [(i.system, i.value) for i in ecg.patient.identifiers] == [
        (RESIDENT_ID, RESIDENT),
        ("urn:goldenhour:mrn:Baiyang%20Clinic", "A-778"),
    ]


@pytest.mark.parametrize(
    ("priority", "urgency"), [("S", "stat"), ("R", "routine"), ("", "routine")]
)
def test_obr_priority_maps_to_urgency(priority: str, urgency: str) -> None:
    _, message = good()
    assert parse_oru_ecg(set_field(message, "OBR", 5, priority).encode()).urgency == urgency


def test_obr_27_priority_is_used_when_obr_5_is_empty() -> None:
    _, message = good()
    message = set_field(set_field(message, "OBR", 5, ""), "OBR", 27, "^^^^^S")
    assert parse_oru_ecg(message.encode()).urgency == "stat"


def test_escaped_text_is_unescaped() -> None:
    _, message = good()
    question = "pain | pressure ^ 2/10 & sweating \\ nausea"
    ecg = parse_oru_ecg(set_field(message, "OBR", 13, escape(question)).encode())
    assert ecg.clinical_question == question


def test_gb18030_message_is_decoded_by_its_msh_18() -> None:
    _, message = good()
    message = set_field(message, "MSH", 18, "GB 18030-2000")
    assert parse_oru_ecg(message.encode("gb18030")).patient.family == "王"


# -- refused messages: error code and location ---------------------------------------------


def test_missing_pid_3__101_at_pid_1_3() -> None:
    _, message = good()
    err = refusal(set_field(message, "PID", 3, ""))
    assert (err.code, str(err.location), err.reject) == (101, "PID^1^3", False)


def test_pid_3_without_usable_identifier__103_at_identifier_type() -> None:
    _, message = good()
    err = refusal(set_field(message, "PID", 3, "123^^^X^SS"))
    assert (err.code, str(err.location)) == (103, "PID^1^3^1^5")


def test_bad_resident_id_check_digit__located_at_its_pid_3_repetition() -> None:
    _, message = good()
    pid3 = f"A-1^^^clinic^MR~{RESIDENT[:-1]}1^^^CHN^NNCHN"
    err = refusal(set_field(message, "PID", 3, pid3))
    assert (err.code, str(err.location)) == (102, "PID^1^3^2^1")
    assert "check digit" in err.message


def test_missing_lead__located_at_obx_and_named() -> None:
    _, message = good()
    err = refusal(drop_lead(message, "V1"))
    assert str(err.location) == "OBX" and "missing V1" in err.message


def test_lead_with_wrong_value_type__102_at_its_obx_2() -> None:
    _, message = good()
    seq = obx_sequence_of(message, "V2")
    err = refusal(set_field(message, "OBX", 2, "ST", occurrence=seq))
    assert (err.code, str(err.location)) == (102, f"OBX^{seq}^2")
    assert "lead V2" in err.message


def test_non_numeric_sample__102_at_its_obx_5() -> None:
    body, message = good()
    seq = obx_sequence_of(message, "III")
    samples = [str(s) for s in body["leads"]["III"]]
    samples[3] = "12,5"
    err = refusal(set_field(message, "OBX", 5, "^".join(samples), occurrence=seq))
    assert (err.code, str(err.location)) == (102, f"OBX^{seq}^5")
    assert "sample 4" in err.message


def test_unknown_lead_unit__103_at_obx_6() -> None:
    _, message = good()
    seq = obx_sequence_of(message, "I")
    err = refusal(set_field(message, "OBX", 6, "V^volt^UCUM", occurrence=seq))
    assert (err.code, str(err.location)) == (103, f"OBX^{seq}^6^1^1")


def test_lead_code_and_text_that_disagree__103_at_obx_3() -> None:
    _, message = good()
    seq = obx_sequence_of(message, "V1")
    err = refusal(set_field(message, "OBX", 3, "131331^MDC_ECG_LEAD_III^MDC", occurrence=seq))
    assert (err.code, str(err.location)) == (103, f"OBX^{seq}^3")


def test_no_sample_rate__101() -> None:
    _, message = good()
    no_rate = "\r".join(s for s in message.split("\r") if "MDC_ATTR_SAMP_RATE" not in s)
    err = refusal(no_rate)
    assert err.code == 101 and "sample rate" in err.message


def test_microvolts_labelled_millivolts__located_at_the_lead() -> None:
    _, message = good()
    err = refusal(set_field(message, "OBX", 6, "mV", occurrence=obx_sequence_of(message, "I")))
    assert str(err.location) == f"OBX^{obx_sequence_of(message, 'I')}^5"
    assert "lead I has samples beyond" in err.message


def test_mr_without_assigning_authority__101_at_its_component_4() -> None:
    _, message = good()
    err = refusal(set_field(message, "PID", 3, f"{RESIDENT}^^^CHN^NNCHN~A-1^^^^MR"))
    assert (err.code, str(err.location)) == (101, "PID^1^3^2^4")


def test_missing_sending_facility__101_at_msh_4() -> None:
    _, message = good()
    err = refusal(set_field(message, "MSH", 4, ""))
    assert (err.code, str(err.location)) == (101, "MSH^1^4")


def test_first_error_in_message_order_is_reported() -> None:
    _, message = good()
    broken = set_field(drop_lead(message, "V1"), "PID", 3, "")
    assert str(refusal(broken).location) == "PID^1^3"


def test_observation_time_without_offset__102_at_obr_7() -> None:
    _, message = good()
    err = refusal(set_field(message, "OBR", 7, "20261123180211"))
    assert (err.code, str(err.location)) == (102, "OBR^1^7")
    assert "offset" in err.message


def test_missing_observation_time__101_at_obr_7() -> None:
    _, message = good()
    assert str(refusal(set_field(message, "OBR", 7, "")).location) == "OBR^1^7"


def test_missing_order_numbers__101_at_obr_3() -> None:
    _, message = good()
    err = refusal(set_field(message, "OBR", 3, ""))
    assert (err.code, str(err.location)) == (101, "OBR^1^3")


def test_unknown_priority__103() -> None:
    _, message = good()
    assert refusal(set_field(message, "OBR", 5, "Z")).code == 103


def test_too_short_recording__located_at_obx() -> None:
    body = ecg_payload()
    body["leads"] = {k: v[:500] for k, v in body["leads"].items()}
    err = refusal(oru_r01(body))
    assert str(err.location) == "OBX" and "1.00 s" in err.message


def test_obx_before_obr__100() -> None:
    _, message = good()
    segments = [s for s in message.split("\r") if s]
    obr_at = next(i for i, s in enumerate(segments) if s.startswith("OBR|"))
    segments.insert(obr_at, segments.pop(obr_at + 1))
    assert refusal("\r".join(segments)).code == 100


def test_missing_pid_segment__100() -> None:
    _, message = good()
    err = refusal("\r".join(s for s in message.split("\r") if not s.startswith("PID|")))
    assert (err.code, str(err.location)) == (100, "PID")


def test_unsupported_message_type__200_rejected() -> None:
    _, message = good()
    err = refusal(set_field(message, "MSH", 9, "ADT^A01^ADT_A01"))
    assert (err.code, str(err.location), err.reject) == (200, "MSH^1^9", True)


def test_unsupported_version__203_rejected() -> None:
    _, message = good()
    err = refusal(set_field(message, "MSH", 12, "2.3"))
    assert (err.code, err.reject) == (203, True)


@pytest.mark.parametrize("garbage", ["hello", "", "PID|1||123", '{"resourceType": "Bundle"}'])
def test_not_hl7__rejected(garbage: str) -> None:
    assert refusal(garbage).reject


# -- ACKs ----------------------------------------------------------------------------------


def parsed(ack_bytes: bytes) -> Any:
    return parse_message(
        ack_bytes.decode(), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False
    )


def test_accept_ack__swaps_applications_and_echoes_control_id() -> None:
    _, message = good()
    header, _ = read_message(message.encode())
    reply = parsed(ack.accept(header))
    msh, msa = reply.children[0], reply.children[1]
    assert msh.msh_3.to_er7() == "GOLDENHOUR" and msh.msh_5.to_er7() == "SE-1200^Edan"
    assert msh.msh_6.to_er7() == "clinic-baiyang"
    assert msh.msh_9.to_er7() == "ACK^R01^ACK" and msh.msh_12.to_er7() == "2.5.1"
    assert msh.msh_10.to_er7() != "CTRL0001"
    assert (msa.msa_1.to_er7(), msa.msa_2.to_er7()) == ("AA", "CTRL0001")
    assert [s.name for s in reply.children] == ["MSH", "MSA"]


def test_error_ack__err_segment_names_location_code_and_message() -> None:
    _, message = good()
    header, _ = read_message(message.encode())
    err = Hl7Error(
        101,
        "patient identifier list (PID-3) missing",
        refusal(set_field(message, "PID", 3, "")).location,
    )
    reply = parsed(ack.error(header, err))
    msa, err_seg = reply.children[1], reply.children[2]
    assert msa.msa_1.to_er7() == "AE"
    assert err_seg.err_2.to_er7() == "PID^1^3"
    assert err_seg.err_3.to_er7() == "101^Required field missing^HL70357"
    assert err_seg.err_4.to_er7() == "E"
    assert "PID-3" in err_seg.err_8.to_er7()


def test_error_ack__escapes_separators_in_messages() -> None:
    _, message = good()
    header, _ = read_message(message.encode())
    reply = ack.error(header, Hl7Error(102, "a|b^c~d&e\\f"))
    err8 = reply.decode().split("\r")[2].split("|")[8]
    assert unescape(err8) == "a|b^c~d&e\\f"


def test_unreadable_frame_gets_a_minimal_ar() -> None:
    reply = handle_frame(None, b"\x00\x01 not hl7")  # type: ignore[arg-type]
    segments = reply.decode().split("\r")
    assert segments[0].startswith("MSH|^~\\&|GOLDENHOUR|") and segments[1].startswith("MSA|AR|")
    assert segments[2].startswith("ERR||MSH|100^")


def test_unsupported_type_is_answered_ar_with_its_control_id() -> None:
    _, message = good()
    # ADT is routed to the ADT intake (adt_in.py); an order message is not taken at all.
    reply = handle_frame(None, set_field(message, "MSH", 9, "ORM^O01").encode())  # type: ignore[arg-type]
    segments = reply.decode().split("\r")
    assert segments[0].split("|")[8] == "ACK^O01^ACK"
    assert segments[1].startswith("MSA|AR|CTRL0001|message type ORM\\S\\O01 is not accepted")
    assert segments[2].startswith("ERR||MSH^1^9|200^Unsupported message type^HL70357|E")


class _UnavailableLog:
    def append(self, *_: object) -> object:
        raise LogUnavailable("broker did not acknowledge in 10 s")


def test_log_unavailable__ae_207_never_aa() -> None:
    _, message = good()
    system = SimpleNamespace(log=_UnavailableLog(), codec=Codec())
    segments = handle_frame(system, message.encode()).decode().split("\r")  # type: ignore[arg-type]
    assert segments[1].startswith("MSA|AE|CTRL0001|")
    assert "|207^Application internal error^HL70357|E" in segments[2]
