"""Single-object encoding and schema evolution, on the real schemas and on synthetic ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastavro.schema import load_schema

from avro_schemas import SCHEMA_DIR, evolution
from avro_schemas.catalogue import EVENT_TYPES
from avro_schemas.codec import MAGIC, Codec, UndecodableEvent, fingerprint_of
from tests.unit.test_fhir_fold import event

ECG = "goldenhour.ecg.EcgSubmitted"


def test_every_catalogued_event_has_a_schema_and_a_released_version() -> None:
    assert evolution.check() == []
    for name in EVENT_TYPES:
        assert list(SCHEMA_DIR.glob(f"v*/{name}.avsc")), name


def test_encode_decode_round_trip_with_header() -> None:
    codec = Codec()
    e = event()
    data = codec.encode(ECG, e)
    assert data[:2] == MAGIC
    assert data[2:10] == fingerprint_of(
        load_schema(str(SCHEMA_DIR / f"{ECG}.avsc"), _write_hint=False)
    )
    name, back = codec.decode(data)
    assert name == ECG and back == e


@pytest.mark.parametrize("data", [b"", b"{json}", MAGIC + b"\x01" * 8 + b"x"])
def test_undecodable_bytes_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        Codec().decode(data)


@pytest.fixture
def schema_copy(tmp_path: Path) -> Path:
    shutil.copytree(
        SCHEMA_DIR, tmp_path / "s", ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )
    return tmp_path / "s"


def _edit(schema_dir: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    path = schema_dir / f"{name}.avsc"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_added_field_with_default_is_released_and_old_data_still_decodes(schema_copy: Path) -> None:
    old = Codec(schema_copy).encode(ECG, event())
    _edit(
        schema_copy,
        ECG,
        lambda d: d["fields"].append({"name": "priority_score", "type": "int", "default": 0}),
    )
    assert any(ECG in p and "changed since v" in p for p in evolution.check(schema_copy))
    written = evolution.freeze(schema_copy)
    assert [p.name for p in written] == [f"{ECG}.avsc"]
    assert written[0].parent.name not in ("v1", "v2")
    assert evolution.check(schema_copy) == []
    name, record = Codec(schema_copy).decode(old)
    assert name == ECG and record["priority_score"] == 0


def test_new_field_without_default_is_refused(schema_copy: Path) -> None:
    _edit(schema_copy, ECG, lambda d: d["fields"].append({"name": "mandatory", "type": "string"}))
    problems = evolution.check(schema_copy)
    assert any("cannot read v1" in p and "mandatory" in p for p in problems), problems
    with pytest.raises(ValueError, match="incompatible"):
        evolution.freeze(schema_copy)


def test_changed_field_type_is_refused(schema_copy: Path) -> None:
    def retype(doc: dict) -> None:  # type: ignore[type-arg]
        next(f for f in doc["fields"] if f["name"] == "ecg_id")["type"] = "long"

    _edit(schema_copy, ECG, retype)
    assert any("cannot read v1" in p for p in evolution.check(schema_copy))


def test_v1_read_request_decodes_with_the_current_schema() -> None:
    import datetime as dt
    import io

    from fastavro import schemaless_writer

    v1 = load_schema(
        str(SCHEMA_DIR / "v1" / "goldenhour.ecg.ReadRequested.avsc"), _write_hint=False
    )
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    old = {
        "meta": {
            "event_id": "e",
            "occurred_at": now,
            "recorded_at": now,
            "source": {"channel": "http"},
        },
        "ecg_id": "E1",
        "reading_centre_id": "county",
        "region_id": None,
        "reason": None,
    }
    buf = io.BytesIO()
    schemaless_writer(buf, v1, old)
    name, record = Codec().decode(MAGIC + fingerprint_of(v1) + buf.getvalue())
    assert name == "goldenhour.ecg.ReadRequested"
    assert record["ecg_id"] == "E1" and record["urgency"] == "routine" and record["site"] is None
