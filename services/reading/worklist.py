"""The reader's worklist: filters (class, clinic, age of the request, unread / overdue, my
claims), search (patient name, patient id, ECG id) and repeated recordings shown once.

Pure: queue items and the filter in, the rows to show out; no I/O, no clock (the instant
is given). The queue page, its polled rows and the JSON API filter through here, so a
filter means the same everywhere.

A repeated recording: clinics often record again when the first trace was noisy or short.
Recordings of the same patient from the same site acquired within REPEAT_WINDOW of each
other are one row: the
most urgent (then the latest) stands for them, with the others named in a note, so a
reader neither reads the same patient twice nor misses that a second trace exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from kernel.time import instant, parse_instant
from stream_processors.diagnosis_queue.published import QueueItem

REPEAT_WINDOW = dt.timedelta(minutes=5)
STATES = ("unread", "overdue", "claimed")


@dataclass(frozen=True)
class Filters:
    """What the reader asked for; empty fields do not filter."""

    classes: frozenset[str] = frozenset()
    site: str = ""
    older_than_min: int | None = None  # requested at least this long ago
    newer_than_min: int | None = None  # requested at most this long ago
    state: str = ""  # unread (nobody holds it) | overdue | claimed
    mine: str = ""  # a reader id: only the items this reader holds
    query: str = ""  # patient name, ECG id or patient id (see `patient_refs`)
    patient_refs: frozenset[str] = field(default_factory=frozenset)  # patients whose id matched


@dataclass(frozen=True)
class Row:
    """One worklist row: the item shown, and the repeated recordings folded into it."""

    item: QueueItem
    repeats: tuple[QueueItem, ...] = ()


def select(items: Iterable[QueueItem], f: Filters, at: dt.datetime) -> list[QueueItem]:
    """The items the filters keep, in the queue's order."""
    return [i for i in items if _keeps(i, f, at)]


def _keeps(item: QueueItem, f: Filters, at: dt.datetime) -> bool:
    return (
        (not f.classes or item.triage_class in f.classes)
        and (not f.site or item.site_id == f.site)
        and _age_ok(item, f, at)
        and _state_ok(item, f.state, at)
        and (not f.mine or (item.status == "claimed" and item.holder == f.mine))
        and (not f.query or _matches(item, f.query, f.patient_refs))
    )


def _age_ok(item: QueueItem, f: Filters, at: dt.datetime) -> bool:
    if not item.submitted_at:
        return f.older_than_min is None and f.newer_than_min is None
    age = at - parse_instant(item.submitted_at)
    if f.older_than_min is not None and age < dt.timedelta(minutes=f.older_than_min):
        return False
    return f.newer_than_min is None or age <= dt.timedelta(minutes=f.newer_than_min)


def _state_ok(item: QueueItem, state: str, at: dt.datetime) -> bool:
    stamp = instant(at)
    if state == "unread":
        return item.available(stamp)
    if state == "overdue":
        return item.overdue(stamp)
    if state == "claimed":
        return item.status == "claimed" and not item.lease_expired(stamp)
    return True


def _matches(item: QueueItem, query: str, patient_refs: Collection[str]) -> bool:
    """Case-insensitive: a part of the patient's name or of the ECG id, or the patient
    whose identifier (resident ID, MRN) the caller resolved from the query."""
    q = query.strip().lower()
    return (
        q in item.patient_name.lower()
        or q in item.ecg_id.lower()
        or item.patient_ref in patient_refs
        or (len(q) >= 8 and item.patient_ref.lower().endswith(q))
    )


def collapse_repeats(items: list[QueueItem], window: dt.timedelta = REPEAT_WINDOW) -> list[Row]:
    """One row per patient and site per `window` of acquisitions; the queue's order is kept,
    the first (most urgent) item of a group standing for it."""
    rows: list[Row] = []
    for item in items:
        home = next((n for n, row in enumerate(rows) if _repeat_of(row.item, item, window)), None)
        if home is None:
            rows.append(Row(item))
        else:
            rows[home] = Row(rows[home].item, (*rows[home].repeats, item))
    return rows


def _repeat_of(first: QueueItem, other: QueueItem, window: dt.timedelta) -> bool:
    if not first.patient_ref or first.patient_ref != other.patient_ref:
        return False
    if first.site_id != other.site_id or not first.acquired_at or not other.acquired_at:
        return False
    gap = abs(parse_instant(first.acquired_at) - parse_instant(other.acquired_at))
    return gap <= window
