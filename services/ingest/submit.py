"""The one write path of an ECG submission, shared by HTTP and HL7 v2 (MLLP) intake:
validated `EcgIn` -> `EcgSubmitted` and its `ReadRequested` appended in one commit -> the
answer, computed from what the log holds (so a retry, on any channel, gets the first answer)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from avro_schemas.catalogue import AUDIT, CLINIC_ECG, READING
from avro_schemas.events import ECG_SUBMITTED, READ_REQUESTED
from eventlog.base import Appended, NewRecord
from services.ingest.ecg_models import EcgAccepted, EcgIn, accepted, ecg_event
from services.system import System
from stream_processors.diagnosis_queue.published import read_request

if TYPE_CHECKING:
    from services.auth.audit import Carried

_log = logging.getLogger("goldenhour.ingest")


class EventIdReused(ValueError):
    """The sender reused an event id for a different ECG."""


@dataclass(frozen=True)
class Submitted:
    answer: EcgAccepted
    duplicate: bool


def append_event(
    system: System, topic: str, key: str, name: str, event: dict[str, Any]
) -> tuple[dict[str, Any], int, int, bool]:
    """Append one event; on a duplicate event id return the *stored* event instead.
    Raises `eventlog.base.LogUnavailable` when the log did not acknowledge."""
    appended = system.log.append(topic, [_record(system, key, name, event)])[0]
    if appended.duplicate:
        event = _stored(system, appended)
    return event, appended.partition, appended.offset, appended.duplicate


def submit_ecg(
    system: System,
    body: EcgIn,
    channel: str,
    audit: Carried | None = None,
    status: int = 202,
) -> Submitted:
    """Append the ECG and its read request (durable together on return) and answer;
    `channel` is http, mllp, tablet. `audit`: the exchange's audit record, made durable in
    the same commit as answered with `status` (services/auth/audit.py `Carried`; marked
    `recorded` on return, not when the answer becomes an error). Raises `LogUnavailable` as
    `append_event` does."""
    event = ecg_event(body, dt.datetime.now(dt.UTC), channel)
    settings = system.settings
    # Built from this submission's event, not the stored one, so that both go in one commit
    # (issue 17, 18: one fsync / one wait for Kafka's acks, not two in a row). Safe on a
    # duplicate ECG: the read request's event id derives from the sender's, so when its
    # request is stored this one is answered `duplicate` and nothing is written. It lands
    # only to mend a submission that stored the ECG without it (on Kafka an append may fail
    # half way, either record landing alone; or a crash between the two commits of the code
    # before this): the sender's retry of the same ECG builds the same request, but for
    # `recorded_at` (the retry's). Only a sender reusing the id for a *different* ECG before
    # retrying would pair the stored record with the other ECG's: logged, see below.
    request = read_request(event, settings.reading_centre_id, settings.region_id)
    batches = {
        CLINIC_ECG: [_record(system, body.ecg_id, ECG_SUBMITTED, event)],
        READING: [_record(system, body.ecg_id, READ_REQUESTED, request)],
    }
    record = audit.record(status) if audit else None
    if record is not None:
        batches[AUDIT] = [record]
    appended = system.log.append_together(batches)
    at, read_at = appended[CLINIC_ECG][0], appended[READING][0]
    if at.duplicate != read_at.duplicate:
        _log_mismatched_mend(system, body, at if at.duplicate else read_at)
    if at.duplicate:
        event = _stored(system, at)
        if event["ecg_id"] != body.ecg_id:
            raise EventIdReused(
                f"event_id {body.event_id} was already used for ECG {event['ecg_id']}"
            )
    if audit is not None and record is not None:
        audit.recorded = status
    return Submitted(accepted(event, at.partition, at.offset), at.duplicate)


def _log_mismatched_mend(system: System, body: EcgIn, stored_at: Appended) -> None:
    """One record of the pair was stored alone (a half-failed append) and this call added
    the other: an error if they name different ECGs (the sender reused the event id)."""
    stored = _stored(system, stored_at)["ecg_id"]
    if stored != body.ecg_id:
        _log.error(
            "event id %s: ECG %s paired with the stored %s of ECG %s",
            body.event_id,
            body.ecg_id,
            stored_at.topic,
            stored,
        )


def _record(system: System, key: str, name: str, event: dict[str, Any]) -> NewRecord:
    return NewRecord(key, system.codec.encode(name, event), event["meta"]["event_id"])


def _stored(system: System, appended: Appended) -> dict[str, Any]:
    """The event first appended at a duplicate's position (what a retry is answered from)."""
    original = system.log.read(appended.topic, appended.partition, appended.offset, 1)[0]
    return system.codec.decode(original.value)[1]
