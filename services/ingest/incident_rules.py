"""Order rules of an incident's record, checked before a batch is appended.

A pure fold of what the log already holds about the incident (`IncidentFacts`), then a check
of the batch against it, event by event, so a refusal names every offending event. The rules
are the ones a crew's own paper record follows: an incident is opened once and first; a
unit's timeline moves forward (a status never precedes, in rank or time, one already
recorded); a handover is accepted once, and only after it was submitted; an ECG id is used
once. Times of other events are not ordered: crews back-fill vitals after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, get_args

from avro_schemas.events import (
    ECG_ACQUIRED,
    HANDOVER_ACCEPTED,
    HANDOVER_SUBMITTED,
    INCIDENT_OPENED,
    UNIT_STATUS_CHANGED,
)
from kernel.jsontypes import Json
from services.ingest.tablet_models import UnitStatusName

# The NEMSIS-style unit timeline, in order: the tablet API's own list of statuses.
TIMELINE: tuple[str, ...] = get_args(UnitStatusName)


@dataclass(frozen=True)
class IncidentFacts:
    version: int = 0
    opened: bool = False
    station_id: str = ""  # the IncidentOpened's station: whose crews may write the incident
    # unit -> (timeline rank, time) of its latest status
    statuses: dict[str, tuple[int, Any]] = field(default_factory=dict)
    handover_submitted: bool = False
    handover_accepted: bool = False
    ecg_ids: frozenset[str] = frozenset()
    event_ids: frozenset[str] = frozenset()


def advance(facts: IncidentFacts, name: str, event: Json) -> IncidentFacts:
    """The facts once `event` (an `ems.incident` Avro record) is in the log."""
    facts = replace(
        facts,
        version=facts.version + 1,
        event_ids=facts.event_ids | {event["meta"]["event_id"]},
    )
    if name == INCIDENT_OPENED:
        return replace(facts, opened=True, station_id=event.get("station_id") or "")
    if name == UNIT_STATUS_CHANGED and event["status"] in TIMELINE:
        rank = TIMELINE.index(event["status"])
        statuses = {**facts.statuses, event["unit_id"]: (rank, event["meta"]["occurred_at"])}
        return replace(facts, statuses=statuses)
    if name == HANDOVER_SUBMITTED:
        return replace(facts, handover_submitted=True)
    if name == HANDOVER_ACCEPTED:
        return replace(facts, handover_accepted=True)
    if name == ECG_ACQUIRED:
        return replace(facts, ecg_ids=facts.ecg_ids | {event["ecg_id"]})
    return facts


def problem(facts: IncidentFacts, name: str, event: Json) -> str | None:
    """Why `event` cannot follow the incident's record as it stands, or None."""
    if name == INCIDENT_OPENED:
        return "the incident is already open" if facts.opened else None
    if not facts.opened:
        return "the incident is not open: its first event must be IncidentOpened"
    if name == UNIT_STATUS_CHANGED:
        return _timeline_problem(facts, event)
    if name == HANDOVER_ACCEPTED:
        if not facts.handover_submitted:
            return "no handover was submitted for this incident"
        if facts.handover_accepted:
            return "the handover was already accepted"
    if name == ECG_ACQUIRED and event["ecg_id"] in facts.ecg_ids:
        return f"ecg_id {event['ecg_id']} is already recorded on this incident"
    return None


def _timeline_problem(facts: IncidentFacts, event: Json) -> str | None:
    if event["status"] not in TIMELINE:
        return f"unknown unit status {event['status']}"
    latest = facts.statuses.get(event["unit_id"])
    if latest is None:
        return None
    rank, at = TIMELINE.index(event["status"]), event["meta"]["occurred_at"]
    if rank <= latest[0]:
        return (
            f"unit {event['unit_id']} is already {TIMELINE[latest[0]]}; "
            f"{event['status']} cannot follow it"
        )
    if at < latest[1]:
        return (
            f"{event['status']} at {at.isoformat()} is earlier than "
            f"{TIMELINE[latest[0]]} at {latest[1].isoformat()}"
        )
    return None


def check_batch(facts: IncidentFacts, events: list[tuple[str, Json]]) -> list[tuple[int, str]]:
    """(index in the batch, reason) for every event that cannot be appended; empty if the
    whole batch can. Each event is checked against the record *with* the batch's earlier
    events, which is the order the tablet sent and the log will keep."""
    problems: list[tuple[int, str]] = []
    for i, (name, event) in enumerate(events):
        if why := problem(facts, name, event):
            problems.append((i, why))
        facts = advance(facts, name, event)
    return problems
