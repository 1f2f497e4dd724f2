"""The ECG file parsers (pure: bytes in, ParsedEcg out) on files from writers independent of
them: pydicom's own test file (a real Mortara ELI 250 12-lead ECG, pydicom/data/test_files/
waveform_ecg.dcm) and the standards-following writers of tests/ecg_file_writers.py.
Expected values are computed from what was written (counts x the stated scale)."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
from collections.abc import Callable

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.waveforms import multiplex_array

from services import i18n
from services.ingest import ecg_files
from services.ingest.ecg_files import EcgFileError, detect
from services.ingest.ecg_files.submission import FileFields, validated
from tests import ecg_file_writers as w

RATE = 500
TWELVE = set(w.LEADS)


@pytest.fixture(scope="module")
def raw() -> dict[str, list[int]]:
    return w.counts(seconds=10, rate=RATE)


def scaled(samples: list[int], factor: float) -> list[int]:
    """What a reader must produce: count x scale, to the nearest µV (half to even, as rint)."""
    return [round(s * factor) for s in samples]


def test_detect__each_format_by_content(raw: dict[str, list[int]]) -> None:
    assert detect.detect(w.dicom_12lead(raw, RATE)) == "dicom"
    assert detect.detect(w.aecg(raw, RATE)) == "aecg"
    assert detect.detect(w.scp_ecg(raw, RATE)) == "scp"
    assert detect.detect(w.muse(raw, RATE)) == "muse"


def test_detect__other_content_is_refused_with_what_was_expected() -> None:
    with pytest.raises(EcgFileError, match="not a recognised ECG file"):
        detect.detect(b"%PDF-1.7 not an ecg" * 20)
    with pytest.raises(EcgFileError, match="XML root 'restingecgdata'"):
        detect.detect(b"<?xml version='1.0'?><restingecgdata/>")


def test_dicom__pydicoms_real_12_lead_file() -> None:
    path = get_testdata_file("waveform_ecg.dcm")
    with open(path, "rb") as file:
        parsed = ecg_files.parse(file.read())
    assert parsed.format == "dicom" and parsed.sampling_rate_hz == 1000
    assert set(parsed.leads) == TWELVE and parsed.derived_leads == []
    assert {len(s) for s in parsed.leads.values()} == {10000}
    # channel 0 is lead I (SCPECG 5.6.3-9-1), sensitivity 1.25 uV per count
    counts = multiplex_array(dcmread(path), 0, as_raw=True)[:, 0].tolist()
    assert parsed.leads["I"].tolist() == scaled(counts, 1.25)
    assert parsed.patient_id == "642341" and parsed.gender == "female"
    assert parsed.birth_date == dt.date(1971, 1, 23)
    assert parsed.acquired_at == dt.datetime(2013, 1, 25, 10, 59, 19)  # local, no offset
    assert parsed.manufacturer == "Mortara Instrument, Inc." and parsed.model == "el250"


def test_dicom__pydicom_built_12_lead_iod_with_mdc_codes(raw: dict[str, list[int]]) -> None:
    parsed = ecg_files.parse(w.dicom_12lead(raw, RATE, sensitivity_uv=2.5))
    assert parsed.sampling_rate_hz == RATE
    for lead in w.LEADS:
        assert parsed.leads[lead].tolist() == scaled(raw[lead], 2.5), lead
    assert parsed.acquired_at == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)
    assert (parsed.patient_id, parsed.family, parsed.given) == ("MRN-0042", "Wang", "Jianguo")
    assert parsed.device_id == "SN-7781" and parsed.file_id == "1.2.826.0.1.3680043.8.498.1001"


def _rewritten(data: bytes, change: Callable[[list[Dataset]], None]) -> bytes:
    """A DICOM file with its rhythm group's channel definitions changed by pydicom."""
    ds = dcmread(io.BytesIO(data))
    change(list(ds.WaveformSequence[0].ChannelDefinitionSequence))
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue()


def test_dicom__each_channel_by_its_own_unit_correction_and_baseline(
    raw: dict[str, list[int]],
) -> None:
    def change(channels: list[Dataset]) -> None:
        channels[0].ChannelSensitivityCorrectionFactor = "0.5"  # lead I: 2.5 x 0.5 uV
        channels[0].ChannelBaseline = "-3"  # uV, the sensitivity's unit
        channels[1].ChannelSensitivity = "0.5"  # lead II: 0.5 mV per count
        channels[1].ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
        channels[1].ChannelBaseline = "0.25"  # mV

    parsed = ecg_files.parse(_rewritten(w.dicom_12lead(raw, RATE, sensitivity_uv=2.5), change))
    assert parsed.leads["I"].tolist() == [round(s * 1.25 - 3) for s in raw["I"]]
    assert parsed.leads["II"].tolist() == [s * 500 + 250 for s in raw["II"]]
    assert parsed.leads["V6"].tolist() == scaled(raw["V6"], 2.5)


def test_dicom__channels_of_no_standard_lead_are_named(raw: dict[str, list[int]]) -> None:
    def change(channels: list[Dataset]) -> None:
        for channel in channels:  # MDC 2:0 is no lead, and neither is the meaning
            channel.ChannelSourceSequence[0].CodeValue = "2:0"
            channel.ChannelSourceSequence[0].CodeMeaning = "Unspecified lead"

    with pytest.raises(EcgFileError, match="DICOM: no standard ECG lead found"):
        ecg_files.parse(_rewritten(w.dicom_12lead(raw, RATE), change))


def test_dicom__without_a_12_lead_group_names_it(raw: dict[str, list[int]]) -> None:
    three = {lead: raw[lead] for lead in ("I", "II", "III")}
    with pytest.raises(EcgFileError, match="DICOM: Waveform Sequence has no 12-lead multiplex"):
        ecg_files.parse(w.dicom_12lead(three, RATE))


def test_aecg__sequences_scaled_by_origin_and_scale(raw: dict[str, list[int]]) -> None:
    parsed = ecg_files.parse(w.aecg(raw, RATE, scale_uv=5))
    assert parsed.format == "aecg" and parsed.sampling_rate_hz == RATE
    for lead in w.LEADS:
        assert parsed.leads[lead].tolist() == scaled(raw[lead], 5), lead
    assert parsed.acquired_at == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)
    assert (parsed.patient_id, parsed.gender) == ("MRN-0042", "male")
    assert (parsed.manufacturer, parsed.device_id) == ("Bionet", "SN-9001")


def test_aecg__without_sequence_set_names_it() -> None:
    doc = b'<AnnotatedECG xmlns="urn:hl7-org:v3"><component><series/></component></AnnotatedECG>'
    with pytest.raises(EcgFileError, match="aECG: series has no component/sequenceSet"):
        ecg_files.parse(doc)


@pytest.mark.parametrize("difference", [0, 1, 2])
def test_scp__rhythm_data_with_each_difference_encoding(
    raw: dict[str, list[int]], difference: int
) -> None:
    parsed = ecg_files.parse(w.scp_ecg(raw, RATE, avm_nv=5000, difference=difference))
    assert parsed.format == "scp" and parsed.sampling_rate_hz == RATE
    for lead in w.LEADS:
        assert parsed.leads[lead].tolist() == scaled(raw[lead], 5), lead
    assert parsed.acquired_at == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)
    assert (parsed.family, parsed.given, parsed.birth_date) == ("王", "建国", dt.date(1949, 12, 31))
    assert (parsed.model, parsed.device_id, parsed.manufacturer) == (
        "CP200",
        "SN-5150",
        "Welch Allyn",
    )


def _section_6_at(record: bytes) -> int:
    """Section 6's 0-based offset, from the pointer section (entry 6 of section 0)."""
    (index,) = struct.unpack_from("<I", record, 6 + 16 + 6 * 10 + 6)
    return int(index) - 1


def test_scp__a_damaged_section_is_named_by_its_crc(raw: dict[str, list[int]]) -> None:
    record = bytearray(w.scp_ecg(raw, RATE))
    record[_section_6_at(record) + 40] ^= 0xFF
    with pytest.raises(EcgFileError, match="SCP-ECG: record CRC mismatch"):
        ecg_files.parse(bytes(record))
    record[0:2] = struct.pack("<H", w.ccitt(bytes(record[2:])))  # a record CRC made to fit
    with pytest.raises(EcgFileError, match="SCP-ECG: section 6 CRC mismatch"):
        ecg_files.parse(bytes(record))


def test_scp__a_record_whose_crc_reads_as_xml_is_still_scp() -> None:
    """An SCP-ECG record opens with its CRC: in about 1 of 250 that is '<', as XML opens."""
    record = w.scp_ecg(w.counts(seconds=10, rate=500, seed=183), 500)
    assert record[:1] == b"<"  # this record's CRC, low byte first
    assert detect.detect(record) == "scp"
    assert len(ecg_files.parse(record).leads) == 12


@pytest.mark.parametrize("difference", [0, 1, 2])
def test_scp__default_huffman_table_with_each_difference_encoding(
    raw: dict[str, list[int]], difference: int
) -> None:
    """Section 2 naming the default table (19999), section 6 coded with it (second
    differences, what carts send, take fewer bytes than 16-bit samples)."""
    record = w.scp_ecg(raw, RATE, avm_nv=5000, difference=difference, huffman_tables=19999)
    if difference == 2:
        assert len(record) < len(w.scp_ecg(raw, RATE, difference=2))
    parsed = ecg_files.parse(record)
    for lead in w.LEADS:
        assert parsed.leads[lead].tolist() == scaled(raw[lead], 5), lead


def test_scp__default_huffman_codes_as_the_standard_prints_them() -> None:
    """Every kind of code of the default table, including both escapes at their edges."""
    values = [0, 1, -1, 2, -2, 7, -8, 8, 9, -9, 127, -128, 128, -129, 32767, -32768]
    raw = {lead: values for lead in ("I", "II", *(f"V{n}" for n in range(1, 7)))}
    parsed = ecg_files.parse(w.scp_ecg(raw, RATE, avm_nv=1000, huffman_tables=19999))
    assert parsed.leads["V6"].tolist() == values and parsed.leads["III"][:3].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("options", "feature"),
    [
        ({"huffman_tables": 1}, "custom Huffman tables (section 2)"),
        ({"bimodal": True}, "bimodal compression (section 6)"),
        ({"reference_beat": True}, "reference beat subtraction (sections 4/5)"),
    ],
)
def test_scp__what_is_not_read_is_refused_by_name(
    raw: dict[str, list[int]], options: dict[str, object], feature: str
) -> None:
    record = w.scp_ecg(raw, RATE, **options)  # type: ignore[arg-type]
    wanted = re.escape(f"SCP-ECG: {feature}") + " (is|are) not"
    with pytest.raises(EcgFileError, match=wanted) as refused:
        ecg_files.parse(record)
    # the 422's diagnostics as a Chinese reader gets them (不支持: not supported)
    assert "不支持" in i18n.localize(str(refused.value), "zh-CN")


def test_scp__huffman_data_cut_short_is_named(raw: dict[str, list[int]]) -> None:
    short = {lead: samples[:50] for lead, samples in raw.items()}
    record = bytearray(w.scp_ecg(short, RATE, difference=2, huffman_tables=19999))
    at = _section_6_at(bytes(record))
    (size,) = struct.unpack_from("<H", record, at + 16 + 6)  # lead I's coded length
    struct.pack_into("<H", record, at + 16 + 6, size - 4)  # claim 4 bytes fewer
    rest = bytes(record[at + 2 : at + struct.unpack_from("<I", record, at + 4)[0]])
    struct.pack_into("<H", record, at, w.ccitt(rest))
    record[0:2] = struct.pack("<H", w.ccitt(bytes(record[2:])))
    with pytest.raises(EcgFileError, match="SCP-ECG: .*(ends|truncated)"):
        ecg_files.parse(bytes(record))


def test_muse__eight_leads_and_the_four_derived(raw: dict[str, list[int]]) -> None:
    parsed = ecg_files.parse(w.muse(raw, RATE, uv_per_bit=4.88))
    assert parsed.format == "muse" and parsed.sampling_rate_hz == RATE
    i, ii = scaled(raw["I"], 4.88), scaled(raw["II"], 4.88)
    assert parsed.leads["I"].tolist() == i
    assert parsed.leads["V6"].tolist() == scaled(raw["V6"], 4.88)
    assert parsed.derived_leads == ["III", "aVR", "aVL", "aVF"]
    assert parsed.leads["III"].tolist() == [b - a for a, b in zip(i, ii, strict=True)]  # Einthoven
    assert parsed.acquired_at == dt.datetime(2026, 11, 23, 18, 2, 11)  # local, no offset


def test_limits__a_lead_longer_than_any_accepted_ecg_is_refused(raw: dict[str, list[int]]) -> None:
    long = {lead: samples * 26 for lead, samples in raw.items()}  # 260 s at 500 Hz
    with pytest.raises(EcgFileError, match="aECG: 130000 samples per lead exceeds the limit"):
        ecg_files.parse(w.aecg(long, RATE))
    with pytest.raises(EcgFileError, match="MUSE: 130000 samples per lead exceeds the limit"):
        ecg_files.parse(w.muse(long, RATE))


def test_submission__local_time_is_the_sites_and_the_local_id_its_mrn(
    raw: dict[str, list[int]],
) -> None:
    data = w.muse(raw, RATE)
    body = validated(ecg_files.parse(data), FileFields(site_id="clinic-baiyang"), data)
    assert body.acquired_at == dt.datetime(2026, 11, 23, 10, 2, 11, tzinfo=dt.UTC)  # +08:00
    assert [(i.system, i.value) for i in body.patient.identifiers] == [
        ("urn:goldenhour:mrn:clinic-baiyang", "MRN-0042")
    ]
    assert body.device.id == "MAC2000" and body.derived_leads == ["III", "aVR", "aVL", "aVF"]
    again = validated(ecg_files.parse(data), FileFields(site_id="clinic-baiyang"), data)
    assert (again.event_id, again.ecg_id) == (body.event_id, body.ecg_id)  # a resend is a retry


def test_submission__without_a_patient_asks_for_one(raw: dict[str, list[int]]) -> None:
    data = w.muse(raw, RATE).replace(b"<PatientID>MRN-0042</PatientID>", b"")
    with pytest.raises(EcgFileError, match="names no patient: send patient_id or resident_id"):
        validated(ecg_files.parse(data), FileFields(site_id="clinic-baiyang"), data)
