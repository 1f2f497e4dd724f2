"""DICOM 12-Lead ECG Waveform (PS3.3 A.34.3) via pydicom: the first multiplex group of
12-lead ECG (or General ECG) channels, samples scaled to µV by each channel's sensitivity,
correction factor and baseline (PS3.3 C.10.9.1.4)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.waveforms.numpy_handler import multiplex_array

from services.ingest.ecg_files import EcgFileError, ParsedEcg, check_samples
from services.ingest.ecg_files.leads import complete, lead_of_mdc_code, lead_of_name

FMT = "DICOM"
# Sensitivity units (CID 3082 subset, UCUM) -> µV per unit
TO_UV = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0, "nV": 0.001}
SEX = {"M": "male", "F": "female", "O": "other"}


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
        **_patient(ds),
    )


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


def _leads(ds: Any, index: int, group: Any) -> dict[str, list[int]]:
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
    uv = np.rint(raw[:, at] * per_unit + baseline).astype(np.int64)
    return dict(zip(columns, uv.T.tolist(), strict=True))


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
    }


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def _text(ds: Any, keyword: str) -> str | None:
    value = str(ds.get(keyword, "") or "").strip()
    return value or None
