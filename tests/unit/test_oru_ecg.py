"""ORU^R01 -> EcgIn and the ACKs, without I/O: good messages give the submission's fields;
each broken one gives the HL7 error code and location (ERR-2/ERR-3) a cart can act on."""

from __future__ import annotations

import base64
import datetime as dt
import functools
from types import SimpleNamespace
from typing import Any

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from avro_schemas.codec import Codec
from eventlog.base import LogUnavailable
from kernel.codes import RESIDENT_ID
from services.hl7_gateway import ack
from services.hl7_gateway.er7 import escape, unescape
from services.hl7_gateway.errors import Hl7Error
from services.hl7_gateway.intake import handle_frame
from services.hl7_gateway.oru_ecg import parse_oru_ecg, read_message
from services.hl7_gateway.profiles import PeerProfile
from services.settings import Settings
from tests.ecg_payloads import RESIDENT, ecg_payload
from tests.hl7_messages import (
    drop_lead,
    eight_lead,
    event_id_of,
    obx_sequence_of,
    oru_r01,
    report_only,
    set_field,
    without_obx,
)


def lists(leads: dict[str, Any]) -> dict[str, list[int]]:
    """EcgIn's sample arrays as the integer lists a JSON body holds."""
    return {lead: samples.tolist() for lead, samples in leads.items()}


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
    assert lists(ecg.leads) == body["leads"]
    assert ecg.clinical_question == "Chest pain for 40 min, rule out STEMI"
    assert ecg.urgency == "urgent"


def test_good_message__device_measurements_and_statements() -> None:
    _, message = good()
    m = parse_oru_ecg(message.encode()).measurements
    assert m is not None
    assert (m.heart_rate_bpm, m.pr_ms, m.qrs_ms, m.qt_ms, m.qtc_ms) == (75, 160, 92, 380, 410)
    assert m.statements == ["Sinus rhythm"]


@pytest.mark.parametrize(
    "version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"]
)
def test_supported_versions_parse(version: str) -> None:
    body = ecg_payload()
    assert lists(parse_oru_ecg(oru_r01(body, version=version).encode()).leads) == body["leads"]


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_lf_and_crlf_segment_separators_are_accepted(separator: str) -> None:
    body = ecg_payload()
    ecg = parse_oru_ecg(oru_r01(body, segment_separator=separator).encode())
    assert ecg.leads["V6"].tolist() == body["leads"]["V6"]


def test_millivolt_leads_are_converted_to_integer_microvolts() -> None:
    body = ecg_payload()
    ecg = parse_oru_ecg(oru_r01(body, units="mV").encode())
    assert lists(ecg.leads) == body["leads"]
    assert ecg.leads["II"].dtype.kind == "i"  # integers, not the mV fractions


def test_lead_named_by_text_only_is_accepted() -> None:
    body, message = good()
    seq = obx_sequence_of(message, "V1")
    ecg = parse_oru_ecg(set_field(message, "OBX", 3, "^V1", occurrence=seq).encode())
    assert ecg.leads["V1"].tolist() == body["leads"]["V1"]


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


@pytest.mark.parametrize(
    ("segment", "field", "value", "code", "location", "reject"),
    [
        # HL7 v2.5 2.9.2: a header that cannot be processed is rejected (AR), content is AE
        pytest.param("MSH", 4, "", 101, "MSH^1^4", True, id="missing sending facility"),
        pytest.param("PID", 3, "", 101, "PID^1^3", False, id="missing PID-3"),
        pytest.param(
            "PID", 3, "123^^^X^SS", 103, "PID^1^3^1^5", False, id="no usable identifier type"
        ),
        pytest.param("OBR", 3, "", 101, "OBR^1^3", False, id="missing order numbers"),
        pytest.param("OBR", 7, "", 101, "OBR^1^7", False, id="missing observation time"),
    ],
)
def test_required_field_missing_or_unusable__refused_with_its_code_at_its_location(
    segment: str, field: int, value: str, code: int, location: str, reject: bool
) -> None:
    _, message = good()
    err = refusal(set_field(message, segment, field, value))
    assert (err.code, str(err.location), err.reject) == (code, location, reject)


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


@pytest.mark.parametrize(
    ("written", "microvolts"),
    [
        (["-0", "12", "-7"], [0, 12, -7]),  # plain integers
        (["+12", "007", " -7 "], [12, 7, -7]),  # a sign, leading zeros, padding
        (["12.4", "-7.6", "3."], [12, -8, 3]),  # decimals: rounded to whole microvolts
    ],
)
def test_integer_and_decimal_sample_spellings_read_as_microvolts(
    written: list[str], microvolts: list[int]
) -> None:
    body, message = good()
    seq = obx_sequence_of(message, "V2")
    samples = written + [str(s) for s in body["leads"]["V2"][len(written) :]]
    ecg = parse_oru_ecg(set_field(message, "OBX", 5, "^".join(samples), occurrence=seq).encode())
    assert ecg.leads["V2"].tolist() == microvolts + body["leads"]["V2"][len(written) :]


# Signs out of place too: the one-pass integer reader must not read "-" as 0 or "5-" as 5.
@pytest.mark.parametrize("sample", ["", "1,2", "1e3", "[1]", "-", "5-", "1-2", "--3"])
def test_sample_that_is_no_number__102_at_its_obx_5(sample: str) -> None:
    body, message = good()
    seq = obx_sequence_of(message, "V2")
    samples = [str(s) for s in body["leads"]["V2"]]
    samples[1] = sample
    err = refusal(set_field(message, "OBX", 5, "^".join(samples), occurrence=seq))
    assert (err.code, str(err.location)) == (102, f"OBX^{seq}^5")


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


def test_mr_without_assigning_authority_is_the_sending_sites() -> None:
    _, message = good()
    ecg = parse_oru_ecg(set_field(message, "PID", 3, f"{RESIDENT}^^^CHN^NNCHN~A-1^^^^MR").encode())
    systems = {i.system: i.value for i in ecg.patient.identifiers}
    assert systems["urn:goldenhour:mrn:clinic-baiyang"] == "A-1"


def test_untyped_identifier_is_an_mrn_by_default_and_ignored_when_the_profile_says_so() -> None:
    _, message = good()
    untyped = set_field(message, "PID", 3, f"{RESIDENT}^^^CHN^NNCHN~A-2^^^clinic-baiyang")
    ids = {i.system: i.value for i in parse_oru_ecg(untyped.encode()).patient.identifiers}
    assert ids["urn:goldenhour:mrn:clinic-baiyang"] == "A-2"
    strict = PeerProfile(untyped_cx="ignore")
    ids = {i.system for i in parse_oru_ecg(untyped.encode(), strict).patient.identifiers}
    assert ids == {RESIDENT_ID}


def test_profile_maps_an_assigning_authority_to_our_system() -> None:
    _, message = good()
    mapped = set_field(message, "PID", 3, "A-3^^^HIS_PATID^PI~" + RESIDENT.lower() + "^^^GAJ")
    profile = PeerProfile(identifier_authorities={"HIS_PATID": "MR", "GAJ": "resident-id"})
    ids = {i.system: i.value for i in parse_oru_ecg(mapped.encode(), profile).patient.identifiers}
    assert ids == {"urn:goldenhour:mrn:clinic-baiyang": "A-3", RESIDENT_ID: RESIDENT}


def test_first_error_in_message_order_is_reported() -> None:
    _, message = good()
    broken = set_field(drop_lead(message, "V1"), "PID", 3, "")
    assert str(refusal(broken).location) == "PID^1^3"


def test_observation_time_without_offset_is_local_time_of_the_peer() -> None:
    _, message = good()
    local = set_field(message, "OBR", 7, "20261123180211").encode()
    china = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai: UTC+8, no DST
    assert parse_oru_ecg(local).acquired_at == dt.datetime(2026, 11, 23, 18, 2, 11, tzinfo=china)
    berlin = PeerProfile(time_zone="Europe/Berlin")  # CET (UTC+1) in November
    expected = dt.datetime(2026, 11, 23, 17, 2, 11, tzinfo=dt.UTC)
    assert parse_oru_ecg(local, berlin).acquired_at == expected


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


@pytest.mark.parametrize("version", ["2.1", "2.2", "3.0", ""])
def test_unsupported_version__203_rejected(version: str) -> None:
    _, message = good()
    err = refusal(set_field(message, "MSH", 12, version))
    assert (err.code, str(err.location), err.reject) == (203, "MSH^1^12", True)


def test_version_outside_the_peers_profile__203_rejected() -> None:
    _, message = good()
    with pytest.raises(Hl7Error) as refused:
        parse_oru_ecg(
            set_field(message, "MSH", 12, "2.4").encode(), PeerProfile(versions=("2.5.1",))
        )
    assert (refused.value.code, refused.value.reject) == (203, True)


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
    reply = handle_frame(_no_system(), b"\x00\x01 not hl7")  # type: ignore[arg-type]
    segments = reply.decode().split("\r")
    assert segments[0].startswith("MSH|^~\\&|GOLDENHOUR|") and segments[1].startswith("MSA|AR|")
    assert segments[2].startswith("ERR||MSH|100^")


def test_unsupported_type_is_answered_ar_with_its_control_id() -> None:
    _, message = good()
    # ADT is routed to the ADT intake (adt_in.py); an order message is not taken at all.
    reply = handle_frame(_no_system(), set_field(message, "MSH", 9, "ORM^O01").encode())  # type: ignore[arg-type]
    segments = reply.decode().split("\r")
    assert segments[0].split("|")[8] == "ACK^O01^ACK"
    assert segments[1].startswith("MSA|AR|CTRL0001|message type ORM\\S\\O01 is not accepted")
    assert segments[2].startswith("ERR||MSH^1^9|200^Unsupported message type^HL70357|E")


def _no_system() -> SimpleNamespace:
    """What the intake reads of a system before it appends: settings (peers, profiles)."""
    return SimpleNamespace(settings=Settings(), store=None)


class _UnavailableLog:
    def append(self, *_: object) -> object:
        raise LogUnavailable("broker did not acknowledge in 10 s")

    append_together = append


def test_log_unavailable__ae_207_never_aa() -> None:
    _, message = good()
    system = SimpleNamespace(log=_UnavailableLog(), codec=Codec(), settings=Settings(), store=None)
    segments = handle_frame(system, message.encode()).decode().split("\r")  # type: ignore[arg-type]
    assert segments[1].startswith("MSA|AE|CTRL0001|")
    assert "|207^Application internal error^HL70357|E" in segments[2]


# -- carts as they are: 8 leads, MDC_DIM_HZ, report-only results, limits --------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def test_eight_leads__limb_leads_derived_by_einthoven_and_goldberger() -> None:
    body, message = good()
    ecg = parse_oru_ecg(eight_lead(message).encode())
    i, ii = body["leads"]["I"], body["leads"]["II"]
    assert ecg.leads["III"].tolist() == [b - a for a, b in zip(i, ii, strict=True)]
    for lead, expected in (
        ("aVR", lambda a, b: -(a + b) / 2),
        ("aVL", lambda a, b: a - b / 2),
        ("aVF", lambda a, b: b - a / 2),
    ):
        got = ecg.leads[lead]  # type: ignore[index]
        assert all(abs(g - expected(a, b)) <= 0.5 for g, a, b in zip(got, i, ii, strict=True))
    assert sorted(ecg.derived_leads) == ["III", "aVF", "aVL", "aVR"]


def test_twelve_leads__nothing_derived() -> None:
    _, message = good()
    assert parse_oru_ecg(message.encode()).derived_leads == []


@pytest.mark.parametrize("unit", ["264640^MDC_DIM_HZ^MDC", "Hz", "^MDC_DIM_HZ^MDC", "hz"])
def test_sample_rate_units_by_mdc_code_or_name(unit: str) -> None:
    body, message = good()
    message = message.replace("264608^MDC_DIM_PER_SEC^MDC", unit)
    assert parse_oru_ecg(message.encode()).sampling_rate_hz == body["sampling_rate_hz"]


def test_report_only__measurements_and_pdf_without_waveform() -> None:
    _, message = good()
    ed = "^AP^PDF^Base64^" + base64.b64encode(PDF).decode()
    ecg = parse_oru_ecg(report_only(message, ed).encode())
    assert ecg.leads == {} and ecg.sampling_rate_hz is None
    assert ecg.document is not None and ecg.document.data == PDF
    assert ecg.document.content_type == "application/pdf"
    assert ecg.measurements is not None and ecg.measurements.heart_rate_bpm == 75


def test_report_only__hex_encoded_data_is_read() -> None:
    _, message = good()
    ecg = parse_oru_ecg(report_only(message, "^AP^PDF^Hex^" + PDF.hex()).encode())
    assert ecg.document is not None and ecg.document.data == PDF


def test_report_only__unknown_subtype_103_at_obx_5_3() -> None:
    _, message = good()
    err = refusal(report_only(message, "^AP^DOCX^Base64^AAAA"))
    obx = len([s for s in report_only(message, "x").split("\r") if s.startswith("OBX|")])
    assert (err.code, str(err.location)) == (103, f"OBX^{obx}^5^1^3")


def test_no_waveform_no_measurement_no_report__100_at_obx() -> None:
    _, message = good()
    kept = without_obx(message, lambda fields: True)
    err = refusal(kept + "OBX|1|FT|||free text only||||||F\r")
    assert (err.code, str(err.location)) == (100, "OBX")


def test_more_samples_than_a_lead_may_have__ar_104() -> None:
    body, message = good()
    lead = obx_sequence_of(message, "I")
    huge = "^".join(["1"] * 120_001)
    err = refusal(set_field(message, "OBX", 5, huge, occurrence=lead))
    assert (err.code, err.reject, str(err.location)) == (104, True, f"OBX^{lead}^5")


def test_more_segments_than_a_message_may_have__ar_198_naming_the_limit() -> None:
    _, message = good()
    flood = message + "".join(f"NTE|{i}||note\r" for i in range(1000))
    err = refusal(flood)
    assert (err.code, err.reject) == (198, True) and "limit is 1000" in err.message


def test_lower_case_x_resident_id_is_normalised() -> None:
    _, message = good()
    ecg = parse_oru_ecg(set_field(message, "PID", 3, RESIDENT.lower() + "^^^CHN^NNCHN").encode())
    assert [(i.system, i.value) for i in ecg.patient.identifiers] == [(RESIDENT_ID, RESIDENT)]


def test_mindray_pleth_under_a_lead_code_is_not_taken_as_that_lead() -> None:
    _, message = good()
    pleth = "OBX|98|NA|131330^MDC_PULS_OXIM_PLETH^MDC|1.7.6.131330|1^2^3|||||R"
    err = refusal(message + pleth + "\r")
    assert err.code == 103 and "MDC_PULS_OXIM_PLETH" in err.message
