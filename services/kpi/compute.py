"""The one entry point both the HTTP routes and `goldenhour kpi` use: read the log, keep what
was recorded by the instant asked for, fold, aggregate (`stream_processors.quality_kpis`)."""

from __future__ import annotations

import datetime as dt

from avro_schemas.codec import Codec
from eventlog.base import EventLog
from stream_processors.quality_kpis.aggregate import KpiReport, as_of
from stream_processors.quality_kpis.definitions import DIMENSIONS
from stream_processors.quality_kpis.log_source import log_events


class BadKpiQuery(ValueError):
    """An `as_of` without a UTC offset, or an unknown grouping."""


def parse_as_of(text: str | None) -> dt.datetime | None:
    """An ISO 8601 instant with its UTC offset (`2026-03-01T00:00+08:00`, `...Z`); None: now
    (everything in the log). A time without an offset is refused, never guessed."""
    if text is None or text == "":
        return None
    try:
        at = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadKpiQuery(f"as_of {text!r} is not an ISO 8601 date-time: {exc}") from exc
    if at.tzinfo is None:
        raise BadKpiQuery(f"as_of {text!r} needs a UTC offset (e.g. +08:00)")
    return at


def parse_by(text: str | None) -> str | None:
    if text is None or text in ("", "all"):
        return None
    if text not in DIMENSIONS:
        raise BadKpiQuery(f"by {text!r}: one of all, {', '.join(DIMENSIONS)}")
    return text


def kpi_report(log: EventLog, codec: Codec, at: dt.datetime | None, by: str | None) -> KpiReport:
    """The figures as of `at` (recorded_at <= at), grouped by `by`; linear in the log."""
    return as_of(log_events(log, codec), at, by)
