"""HL7 aECG (HL7 v3 Annotated ECG, implementation guide 2005): the first rhythm series'
sequence set: a time sequence (GLIST_PQ / GLIST_TS head + increment) and one SLIST_PQ per
lead (origin + scale x digits), lead codes MDC_ECG_LEAD_* (codeSystem 2.16.840.1.113883.6.24).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from avro_schemas.lead_samples import Samples
from services.hl7_gateway.observations import plain_integers
from services.ingest.ecg_files import EcgFileError, ParsedEcg, check_samples, xml_root
from services.ingest.ecg_files.leads import complete, lead_of_name

FMT = "aECG"
V3 = "{urn:hl7-org:v3}"
TO_UV = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0, "nV": 0.001}
TO_S = {"s": 1.0, "ms": 0.001, "us": 0.000001}
SEX = {"M": "male", "F": "female", "UN": "unknown"}
TS = re.compile(r"^(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?(?:\.\d+)?([+-]\d{4})?$")


def parse(data: bytes) -> ParsedEcg:
    """The ECG in an aECG document; `EcgFileError` naming what is missing."""
    root = xml_root(FMT, data)
    sequence_set = _rhythm_sequence_set(root)
    rate, leads = _sequences(sequence_set)
    derived = complete(FMT, leads)
    return ParsedEcg(
        format="aecg",
        sampling_rate_hz=rate,
        leads=leads,
        derived_leads=derived,
        acquired_at=_timestamp(_attr(root, "effectiveTime/low", "value")),
        file_id=_attr(root, "id", "extension") or _attr(root, "id", "root"),
        **_patient(root),
        **_device(root),
    )


def _q(path: str) -> str:
    """An ElementTree path with every step in the v3 namespace."""
    return "/".join(step if step in (".", "..") else f"{V3}{step}" for step in path.split("/"))


def _attr(node: ET.Element, path: str, name: str) -> str | None:
    found = node.find(_q(path))
    return found.get(name) if found is not None else None


def _rhythm_sequence_set(root: ET.Element) -> ET.Element:
    """The first series coded RHYTHM (or the first series, when none is coded)."""
    series = root.findall(_q("component/series"))
    if not series:
        raise EcgFileError(f"{FMT}: no component/series")
    rhythm = [s for s in series if _attr(s, "code", "code") in ("RHYTHM", None)] or series
    found = rhythm[0].find(_q("component/sequenceSet"))
    if found is None:
        raise EcgFileError(f"{FMT}: series has no component/sequenceSet")
    return found


def _sequences(sequence_set: ET.Element) -> tuple[float, dict[str, Samples]]:
    rate: float | None = None
    leads: dict[str, Samples] = {}
    for sequence in sequence_set.findall(_q("component/sequence")):
        code = _attr(sequence, "code", "code") or ""
        value = sequence.find(_q("value"))
        if value is None:
            continue
        if code.startswith("TIME_"):
            rate = _rate(value)
        elif (lead := lead_of_name(code)) and lead not in leads:
            leads[lead] = _samples(value, lead)
    if rate is None:
        raise EcgFileError(f"{FMT}: sequenceSet has no TIME_ABSOLUTE/TIME_RELATIVE sequence")
    return rate, leads


def _rate(value: ET.Element) -> float:
    increment = value.find(_q("increment"))
    if increment is None:
        raise EcgFileError(f"{FMT}: time sequence has no increment")
    unit = increment.get("unit", "s")
    try:
        seconds = float(increment.get("value", "")) * TO_S[unit]
    except (KeyError, ValueError) as exc:
        raise EcgFileError(f"{FMT}: time increment unreadable ({unit!r})") from exc
    if seconds <= 0:
        raise EcgFileError(f"{FMT}: time increment must be positive")
    return round(1.0 / seconds, 6)


def _samples(value: ET.Element, lead: str) -> Samples:
    """origin + scale x digits, rounded to integer µV: one numpy pass over the digits when
    they are plain integers (`plain_integers`), else one `int()` a digit."""
    origin = _pq(value.find(_q("origin")), lead, "origin", default=0.0)
    scale = _pq(value.find(_q("scale")), lead, "scale", default=None)
    digits = (value.findtext(_q("digits")) or "").split()
    check_samples(FMT, len(digits))
    counts = plain_integers(" ".join(digits), " ", len(digits)) if digits else None
    if counts is None:
        try:
            counts = np.array([int(d) for d in digits], dtype=np.int64)
        except (ValueError, OverflowError) as exc:
            raise EcgFileError(f"{FMT}: lead {lead}: digits are not integers") from exc
    microvolts: Samples = np.rint(origin + scale * counts).astype(np.int64)
    return microvolts


def _pq(node: ET.Element | None, lead: str, what: str, default: float | None) -> float:
    """A physical quantity in µV (origin, scale)."""
    if node is None:
        if default is None:
            raise EcgFileError(f"{FMT}: lead {lead}: no {what}")
        return default
    unit = node.get("unit", "uV")
    if unit not in TO_UV:
        raise EcgFileError(f"{FMT}: lead {lead}: {what} unit {unit!r} is not a voltage")
    try:
        return float(node.get("value", "")) * TO_UV[unit]
    except ValueError as exc:
        raise EcgFileError(f"{FMT}: lead {lead}: {what} value unreadable") from exc


def _timestamp(text: str | None) -> dt.datetime | None:
    """HL7 v3 TS (YYYYMMDDHHMMSS[.fff][+ZZZZ]); naive without an offset."""
    match = TS.match(text or "")
    if not match:
        return None
    parts = [
        int(p) if p else d for p, d in zip(match.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True)
    ]
    tz = match.group(7)
    zone = None
    if tz:
        sign = -1 if tz[0] == "-" else 1
        zone = dt.timezone(sign * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])))
    year, month, day, hour, minute, second = parts
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=zone)


def _patient(root: ET.Element) -> dict[str, Any]:
    subject = root.find(f".//{V3}trialSubject")
    if subject is None:
        return {}
    person = subject.find(_q("subjectDemographicPerson"))
    found: dict[str, Any] = {"patient_id": _attr(subject, "id", "extension")}
    if person is not None:
        found["family"] = person.findtext(_q("name/family")) or None
        found["given"] = person.findtext(_q("name/given")) or None
        code = _attr(person, "administrativeGenderCode", "code") or ""
        found["gender"] = SEX.get(code.upper())
        birth = _timestamp(_attr(person, "birthTime", "value"))
        found["birth_date"] = birth.date() if birth else None
    return found


def _device(root: ET.Element) -> dict[str, Any]:
    device = root.find(f".//{V3}manufacturedSeriesDevice")
    if device is None:
        return {}
    return {
        "device_id": _attr(device, "id", "extension"),
        "model": device.findtext(_q("manufacturerModelName")) or None,
        "manufacturer": root.findtext(f".//{V3}manufacturerOrganization/{V3}name") or None,
    }
