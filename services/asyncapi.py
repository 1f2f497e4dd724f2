"""The region's Kafka topics as an AsyncAPI 3.0 document, generated from the one catalogue, so
the published interface cannot drift from what runs:

    channels    one per topic of `avro_schemas.catalogue.all_topics()` (event topics and
                their dead-letter topics): partitions, and the topic configuration Kafka
                creates it with (`eventlog.kafka.admin.topic_configs`)
    messages    one per event of `catalogue.EVENT_TYPES`: its current Avro schema
                (`schemaFormat` Avro 1.9.0, named types resolved from the flat `.avsc`
                directory as the codec loads them), the CRC-64-AVRO fingerprints of the
                current and every released version, the record key (the event's key field),
                the `event_id` header
    operations  `send` by the modules that append each event (`PUBLISHERS`, checked
                against the catalogue by tests/unit/test_asyncapi.py), `receive` by every
                processor of `stream_processors.topology` on each topic it reads, naming the
                events its fold table folds (all the topic's events for a processor that
                folds none of them and only derives events from them)

`goldenhour schemas asyncapi` prints it; `python -m services.asyncapi` rewrites the committed
copy, deploy/asyncapi/asyncapi.json, which the test compares with a fresh generation and
validates against the AsyncAPI 3.0.0 JSON Schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from fastavro.schema import parse_schema

from avro_schemas import events as ev
from avro_schemas.catalogue import DEAD_LETTER, EVENT_TYPES, INCIDENT, all_topics
from avro_schemas.codec import Schema, fingerprint_of, load_current, released_versions
from eventlog.base import TopicSpec
from eventlog.kafka.admin import topic_configs
from eventlog.kafka.clients import EVENT_ID_HEADER
from kernel.jsontypes import Json
from stream_processors.registry.published import EVENTS as REGISTRY_EVENTS
from stream_processors.runner import Projection
from stream_processors.topology import projections

OUT = Path(__file__).resolve().parents[1] / "deploy" / "asyncapi" / "asyncapi.json"
AVRO = "application/vnd.apache.avro;version=1.9.0"
KAFKA_BINDING = "0.5.0"
NAMED_TYPES = ("record", "enum", "fixed")

# Who appends each event: the module that writes it to the log (services on the write
# side; processors that derive events). Every event of the catalogue has one at least.
PUBLISHERS: dict[str, tuple[str, ...]] = {
    # the tablet API takes every event of an incident (services/ingest/tablet_events.py)
    "services.ingest.tablet": tuple(n for n, t in EVENT_TYPES.items() if t.topic == INCIDENT),
    "services.board.board": (ev.HANDOVER_ACCEPTED,),
    "services.ingest.tablet_routes": (ev.UNIT_POSITION_REPORTED,),
    # HTTP /ingest/ecg and /ingest/ecg-file, and HL7 v2 ORU^R01 over MLLP
    "services.ingest.submit": (ev.ECG_SUBMITTED, ev.READ_REQUESTED),
    "stream_processors.incident_ecg.processor": (ev.ECG_SUBMITTED, ev.READ_REQUESTED),
    "stream_processors.ecg_measurement.processor": (ev.ECG_MEASURED,),
    # Patient and hospital Encounter facts, re-keyed by resource (fhir_projector/patient_facts.py)
    "stream_processors.fhir_projector.processor": (
        ev.PATIENT_STATED,
        ev.PATIENT_LINK_CHANGED,
        ev.VISIT_REPORTED,
        ev.DISPOSITION_STATED,
    ),
    "services.reading.queue": (
        ev.READ_CLAIMED,
        ev.READ_RELEASED,
        ev.READ_REPORTED,
        ev.READ_ESCALATED,
        ev.MEASUREMENT_EDITED,
        ev.READ_AMENDED,
    ),
    "services.hl7_gateway.report_sender": (ev.REPORT_DELIVERED,),
    "services.hl7_gateway.adt_intake": (
        ev.PATIENT_REGISTERED,
        ev.PATIENT_ADMITTED,
        ev.PATIENT_TRANSFERRED,
        ev.PATIENT_DISCHARGED,
        ev.PATIENT_UPDATED,
    ),
    # FHIR Patient/$merge and $unmerge, HL7 ADT^A40
    "services.ingest.patient_links": (ev.PATIENT_LINKED, ev.PATIENT_UNLINKED),
    "services.fhir_api.subscription_routes": (ev.SUBSCRIPTION_REQUESTED, ev.SUBSCRIPTION_DELETED),
    "stream_processors.notifier.processor": (ev.NOTIFICATION_TRIGGERED,),
    "services.subscriptions.sender": (ev.NOTIFICATION_DELIVERED, ev.SUBSCRIPTION_STATUS_CHANGED),
    "services.auth.audit": (ev.ACCESS_RECORDED,),
    "services.registry.commands": tuple(REGISTRY_EVENTS),
    "services.command.writes": (
        ev.MCI_DECLARED,
        ev.MCI_CLOSED,
        ev.CASUALTY_TRIAGED,
        ev.CASUALTY_ASSIGNED,
        ev.HOSPITAL_CAPACITY_REPORTED,
        ev.ESCORT_ROUTE_UPDATED,
        ev.SURVEILLANCE_ALERT_ACKNOWLEDGED,
    ),
    "services.command.escort_sender": (ev.ESCORT_ACKNOWLEDGED,),
    "stream_processors.escort.processor": (ev.ESCORT_REQUESTED,),
    "stream_processors.surveillance.processor": (ev.SURVEILLANCE_ALERT_RAISED,),
    "services.fhir_api.outcome_write": (
        ev.PROCEDURE_REPORTED,
        ev.CONDITION_REPORTED,
        ev.DISPOSITION_REPORTED,
    ),
}
DLQ_PUBLISHER = "stream_processors.runner"  # a record no processor could fold, per topic

DESCRIPTION = """\
Every fact of the region is an event appended to one of these Kafka topics; the platform's
own services and processors, and other teams' consumers, read them.

- **Records.** The value is Avro single-object encoding: `C3 01`, the writer schema's
  8-byte CRC-64-AVRO fingerprint (little-endian), the Avro binary body. Each message gives
  the fingerprint of its current schema (`x-avro-fingerprint`) and of every released
  version (`x-avro-released-fingerprints`, schemas in `avro_schemas/v<N>/`); a reader finds
  the writer schema by fingerprint, then reads with its own. The fingerprint is taken over
  the Parsing Canonical Form (Avro specification), which drops `doc`, `default` and
  `logicalType` and writes a primitive as its bare name: `"long"` for a timestamp. Some
  libraries differ: Apache Avro's Python library (1.12) keeps `{"type":"long"}` there and
  so computes other fingerprints for schemas with timestamps.
- **Keys.** The key is the UTF-8 text of the event's key field (`bindings.kafka.key`):
  every event of one incident, one ECG, one patient lands in one partition, in order.
  Partitions are chosen by Kafka's default partitioner (murmur2 of the key, sign bit
  masked, modulo the partition count), so a producer with default settings keeps that order.
- **Headers.** `event_id` (UTF-8): the writer's idempotency key, unique per topic.
- **Topics** are created by the platform (never auto-created) with infinite retention, the
  record limit (`max.message.bytes`) and compaction where said; a deployment may prefix their names
  (`kafka://...?namespace=`). Producers compress records (zstd).
"""


def document() -> Json:
    """The AsyncAPI 3.0.0 document of every topic, event, publisher and processor."""
    messages = {_message_id(name): _message(name) for name in [*EVENT_TYPES, DEAD_LETTER]}
    channels = {spec.name: _channel(spec) for spec in all_topics()}
    operations = {**_sends(), **_receives(projections("reading-centre", "region"))}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "goldenhour: the region's event topics",
            "version": f"schemas v{_released()}",
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/octet-stream",
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {"messages": messages},
    }


def render() -> str:
    """The document as committed: JSON, keys in a stable order, one trailing newline."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


# -- channels ---------------------------------------------------------------------------------


def _topic_events(topic: str) -> list[str]:
    if topic.endswith(".dlq"):
        return [DEAD_LETTER]
    return [name for name, t in EVENT_TYPES.items() if t.topic == topic]


def _channel(spec: TopicSpec) -> Json:
    configs = topic_configs(spec)
    names = _topic_events(spec.name)
    keys = sorted({EVENT_TYPES[n].key_field for n in names if n in EVENT_TYPES})
    return {
        "address": spec.name,
        "description": f"Keyed by {', '.join(keys) or 'the source record key'}.",
        "messages": {
            _message_id(n): {"$ref": f"#/components/messages/{_message_id(n)}"} for n in names
        },
        "bindings": {
            "kafka": {
                "partitions": spec.partitions,
                "topicConfiguration": {
                    "cleanup.policy": [configs.get("cleanup.policy", "delete")],
                    "retention.ms": int(configs["retention.ms"]),
                    "max.message.bytes": int(configs["max.message.bytes"]),
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


# -- messages ---------------------------------------------------------------------------------


def _message_id(name: str) -> str:
    return ev.short(name)


def _message(name: str) -> Json:
    schema = load_current(name)
    key_field = EVENT_TYPES[name].key_field if name in EVENT_TYPES else None
    key_doc = (
        f"the event's `{key_field}`"
        if key_field
        else "the key of the record that could not be folded"
    )
    return {
        "name": name,
        "title": ev.short(name),
        "summary": schema.get("doc", ""),
        "headers": {
            "type": "object",
            "required": [EVENT_ID_HEADER],
            "properties": {
                EVENT_ID_HEADER: {"type": "string", "description": "the writer's idempotency key"}
            },
        },
        "payload": {"schemaFormat": AVRO, "schema": with_namespaces(schema)},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"UTF-8 text of {key_doc}"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-avro-fingerprint": _fingerprint(schema),
        "x-avro-released-fingerprints": _released_fingerprints(name),
    }


def with_namespaces(schema: Any) -> Any:
    """The schema with each named type's full name written as `namespace` + `name`, as the
    `.avsc` files write it (the codec's loader folds them into one dotted `name`; the
    AsyncAPI Avro schema wants a simple name). The same schema to any Avro parser."""
    if isinstance(schema, list):
        return [with_namespaces(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: with_namespaces(v) for k, v in schema.items()}
    if out.get("type") in NAMED_TYPES and "." in out.get("name", ""):
        out["namespace"], out["name"] = out["name"].rsplit(".", 1)
    # fastavro's loader does not keep the attributes' order from one process to the next
    # (it varies with the hash seed): write them in one order so the document is stable.
    return {k: out[k] for k in sorted(out, key=_attribute_rank)}


AVRO_ATTRIBUTES = ("type", "name", "namespace", "aliases", "doc", "logicalType", "fields")


def _attribute_rank(key: str) -> tuple[int, str]:
    return (
        (AVRO_ATTRIBUTES.index(key), "") if key in AVRO_ATTRIBUTES else (len(AVRO_ATTRIBUTES), key)
    )


def _fingerprint(schema: Schema) -> str:
    """CRC-64-AVRO of the schema's Parsing Canonical Form, in hex, in the byte order the
    record header carries it, as the codec computes it."""
    return fingerprint_of(cast(Schema, parse_schema(schema))).hex()


def _released_fingerprints(name: str) -> dict[str, str]:
    """The fingerprint of each released version of the record (`v<N>/`), a version equal
    to an earlier one not repeated: a reader of old records resolves these."""
    out: dict[str, str] = {}
    for version, released, schema in released_versions():
        if released == name and (hexa := _fingerprint(schema)) not in out.values():
            out[f"v{version}"] = hexa
    return out


def _released() -> int:
    return max((v for v, _, _ in released_versions()), default=0)


# -- operations -------------------------------------------------------------------------------


def _operation(action: str, who: str, topic: str, names: Iterable[str]) -> Json:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{topic}"},
        "title": who,
        "messages": [
            {"$ref": f"#/channels/{topic}/messages/{_message_id(n)}"} for n in sorted(names)
        ],
    }


def _sends() -> dict[str, Json]:
    out: dict[str, Json] = {}
    for module, names in PUBLISHERS.items():
        for topic in sorted({EVENT_TYPES[n].topic for n in names}):
            mine = [n for n in names if EVENT_TYPES[n].topic == topic]
            out[f"{module}.send.{topic}"] = _operation("send", module, topic, mine)
    for spec in all_topics():
        if spec.name.endswith(".dlq"):
            out[f"{DLQ_PUBLISHER}.send.{spec.name}"] = _operation(
                "send", DLQ_PUBLISHER, spec.name, [DEAD_LETTER]
            )
    return out


def _receives(processors: Iterable[Projection]) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for processor in processors:
        folds = set(getattr(processor, "folds", {}))
        for topic in processor.topics:
            names = _topic_events(topic)
            folded = [n for n in names if n in folds] or names
            out[f"{processor.name}.receive.{topic}"] = _operation(
                "receive", f"processor {processor.name}", topic, folded
            )
    return out


def main() -> None:
    """Rewrite the committed document (`--stdout`: print it instead)."""
    text = render()
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(text)
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
