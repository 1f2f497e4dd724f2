"""The AsyncAPI document of the region's topics (services/asyncapi.py): the committed copy is
what the catalogue generates today, it is valid AsyncAPI 3.0.0 by the AsyncAPI Initiative's
own JSON Schema (tests/data/asyncapi/README.md), and what it says matches the catalogue,
the topology, and the fingerprint the Avro specification defines, over the canonical form
Apache Avro's own library writes.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import avro.schema
import jsonschema_rs
import pytest

from avro_schemas.catalogue import EVENT_TYPES, TOPICS
from services.asyncapi import OUT, PUBLISHERS, document, render
from stream_processors.topology import projections

SPEC = Path(__file__).parents[1] / "data" / "asyncapi" / "asyncapi-3.0.0-without-id.json"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def doc() -> Json:
    return json.loads(OUT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SPEC.read_text(encoding="utf-8")))


def test_committed_document_is_what_the_catalogue_generates() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), (
        "deploy/asyncapi/asyncapi.json is stale: run `python -m services.asyncapi`"
    )


def test_document_is_valid_asyncapi_3_0_0(doc: Json, validator: Any) -> None:
    errors = [f"{list(e.instance_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("operations", "services.ingest.submit.send.clinic.ecg", "action"), "publish"),  # 2.x word
        (("channels", "ems.incident", "bindings", "kafka", "partitions"), 0),
        (("components", "messages", "EcgSubmitted", "payload", "schema", "type"), "recrod"),
    ],
)
def test_the_validator_refuses_broken_documents(
    doc: Json, validator: Any, path: tuple[str, ...], value: object
) -> None:
    broken = json.loads(json.dumps(doc))
    node = broken
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    assert not validator.is_valid(broken)


def test_every_topic_is_a_channel_with_its_partitions_and_every_event_a_message(
    doc: Json,
) -> None:
    for spec in TOPICS:
        channel = doc["channels"][spec.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == spec.partitions
        assert kafka["topicConfiguration"]["retention.ms"] == -1  # the log is the truth
        policy = ["compact"] if spec.compacted else ["delete"]
        assert kafka["topicConfiguration"]["cleanup.policy"] == policy
        assert f"{spec.name}.dlq" in doc["channels"]
    for name, event in EVENT_TYPES.items():
        short = name.rsplit(".", 1)[1]
        message = doc["components"]["messages"][short]
        assert message["name"] == name
        assert short in doc["channels"][event.topic]["messages"]
        assert event.key_field in message["bindings"]["kafka"]["key"]["description"]
        assert message["headers"]["required"] == ["event_id"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    return [r for v in node for r in _refs(v)] if isinstance(node, list) else []


def test_every_reference_resolves_within_the_document(doc: Json) -> None:
    """The JSON Schema does not follow `$ref`s: an operation naming a message its channel
    does not carry would pass it."""
    for ref in _refs({k: v for k, v in doc.items() if k != "components"}):
        node: Any = doc
        for step in ref.removeprefix("#/").split("/"):
            node = node[step.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict), ref


# CRC-64-AVRO as the Avro specification defines it ("Schema Fingerprints"): the empty
# fingerprint and the table built from it; the header carries the result little-endian.
EMPTY_64 = 0xC15D213AA4D7A795


def _crc_64_avro(data: bytes) -> bytes:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY_64 & -(fp & 1))
        table.append(fp)
    fp = EMPTY_64
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


def _canonical(schema: Json) -> bytes:
    """Parsing Canonical Form by Apache Avro's library, with the specification's
    [PRIMITIVES] rule applied where that library keeps `{"type":"long"}` for a logical type."""
    pcf = avro.schema.parse(json.dumps(schema)).canonical_form
    primitive = r'\{"type":"(null|boolean|int|long|float|double|bytes|string)"\}'
    return re.sub(primitive, r'"\1"', pcf).encode("utf-8")


def test_fingerprints_are_the_avro_specifications_crc_64_of_the_published_schema(
    doc: Json,
) -> None:
    for message in doc["components"]["messages"].values():
        schema = message["payload"]["schema"]
        assert message["payload"]["schemaFormat"] == "application/vnd.apache.avro;version=1.9.0"
        expected = _crc_64_avro(_canonical(schema)).hex()
        assert message["x-avro-fingerprint"] == expected, message["name"]


def test_every_event_has_a_publisher_and_every_publisher_exists() -> None:
    published = {name for names in PUBLISHERS.values() for name in names}
    assert published == set(EVENT_TYPES)
    for module in PUBLISHERS:
        importlib.import_module(module)


def test_every_processor_receives_each_topic_it_reads() -> None:
    operations = document()["operations"]
    for processor in projections("reading-centre", "region"):
        for topic in processor.topics:
            operation = operations[f"{processor.name}.receive.{topic}"]
            assert operation["action"] == "receive"
            assert operation["channel"] == {"$ref": f"#/channels/{topic}"}
            assert operation["messages"], f"{processor.name} on {topic} receives nothing"
