"""The reading centre's HTTP API: the queue, claims with leases, release, signed reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from eventlog.base import LogUnavailable
from kernel.ids import ecg_observation_id
from kernel.time import instant, now
from services.auth.context import acting_subject
from services.deps import SystemDep
from services.outcome import FhirError
from services.reading import queue
from services.registry.checks import reader_named, refuse_unknown
from stream_processors.diagnosis_queue.published import QueueItem, diagnostic_report_id
from stream_processors.diagnosis_queue.published import task_id as task_id_of

router = APIRouter(prefix="/reading", tags=["reading"])

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
# A reader is a person: ids in any script (赵医生), no spaces or path characters.
ReaderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.:@\-]+$")]
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


class QueueItemPublic(BaseModel):
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


def public(item: QueueItem, at: str) -> QueueItemPublic:
    return QueueItemPublic(
        ecg_id=item.ecg_id,
        triage_class=item.triage_class,
        reasons=list(item.reasons),
        status=item.status,
        available=item.available(at),
        overdue=item.overdue(at),
        escalated=item.escalated,
        site_id=item.site_id,
        site_name=item.site_name,
        patient_ref=item.patient_ref,
        patient_name=item.patient_name,
        clinical_question=item.clinical_question,
        submitted_at=item.submitted_at,
        due_at=item.due_at,
        holder=item.holder,
        lease_until=item.lease_until,
        measurements=item.measurements,
        observation=f"Observation/{ecg_observation_id(item.ecg_id)}",
        task=f"Task/{task_id_of(item.ecg_id)}",
        report=f"DiagnosticReport/{diagnostic_report_id(item.ecg_id)}" if item.report else None,
    )


def _run(action: Any) -> Any:
    try:
        return action()
    except queue.NotClaimable as exc:
        raise FhirError(409, str(exc), "conflict") from exc
    except queue.QueueLagging as exc:
        raise FhirError(
            503, f"{exc}; retry shortly", "transient", headers={"Retry-After": "2"}
        ) from exc
    except LogUnavailable as exc:
        raise FhirError(
            503, f"event log unavailable, retry: {exc}", "transient", headers={"Retry-After": "5"}
        ) from exc


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
