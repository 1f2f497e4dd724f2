"""FHIR instants of `_since` / `_at` (history, time travel, export) and stored lastUpdated
values; `value_range` gives a partial date's period (`2026-11` is all of November).
Search values and their prefixes: services/fhir_api/search_values.py.
"""

from __future__ import annotations

import datetime as dt
import re

from services.outcome import FhirError

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?P<sec>:\d{2}(?P<frac>\.\d{1,9})?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

Range = tuple[dt.datetime, dt.datetime]


def parse_stored(value: str) -> dt.datetime:
    """A stored `meta.lastUpdated` as an aware UTC datetime."""
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def _trim_fraction(value: str) -> str:
    """`fromisoformat` takes at most 6 fractional digits."""
    return re.sub(r"(\.\d{6})\d+", r"\1", value)


def _date_range(m: re.Match[str]) -> Range:
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    low = dt.datetime(year, month, day, tzinfo=dt.UTC)
    if m[3]:
        return low, low + dt.timedelta(days=1)
    if m[2]:
        return low, (low + dt.timedelta(days=32)).replace(day=1)
    return low, low.replace(year=year + 1)


def _datetime_range(m: re.Match[str]) -> Range:
    low = dt.datetime.fromisoformat(_trim_fraction(m[0])).astimezone(dt.UTC)
    if m["frac"]:
        step = dt.timedelta(microseconds=10 ** max(0, 7 - len(m["frac"])))
    else:
        step = dt.timedelta(seconds=1) if m["sec"] else dt.timedelta(minutes=1)
    return low, low + step


def value_range(value: str, name: str) -> Range:
    """The period a date/dateTime search value names; 400 OperationOutcome if malformed."""
    date, datetime = _DATE.match(value), _DATETIME.match(value)
    if datetime and not datetime["tz"]:
        raise FhirError(
            400, f"{name}: {value!r} has a time but no timezone (Z or +hh:mm)", "invalid", [name]
        )
    if not (date or datetime):
        raise FhirError(
            400,
            f"{name}: {value!r} is not a FHIR date/dateTime "
            "(YYYY[-MM[-DD[Thh:mm[:ss[.fff]](Z|+hh:mm)]]])",
            "invalid",
            [name],
        )
    try:
        return _date_range(date) if date else _datetime_range(datetime)  # type: ignore[arg-type]
    except ValueError as exc:
        raise FhirError(
            400, f"{name}: {value!r} is not a valid date: {exc}", "invalid", [name]
        ) from exc


def parse_instant(value: str, name: str) -> dt.datetime:
    """A FHIR `instant` (to the second, with timezone) as aware UTC; 400 if it is not one."""
    if not _INSTANT.match(value):
        raise FhirError(
            400,
            f"{name} must be a FHIR instant (YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)), got {value!r}",
            "invalid",
            [name],
        )
    try:
        return dt.datetime.fromisoformat(_trim_fraction(value)).astimezone(dt.UTC)
    except ValueError as exc:
        raise FhirError(
            400, f"{name}: {value!r} is not a valid instant: {exc}", "invalid", [name]
        ) from exc
