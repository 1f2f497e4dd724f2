"""DICOM 12-Lead ECG Waveform (PS3.3 A.34.3) via pydicom: the first multiplex group of
12-lead ECG (or General ECG) channels, samples scaled to µV by each channel's sensitivity,
correction factor and baseline (PS3.3 C.10.9.1.4). The cart's reading, when the file carries
it, is in the Waveform Annotation Sequence (PS3.3 C.10.10): statements as Unformatted Text
Value, global measurements as a Numeric Value named by an SCPECG code."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pydicom
from pydicom import config as pydicom_config
from pydicom.errors import InvalidDicomError
from pydicom.waveforms.numpy_handler import multiplex_array

from services.ingest.ecg_files import (
    CART_MEASURES,
    CartReading,
    EcgFileError,
    ParsedEcg,
    check_samples,
)
from services.ingest.ecg_files.leads import complete, lead_of_mdc_code, lead_of_name

FMT = "DICOM"
# pydicom checks every value it reads against its VR and only warns by default (WARN); that
# check was a quarter of a 12-lead file's parse. What we use is checked by our own reading
# (units, codes, dates), so values are read unchecked. Process-wide: we are its only reader.
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
# Sensitivity units (CID 3082 subset, UCUM) -> µV per unit
TO_UV = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0, "nV": 0.001}
SEX = {"M": "male", "F": "female", "O": "other"}
# Global measurements' concept names (SCPECG scheme, EN 1064 annex B; the durations are in
# PS3.16 CID 3687) -> (CART_MEASURES key, the UCUM units it may carry)
CART_CODES = {
    "5.10.2.5-1": ("heart_rate_bpm", ("/min", "{H.B.}/min")),
    "5.13.5-7": ("pr_ms", ("ms",)),
    "5.13.5-9": ("qrs_ms", ("ms",)),
    "5.13.5-11": ("qt_ms", ("ms",)),
    "5.10.2.5-5": ("qtc_ms", ("ms",)),
}


def parse(data: bytes) -> ParsedEcg:
    """The ECG in a DICOM Part 10 file; `EcgFileError` naming what is missing."""
    ds = _read(data)
    index, group = _ecg_group(ds)
    check_samples(FMT, int(group.NumberOfWaveformSamples))
    leads = _leads(ds, index, group)
    derived = complete(FMT, leads)
    return ParsedEcg(
        format="dicom",
        sampling_rate_hz=float(group.SamplingFrequency),
        leads=leads,
        derived_leads=derived,
        acquired_at=_acquired(ds),
        file_id=str(ds.get("SOPInstanceUID", "")) or None,
        manufacturer=_text(ds, "Manufacturer"),
        model=_text(ds, "ManufacturerModelName"),
        device_id=_text(ds, "DeviceSerialNumber"),
        cart=cart_reading(ds),
        **_patient(ds),
    )


def cart_reading(ds: Any) -> CartReading | None:
    """The statements (Unformatted Text Value, in order) and global measurements (Numeric
    Value of a CART_CODES concept in its unit; 0 is "not measured") the file's annotations
    hold; None when it holds neither."""
    values: dict[str, float | None] = dict.fromkeys(CART_MEASURES)
    statements = []
    for note in ds.get("WaveformAnnotationSequence", []):
        text = str(note.get("UnformattedTextValue", "") or "").strip()
        if text:
            statements.append(text)
        measured = _measurement(note)
        if measured:
            values[measured[0]] = measured[1]
    if not statements and not any(values.values()):
        return None
    return CartReading(**values, statements=tuple(statements), program=None)  # not named


def _measurement(note: Any) -> tuple[str, float] | None:
    """(CART_MEASURES key, value) of a numeric annotation we take, else None."""
    names, units = note.get("ConceptNameCodeSequence"), note.get("MeasurementUnitsCodeSequence")
    if not names or not units or "NumericValue" not in note:
        return None
    key, accepted = CART_CODES.get(str(names[0].get("CodeValue", "")), ("", ()))
    try:
        value = float(note.NumericValue)
    except (TypeError, ValueError):
        return None
    return (key, value) if str(units[0].get("CodeValue", "")) in accepted and value > 0 else None


def _read(data: bytes) -> Any:
    try:
        return pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise EcgFileError(f"{FMT}: unreadable file: {exc}") from exc


def _ecg_group(ds: Any) -> tuple[int, Any]:
    """The rhythm group: the first with >= 8 channels (median beats come after it)."""
    if "WaveformSequence" not in ds:
        raise EcgFileError(f"{FMT}: no Waveform Sequence (5400,0100): not a waveform object")
    for index, group in enumerate(ds.WaveformSequence):
        if int(group.get("NumberOfWaveformChannels", 0)) >= 8:
            return index, group
    raise EcgFileError(f"{FMT}: Waveform Sequence has no 12-lead multiplex group")


def _leads(ds: Any, index: int, group: Any) -> dict[str, Any]:
    if int(group.get("WaveformBitsAllocated", 0)) not in (16, 32):
        raise EcgFileError(f"{FMT}: Waveform Bits Allocated must be 16 or 32")
    try:
        raw = multiplex_array(ds, index, as_raw=True).astype(np.float64)
    except (ValueError, AttributeError, KeyError) as exc:
        raise EcgFileError(f"{FMT}: Waveform Data unreadable: {exc}") from exc
    columns: dict[str, tuple[int, float, float]] = {}  # lead -> (channel, µV/unit, baseline)
    for number, channel in enumerate(group.ChannelDefinitionSequence):
        lead = _channel_lead(channel)
        if lead and lead not in columns:
            columns[lead] = (number, *_scale(channel, lead))
    if not columns:
        return {}  # `complete` says no standard lead was found
    # One array operation for all leads: per-lead numpy calls cost more than the arithmetic.
    at, per_unit, baseline = (np.array(c) for c in zip(*columns.values(), strict=True))
    uv = np.rint(raw[:, at].T * per_unit[:, None] + baseline[:, None]).astype(np.int64)
    return dict(zip(columns, uv, strict=True))  # a row a lead: no Python integers


def _channel_lead(channel: Any) -> str | None:
    for source in channel.get("ChannelSourceSequence", []):
        lead = lead_of_mdc_code(str(source.get("CodeValue", ""))) or lead_of_name(
            str(source.get("CodeMeaning", ""))
        )
        if lead:
            return lead
    return None


def _scale(channel: Any, lead: str) -> tuple[float, float]:
    """(µV per stored unit, baseline in µV) of a channel: sensitivity x correction factor
    in the sensitivity's unit; the baseline is in that unit too."""
    units = channel.get("ChannelSensitivityUnitsSequence")
    code = str(units[0].CodeValue) if units else ""
    if code not in TO_UV:
        raise EcgFileError(f"{FMT}: lead {lead}: sensitivity unit {code!r} is not a voltage")
    correction = float(channel.get("ChannelSensitivityCorrectionFactor", 1) or 1)
    baseline = float(channel.get("ChannelBaseline", 0) or 0)
    return float(channel.ChannelSensitivity) * correction * TO_UV[code], baseline * TO_UV[code]


def _acquired(ds: Any) -> dt.datetime | None:
    """Acquisition Date Time (or Content Date + Time); aware when the file gives an offset
    (in the value itself or Timezone Offset From UTC)."""
    text = str(ds.get("AcquisitionDateTime", "") or "")
    if not text and ds.get("ContentDate"):
        text = f"{ds.ContentDate}{ds.get('ContentTime', '')}"
    if not text:
        return None
    offset = str(ds.get("TimezoneOffsetFromUTC", "") or "")
    if offset and "+" not in text and "-" not in text[8:]:
        text += offset
    try:
        parsed = pydicom.valuerep.DT(text)  # tz-aware when the text has an offset
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: Acquisition Date Time {text!r} unreadable") from exc
    return dt.datetime.fromisoformat(parsed.isoformat())  # a plain datetime for pydantic


def _patient(ds: Any) -> dict[str, Any]:
    name = ds.get("PatientName")
    birth = str(ds.get("PatientBirthDate", "") or "")
    return {
        "patient_id": _text(ds, "PatientID"),
        "family": (name.family_name or None) if name else None,
        "given": (name.given_name or None) if name else None,
        "gender": SEX.get(str(ds.get("PatientSex", "")).upper(), "unknown"),
        "birth_date": _date(birth),
        "age_years": _age(str(ds.get("PatientAge", "") or "")),
    }


def _age(text: str) -> float | None:
    """Patient's Age (AS, PS3.5 6.2: "nnnD", "nnnW", "nnnM" or "nnnY") in years."""
    per_year = {"Y": 1, "M": 12, "W": 52.1775, "D": 365.2425}
    number, unit = text[:-1], text[-1:].upper()
    return int(number) / per_year[unit] if number.isdigit() and unit in per_year else None


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def _text(ds: Any, keyword: str) -> str | None:
    value = str(ds.get(keyword, "") or "").strip()
    return value or None
