"""Hypothesis strategies for records of an Avro schema (as `load_current` returns it: named
types defined at first use, referred to by full name after that).

Values are chosen so that encode -> decode gives them back unchanged: timestamps as aware
UTC datetimes at microsecond precision, dates as dates, no NaN, floats representable in 32
bits for `float`. Union branches of one Python type are told apart by fastavro in order,
so a union is generated only from branches it would pick for the value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

Schema = Any

INT32 = 2**31 - 1
INT64 = 2**63 - 1
TIMES = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.just(dt.UTC),
)
TEXT = st.text(max_size=40)
SMALL = 4  # items of arrays and maps: enough to exercise block encoding, cheap to run


def record_of(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """Records valid for the record schema `schema`."""
    return _strategy(schema, {})  # type: ignore[no-any-return]


def _strategy(schema: Schema, named: dict[str, Schema]) -> st.SearchStrategy[Any]:
    if isinstance(schema, str):
        return _primitive(schema) if schema in _PRIMITIVES else _strategy(named[schema], named)
    if isinstance(schema, list):
        return st.one_of([_strategy(branch, named) for branch in _distinct(schema)])
    kind = schema["type"]
    if kind in ("record", "error"):
        named[schema["name"]] = schema
        return st.fixed_dictionaries(
            {f["name"]: _strategy(f["type"], named) for f in schema["fields"]}
        )
    if kind == "enum":
        named[schema["name"]] = schema
        return st.sampled_from(schema["symbols"])
    if kind == "fixed":
        named[schema["name"]] = schema
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], named), max_size=SMALL)
    if kind == "map":
        return st.dictionaries(TEXT, _strategy(schema["values"], named), max_size=SMALL)
    logical = schema.get("logicalType")
    if logical in ("timestamp-micros", "timestamp-millis"):
        if logical == "timestamp-millis":
            return TIMES.map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
        return TIMES
    if logical == "date":
        return st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1))
    return _strategy(kind, named)


_PRIMITIVES = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-INT32 - 1, INT32),
    "long": st.integers(-INT64 - 1, INT64),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "double": st.floats(allow_nan=False),
    "string": TEXT,
    "bytes": st.binary(max_size=40),
}


def _primitive(name: str) -> st.SearchStrategy[Any]:
    return _PRIMITIVES[name]


def _distinct(branches: list[Schema]) -> list[Schema]:
    """The branches of a union whose values fastavro cannot mistake for an earlier branch's:
    an int fits `long` and `double` alike, so only the first numeric branch is kept, and of
    several record branches only the first."""
    kept, seen = [], set()
    for branch in branches:
        kind = branch if isinstance(branch, str) else branch.get("type")
        family = {"int": "n", "long": "n", "float": "n", "double": "n"}.get(kind, kind)
        if family in ("record", "n", "array", "map", "string", "bytes") and family in seen:
            continue
        seen.add(family)
        kept.append(branch)
    return kept
