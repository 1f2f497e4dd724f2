"""Schema evolution guard: every released version lives in `v<N>/<name>.avsc`, self-contained.

`check` refuses a current schema that cannot read data written by any released version of
the same record (Apache Avro's own reader/writer compatibility rules), and flags a change not
yet released. `freeze` releases changed schemas as the next version, after the same check.
"""

from __future__ import annotations

import json
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro.schema import to_parsing_canonical_form

from avro_schemas import SCHEMA_DIR
from avro_schemas.catalogue import DEAD_LETTER, EVENT_TYPES
from avro_schemas.codec import Schema, load_current, released_versions


def _avro(schema: Schema) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema))


def incompatibilities(reader: Schema, writer: Schema) -> list[str]:
    """Why `reader` cannot read data written with `writer` (empty when it can)."""
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(_avro(reader), _avro(writer))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return [f"{m} at {loc}" for m, loc in zip(result.messages, result.locations, strict=False)]


def _latest(schema_dir: Path) -> dict[str, tuple[int, Schema]]:
    return {name: (v, s) for v, name, s in released_versions(schema_dir)}


def _same(a: Schema, b: Schema) -> bool:
    # Full JSON, not canonical form: a new default or doc is a change worth a version too.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check(schema_dir: Path = SCHEMA_DIR, names: list[str] | None = None) -> list[str]:
    """Problems found; an empty list means the current schemas are safe to deploy."""
    names = names or [*EVENT_TYPES, DEAD_LETTER]
    latest = _latest(schema_dir)
    problems: list[str] = []
    for name in names:
        current = load_current(name, schema_dir)
        for version, vname, old in released_versions(schema_dir):
            if vname == name:
                problems += [
                    f"{name}: cannot read v{version}: {p}" for p in incompatibilities(current, old)
                ]
        if name not in latest:
            problems.append(f"{name}: never released; run `goldenhour schemas freeze`")
        elif not _same(current, latest[name][1]):
            problems.append(
                f"{name}: changed since v{latest[name][0]}; run `goldenhour schemas freeze`"
            )
    return problems


def freeze(schema_dir: Path = SCHEMA_DIR, names: list[str] | None = None) -> list[Path]:
    """Release every changed schema as the next version; refuses incompatible changes."""
    names = names or [*EVENT_TYPES, DEAD_LETTER]
    blocking = [p for p in check(schema_dir, names) if "cannot read" in p]
    if blocking:
        raise ValueError("incompatible schema change:\n" + "\n".join(blocking))
    latest = _latest(schema_dir)
    next_version = 1 + max((v for v, _ in latest.values()), default=0)
    written = []
    for name in names:
        current = load_current(name, schema_dir)
        if name in latest and _same(current, latest[name][1]):
            continue
        path = schema_dir / f"v{next_version}" / f"{name}.avsc"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(current, indent=2) + "\n")
        written.append(path)
    return written


def canonical(schema: Schema) -> str:
    return to_parsing_canonical_form(schema)
