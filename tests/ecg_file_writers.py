"""ECG files written as the standards lay them out, by writers independent of our parsers:
DICOM through pydicom's own dataset API (PS3.3 A.34.3 12-Lead ECG IOD), HL7 aECG with
xml.etree (aECG implementation guide 2005: AnnotatedECG / series / sequenceSet), SCP-ECG
with `struct` (EN 1064:2005 section layout, CRC-CCITT written here bit by bit) and GE MUSE
XML (RestingECG, base64 little-endian int16). Every code below is a literal from the
standard, not imported from services/. Where these writers stand in for a published
example file, tests/data/ecg_files/README.md says so."""

from __future__ import annotations

import base64
import io
import struct
import xml.etree.ElementTree as ET

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

# The 12 leads in cart order, each with its MDC lead term (ISO/IEEE 11073-10101 partition 2:
# MDC_ECG_LEAD_I = 1, II = 2, V1..V6 = 3..8, III = 61, aVR = 62, aVL = 63, aVF = 64), which
# is also the SCP-ECG section 3 lead id and DICOM CID 3001's "2:<n>" code value.
LEADS = {
    "I": 1, "II": 2, "III": 61, "aVR": 62, "aVL": 63, "aVF": 64,
    "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
}  # fmt: skip
AECG_CODES = {
    "I": "MDC_ECG_LEAD_I", "II": "MDC_ECG_LEAD_II", "III": "MDC_ECG_LEAD_III",
    "aVR": "MDC_ECG_LEAD_AVR", "aVL": "MDC_ECG_LEAD_AVL", "aVF": "MDC_ECG_LEAD_AVF",
    "V1": "MDC_ECG_LEAD_V1", "V2": "MDC_ECG_LEAD_V2", "V3": "MDC_ECG_LEAD_V3",
    "V4": "MDC_ECG_LEAD_V4", "V5": "MDC_ECG_LEAD_V5", "V6": "MDC_ECG_LEAD_V6",
}  # fmt: skip
TWELVE_LEAD_ECG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.9.1.1"  # PS3.4 B.5


def counts(seconds: float = 10, rate: int = 500, seed: int = 3) -> dict[str, list[int]]:
    """Integer sample counts per lead (a noisy 1.2 Hz beat), to be scaled by each format."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    beat = np.exp(-(((t % 0.8) - 0.3) ** 2) / 0.0004)
    return {
        lead: (beat * (40 + 7 * n) + rng.normal(0, 2, t.size)).round().astype(int).tolist()
        for n, lead in enumerate(LEADS)
    }


def dicom_12lead(raw: dict[str, list[int]], rate: int, sensitivity_uv: float = 2.5) -> bytes:
    """A 12-Lead ECG object: one RHYTHM multiplex group, MDC lead codes, int16 samples."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(TWELVE_LEAD_ECG_SOP_CLASS)
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.826.0.1.3680043.8.498.1001")
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = TWELVE_LEAD_ECG_SOP_CLASS
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1001"
    ds.Modality = "ECG"
    ds.PatientID = "MRN-0042"
    ds.PatientName = "Wang^Jianguo"
    ds.PatientBirthDate = "19491231"
    ds.PatientSex = "M"
    ds.AcquisitionDateTime = "20261123180211"
    ds.TimezoneOffsetFromUTC = "+0800"
    ds.Manufacturer = "Edan"
    ds.ManufacturerModelName = "SE-1200"
    ds.DeviceSerialNumber = "SN-7781"
    ds.WaveformSequence = [_multiplex_group(raw, rate, sensitivity_uv)]
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _multiplex_group(raw: dict[str, list[int]], rate: int, sensitivity_uv: float) -> Dataset:
    group = Dataset()
    group.MultiplexGroupLabel = "RHYTHM"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = len(raw)
    group.NumberOfWaveformSamples = len(next(iter(raw.values())))
    group.SamplingFrequency = rate
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.ChannelDefinitionSequence = [_channel(lead, sensitivity_uv) for lead in raw]
    interleaved = np.array([raw[lead] for lead in raw], dtype="<i2").T  # sample-major
    group.WaveformData = interleaved.tobytes()
    return group


def _channel(lead: str, sensitivity_uv: float) -> Dataset:
    source, units, channel = Dataset(), Dataset(), Dataset()
    source.CodeValue = f"2:{LEADS[lead]}"
    source.CodingSchemeDesignator = "MDC"
    source.CodeMeaning = f"Lead {lead}"
    units.CodeValue = "uV"
    units.CodingSchemeDesignator = "UCUM"
    units.CodeMeaning = "microvolt"
    channel.ChannelSourceSequence = [source]
    channel.ChannelSensitivity = str(sensitivity_uv)
    channel.ChannelSensitivityUnitsSequence = [units]
    channel.ChannelSensitivityCorrectionFactor = "1"
    channel.ChannelBaseline = "0"
    channel.ChannelSampleSkew = "0"
    channel.WaveformBitsStored = 16
    return channel


def aecg(raw: dict[str, list[int]], rate: int, scale_uv: float = 5.0) -> bytes:
    """An AnnotatedECG: one RHYTHM series, TIME_RELATIVE + one SLIST_PQ sequence per lead."""
    v3 = "urn:hl7-org:v3"
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    ET.register_namespace("", v3)
    ET.register_namespace("xsi", xsi)

    def el(parent: ET.Element, tag: str, xsi_type: str = "", **attrs: str) -> ET.Element:
        if xsi_type:
            attrs[f"{{{xsi}}}type"] = xsi_type
        return ET.SubElement(parent, f"{{{v3}}}{tag}", attrs)

    root = ET.Element(f"{{{v3}}}AnnotatedECG")
    el(root, "id", root="2.16.840.1.113883.3.1", extension="aecg-0042")
    el(root, "code", code="93000", codeSystem="2.16.840.1.113883.6.12")
    when = el(root, "effectiveTime")
    el(when, "low", value="20261123180211+0800")
    el(when, "high", value="20261123180221+0800")
    subject = el(
        el(el(el(el(el(root, "componentOf"), "timepointEvent"), "componentOf"),
              "subjectAssignment"), "subject"), "trialSubject")  # fmt: skip
    el(subject, "id", root="2.16.840.1.113883.3.2", extension="MRN-0042")
    person = el(subject, "subjectDemographicPerson")
    name = el(person, "name")
    el(name, "family").text = "Wang"
    el(name, "given").text = "Jianguo"
    el(person, "administrativeGenderCode", code="M", codeSystem="2.16.840.1.113883.5.1")
    el(person, "birthTime", value="19491231")
    series = el(el(root, "component"), "series")
    el(series, "code", code="RHYTHM", codeSystem="2.16.840.1.113883.5.4")
    device = el(el(series, "author"), "seriesAuthor")
    made = el(device, "manufacturedSeriesDevice")
    el(made, "id", extension="SN-9001")
    el(made, "manufacturerModelName").text = "CardioTouch 3000"
    el(el(device, "manufacturerOrganization"), "name").text = "Bionet"
    sequences = el(el(series, "component"), "sequenceSet")
    time = el(el(sequences, "component"), "sequence")
    el(time, "code", code="TIME_RELATIVE", codeSystem="2.16.840.1.113883.5.4")
    value = el(time, "value", "GLIST_PQ")
    el(value, "head", value="0", unit="s")
    el(value, "increment", value=f"{1 / rate:g}", unit="s")
    for lead, samples in raw.items():
        sequence = el(el(sequences, "component"), "sequence")
        el(sequence, "code", code=AECG_CODES[lead], codeSystem="2.16.840.1.113883.6.24")
        value = el(sequence, "value", "SLIST_PQ")
        el(value, "origin", value="0", unit="uV")
        el(value, "scale", value=f"{scale_uv:g}", unit="uV")
        el(value, "digits").text = " ".join(map(str, samples))
    return bytes(ET.tostring(root, xml_declaration=True, encoding="utf-8"))


def ccitt(data: bytes) -> int:
    """CRC-CCITT as EN 1064 5.3.2 defines it: polynomial x^16 + x^12 + x^5 + 1, initial
    value 0xFFFF, most significant bit first, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def scp_ecg(
    raw: dict[str, list[int]],
    rate: int,
    avm_nv: int = 5000,
    difference: int = 0,
    huffman_tables: int | None = None,
    bimodal: bool = False,
    reference_beat: bool = False,
) -> bytes:
    """An SCP-ECG record: sections 0 (pointers), 1 (patient), 3 (leads), 6 (rhythm,
    optionally as first/second differences). `huffman_tables` writes section 2 with that
    table count: 19999 (the standard's default table) codes section 6 with it; another
    count stands for custom tables (only their refusal is tested: the data stays 16-bit).
    `bimodal` and `reference_beat` set the section 6 / section 3 flags of those encodings."""
    coded = huffman_tables == 19999
    rhythm = _scp_rhythm(raw, rate, avm_nv, difference, coded, bimodal)
    bodies = {1: _scp_patient(), 3: _scp_leads(raw, reference_beat), 6: rhythm}
    if huffman_tables is not None:
        bodies[2] = struct.pack("<H", huffman_tables)
    pointer_size = 16 + 12 * 10
    at = 6 + pointer_size
    sections, pointers = [], []
    for sid in range(12):
        body = bodies.get(sid)
        if body is None:
            pointers.append(struct.pack("<HII", sid, 0, 0))
            continue
        section = _scp_section(sid, body)
        pointers.append(struct.pack("<HII", sid, len(section), at + 1))  # 1-based
        sections.append(section)
        at += len(section)
    pointers[0] = struct.pack("<HII", 0, pointer_size, 7)
    record = _scp_section(0, b"".join(pointers)) + b"".join(sections)
    rest = struct.pack("<I", 6 + len(record)) + record
    return struct.pack("<H", ccitt(rest)) + rest


def _scp_section(sid: int, body: bytes) -> bytes:
    if len(body) % 2:
        body += b"\0"  # sections have an even length
    reserved = b"SCPECG" if sid == 0 else b"\0" * 6
    rest = struct.pack("<HIBB", sid, 16 + len(body), 20, 20) + reserved + body
    return struct.pack("<H", ccitt(rest)) + rest


def _tag(tag: int, value: bytes) -> bytes:
    return struct.pack("<BH", tag, len(value)) + value


def _scp_patient() -> bytes:
    device = (
        struct.pack("<HHHBB", 1, 2, 3, 0, 255)
        + b"CP200\0"
        + bytes([20, 0, 0, 0xC0, 1])
        + b"\0" * 16
        + bytes([4]) + b"1.0\0"
        + b"SN-5150\0" + b"sys 1.2\0" + b"scp 2.0\0" + b"Welch Allyn\0"
    )  # fmt: skip
    return (
        _tag(2, b"MRN-0042\0")
        + _tag(0, "王".encode() + b"\0")
        + _tag(1, "建国".encode() + b"\0")
        + _tag(5, struct.pack("<HBB", 1949, 12, 31))
        + _tag(8, bytes([1]))
        + _tag(14, device)
        + _tag(25, struct.pack("<HBB", 2026, 11, 23))
        + _tag(26, bytes([18, 2, 11]))
        + _tag(34, struct.pack("<hH", 480, 0) + b"\0")
        + _tag(255, b"")
    )


def _scp_leads(raw: dict[str, list[int]], reference_beat: bool = False) -> bytes:
    n = len(next(iter(raw.values())))
    # all leads recorded simultaneously (bit 2), reference beat subtraction used (bit 0)
    head = bytes([len(raw), (len(raw) << 3) | 0x04 | int(reference_beat)])
    return head + b"".join(struct.pack("<IIB", 1, n, LEADS[lead]) for lead in raw)


def _scp_rhythm(
    raw: dict[str, list[int]],
    rate: int,
    avm_nv: int,
    difference: int,
    huffman: bool = False,
    bimodal: bool = False,
) -> bytes:
    data = [_differences(samples, difference) for samples in raw.values()]
    leads = [default_huffman(d) if huffman else struct.pack(f"<{len(d)}h", *d) for d in data]
    head = struct.pack("<HHBB", avm_nv, 1_000_000 // rate, difference, int(bimodal))
    return head + b"".join(struct.pack("<H", len(d)) for d in leads) + b"".join(leads)


# The default Huffman table of EN 1064 (prEN 1064:2002 C.2.7.4) as printed: values -8..8
# by their code, any other value as the 10-bit escape code and then the value itself in 8
# or 16 bits (two's complement). Codes are written most significant bit first.
DEFAULT_HUFFMAN_CODES = {
    0: "0",
    1: "100", -1: "101",
    2: "1100", -2: "1101",
    3: "11100", -3: "11101",
    4: "111100", -4: "111101",
    5: "1111100", -5: "1111101",
    6: "11111100", -6: "11111101",
    7: "111111100", -7: "111111101",
    8: "1111111100", -8: "1111111101",
}  # fmt: skip
ESCAPE_8_BITS, ESCAPE_16_BITS = "1111111110", "1111111111"


def default_huffman(values: list[int]) -> bytes:
    """`values` coded with the default table, the last byte padded with 0 bits."""
    bits = "".join(_huffman_code(v) for v in values)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _huffman_code(value: int) -> str:
    if value in DEFAULT_HUFFMAN_CODES:
        return DEFAULT_HUFFMAN_CODES[value]
    if -128 <= value <= 127:
        return ESCAPE_8_BITS + format(value & 0xFF, "08b")
    return ESCAPE_16_BITS + format(value & 0xFFFF, "016b")


def _differences(samples: list[int], order: int) -> list[int]:
    if order == 0:
        return list(samples)
    if order == 1:
        return samples[:1] + [b - a for a, b in zip(samples, samples[1:], strict=False)]
    return samples[:2] + [
        c - 2 * b + a for a, b, c in zip(samples, samples[1:], samples[2:], strict=False)
    ]


MUSE_INDEPENDENT = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")


def muse(raw: dict[str, list[int]], rate: int, uv_per_bit: float = 4.88) -> bytes:
    """A GE MUSE RestingECG export: the 8 independent leads of the rhythm waveform."""
    root = ET.Element("RestingECG")
    demo = ET.SubElement(root, "PatientDemographics")
    for tag, text in (("PatientID", "MRN-0042"), ("PatientLastName", "WANG"),
                      ("PatientFirstName", "JIANGUO"), ("Gender", "MALE"),
                      ("DateofBirth", "12-31-1949")):  # fmt: skip
        ET.SubElement(demo, tag).text = text
    test = ET.SubElement(root, "TestDemographics")
    for tag, text in (("AcquisitionDevice", "MAC2000"), ("AcquisitionTime", "18:02:11"),
                      ("AcquisitionDate", "11-23-2026")):  # fmt: skip
        ET.SubElement(test, tag).text = text
    waveform = ET.SubElement(root, "Waveform")
    ET.SubElement(waveform, "WaveformType").text = "Rhythm"
    ET.SubElement(waveform, "SampleBase").text = str(rate)
    ET.SubElement(waveform, "SampleExponent").text = "0"
    for lead in MUSE_INDEPENDENT:
        data = ET.SubElement(waveform, "LeadData")
        ET.SubElement(data, "LeadSampleCountTotal").text = str(len(raw[lead]))
        ET.SubElement(data, "LeadAmplitudeUnitsPerBit").text = f"{uv_per_bit:g}"
        ET.SubElement(data, "LeadAmplitudeUnits").text = "MICROVOLTS"
        ET.SubElement(data, "LeadID").text = lead
        packed = struct.pack(f"<{len(raw[lead])}h", *raw[lead])
        ET.SubElement(data, "WaveFormData").text = base64.b64encode(packed).decode()
    return bytes(ET.tostring(root, xml_declaration=True, encoding="utf-8"))
