"""The one write path of an ECG submission, shared by HTTP and HL7 v2 (MLLP) intake:
validated `EcgIn` -> `EcgSubmitted` appended -> the answer, computed from what the log holds
(so a retry, on any channel, gets the first answer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from avro_schemas.catalogue import CLINIC_ECG, READING
from avro_schemas.events import ECG_SUBMITTED, READ_REQUESTED
from eventlog.base import NewRecord
from services.ingest.ecg_models import EcgAccepted, EcgIn, accepted, ecg_event
from services.system import System
from stream_processors.diagnosis_queue.published import read_request


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
    appended = system.log.append(
        topic, [NewRecord(key, system.codec.encode(name, event), event["meta"]["event_id"])]
    )[0]
    if appended.duplicate:
        original = system.log.read(topic, appended.partition, appended.offset, 1)[0]
        _, event = system.codec.decode(original.value)
    return event, appended.partition, appended.offset, appended.duplicate


def submit_ecg(system: System, body: EcgIn, channel: str) -> Submitted:
    """Append the ECG (durable on return) and answer; `channel` is http, mllp, tablet."""
    now = dt.datetime.now(dt.UTC)
    event, partition, offset, duplicate = append_event(
        system, CLINIC_ECG, body.ecg_id, ECG_SUBMITTED, ecg_event(body, now, channel)
    )
    if duplicate and event["ecg_id"] != body.ecg_id:
        raise EventIdReused(f"event_id {body.event_id} was already used for ECG {event['ecg_id']}")
    answer = accepted(event, partition, offset)
    # Appended after the ECG, also on a duplicate: a crash between the two appends is mended
    # by the sender's retry, since both event ids are derived from the sender's.
    settings = system.settings
    request = read_request(event, settings.reading_centre_id, settings.region_id)
    append_event(system, READING, body.ecg_id, READ_REQUESTED, request)
    return Submitted(answer, duplicate)
