"""Avro single-object encoding without a registry.

A message is `C3 01` + the writer schema's 8-byte CRC-64-AVRO fingerprint (little-endian, as
the Avro spec and Java write it) + the Avro binary body. The fingerprint -> writer schema
table holds every released version (`v<N>/`) and the current one, so a reader resolves any
known writer to the current reader schema; an unknown fingerprint is a clear error (the
processor dead-letters it), never a guess.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, load_schema, parse_schema, to_parsing_canonical_form

from avro_schemas import SCHEMA_DIR
from avro_schemas.catalogue import DEAD_LETTER, EVENT_TYPES

MAGIC = b"\xc3\x01"
HEADER_LEN = 10

Schema = dict[str, Any]


class UndecodableEvent(ValueError):
    """The bytes are not a single-object encoded event this codec knows how to read."""


def fingerprint_of(parsed: Schema) -> bytes:
    """The 8 header bytes identifying `parsed` (CRC-64-AVRO of its canonical form)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def load_current(name: str, schema_dir: Path = SCHEMA_DIR) -> Schema:
    """The current schema of a record, with named types it references resolved from the
    flat directory (`<namespace>.<Name>.avsc`)."""
    return cast(Schema, load_schema(str(schema_dir / f"{name}.avsc"), _write_hint=False))


def released_versions(schema_dir: Path = SCHEMA_DIR) -> list[tuple[int, str, Schema]]:
    """(version, record name, self-contained schema) of every released version, oldest first."""
    out = []
    for vdir in sorted(schema_dir.glob("v[0-9]*"), key=lambda p: int(p.name[1:])):
        for path in sorted(vdir.glob("*.avsc")):
            schema = cast(Schema, load_schema(str(path), _write_hint=False))
            out.append((int(vdir.name[1:]), path.stem, schema))
    return out


@dataclass(frozen=True)
class Writer:
    name: str
    schema: Schema


class Codec:
    """Encodes with the current schemas, decodes any known writer version."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR, names: Iterable[str] | None = None):
        names = list(names or [*EVENT_TYPES, DEAD_LETTER])
        self._current = {n: cast(Schema, parse_schema(load_current(n, schema_dir))) for n in names}
        self._header = {n: MAGIC + fingerprint_of(s) for n, s in self._current.items()}
        self._writers = {
            fingerprint_of(s): Writer(n, cast(Schema, parse_schema(s)))
            for _, n, s in released_versions(schema_dir)
            if n in self._current
        }
        self._writers.update({h[2:]: Writer(n, self._current[n]) for n, h in self._header.items()})

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        """Single-object encoding of `record` with the current schema of `name`."""
        buf = io.BytesIO()
        buf.write(self._header[name])
        schemaless_writer(buf, self._current[name], record)
        return buf.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """(record name, record as the current reader schema sees it)."""
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise UndecodableEvent("not Avro single-object encoding (missing C3 01 header)")
        writer = self._writers.get(data[2:HEADER_LEN])
        if writer is None:
            raise UndecodableEvent(f"unknown writer schema fingerprint {data[2:HEADER_LEN].hex()}")
        try:
            record = schemaless_reader(
                io.BytesIO(data[HEADER_LEN:]), writer.schema, self._current[writer.name]
            )
        except Exception as exc:  # fastavro raises several types for corrupt bodies
            raise UndecodableEvent(f"corrupt {writer.name} body: {exc}") from exc
        return writer.name, record  # type: ignore[return-value]
