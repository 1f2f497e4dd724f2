"""`Composition/{id}/$document` (composition-operation-document.html): the Composition and
every resource it references, as a `document` Bundle assembled from the view store.

Bundle.entry[0] is the Composition, then the resources it references (subject, encounter,
authors, section entries), then what those reference in turn (subject, encounter, context,
hasMember), each once, in that breadth-first order; references the store cannot resolve
(identifier-only, contained, or not yet projected, e.g. an ECG still in flight) are left
out. The document is versioned with its Composition: `meta.versionId` (and the ETag) is the
Composition's version and `timestamp` its lastUpdated, so the document grows a version with
every incident event the Composition folds; `identifier` is the Composition's uuid, stable
per Composition (bdl-9). Served inputs: none besides `_format` (`persist` and `graph` are
not supported).
"""

from __future__ import annotations

import json
from typing import Any

from kernel.jsontypes import Json
from services.fhir_api.params import Params, refuse_unknown
from services.outcome import FhirError
from viewstore.base import StoredResource, ViewStore

DEFINITION = "http://hl7.org/fhir/OperationDefinition/Composition-document"
DOCUMENT_PARAMS = {"_format"}
FOLLOWED = ("subject", "encounter", "context", "patient", "hasMember")


def _refs_in(value: Any) -> list[str]:
    """Every `reference` anywhere inside `value`, in document order."""
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []


def _followed(resource: Json) -> list[str]:
    return [r for key in FOLLOWED for r in _refs_in(resource.get(key))]


def _composition_refs(composition: Json) -> list[str]:
    keys = ("subject", "encounter", "author", "section")
    return [r for key in keys for r in _refs_in(composition.get(key))]


def _local(ref: str) -> tuple[str, str] | None:
    """("Type", "id") of a relative literal reference, None for anything else."""
    parts = ref.split("/")
    if ref.startswith("#") or "://" in ref or len(parts) != 2:
        return None
    return parts[0], parts[1]


def _closure(store: ViewStore, composition: Json) -> list[StoredResource]:
    found: dict[tuple[str, str], StoredResource] = {}
    pending = _composition_refs(composition)
    seen = {("Composition", composition["id"])}
    while pending:
        key = _local(pending.pop(0))
        if key is None or key in seen:
            continue
        seen.add(key)
        stored = store.read(*key)
        if stored is not None:
            found[key] = stored
            pending += _followed(json.loads(stored.body))
    return list(found.values())


def _entry(base: str, stored: StoredResource) -> Json:
    return {
        "fullUrl": f"{base}/{stored.resource_type}/{stored.id}",
        "resource": json.loads(stored.body),
    }


def document(
    store: ViewStore, composition_id: str, base: str, params: Params
) -> tuple[Json, StoredResource]:
    """(document Bundle, the Composition version it was made from); 404 if no Composition."""
    refuse_unknown(params, DOCUMENT_PARAMS, "Composition/$document")
    stored = store.read("Composition", composition_id)
    if stored is None:
        raise FhirError(404, f"Composition/{composition_id} not found", "not-found")
    composition = json.loads(stored.body)
    bundle = {
        "resourceType": "Bundle",
        "meta": {"versionId": str(stored.version), "lastUpdated": stored.last_updated},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{composition_id}"},
        "type": "document",
        "timestamp": stored.last_updated,
        "entry": [_entry(base, stored)] + [_entry(base, r) for r in _closure(store, composition)],
    }
    return bundle, stored
