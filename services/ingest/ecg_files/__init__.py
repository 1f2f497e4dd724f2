"""ECG files as carts export them (DICOM 12-lead waveform, HL7 aECG, SCP-ECG, GE MUSE XML,
GE CardioSoft XML, Philips Sierra ECG XML), detected by content and parsed into one neutral
`ParsedEcg`; services/ingest/ecg_files/submission.py turns that into the `EcgIn` every other
channel submits.

| format     | detected by                              | module        |
|------------|------------------------------------------|---------------|
| DICOM      | 'DICM' at byte 128 (PS3.10 preamble)     | dicom.py      |
| HL7 aECG   | XML root AnnotatedECG in urn:hl7-org:v3  | aecg.py       |
| SCP-ECG    | record CRC + length, section 0 at byte 6 | scp.py        |
| GE MUSE    | XML root RestingECG                      | muse.py       |
| CardioSoft | XML root CardiologyXML (GE CardioSoft)   | cardiosoft.py |
| Philips    | XML root restingecgdata (Sierra ECG XML) | philips.py    |

Parsers are pure (bytes in, `ParsedEcg` out) and raise `EcgFileError` naming what is wrong,
prefixed with the format ("DICOM: ...", "SCP-ECG: ..."); the route answers it as a 422.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from avro_schemas.lead_samples import Samples

# 60 s (EcgIn's longest) at 2000 Hz (its highest rate): a file claiming more samples per
# lead is refused before its samples are decoded, so parse cost stays bounded.
MAX_SAMPLES_PER_LEAD = 120_000
# Sex as GE and Philips XML write it -> FHIR administrative gender (anything else: unknown)
XML_GENDERS = {"MALE": "male", "FEMALE": "female"}


class EcgFileError(ValueError):
    """The file is not a 12-lead ECG we can read; the message names the format and why."""


@dataclass(frozen=True)
class CartReading:
    """What the cart's own program concluded, as the file carries it: global measurements
    (ms, rate per min; None when absent or failed) and the interpretation statements in
    order. The accuracy check (stream_processors/ecg_measurement/accuracy.py) compares ours
    against it."""

    heart_rate_bpm: float | None
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    qtc_ms: float | None
    statements: tuple[str, ...] = ()
    program: str | None = None  # the analysing program, e.g. "Philips DXL (criteria 0B)"


CART_MEASURES = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms")


def cart_measures(texts: list[str | None]) -> dict[str, float | None]:
    """`CartReading`'s measurements from the texts a file holds for them (CART_MEASURES
    order); anything but a positive whole number ("Failed", "0", empty) is not measured."""
    values = [(text or "").strip() for text in texts]
    return {
        key: float(text) if text.isdigit() and int(text) > 0 else None
        for key, text in zip(CART_MEASURES, values, strict=True)
    }


@dataclass
class ParsedEcg:
    """What a file said, in our units: leads in integer µV at `sampling_rate_hz`.
    `acquired_at` may be naive (local time at the site) when the file gives no offset."""

    format: str
    sampling_rate_hz: float
    leads: Mapping[str, Samples | Sequence[int]]  # arrays: EcgIn packs them as they are
    patient_id: str | None = None
    family: str | None = None
    given: str | None = None
    gender: str | None = None  # FHIR administrative gender
    birth_date: dt.date | None = None
    acquired_at: dt.datetime | None = None
    manufacturer: str | None = None
    model: str | None = None
    device_id: str | None = None
    file_id: str | None = None  # the file's own unique id (SOP Instance UID, aECG id)
    derived_leads: list[str] = field(default_factory=list)
    age_years: float | None = None  # age at acquisition, when the file gives it
    cart: CartReading | None = None  # the cart's own measurements and statements


def xml_root(fmt: str, data: bytes) -> ET.Element:
    """The root element of an XML ECG file; `EcgFileError` when it is not well-formed."""
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise EcgFileError(f"{fmt}: not well-formed XML: {exc}") from exc


def check_samples(fmt: str, count: int) -> None:
    """Refuse a lead longer than any ECG we accept, before decoding it."""
    if count > MAX_SAMPLES_PER_LEAD:
        raise EcgFileError(
            f"{fmt}: {count} samples per lead exceeds the limit of {MAX_SAMPLES_PER_LEAD}"
        )


def parse(data: bytes) -> ParsedEcg:
    """Detect the format by content and parse it."""
    from services.ingest.ecg_files import aecg, cardiosoft, dicom, muse, philips, scp
    from services.ingest.ecg_files.detect import detect

    parsers = {
        "dicom": dicom.parse,
        "aecg": aecg.parse,
        "scp": scp.parse,
        "muse": muse.parse,
        "cardiosoft": cardiosoft.parse,
        "philips": philips.parse,
    }
    return parsers[detect(data)](data)
