"""Ingest: validated submissions become events; 2xx only once the log acknowledged."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response

from avro_schemas.catalogue import CLINIC_ECG
from eventlog.base import LogUnavailable, NewRecord
from services.deps import SystemDep
from services.ingest.ecg_models import EcgAccepted, EcgIn, accepted, ecg_event
from services.outcome import FhirError
from services.system import System

router = APIRouter(prefix="/ingest", tags=["ingest"])

RETRY_AFTER_S = "5"


def append_event(system: System, topic: str, key: str, name: str, event: dict) -> tuple[dict, int, int, bool]:  # type: ignore[type-arg]
    """Append one event; on a duplicate event id return the *stored* event, so the caller
    answers from what was first accepted."""
    try:
        appended = system.log.append(
            topic, [NewRecord(key, system.codec.encode(name, event), event["meta"]["event_id"])]
        )[0]
    except LogUnavailable as exc:
        raise FhirError(503, f"event log unavailable, retry: {exc}", "transient",
                        headers={"Retry-After": RETRY_AFTER_S}) from exc
    if appended.duplicate:
        original = system.log.read(topic, appended.partition, appended.offset, 1)[0]
        _, event = system.codec.decode(original.value)
    return event, appended.partition, appended.offset, appended.duplicate


@router.post("/ecg", status_code=202, response_model=EcgAccepted)
def submit_ecg(body: EcgIn, system: SystemDep, response: Response) -> EcgAccepted:
    """Submit a 12-lead ECG for a remote read. Answers 202 once the event is durable in the
    log; the FHIR Observation and Patient follow from the projector."""
    now = dt.datetime.now(dt.timezone.utc)
    event, partition, offset, duplicate = append_event(
        system, CLINIC_ECG, body.ecg_id, "goldenhour.ecg.EcgSubmitted", ecg_event(body, now)
    )
    if duplicate and event["ecg_id"] != body.ecg_id:
        raise FhirError(409, f"event_id {body.event_id} was already used for ECG {event['ecg_id']}",
                        "conflict", ["event_id"])
    answer = accepted(event, partition, offset)
    response.headers["Location"] = f"/fhir/{answer.observation}"
    if duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return answer
