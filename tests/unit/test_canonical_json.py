"""The compiled canonical JSON writes exactly the bytes of its definition (json.dumps with
sorted keys, no spaces, UTF-8): stored bodies must not change when a rebuild rewrites them,
and floats, NaN and what the standard library refuses are where orjson differs."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import struct
from typing import Any

import pytest

from kernel.canonical_json import canonical_json
from stream_processors.fhir_projector import fold as projector
from tests import incident_script as script

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)


def deep(levels: int) -> list[Any]:
    nested: list[Any] = [1]
    for _ in range(levels):
        nested = [nested]
    return nested


def definition(doc: Any) -> bytes | type[Exception]:
    """The canonical form by its definition, or the exception type it raises."""
    try:
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        return type(exc)


def ours(doc: Any) -> bytes | type[Exception]:
    try:
        return canonical_json(doc)
    except (TypeError, ValueError) as exc:
        return type(exc)


def projected_resources() -> list[dict[str, Any]]:
    """Every version the FHIR projector writes for a scripted STEMI incident."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    versions: list[dict[str, Any]] = []
    for name, event in script.stemi_incident("INC-9", T0, "11010519491231002X"):
        refs = projector.refs(name, event)
        changed = projector.fold({r: state[r] for r in refs if r in state}, name, event)
        state.update(changed)
        versions += changed.values()
    return versions


def test_real_resources__same_bytes_as_the_definition() -> None:
    resources = projected_resources()
    assert len(resources) > 20
    for resource in resources:
        assert ours(resource) == definition(resource)
        named = {**resource, "name": [{"text": "张伟", "family": "张", "given": ["伟"]}]}
        assert ours(named) == definition(named)


@pytest.mark.parametrize(
    "doc",
    [
        {"text": "胸痛 2 小时，ST 段抬高 😀 \u2028\u2029 é", "中文键": "值", "b": "x"},
        {"control": '\x00\x01\x1f\x7f "\\ \n\t\r\b\f /<>&'},
        {"z": {"y": [{"b": 1, "a": [{"d": None, "c": True}]}], "x": {}}, "a": []},
        {"\U0001f600": 1, "\uffff": 2, "\ue000": 3, "a": 4, "Z": 5, "é": 6},
        {"value": 36.6, "low": 0.0001, "small": 1e-05, "tiny": -3.5e-07, "zero": -0.0},
        {"big": 1e16, "bigger": 1.2345678901234567e19, "below": 9999999999999998.0},
        {"nan": math.nan},
        {"inf": [math.inf, -math.inf, None]},
        {"int": 2**63 - 1, "neg": -(2**63), "huge": 2**70, "tuple": (1, 2)},
        {"id": "urn:uuid:1e-5", "note": "0.00001,"},  # look like floats orjson writes its own way
        {"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},  # refused by both
        {1: "int key"},
        {"deep": deep(300)},  # deeper than orjson writes
    ],
)
def test_edge_cases__same_bytes_or_same_refusal(doc: dict[Any, Any]) -> None:
    assert ours(doc) == definition(doc)


def test_floats_of_every_magnitude__same_bytes() -> None:
    rnd = random.Random(18)
    values = [struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0] for _ in range(5000)]
    values += [rnd.uniform(-1, 1) * 10.0**e for e in range(-30, 30) for _ in range(50)]
    for x in values:
        doc = {"valueQuantity": {"value": x, "unit": "mm[Hg]"}, "component": [x, {"v": x}]}
        assert ours(doc) == definition(doc), x
