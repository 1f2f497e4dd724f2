"""The one entry point both the HTTP routes and `goldenhour kpi` use: read the log, keep what
was recorded by the instant asked for, fold, aggregate (`stream_processors.quality_kpis`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from avro_schemas.codec import Codec
from eventlog.base import EventLog
from services.i18n import DEFAULT_ZONE, Msg
from stream_processors.quality_kpis.published import (
    DIMENSIONS,
    KpiReport,
    aggregate,
    as_of,
    log_events,
)

DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadKpiQuery(ValueError):
    """An `as_of` that is neither a date nor an instant with its offset, an unknown
    grouping, or a period that ends before it starts. Carries the message for people."""

    def __init__(self, message: Msg, parameter: str):
        super().__init__(str(message))
        self.message = message
        self.parameter = parameter


def parse_as_of(text: str | None, zone: str = DEFAULT_ZONE) -> dt.datetime | None:
    """An ISO 8601 instant with its UTC offset (`2026-03-01T00:00+08:00`, `...Z`), or a date
    alone (`2026-03-01`: the end of that day in `zone`, i.e. everything recorded that day
    counts); None: now (everything in the log). A time without an offset is refused, never
    guessed."""
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if DATE_ONLY.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise BadKpiQuery(
                Msg("as_of {value} is not a valid date", value=text), "as_of"
            ) from exc
        return end_of_day(day, zone)
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadKpiQuery(
            Msg(
                "as_of {value} is neither a date (2026-03-01) nor a date-time with its UTC offset (2026-03-01T08:00+08:00)",
                value=text,
            ),
            "as_of",
        ) from exc
    if at.tzinfo is None:
        raise BadKpiQuery(
            Msg("as_of {value} needs a UTC offset (e.g. +08:00)", value=text), "as_of"
        )
    return at


def end_of_day(day: dt.date, zone: str = DEFAULT_ZONE) -> dt.datetime:
    """The last microsecond of `day` in `zone`."""
    start_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZoneInfo(zone))
    return start_next - dt.timedelta(microseconds=1)


def parse_period(
    start: str | None, end: str | None, zone: str = DEFAULT_ZONE
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """A period of cases by their start time: `from` and `to` are dates (both included) in
    `zone`; either may be left out."""
    bounds: list[dt.datetime | None] = []
    for name, text, last in (("from", start, False), ("to", end, True)):
        if not text or not text.strip():
            bounds.append(None)
            continue
        try:
            day = dt.date.fromisoformat(text.strip())
        except ValueError as exc:
            raise BadKpiQuery(
                Msg("{name} {value} is not a date (e.g. 2026-03-01)", name=name, value=text), name
            ) from exc
        first = dt.datetime.combine(day, dt.time(), ZoneInfo(zone))
        bounds.append(end_of_day(day, zone) if last else first)
    if bounds[0] and bounds[1] and bounds[1] < bounds[0]:
        raise BadKpiQuery(Msg("the period ends before it starts"), "to")
    return bounds[0], bounds[1]


def parse_by(text: str | None) -> str | None:
    if text is None or text in ("", "all"):
        return None
    if text not in DIMENSIONS:
        raise BadKpiQuery(
            Msg("by {value}: one of all, {choices}", value=text, choices=", ".join(DIMENSIONS)),
            "by",
        )
    return text


def in_period(report: KpiReport, start: dt.datetime | None, end: dt.datetime | None) -> KpiReport:
    """The report over the cases whose interval started within [start, end] only."""
    if start is None and end is None:
        return report
    kept = [
        c
        for c in report.case_list
        if (start is None or c.start >= start) and (end is None or c.start <= end)
    ]
    return replace(report, figures=aggregate(kept, report.by), case_list=kept)


def kpi_report(log: EventLog, codec: Codec, at: dt.datetime | None, by: str | None) -> KpiReport:
    """The figures as of `at` (recorded_at <= at), grouped by `by`; linear in the log."""
    return as_of(log_events(log, codec), at, by)
