"""FHIR R4 search values and how they match (search.html), as pure functions.

- Lists: `a,b` is OR; `\\,` is a comma inside a value (search.html#escaping).
- Prefixes (search.html#prefix) on dates, numbers and quantities: eq ne gt lt ge le sa eb ap,
  eq when absent.
- Dates (search.html#date): a value is a range given by its precision (`2024` the year,
  `2024-03` the month, `2024-03-05T10:00` the minute); a target's range is its own precision
  (or a Period, open where an end is missing); a date without time is a UTC day, a time
  needs a timezone (400 otherwise: a guess would silently shift a search by hours). With S the search
  range and T the target's: eq = S contains T; ne = not eq; gt = T reaches past S's end;
  lt = T starts before S's start; ge = gt or eq; le = lt or eq; sa = T starts at or after
  S's end; eb = T ends at or before S's start; ap = T overlaps S widened by 10% of the
  distance from now (the page's recommendation).
- Numbers and quantities (search.html#number, #quantity): eq and ne use the implicit range of
  the value's significant figures (`100` is [99.5, 100.5)); gt lt ge le (and sa eb as gt lt)
  compare with the value itself; ap is within 10%. A quantity value may add `|system|code`
  (`||code` matches the code or the unit).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from services.outcome import FhirError

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
AP_FRACTION = Decimal("0.1")  # `ap`: 10% (search.html#prefix recommends 10%)
MIN = dt.datetime.min.replace(tzinfo=dt.UTC)
MAX = dt.datetime.max.replace(tzinfo=dt.UTC)
Range = tuple[dt.datetime, dt.datetime]  # [low, high)

DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?P<f>\.\d+)?)?(?P<z>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def split_values(raw: str) -> list[str]:
    """`a,b\\,c` -> ["a", "b,c"]: comma-separated alternatives (OR)."""
    parts = re.split(r"(?<!\\),", raw)
    return [p.replace("\\,", ",") for p in parts]


# The comparators of FHIR DSTU1, still sent by SMART's fhirclient (`$gte` -> `>=`), read as
# the R4 prefixes they became (HAPI does the same).
OLD_COMPARATORS = {">=": "ge", "<=": "le", "!=": "ne", ">": "gt", "<": "lt"}


def split_prefix(value: str) -> tuple[str, str]:
    """`ge2024` -> ("ge", "2024"); `>=2024` too; no prefix -> ("eq", value)."""
    if value[:2] in PREFIXES and len(value) > 2:
        return value[:2], value[2:]
    for old, prefix in OLD_COMPARATORS.items():
        if value.startswith(old) and len(value) > len(old):
            return prefix, value[len(old) :]
    return "eq", value


# -- dates ----------------------------------------------------------------------------------


def date_range(text: str, name: str = "date") -> Range:
    """The range a date, dateTime or instant covers at its precision (UTC when zoneless)."""
    found = DATE.match(text.strip())
    if found is None:
        raise FhirError(400, f"{name}: {text!r} is not a FHIR date/dateTime", "invalid", [name])
    g = found.groupdict()
    if g["H"] is not None and g["z"] is None:  # refuse to guess a zone (dates alone are UTC)
        raise FhirError(400, f"{name}: {text!r} has a time but no timezone", "invalid", [name])
    zone = dt.UTC if g["z"] in (None, "Z") else _offset(g["z"])
    try:
        low = dt.datetime(
            int(g["y"]), int(g["m"] or 1), int(g["d"] or 1),
            int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0),
            int(((g["f"] or ".0") + "000000")[1:7]), tzinfo=zone,
        ).astimezone(dt.UTC)  # fmt: skip
    except ValueError as exc:
        raise FhirError(
            400, f"{name}: {text!r} is not a valid date: {exc}", "invalid", [name]
        ) from exc
    return low, _end(low, g)


def _offset(text: str) -> dt.timezone:
    sign = -1 if text[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def _end(low: dt.datetime, g: dict[str, str | None]) -> dt.datetime:
    if g["m"] is None:
        return low.replace(year=low.year + 1)
    if g["d"] is None:
        return (low.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if g["H"] is None:
        return low + dt.timedelta(days=1)
    if g["S"] is None:
        return low + dt.timedelta(minutes=1)
    digits = len(g["f"] or ".") - 1
    return low + dt.timedelta(microseconds=10 ** (6 - min(digits, 6)))


def target_range(value: Any) -> Range | None:
    """The range of a resource's date, dateTime, instant or Period; None for others."""
    if isinstance(value, str) and DATE.match(value):
        return date_range(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        low = date_range(value["start"])[0] if "start" in value else MIN
        high = date_range(value["end"])[1] if "end" in value else MAX
        return low, high
    return None


def date_matches(prefix: str, search: Range, target: Range, now: dt.datetime) -> bool:
    """Whether `target` matches `prefix` + `search` (the module docstring's table)."""
    (s_lo, s_hi), (t_lo, t_hi) = search, target
    contains = s_lo <= t_lo and t_hi <= s_hi
    if prefix == "ap":
        margin = abs(now - s_lo) * 0.1
        return t_lo < s_hi + margin and t_hi > s_lo - margin
    return {
        "eq": contains,
        "ne": not contains,
        "gt": t_hi > s_hi,
        "lt": t_lo < s_lo,
        "ge": t_hi > s_hi or contains,
        "le": t_lo < s_lo or contains,
        "sa": t_lo >= s_hi,
        "eb": t_hi <= s_lo,
    }[prefix]


# -- numbers and quantities -----------------------------------------------------------------


def number(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise FhirError(400, f"{name}: {text!r} is not a number", "invalid", [name]) from exc
    if not value.is_finite():
        raise FhirError(400, f"{name}: {text!r} is not a number", "invalid", [name])
    return value


def number_matches(prefix: str, search: Decimal, target: Decimal) -> bool:
    """`target` against `prefix` + `search` (the module docstring's rules)."""
    half = Decimal(5).scaleb(search.as_tuple().exponent - 1)  # type: ignore[operator]
    if prefix in ("eq", "ne"):
        inside = search - half <= target < search + half
        return inside if prefix == "eq" else not inside
    if prefix == "ap":
        return abs(target - search) <= max(abs(search) * AP_FRACTION, half)
    return {
        "gt": target > search,
        "sa": target > search,
        "lt": target < search,
        "eb": target < search,
        "ge": target >= search,
        "le": target <= search,
    }[prefix]


def quantity_value(text: str, name: str) -> tuple[str, Decimal, str | None, str | None]:
    """`[prefix]number[|system|code]` -> (prefix, number, system or None, code or None)."""
    prefix, rest = split_prefix(text)
    parts = rest.split("|")
    if len(parts) not in (1, 3):
        raise FhirError(400, f"{name}: {text!r}: use [prefix]number|system|code", "invalid", [name])
    system, code = (parts[1] or None, parts[2] or None) if len(parts) == 3 else (None, None)
    return prefix, number(parts[0], name), system, code


def quantity_matches(search: tuple[str, Decimal, str | None, str | None], target: Any) -> bool:
    """A Quantity element against a parsed quantity value."""
    prefix, value, system, code = search
    if not isinstance(target, dict) or "value" not in target:
        return False
    if system is not None and target.get("system") != system:
        return False
    units = {target.get("code")} if system is not None else {target.get("code"), target.get("unit")}
    if code is not None and code not in units:
        return False
    return number_matches(prefix, value, Decimal(str(target["value"])))


def reference_key(value: str, default_type: str) -> str:
    """`Type/id` of a reference search value: `Type/id`, `id` (of `default_type`), an
    absolute URL or a versioned reference (search.html#reference)."""
    value = value.split("/_history/", 1)[0].rstrip("/")
    parts = value.split("/")
    if len(parts) == 1:
        return f"{default_type}/{value}"
    return "/".join(parts[-2:])
