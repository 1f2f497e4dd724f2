"""The reading centre's HTTP API: the queue, claims with leases, release, signed reports."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from eventlog.base import LogUnavailable
from kernel.ids import ecg_observation_id
from kernel.time import instant, now
from services.auth.context import acting_subject
from services.deps import SystemDep
from services.ingest.ecg_models import PersonId
from services.outcome import FhirError, log_unavailable
from services.reading import queue
from services.registry.checks import reader_named, refuse_unknown
from stream_processors.diagnosis_queue.published import QueueItem, diagnostic_report_id
from stream_processors.diagnosis_queue.published import task_id as task_id_of

router = APIRouter(prefix="/reading", tags=["reading"])

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
ReaderId = PersonId  # a reader is a person: ids in any script (赵医生)
READER_ID_DOC = "Omitted with auth on: the token's subject signs (a different value is 403)"


class ClaimIn(BaseModel):
    reader_id: ReaderId | None = Field(None, description=READER_ID_DOC)
    ecg_id: Id | None = Field(
        None, description="Claim this ECG; omitted: the most urgent available"
    )


class ReaderIn(BaseModel):
    reader_id: ReaderId | None = Field(None, description=READER_ID_DOC)


class CodingIn(BaseModel):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class ReportIn(BaseModel):
    reader_id: ReaderId | None = Field(None, description=READER_ID_DOC)
    interpretation: str = Field(min_length=1, max_length=4000)
    codes: list[CodingIn] = Field(default_factory=list, max_length=20)
    confirmed_statements: list[str] = Field(default_factory=list, max_length=50)


Measurement = Literal[
    "heart_rate_bpm",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
    "p_axis_deg",
    "qrs_axis_deg",
    "t_axis_deg",
]
EventId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")]
EVENT_ID_DOC = "Idempotency key (or the Idempotency-Key header): a retry gets the first answer"


class MeasurementEditIn(BaseModel):
    reader_id: ReaderId | None = Field(None, description=READER_ID_DOC)
    measurement: Measurement
    value: float = Field(ge=-360, le=3000, description="In the measurement's unit: /min, ms, deg")
    reason: str | None = Field(None, max_length=500)
    event_id: EventId | None = Field(None, description=EVENT_ID_DOC)


class AddendumIn(BaseModel):
    reader_id: ReaderId | None = Field(None, description=READER_ID_DOC)
    addendum: str = Field(min_length=1, max_length=4000)
    codes: list[CodingIn] = Field(default_factory=list, max_length=20)
    event_id: EventId | None = Field(None, description=EVENT_ID_DOC)


class QueueItemPublic(BaseModel):
    model_config = ConfigDict(extra="ignore")  # built from the whole QueueItem: see `public`

    ecg_id: str
    triage_class: str
    reasons: list[str]
    status: str
    available: bool
    overdue: bool
    escalated: bool
    site_id: str
    site_name: str
    patient_ref: str
    patient_name: str
    clinical_question: str
    submitted_at: str
    due_at: str
    holder: str
    lease_until: str
    measurements: dict[str, Any]
    observation: str
    task: str
    report: str | None
    edits: dict[str, Any] = Field(default_factory=dict)
    addenda: list[dict[str, Any]] = Field(default_factory=list)


def public(item: QueueItem, at: str) -> QueueItemPublic:
    """The item as the API shows it: the fold's fields the model names (it ignores the
    others), what holds at instant `at`, and the FHIR resources the read makes."""
    return QueueItemPublic.model_validate(
        {
            **asdict(item),
            "due_at": item.due_at,
            "available": item.available(at),
            "overdue": item.overdue(at),
            "observation": f"Observation/{ecg_observation_id(item.ecg_id)}",
            "task": f"Task/{task_id_of(item.ecg_id)}",
            "report": (
                f"DiagnosticReport/{diagnostic_report_id(item.ecg_id)}" if item.report else None
            ),
        }
    )


def _run(action: Any) -> Any:
    try:
        return action()
    except queue.NotClaimable as exc:
        raise FhirError(409, str(exc), "conflict") from exc
    except queue.NotSigned as exc:
        raise FhirError(409, str(exc), "business-rule") from exc
    except queue.QueueLagging as exc:
        raise FhirError(
            503, f"{exc}; retry shortly", "transient", headers={"Retry-After": "2"}
        ) from exc
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc


def _reader(claimed: str | None) -> str:
    return acting_subject(claimed, "reader_id")


def _known_reader(system: SystemDep, claimed: str | None) -> str:
    """The reader, who must be a registered reader once the registry is in force (422)."""
    reader = _reader(claimed)
    refuse_unknown(system.store, reader_named(reader))
    return reader


@router.get("/queue", response_model=list[QueueItemPublic])
def get_queue(system: SystemDep, centre: str | None = None) -> list[QueueItemPublic]:
    """Open reads of a reading centre, most urgent first (triage class, then due time)."""
    at = instant(now())
    return [
        public(i, at) for i in queue.open_items(system, centre or system.settings.reading_centre_id)
    ]


@router.post("/claims", response_model=QueueItemPublic)
def post_claim(body: ClaimIn, system: SystemDep) -> QueueItemPublic:
    """Claim the most urgent available ECG (or the one named) with a lease; 409 if taken."""
    item = _run(lambda: queue.claim(system, _known_reader(system, body.reader_id), body.ecg_id))
    return public(item, instant(now()))


@router.post("/ecg/{ecg_id}/release", response_model=QueueItemPublic)
def post_release(ecg_id: str, body: ReaderIn, system: SystemDep) -> QueueItemPublic:
    item = _run(lambda: queue.release(system, _known_reader(system, body.reader_id), ecg_id))
    return public(item, instant(now()))


@router.post("/ecg/{ecg_id}/report", response_model=QueueItemPublic)
def post_report(ecg_id: str, body: ReportIn, system: SystemDep) -> QueueItemPublic:
    """Sign the read of a held ECG; the DiagnosticReport follows in the patient's view."""
    item = _run(
        lambda: queue.report(
            system,
            _known_reader(system, body.reader_id),
            ecg_id,
            body.interpretation,
            [c.model_dump() for c in body.codes],
            body.confirmed_statements,
        )
    )
    return public(item, instant(now()))


def _event_id(given: str | None, header: str | None, *content: object) -> str:
    """The sender's idempotency key; without one, a key derived from who said what about
    which ECG, so a resent identical request is one event, not two."""
    return given or header or str(uuid.uuid5(uuid.NAMESPACE_URL, repr(content)))


def _answer(item: QueueItem, replayed: bool) -> JSONResponse:
    body = public(item, instant(now())).model_dump()
    return JSONResponse(body, headers={"Idempotent-Replayed": "true"} if replayed else {})


@router.post("/ecg/{ecg_id}/measurements", response_model=QueueItemPublic)
def post_measurement_edit(
    ecg_id: str,
    body: MeasurementEditIn,
    system: SystemDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Correct one automatic measurement of a held ECG (409 if not held by the caller); the
    automatic value is kept beside the reader's and both reach the DiagnosticReport."""
    reader = _known_reader(system, body.reader_id)
    event_id = _event_id(
        body.event_id, idempotency_key, "edit", ecg_id, reader, body.measurement, body.value
    )
    item, replayed = _run(
        lambda: queue.edit_measurement(
            system, reader, ecg_id, body.measurement, body.value, body.reason, event_id
        )
    )
    return _answer(item, replayed)


@router.post("/ecg/{ecg_id}/addendum", response_model=QueueItemPublic)
def post_addendum(
    ecg_id: str,
    body: AddendumIn,
    system: SystemDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Amend a signed read with an addendum (409 before it is signed); the signer is the
    token's subject. The DiagnosticReport becomes `amended` (a new version; the signed
    one stays in its history) and the clinic is sent the corrected report."""
    reader = _known_reader(system, body.reader_id)
    codes = [c.model_dump() for c in body.codes]
    event_id = _event_id(body.event_id, idempotency_key, "addendum", ecg_id, reader, body.addendum)
    item, replayed = _run(
        lambda: queue.amend(system, reader, ecg_id, body.addendum, codes, event_id)
    )
    return _answer(item, replayed)
