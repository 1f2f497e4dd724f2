"""JSON values as the system passes them around: decoded events, FHIR resources, view rows."""

from __future__ import annotations

import dataclasses
from typing import Any

# A JSON object (or an Avro record decoded to a dict): keys are strings, values anything.
Json = dict[str, Any]

# What a view document holds beside its state's fields: its type and id, and the `meta` the
# runner writes (versionId, lastUpdated, security labels).
DOCUMENT_KEYS = ("resourceType", "id", "meta")


def pick(doc: Json, *keys: str) -> Json:
    """The named members of `doc` (each must be there), as a new object: an event's fields
    kept in a state under the same names."""
    return {key: doc[key] for key in keys}


def shallow_fields(state: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict without `asdict`'s deep copy: fold states hold JSON
    values only and are serialised at once, so sharing them is safe (and 10x cheaper)."""
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


def state_document(resource_type: str, rid: str, state: Any, **derived: Any) -> Json:
    """A fold state (a dataclass of JSON values) as its view document: type, id, every
    field, then the `derived` values, computed from the fields for the document's readers."""
    return {"resourceType": resource_type, "id": rid, **shallow_fields(state), **derived}


def state_fields(doc: Json, *derived: str) -> Json:
    """The fields of the state a `state_document` was made from: the document without its
    DOCUMENT_KEYS and its `derived` keys."""
    skip = {*DOCUMENT_KEYS, *derived}
    return {key: value for key, value in doc.items() if key not in skip}
