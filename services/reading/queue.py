"""The reading centre's commands and queries over the queue view.

Commands append events; the queue processor decides (see diagnosis_queue/fold.py). A command
that needs the decision (a claim) waits until the processor has folded its own event's
position, then reads the outcome: no lock, no compare-and-set, one source of truth.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

from avro_schemas.catalogue import READING
from avro_schemas.events import (
    MEASUREMENT_EDITED,
    READ_AMENDED,
    READ_CLAIMED,
    READ_ESCALATED,
    READ_RELEASED,
    READ_REPORTED,
)
from kernel.time import instant, now, parse_instant
from services.ingest.submit import append_event
from services.system import System
from stream_processors.diagnosis_queue.published import (
    OPEN_INDEX,
    PROCESSOR,
    QueueItem,
    queue_item_id,
)

QUEUE = PROCESSOR.name
FOLD_WAIT_S = 10.0  # a processor more than this behind is reported as unavailable
FOLD_POLL_S = 0.02
CLAIM_ATTEMPTS = 5  # claim-next tries this many items before giving up on a busy queue


class QueueLagging(RuntimeError):
    """The queue processor did not fold the command in time; its outcome is unknown yet."""


class NotClaimable(LookupError):
    """Nothing (or not that ECG) can be claimed by this reader now."""


def _item(system: System, item_id: str) -> QueueItem | None:
    stored = system.store.read("QueueItem", item_id)
    return None if stored is None else QueueItem.from_json(json.loads(stored.body))


def current(system: System, ecg_id: str) -> QueueItem | None:
    return _item(system, queue_item_id(ecg_id))


def open_items(system: System, centre_id: str) -> list[QueueItem]:
    """Items not yet reported, most urgent first (class, then due time)."""
    items = [_item(system, rid) for _, rid in system.store.lookup(OPEN_INDEX, centre_id)]
    return sorted((i for i in items if i is not None), key=QueueItem.sort_key)


def _meta(event_id: str, at: dt.datetime, reader_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": at,
        "recorded_at": at,
        "source": {"channel": "reader", "device_id": None, "user_id": reader_id, "site_id": None},
    }


def _wait_folded(system: System, partition: int, offset: int) -> None:
    deadline = time.monotonic() + FOLD_WAIT_S
    while (system.store.checkpoint(QUEUE, READING, partition) or 0) <= offset:
        if time.monotonic() > deadline:
            raise QueueLagging(f"queue processor has not folded {READING}/{partition}@{offset}")
        time.sleep(FOLD_POLL_S)


def _append(system: System, ecg_id: str, name: str, event: dict[str, Any]) -> None:
    _, partition, offset, _ = append_event(system, READING, ecg_id, name, event)
    _wait_folded(system, partition, offset)


def claim(system: System, reader_id: str, ecg_id: str | None = None) -> QueueItem:
    """Claim one ECG (or the most urgent available) for `reader_id`, with a lease."""
    at = now()
    stamp = instant(at)
    if ecg_id is None:
        candidates = [
            i.ecg_id
            for i in open_items(system, system.settings.reading_centre_id)
            if i.available(stamp)
        ][:CLAIM_ATTEMPTS]
    else:
        candidates = [ecg_id]
    for candidate in candidates:
        event_id = str(uuid.uuid4())
        lease_until = at + dt.timedelta(minutes=system.settings.lease_minutes)
        _append(
            system,
            candidate,
            READ_CLAIMED,
            {
                "meta": _meta(event_id, at, reader_id),
                "ecg_id": candidate,
                "reader_id": reader_id,
                "lease_until": lease_until,
            },
        )
        item = current(system, candidate)
        if item is not None and item.claim_event_id == event_id:
            return item
    raise NotClaimable(
        "no ECG available to claim"
        if ecg_id is None
        else f"ECG {ecg_id} is not available to {reader_id}"
    )


def release(
    system: System, reader_id: str, ecg_id: str, reason: str = "released by reader"
) -> QueueItem:
    item = _held(system, reader_id, ecg_id)
    _append(
        system,
        ecg_id,
        READ_RELEASED,
        {
            "meta": _meta(str(uuid.uuid4()), now(), reader_id),
            "ecg_id": ecg_id,
            "reader_id": reader_id,
            "reason": reason,
        },
    )
    return current(system, ecg_id) or item


def report(
    system: System,
    reader_id: str,
    ecg_id: str,
    interpretation: str,
    codes: list[dict[str, Any]],
    confirmed: list[str],
) -> QueueItem:
    """Sign a read; only the lease holder may."""
    item = _held(system, reader_id, ecg_id)
    at = now()
    event_id = str(uuid.uuid4())
    _append(
        system,
        ecg_id,
        READ_REPORTED,
        {
            "meta": _meta(event_id, at, reader_id),
            "ecg_id": ecg_id,
            "reader_id": reader_id,
            "interpretation": interpretation,
            "codes": codes,
            "signed_at": at,
            "patient_ref": item.patient_ref or None,
            "reading_centre_id": item.centre_id,
            "confirmed_statements": confirmed,
        },
    )
    done = current(system, ecg_id)
    if done is None or done.report.get("event_id") != event_id:
        raise NotClaimable(f"ECG {ecg_id}: the lease ended before the report was recorded")
    return done


class NotSigned(LookupError):
    """An addendum to a read nobody has signed yet: there is nothing to amend."""


def _append_once(system: System, ecg_id: str, name: str, event: dict[str, Any]) -> bool:
    """Append and wait for the fold; True when the log already held this event id (a retry)."""
    _, partition, offset, duplicate = append_event(system, READING, ecg_id, name, event)
    _wait_folded(system, partition, offset)
    return duplicate


def edit_measurement(
    system: System,
    reader_id: str,
    ecg_id: str,
    measurement: str,
    value: float,
    reason: str | None,
    event_id: str,
) -> tuple[QueueItem, bool]:
    """Record a reader's correction of one measurement; only the lease holder may, before
    signing (after it, an addendum says what changed). Returns the item and whether this
    was a retry of an event already in the log."""
    item = current(system, ecg_id)
    duplicate = item is not None and _has_edit(item, event_id)
    if not duplicate:
        item = _held(system, reader_id, ecg_id)
    automatic = item.measurements.get(measurement) if item else None
    replayed = _append_once(
        system,
        ecg_id,
        MEASUREMENT_EDITED,
        {
            "meta": _meta(event_id, now(), reader_id),
            "ecg_id": ecg_id,
            "reader_id": reader_id,
            "measurement": measurement,
            "value": value,
            "automatic_value": automatic,
            "reason": reason,
        },
    )
    done = current(system, ecg_id)
    if done is None or (not replayed and done.edits.get(measurement, {}).get("value") != value):
        raise NotClaimable(f"ECG {ecg_id}: the lease ended before the edit was recorded")
    return done, replayed


def _has_edit(item: QueueItem, event_id: str) -> bool:
    return any(e.get("event_id") == event_id for e in item.edits.values())


def amend(
    system: System,
    reader_id: str,
    ecg_id: str,
    addendum: str,
    codes: list[dict[str, Any]],
    event_id: str,
) -> tuple[QueueItem, bool]:
    """Add an addendum to the signed read of `ecg_id` (any reader; 409 before signing).
    Returns the item and whether the log already held this event id (a retry)."""
    item = current(system, ecg_id)
    if item is None or item.status != "reported":
        raise NotSigned(f"ECG {ecg_id} has no signed report to amend")
    at = now()
    replayed = _append_once(
        system,
        ecg_id,
        READ_AMENDED,
        {
            "meta": _meta(event_id, at, reader_id),
            "ecg_id": ecg_id,
            "reader_id": reader_id,
            "addendum": addendum,
            "codes": codes,
            "signed_at": at,
        },
    )
    done = current(system, ecg_id)
    if done is None or not any(a["event_id"] == event_id for a in done.addenda):
        raise NotSigned(f"ECG {ecg_id}: the addendum was not accepted")
    return done, replayed


def _held(system: System, reader_id: str, ecg_id: str) -> QueueItem:
    item = current(system, ecg_id)
    if item is None or item.status != "claimed" or item.holder != reader_id:
        raise NotClaimable(f"ECG {ecg_id} is not held by {reader_id}")
    return item


def sweep(system: System, at: dt.datetime | None = None) -> dict[str, int]:
    """Escalate overdue items (once each: the event id is derived from the ECG) and hand
    back expired leases. Run periodically; safe to run from several processes."""
    at = at or now()
    stamp = instant(at)
    counts = {"escalated": 0, "expired": 0}
    for item in open_items(system, system.settings.reading_centre_id):
        if item.overdue(stamp) and not item.escalated:
            append_event(
                system,
                READING,
                item.ecg_id,
                READ_ESCALATED,
                {
                    "meta": _meta(f"escalate:{item.ecg_id}", at, None),
                    "ecg_id": item.ecg_id,
                    "reason": f"{item.triage_class} read not signed by its due time",
                    "due_at": parse_instant(item.due_at),
                },
            )
            counts["escalated"] += 1
        if item.lease_expired(stamp):
            append_event(
                system,
                READING,
                item.ecg_id,
                READ_RELEASED,
                {
                    "meta": _meta(f"expire:{item.claim_event_id}", at, None),
                    "ecg_id": item.ecg_id,
                    "reader_id": item.holder,
                    "reason": "lease expired",
                },
            )
            counts["expired"] += 1
    return counts
