"""GE MUSE resting ECG XML (root RestingECG): the Rhythm waveform's LeadData,
each lead base64 little-endian int16 x LeadAmplitudeUnitsPerBit (µV), rate SampleBase x
10^SampleExponent; usually the 8 independent leads (the limb leads are then derived)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from avro_schemas.lead_samples import Samples
from services.ingest.ecg_files import (
    XML_GENDERS,
    CartReading,
    EcgFileError,
    ParsedEcg,
    cart_measures,
    check_samples,
    xml_root,
)
from services.ingest.ecg_files.leads import complete, lead_of_name

FMT = "MUSE"
TO_UV = {"MICROVOLTS": 1.0, "MILLIVOLTS": 1000.0}
# RestingECGMeasurements elements for CART_MEASURES (12SL writes 0 for "not measured")
CART_TAGS = ("VentricularRate", "PRInterval", "QRSDuration", "QTInterval", "QTCorrected")


def parse(data: bytes) -> ParsedEcg:
    """The ECG in a MUSE XML export; `EcgFileError` naming what is missing."""
    root = xml_root(FMT, data)
    waveform = _rhythm(root)
    leads: dict[str, Samples] = {}
    for lead_data in waveform.findall("LeadData"):
        lead = lead_of_name(lead_data.findtext("LeadID") or "")
        if lead and lead not in leads:
            leads[lead] = _samples(lead_data, lead)
    derived = complete(FMT, leads)
    return ParsedEcg(
        format="muse",
        sampling_rate_hz=_rate(waveform),
        leads=leads,
        derived_leads=derived,
        cart=cart_reading(root),
        **_patient(root),
        **_test(root),
    )


def cart_reading(root: ET.Element) -> CartReading | None:
    """The cart's reading as MUSE stores it: <RestingECGMeasurements> (VentricularRate,
    PRInterval, QRSDuration, QTInterval, QTCorrected) and the <Diagnosis> statements, whose
    pieces flagged ENDSLINE close a line ("Anterior infarct" + ", age undetermined")."""
    values = root.find("RestingECGMeasurements")
    if values is None:
        return None
    version = (root.findtext("TestDemographics/AnalysisSoftwareVersion") or "").strip()
    return CartReading(
        **cart_measures([values.findtext(tag) for tag in CART_TAGS]),
        statements=_statements(root.find("Diagnosis")),
        program=f"GE 12SL {version}".strip(),
    )


def _statements(diagnosis: ET.Element | None) -> tuple[str, ...]:
    lines: list[list[str]] = [[]]
    for statement in [] if diagnosis is None else diagnosis.findall("DiagnosisStatement"):
        lines[-1].append((statement.findtext("StmtText") or "").strip())
        if (statement.findtext("StmtFlag") or "").strip() == "ENDSLINE":
            lines.append([])
    return tuple(" ".join(line).replace(" ,", ",") for line in lines if line)


def _rhythm(root: ET.Element) -> ET.Element:
    waveforms = root.findall("Waveform")
    for waveform in waveforms:
        if (waveform.findtext("WaveformType") or "").strip().lower() == "rhythm":
            return waveform
    raise EcgFileError(f"{FMT}: no Waveform with WaveformType Rhythm")


def _rate(waveform: ET.Element) -> float:
    try:
        base = float(waveform.findtext("SampleBase") or "")
        exponent = int(waveform.findtext("SampleExponent") or "0")
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: SampleBase/SampleExponent unreadable") from exc
    return float(base * 10**exponent)


def _samples(lead_data: ET.Element, lead: str) -> Samples:
    text = "".join((lead_data.findtext("WaveFormData") or "").split())
    check_samples(FMT, len(text) * 3 // 8)  # base64 length -> int16 count, before decoding
    try:
        raw = np.frombuffer(base64.b64decode(text, validate=True), dtype="<i2")
    except (binascii.Error, ValueError) as exc:
        raise EcgFileError(f"{FMT}: lead {lead}: WaveFormData is not base64 int16") from exc
    units = (lead_data.findtext("LeadAmplitudeUnits") or "MICROVOLTS").strip().upper()
    if units not in TO_UV:
        raise EcgFileError(f"{FMT}: lead {lead}: units {units!r} are not a voltage")
    per_bit = float(lead_data.findtext("LeadAmplitudeUnitsPerBit") or "1") * TO_UV[units]
    return np.rint(raw * per_bit).astype(np.int64)


def _patient(root: ET.Element) -> dict[str, Any]:
    demo = root.find("PatientDemographics")
    if demo is None:
        return {}
    age = (demo.findtext("PatientAge") or "").strip()
    years = (demo.findtext("AgeUnits") or "YEARS").strip().upper() == "YEARS"
    return {
        "age_years": float(age) if age.isdigit() and years else None,
        "patient_id": (demo.findtext("PatientID") or "").strip() or None,
        "family": (demo.findtext("PatientLastName") or "").strip() or None,
        "given": (demo.findtext("PatientFirstName") or "").strip() or None,
        "gender": XML_GENDERS.get((demo.findtext("Gender") or "").strip().upper(), "unknown"),
        "birth_date": _date(demo.findtext("DateofBirth")),
    }


def _test(root: ET.Element) -> dict[str, Any]:
    test = root.find("TestDemographics")
    if test is None:
        return {}
    day = _date(test.findtext("AcquisitionDate"))
    clock = (test.findtext("AcquisitionTime") or "00:00:00").strip()
    when = None
    if day:
        try:
            when = dt.datetime.combine(day, dt.time.fromisoformat(clock))
        except ValueError as exc:
            raise EcgFileError(f"{FMT}: AcquisitionTime {clock!r} unreadable") from exc
    return {
        "acquired_at": when,  # MUSE gives local time, no offset
        "model": (test.findtext("AcquisitionDevice") or "").strip() or None,
        "manufacturer": "GE Healthcare",
    }


def _date(text: str | None) -> dt.date | None:
    """MUSE writes dates MM-DD-YYYY."""
    try:
        return dt.datetime.strptime((text or "").strip(), "%m-%d-%Y").date()
    except ValueError:
        return None
