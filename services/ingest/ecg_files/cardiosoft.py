"""GE CardioSoft resting ECG XML (root CardiologyXML; CardioSoft PC ECG, carts analysed by
GE 12SL): the 10 s <StripData>, 12 leads as <WaveformData lead="..."> text of comma-separated
integers in units of <Resolution units="uVperLsb"> at <SampleRate units="Hz">.

The cart's reading is <RestingECGMeasurements> (VentricularRate, PQInterval, QRSDuration,
QTInterval, QTCInterval, each with its units) and the <Interpretation><Diagnosis> lines: the
program's statements (<Conclusion> holds the same lines as the user confirmed or edited them).
<FullDisclosure> (the whole session, mostly empty in resting exports) is not read: the strip is
what 12SL measured.
"""

from __future__ import annotations

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

FMT = "CardioSoft"
# The one Resolution unit CardioSoft writes (µV per least significant bit): another unit is
# refused rather than guessed
RESOLUTION_UNIT = "uVperLsb"
# <RestingECGMeasurements> elements for CART_MEASURES, and the unit each must be in
CART_TAGS = ("VentricularRate", "PQInterval", "QRSDuration", "QTInterval", "QTCInterval")
CART_UNITS = ("BPM", "MS", "MS", "MS", "MS")


def parse(data: bytes) -> ParsedEcg:
    """The ECG in a CardioSoft XML export; `EcgFileError` naming what is missing."""
    root = xml_root(FMT, data)
    strip = root.find("StripData")
    if strip is None:
        raise EcgFileError(f"{FMT}: no StripData (the 10 s 12-lead strip)")
    leads = _leads(strip)
    return ParsedEcg(
        format="cardiosoft",
        sampling_rate_hz=_rate(strip),
        leads=leads,
        derived_leads=complete(FMT, leads),
        file_id=(root.findtext("UID/DICOMStudyUID") or "").strip() or None,
        acquired_at=_when(root.find("ObservationDateTime")),
        cart=cart_reading(root),
        **_patient(root),
        **_device(root),
    )


def cart_reading(root: ET.Element) -> CartReading | None:
    """The 12SL global measurements and the program's statements (separator lines of
    dashes dropped); a measurement in another unit than its own is not taken."""
    values = root.find("RestingECGMeasurements")
    if values is None:
        return None
    texts = []
    for tag, unit in zip(CART_TAGS, CART_UNITS, strict=True):
        element = values.find(tag)
        right_unit = element is not None and element.get("units", unit).upper() == unit
        texts.append(element.text if element is not None and right_unit else None)
    statements = tuple(
        text
        for line in root.findall("Interpretation/Diagnosis/DiagnosisText")
        if (text := (line.text or "").strip()).strip("-")
    )
    analysis = (root.findtext("ClinicalInfo/DeviceInfo/AnalysisVer") or "").strip()
    return CartReading(
        **cart_measures(texts),
        statements=statements,
        program=f"GE {analysis}" if analysis else "GE 12SL",
    )


def _rate(strip: ET.Element) -> float:
    rate = strip.find("SampleRate")
    if rate is None or rate.get("units", "Hz") != "Hz":
        raise EcgFileError(f"{FMT}: StripData has no SampleRate in Hz")
    try:
        return float(rate.text or "")
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: SampleRate {rate.text!r} is not a number") from exc


def _leads(strip: ET.Element) -> dict[str, Samples]:
    per_unit = _uv_per_unit(strip.find("Resolution"))
    leads: dict[str, Samples] = {}
    for waveform in strip.findall("WaveformData"):
        lead = lead_of_name(waveform.get("lead") or "")
        if lead and lead not in leads:
            leads[lead] = _samples(waveform.text or "", lead, per_unit)
    return leads


def _uv_per_unit(resolution: ET.Element | None) -> float:
    if resolution is None or resolution.get("units") != RESOLUTION_UNIT:
        raise EcgFileError(f"{FMT}: StripData has no Resolution in {RESOLUTION_UNIT}")
    try:
        return float(resolution.text or "")
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: Resolution {resolution.text!r} is not a number") from exc


def _samples(text: str, lead: str, per_unit: float) -> Samples:
    check_samples(FMT, text.count(",") + 1)  # before converting any of them
    try:
        raw = np.array(text.split(","), dtype=np.int64)
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: lead {lead}: WaveformData is not integers") from exc
    samples: Samples = np.rint(raw * per_unit).astype(np.int64)
    return samples


def _patient(root: ET.Element) -> dict[str, Any]:
    info = root.find("PatientInfo")
    if info is None:
        return {}
    age = info.find("Age")
    years = age is not None and (age.text or "").strip().isdigit()
    in_years = age is not None and age.get("units", "YEARS").upper() == "YEARS"
    return {
        "patient_id": (info.findtext("PID") or "").strip() or None,
        "family": (info.findtext("Name/FamilyName") or "").strip() or None,
        "given": (info.findtext("Name/GivenName") or "").strip() or None,
        "gender": XML_GENDERS.get((info.findtext("Gender") or "").strip().upper(), "unknown"),
        "birth_date": _date(info.find("BirthDateTime")),
        "age_years": float(age.text or "") if age is not None and years and in_years else None,
    }


def _device(root: ET.Element) -> dict[str, Any]:
    desc = (root.findtext("ClinicalInfo/DeviceInfo/Desc") or "").strip()
    version = (root.findtext("ClinicalInfo/DeviceInfo/SoftwareVer") or "").strip()
    return {"manufacturer": "GE Healthcare", "model": f"{desc} {version}".strip() or None}


def _parts(node: ET.Element | None, tags: tuple[str, ...]) -> list[int] | None:
    """The integer children of a CardioSoft date/time element, None if any is missing."""
    if node is None:
        return None
    texts = [(node.findtext(tag) or "").strip() for tag in tags]
    return [int(text) for text in texts] if all(t.isdigit() for t in texts) else None


def _date(node: ET.Element | None) -> dt.date | None:
    """<BirthDateTime><Day/><Month/><Year/>; None when absent or not a date."""
    parts = _parts(node, ("Year", "Month", "Day"))
    try:
        return dt.date(*parts) if parts else None
    except ValueError:
        return None


def _when(node: ET.Element | None) -> dt.datetime | None:
    """<ObservationDateTime> (Year ... Second): local time at the site, no offset."""
    parts = _parts(node, ("Year", "Month", "Day", "Hour", "Minute", "Second"))
    if node is not None and parts is None:
        raise EcgFileError(f"{FMT}: ObservationDateTime incomplete")
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts
    try:
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: ObservationDateTime {parts} is not a time") from exc
