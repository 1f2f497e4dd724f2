"""A parsed ECG file + what the sender said beside it (query fields) -> the `EcgIn` that
`POST /ingest/ecg` takes, so a file follows the one write path (services/ingest/submit.py).

What the file says wins over nothing, and the sender's fields win over the file (a cart's
patient ID is a local MRN; the clinic may know the resident ID). Times without an offset
are local at the site: the sender's `tz`, by default Asia/Shanghai (where the carts are).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kernel.codes import RESIDENT_ID
from services.ingest.ecg_files import EcgFileError, ParsedEcg
from services.ingest.ecg_models import EcgIn

DEFAULT_TZ = "Asia/Shanghai"
MRN_SYSTEM = "urn:goldenhour:mrn:"  # + the site: a cart's patient ID is the clinic's MRN
ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
FILE_IDS = uuid.UUID("5d1c7f0e-8b0a-4c1e-9a57-ec6f11e5a001")  # namespace of derived ids


@dataclass(frozen=True)
class FileFields:
    """What the sender adds to a file (query parameters); None: take it from the file."""

    site_id: str
    site_kind: str = "clinic"
    event_id: str | None = None
    ecg_id: str | None = None
    device_id: str | None = None
    patient_id: str | None = None
    patient_system: str | None = None
    resident_id: str | None = None
    acquired_at: dt.datetime | None = None
    tz: str | None = None
    urgency: str = "routine"
    clinical_question: str | None = None


def submission(parsed: ParsedEcg, fields: FileFields, data: bytes) -> dict[str, Any]:
    """The `EcgIn` body (validate with `EcgIn.model_validate`). Without an `event_id` the
    file's digest is the idempotency key: resending the same bytes is answered as the first."""
    digest = hashlib.sha256(data).hexdigest()
    return {
        "event_id": fields.event_id or f"file-{digest[:40]}",
        "ecg_id": fields.ecg_id or _ecg_id(parsed, digest),
        "patient": _patient(parsed, fields),
        "acquired_at": _acquired(parsed, fields),
        "site": {"id": fields.site_id, "kind": fields.site_kind},
        "device": _device(parsed, fields),
        "sampling_rate_hz": parsed.sampling_rate_hz,
        "leads": parsed.leads,
        "derived_leads": parsed.derived_leads,
        "urgency": fields.urgency,
        "clinical_question": fields.clinical_question,
    }


def validated(parsed: ParsedEcg, fields: FileFields, data: bytes) -> EcgIn:
    """`submission` validated (pydantic's ValidationError names the field)."""
    return EcgIn.model_validate(submission(parsed, fields, data))


def _ecg_id(parsed: ParsedEcg, digest: str) -> str:
    """The file's own unique id when it is a valid id (a DICOM SOP Instance UID), else
    derived from it or from the bytes, so the same ECG gets the same id on a resend."""
    if parsed.file_id and ID_OK.match(parsed.file_id):
        return parsed.file_id
    return str(uuid.uuid5(FILE_IDS, parsed.file_id or digest))


def _patient(parsed: ParsedEcg, fields: FileFields) -> dict[str, Any]:
    identifiers = []
    if fields.resident_id:
        identifiers.append({"system": RESIDENT_ID, "value": fields.resident_id})
    local = fields.patient_id or parsed.patient_id
    if local:
        system = fields.patient_system or f"{MRN_SYSTEM}{fields.site_id}"
        identifiers.append({"system": system, "value": local})
    if not identifiers:
        raise EcgFileError(
            f"{_fmt(parsed)}: the file names no patient: send patient_id or resident_id"
        )
    return {
        "identifiers": identifiers,
        "family": parsed.family,
        "given": parsed.given,
        "gender": parsed.gender,
        "birth_date": parsed.birth_date,
    }


def _acquired(parsed: ParsedEcg, fields: FileFields) -> dt.datetime:
    when = fields.acquired_at or parsed.acquired_at
    if when is None:
        raise EcgFileError(f"{_fmt(parsed)}: no acquisition time in the file: send acquired_at")
    if when.tzinfo is not None:
        return when
    try:
        return when.replace(tzinfo=ZoneInfo(fields.tz or DEFAULT_TZ))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise EcgFileError(f"tz {fields.tz!r} is not a known time zone") from exc


def _device(parsed: ParsedEcg, fields: FileFields) -> dict[str, Any]:
    named = fields.device_id or parsed.device_id or parsed.model
    if not named:
        raise EcgFileError(f"{_fmt(parsed)}: the file names no device: send device_id")
    return {
        "id": re.sub(r"[^A-Za-z0-9._:\-]", "-", named.strip())[:64],
        "manufacturer": (parsed.manufacturer or "")[:100] or None,
        "model": (parsed.model or "")[:100] or None,
    }


def _fmt(parsed: ParsedEcg) -> str:
    names = {
        "dicom": "DICOM",
        "aecg": "aECG",
        "scp": "SCP-ECG",
        "muse": "MUSE",
        "cardiosoft": "CardioSoft",
        "philips": "Philips",
    }
    return names[parsed.format]
