"""Time as the system writes it: one instant format, one clock.

Every instant the system stores is UTC with microseconds and a `Z`
(`2026-03-01T08:15:00.000000Z`): a valid FHIR `instant`, fixed width, so instants sort as
text (view indexes, the queue's due times, `changes` since a point).
"""

from __future__ import annotations

import datetime as dt

INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def instant(t: dt.datetime) -> str:
    """FHIR instant in UTC with microseconds: fixed width, so it sorts as text."""
    utc = t.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime writes these years unpadded: kept as they always were
        return utc.strftime(INSTANT_FORMAT)
    # The same text as the format, ~5x faster (a rebuild stamps every event and version).
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_instant(value: str) -> dt.datetime:
    """An ISO 8601 instant (`Z` or an offset) as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def now() -> dt.datetime:
    """The wall clock, aware and in UTC: the recorded-at of what the system writes itself."""
    return dt.datetime.now(dt.UTC)
