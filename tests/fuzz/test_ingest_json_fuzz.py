"""ECG and tablet JSON bodies, generated and mutated, through the models the API validates
them with (`model_validate_json`, as `fast_body.json_body` does): a valid model or a
`ValidationError` (the 400/422 OperationOutcome), never another exception. What the models
accept must also become an event the Avro codec can encode, or the request would be a 500
after validation."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from avro_schemas.codec import Codec
from services.ingest.ecg_models import EcgIn, ecg_event
from services.ingest.tablet_events import to_event
from services.ingest.tablet_examples import BATCH_EXAMPLES
from services.ingest.tablet_models import IncidentBatch, PositionBatch
from tests.ecg_payloads import ecg_payload
from tests.fuzz.budget import examples, tallied

RECORDED = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-11-23T18:02:11+08:00",
            "2026-11-23T18:02:11",
            "1949-12-31",
            "11010519491231002X",
            "https://goldenhour.health/sid/cn-resident-id",
            "urgent",
            "EN_ROUTE",
            "IncidentOpened",
            "VitalsRecorded",
            "EcgAcquired",
            "x" * 70,
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@functools.cache
def codec() -> Codec:
    return Codec()


@functools.cache
def ecg_base() -> str:
    body = ecg_payload()
    body["leads"] = {lead: samples[:250] for lead, samples in body["leads"].items()}
    body["sampling_rate_hz"] = 100  # 2.5 s, the shortest accepted: cheap to validate
    return json.dumps(body)


@functools.cache
def batch_bases() -> tuple[str, ...]:
    return tuple(json.dumps(e["value"]) for e in BATCH_EXAMPLES.values())


POSITIONS = json.dumps(
    {
        "device_id": "tablet-amb-07",
        "positions": [
            {
                "event_id": "p-1",
                "unit_id": "amb-07",
                "station_id": "station-chengguan",
                "occurred_at": "2026-11-23T09:45:00+08:00",
                "latitude": 34.27,
                "longitude": 108.95,
                "speed_kmh": 42.0,
                "heading_deg": 90.0,
            }
        ],
    }
)


def _paths(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, but not inside long sample arrays."""
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*here, i))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated_json(draw: st.DrawFn, base: str) -> bytes:
    """`base` with a few values replaced, keys dropped or added, lists emptied or grown;
    sometimes the text itself cut or a byte changed (mostly invalid JSON)."""
    doc = json.loads(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent, key = _at(doc, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "grow"]))
        if op == "replace":
            parent[key] = draw(JSON)
        elif op == "drop":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON)
        elif op == "grow" and isinstance(parent[key], list) and parent[key]:
            parent[key] = parent[key] * draw(st.integers(0, 3))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))  # NaN, Infinity: not JSON
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "}", "\x00", "\\ud800", '"', "1e999"]))
    return text.encode("utf-8", "surrogatepass")


def validated(model: type[BaseModel], data: bytes) -> BaseModel | None:
    try:
        return model.model_validate_json(data)
    except ValidationError:
        return None


@examples(1200)
@given(st.data())
@tallied("json: mutated EcgIn")
def test_ecg_in__mutated_bodies_validate_or_are_refused_and_valid_ones_encode(
    data: st.DataObject,
) -> None:
    ecg = validated(EcgIn, data.draw(mutated_json(ecg_base())))
    if isinstance(ecg, EcgIn):
        codec().encode("goldenhour.ecg.EcgSubmitted", ecg_event(ecg, RECORDED))


@examples(1200)
@given(st.data())
@tallied("json: mutated IncidentBatch")
def test_incident_batch__mutated_bodies_validate_or_are_refused_and_valid_ones_encode(
    data: st.DataObject,
) -> None:
    base = data.draw(st.sampled_from(batch_bases()))
    batch = validated(IncidentBatch, data.draw(mutated_json(base)))
    if isinstance(batch, IncidentBatch):
        for item in batch.events:
            codec().encode(*to_event(item, "inc-fuzz", RECORDED, batch.device_id, batch.user_id))


@examples(500)
@given(st.data())
@tallied("json: mutated PositionBatch")
def test_position_batch__mutated_bodies_validate_or_are_refused(data: st.DataObject) -> None:
    validated(PositionBatch, data.draw(mutated_json(POSITIONS)))


@examples(600)
@given(st.sampled_from([EcgIn, IncidentBatch, PositionBatch]), JSON | st.binary(max_size=60))
@tallied("json: arbitrary documents and bytes")
def test_models__arbitrary_json_and_bytes_validate_or_are_refused(
    model: type[BaseModel], body: Any
) -> None:
    validated(model, body if isinstance(body, bytes) else json.dumps(body).encode())
