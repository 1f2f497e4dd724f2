"""Philips Sierra ECG XML (root restingecgdata in http://www3.medical.philips.com; PageWriter
carts, HeartStart MRx, IntelliSpace ECG exports): the 12 leads of <parsedwaveforms>, base64
and, in most files, XLI-compressed (LZW + delta coding, Philips' own), in units of
<signalresolution> uV at <samplingrate> Hz.

The XLI decoding is the `sierraecg` package's (MIT, C. Watford, who documented the format);
it also rebuilds III, aVR, aVL and aVF from the residuals XLI stores for them. A Philips lead
ends with a flat stretch and a 1 mV calibration pulse common to all 12 leads: that tail is cut
off here, so the measurer never sees the pulse as a beat.
"""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
from numpy.typing import NDArray

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

FMT = "Philips"
NS = "{http://www3.medical.philips.com}"
# <interpretationmeasurements> elements for CART_MEASURES ("Failed" when not measured)
CART_TAGS = ("heartrate", "meanprint", "meanqrsdur", "meanqtint", "meanqtc")


def parse(data: bytes) -> ParsedEcg:
    """The ECG in a Philips Sierra XML file; `EcgFileError` naming what is missing."""
    root = xml_root(FMT, data)
    signal = root.find(f"{NS}dataacquisition/{NS}signalcharacteristics")
    if signal is None:
        raise EcgFileError(f"{FMT}: no dataacquisition/signalcharacteristics")
    rate = _number(signal, "samplingrate")
    leads = _leads(data, _number(signal, "signalresolution"))
    return ParsedEcg(
        format="philips",
        sampling_rate_hz=rate,
        leads=leads,
        derived_leads=complete(FMT, leads),
        cart=cart_reading(root),
        **_patient(root),
        **_acquisition(root),
    )


def cart_reading(root: ET.Element) -> CartReading | None:
    """The cart's interpretation: <interpretationmeasurements> (heartrate, meanprint,
    meanqrsdur, meanqtint, meanqtc: the global values printed on the report) and the
    <leftstatement> of every <statement>, in order."""
    interpretation = root.find(f"{NS}interpretations/{NS}interpretation")
    if interpretation is None:
        return None
    values = interpretation.find(f"{NS}interpretationmeasurements")
    texts = [None if values is None else values.findtext(f"{NS}{tag}") for tag in CART_TAGS]
    statements = tuple(
        text.strip()
        for statement in interpretation.iter(f"{NS}statement")
        if (text := statement.findtext(f"{NS}leftstatement") or "").strip()
    )
    criteria = interpretation.get("customcriteriaversion") or interpretation.get("criteriaversion")
    return CartReading(
        **cart_measures(texts),
        statements=statements,
        program=f"Philips (criteria {criteria})" if criteria else "Philips",
    )


def _number(parent: ET.Element, tag: str) -> float:
    try:
        return float(parent.findtext(f"{NS}{tag}") or "")
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: <{tag}> missing or not a number") from exc


def _leads(data: bytes, uv_per_unit: float) -> dict[str, NDArray[np.int64]]:
    from sierraecg import read_file  # imported here: only Philips files need it

    try:
        decoded = read_file(io.BytesIO(data))  # type: ignore[arg-type]  # minidom takes a file
    except Exception as exc:  # sierraecg raises its own and LZW/index errors on a bad body
        raise EcgFileError(f"{FMT}: waveforms unreadable: {type(exc).__name__}: {exc}") from exc
    named = [(lead_of_name(lead.label), lead.samples) for lead in decoded.leads]
    x = np.array([samples for name, samples in named if name], dtype=np.int64)
    if x.size == 0:
        raise EcgFileError(f"{FMT}: no standard ECG lead found")
    x = x[:, : _signal_end(x)]
    check_samples(FMT, x.shape[1])
    names = [name for name, _ in named if name]
    return {
        name: np.rint(row * uv_per_unit).astype(np.int64)
        for name, row in zip(names, x, strict=True)
    }


def _signal_end(x: NDArray[np.int64]) -> int:
    """Samples before the tail where every lead holds the same value (the flat stretch and
    the calibration pulse after the ECG): 12 real leads are never equal sample by sample."""
    differs = np.flatnonzero((x != x[0]).any(axis=0))
    return int(differs[-1]) + 1 if differs.size else x.shape[1]


def _patient(root: ET.Element) -> dict[str, Any]:
    general = root.find(f"{NS}patient/{NS}generalpatientdata")
    if general is None:
        return {}
    name = general.find(f"{NS}name")
    text = {tag: (general.findtext(f"{NS}{tag}") or "").strip() for tag in ("patientid", "sex")}
    years = (general.findtext(f"{NS}age/{NS}years") or "").strip()
    return {
        "patient_id": text["patientid"] or None,
        "family": _name_part(name, "lastname"),
        "given": _name_part(name, "firstname"),
        "gender": XML_GENDERS.get(text["sex"].upper(), "unknown"),
        "age_years": float(years) if years.isdigit() else None,
    }


def _name_part(name: ET.Element | None, tag: str) -> str | None:
    return None if name is None else (name.findtext(f"{NS}{tag}") or "").strip() or None


def _acquisition(root: ET.Element) -> dict[str, Any]:
    acquisition = root.find(f"{NS}dataacquisition")
    if acquisition is None:
        return {}
    machine = acquisition.find(f"{NS}machine")
    return {
        "acquired_at": _when(acquisition.get("date"), acquisition.get("time")),
        "manufacturer": "Philips",
        "model": None if machine is None else (machine.text or "").strip() or None,
        "device_id": None if machine is None else machine.get("machineid"),
    }


def _when(date: str | None, time: str | None) -> dt.datetime | None:
    """Philips writes date="YYYY-MM-DD" time="hh:mm:ss", local time without an offset."""
    try:
        return dt.datetime.fromisoformat(f"{date}T{time}") if date and time else None
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: acquisition date/time {date!r} {time!r} unreadable") from exc
