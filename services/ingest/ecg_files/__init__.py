"""ECG files as carts export them (DICOM 12-lead waveform, HL7 aECG, SCP-ECG, GE MUSE XML),
detected by content and parsed into one neutral `ParsedEcg`; services/ingest/ecg_files/
submission.py turns that into the `EcgIn` every other channel submits.

| format   | detected by                                   | module   |
|----------|-----------------------------------------------|----------|
| DICOM    | 'DICM' at byte 128 (PS3.10 preamble)          | dicom.py |
| HL7 aECG | XML root AnnotatedECG in urn:hl7-org:v3       | aecg.py  |
| SCP-ECG  | record CRC + length, section 0 at byte 6      | scp.py   |
| GE MUSE  | XML root RestingECG                           | muse.py  |

Parsers are pure (bytes in, `ParsedEcg` out) and raise `EcgFileError` naming what is wrong,
prefixed with the format ("DICOM: ...", "SCP-ECG: ..."); the route answers it as a 422.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# 60 s (EcgIn's longest) at 2000 Hz (its highest rate): a file claiming more samples per
# lead is refused before its samples are decoded, so parse cost stays bounded.
MAX_SAMPLES_PER_LEAD = 120_000


class EcgFileError(ValueError):
    """The file is not a 12-lead ECG we can read; the message names the format and why."""


@dataclass
class ParsedEcg:
    """What a file said, in our units: leads in integer µV at `sampling_rate_hz`.
    `acquired_at` may be naive (local time at the site) when the file gives no offset."""

    format: str
    sampling_rate_hz: float
    leads: dict[str, list[int]]
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


def check_samples(fmt: str, count: int) -> None:
    """Refuse a lead longer than any ECG we accept, before decoding it."""
    if count > MAX_SAMPLES_PER_LEAD:
        raise EcgFileError(
            f"{fmt}: {count} samples per lead exceeds the limit of {MAX_SAMPLES_PER_LEAD}"
        )


def parse(data: bytes) -> ParsedEcg:
    """Detect the format by content and parse it."""
    from services.ingest.ecg_files import aecg, dicom, muse, scp
    from services.ingest.ecg_files.detect import detect

    parsers = {"dicom": dicom.parse, "aecg": aecg.parse, "scp": scp.parse, "muse": muse.parse}
    return parsers[detect(data)](data)
