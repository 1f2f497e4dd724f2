"""Ingest over HTTP: validated submissions become events; 2xx only once the log acknowledged."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from eventlog.base import LogUnavailable
from services.auth.audit import carried_by
from services.auth.context import acting_site
from services.deps import SystemDep
from services.ingest import ecg_files
from services.ingest.ecg_files.submission import FileFields, validated
from services.ingest.ecg_models import EcgAccepted, EcgIn
from services.ingest.fast_body import json_body, openapi_body
from services.ingest.submit import EventIdReused, submit_ecg
from services.outcome import FhirError, log_unavailable
from services.registry.checks import ecg_site_named, refuse_unknown

router = APIRouter(prefix="/ingest", tags=["ingest"])
ACCEPTED = 202


@router.post(
    "/ecg", status_code=ACCEPTED, response_model=EcgAccepted, openapi_extra=openapi_body(EcgIn)
)
def post_ecg(
    body: Annotated[EcgIn, Depends(json_body(EcgIn))],
    system: SystemDep,
    request: Request,
    response: Response,
) -> EcgAccepted:
    """Submit a 12-lead ECG for a remote read. Answers 202 once the event is durable in the
    log; the FHIR Observation and Patient follow from the projector. Resending with the same
    `event_id` returns the first answer with `Idempotent-Replayed: true`."""
    acting_site(body.site.id, "site.id")  # a clinic submits for itself only (403)
    return _submit(system, body, request, response)


def _submit(system: SystemDep, body: EcgIn, request: Request, response: Response) -> EcgAccepted:
    """The one write path of both routes: site known (422), appended (202), or 503/409.
    The request's audit record (202) is durable in the ECG's commit."""
    refuse_unknown(system.store, ecg_site_named(body.site.id, body.site.kind))  # 422
    try:
        done = submit_ecg(system, body, "http", carried_by(request.state), ACCEPTED)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc
    except EventIdReused as exc:
        raise FhirError(409, str(exc), "conflict", ["event_id"]) from exc
    response.headers["Location"] = f"/fhir/{done.answer.observation}"
    if done.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return done.answer


# Content types a cart or its gateway sends a file with; the format is told by the content.
FILE_TYPES = {"application/dicom", "application/xml", "text/xml", "application/octet-stream"}
# The largest file read: a 60 s, 2000 Hz 12-lead aECG as decimal text is ~10 MB. The app's
# body limit (services/limits.py) answers 413 first when it is lower.
MAX_FILE_BYTES = 16 * 1024 * 1024


async def file_body(request: Request) -> bytes:
    """The raw file: 415 for another content type, 413 over `MAX_FILE_BYTES`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FILE_TYPES:
        raise FhirError(
            415,
            f"content type {kind or '(none)'!r}: send the file as one of "
            f"{', '.join(sorted(FILE_TYPES))}",
            "not-supported",
        )
    data = await request.body()
    if len(data) > MAX_FILE_BYTES:
        raise FhirError(413, f"file of {len(data)} bytes over {MAX_FILE_BYTES}", "too-costly")
    return data


@router.post(
    "/ecg-file",
    status_code=ACCEPTED,
    response_model=EcgAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in FILE_TYPES},
        }
    },
)
def post_ecg_file(
    data: Annotated[bytes, Depends(file_body)],
    system: SystemDep,
    request: Request,
    response: Response,
    site_id: Annotated[
        str | None, Query(description="the clinic (from the token when auth is on)")
    ] = None,
    site_kind: Literal["clinic", "ambulance", "hospital"] = "clinic",
    event_id: str | None = None,
    ecg_id: str | None = None,
    device_id: str | None = None,
    patient_id: str | None = None,
    patient_system: str | None = None,
    resident_id: str | None = None,
    acquired_at: dt.datetime | None = None,
    tz: str | None = None,
    urgency: Literal["routine", "urgent", "stat"] = "routine",
    clinical_question: str | None = None,
) -> EcgAccepted:
    """Submit a 12-lead ECG file as a cart exports it: DICOM 12-lead ECG waveform, HL7 aECG
    XML, SCP-ECG (uncompressed), GE MUSE or CardioSoft XML or Philips XML, told apart by
    content. The patient, time and device come from the file; query fields add what it lacks
    or override it (a local patient ID is the site's MRN). Times without an offset are local
    (`tz`, default Asia/Shanghai). Without `event_id` the file's digest is the idempotency
    key. Answers as `POST /ingest/ecg`."""
    site = acting_site(site_id, "site_id")  # a clinic submits for itself only (403)
    fields = FileFields(
        site, site_kind, event_id, ecg_id, device_id, patient_id, patient_system,
        resident_id, acquired_at, tz, urgency, clinical_question,
    )  # fmt: skip
    try:
        body = validated(ecg_files.parse(data), fields, data)
    except ecg_files.EcgFileError as exc:
        raise FhirError(422, str(exc), "invalid") from exc
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    return _submit(system, body, request, response)
