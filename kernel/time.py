"""Time as the system writes it: one instant format, one clock.

Every instant the system stores is UTC with microseconds and a `Z`
(`2026-03-01T08:15:00.000000Z`): a valid FHIR `instant`, fixed width, so instants sort as
text (view indexes, the queue's due times, `changes` since a point).
"""

from __future__ import annotations

import datetime as dt


def instant(t: dt.datetime) -> str:
    """FHIR instant in UTC with microseconds: fixed width, so it sorts as text."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(value: str) -> dt.datetime:
    """An ISO 8601 instant (`Z` or an offset) as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def now() -> dt.datetime:
    """The wall clock, aware and in UTC: the recorded-at of what the system writes itself."""
    return dt.datetime.now(dt.UTC)
