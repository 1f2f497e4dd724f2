"""Ingest over HTTP: validated submissions become events; 2xx only once the log acknowledged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from eventlog.base import LogUnavailable
from services.auth.context import acting_site
from services.deps import SystemDep
from services.ingest.ecg_models import EcgAccepted, EcgIn
from services.ingest.fast_body import json_body, openapi_body
from services.ingest.submit import EventIdReused, submit_ecg
from services.outcome import FhirError
from services.registry.checks import ecg_site_named, refuse_unknown

router = APIRouter(prefix="/ingest", tags=["ingest"])

RETRY_AFTER_S = "5"  # the log is usually back within seconds (broker restart, leader move)


@router.post("/ecg", status_code=202, response_model=EcgAccepted, openapi_extra=openapi_body(EcgIn))
def post_ecg(
    body: Annotated[EcgIn, Depends(json_body(EcgIn))], system: SystemDep, response: Response
) -> EcgAccepted:
    """Submit a 12-lead ECG for a remote read. Answers 202 once the event is durable in the
    log; the FHIR Observation and Patient follow from the projector. Resending with the same
    `event_id` returns the first answer with `Idempotent-Replayed: true`."""
    acting_site(body.site.id, "site.id")  # a clinic submits for itself only (403)
    refuse_unknown(system.store, ecg_site_named(body.site.id, body.site.kind))  # 422
    try:
        done = submit_ecg(system, body, "http")
    except LogUnavailable as exc:
        raise FhirError(
            503,
            f"event log unavailable, retry: {exc}",
            "transient",
            headers={"Retry-After": RETRY_AFTER_S},
        ) from exc
    except EventIdReused as exc:
        raise FhirError(409, str(exc), "conflict", ["event_id"]) from exc
    response.headers["Location"] = f"/fhir/{done.answer.observation}"
    if done.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return done.answer
