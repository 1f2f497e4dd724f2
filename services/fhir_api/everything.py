"""`Patient/{id}/$everything` (patient-operation-everything.html): the Patient and every
resource that references it, found through the view store's lookups.

Served inputs: `_type` (comma-separated resource types, repeatable), `_since` (an instant:
only resources whose meta.lastUpdated is at or after it), `_count` / `_offset` paging.
The result is a searchset Bundle: the Patient first, then the others by type and id.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.fhir_api.instants import parse_instant, parse_stored
from services.outcome import FhirError
from viewstore.base import StoredResource, ViewStore

# lookup index holding "Patient/<id>" for each type that references a Patient
PATIENT_LINKS: dict[str, str] = {
    "Observation": "Observation.subject",
    "ServiceRequest": "ServiceRequest.subject",
    "DiagnosticReport": "DiagnosticReport.subject",
    "Task": "Task.for",
}
EVERYTHING_TYPES = ("Patient", *PATIENT_LINKS)
EVERYTHING_PARAMS = {"_type", "_since", "_count", "_offset", "_format"}
DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"

Params = Sequence[tuple[str, str]]


def _check_names(params: Params) -> None:
    unknown = sorted({p for p, _ in params} - EVERYTHING_PARAMS)
    if unknown:
        raise FhirError(
            400,
            f"unsupported parameter(s) for Patient/$everything: {', '.join(unknown)} "
            f"(supported: {', '.join(sorted(EVERYTHING_PARAMS))})",
            "not-supported",
            unknown,
        )


def parse_types(params: Params) -> set[str]:
    """`_type` values (comma lists, repeated parameters united); all types when absent."""
    raw = [t.strip() for p, v in params if p == "_type" for t in v.split(",")]
    if not raw:
        return set(EVERYTHING_TYPES)
    unknown = sorted({t for t in raw if t not in EVERYTHING_TYPES})
    if unknown:
        raise FhirError(
            400,
            f"_type: {', '.join(repr(t) for t in unknown)} not served by Patient/$everything "
            f"(one of {', '.join(EVERYTHING_TYPES)})",
            "not-supported",
            ["_type"],
        )
    return set(raw)


def _since(params: Params) -> str | None:
    values = [v for p, v in params if p == "_since"]
    if len(values) > 1:
        raise FhirError(400, "_since may be given once", "invalid", ["_since"])
    return values[0] if values else None


def everything(store: ViewStore, patient_id: str, params: Params) -> list[StoredResource]:
    """The Patient and its referencing resources, filtered, in Bundle order; 404 if no Patient."""
    _check_names(params)
    types = parse_types(params)
    raw_since = _since(params)
    since = parse_instant(raw_since, "_since") if raw_since is not None else None
    patient = store.read("Patient", patient_id)
    if patient is None:
        raise FhirError(404, f"Patient/{patient_id} not found", "not-found")
    found = [patient] if "Patient" in types else []
    for rtype, index in PATIENT_LINKS.items():
        if rtype not in types:
            continue
        ids = sorted({i for t, i in store.lookup(index, f"Patient/{patient_id}") if t == rtype})
        found.extend(r for r in (store.read(rtype, i) for i in ids) if r is not None)
    if since is None:
        return found
    return [r for r in found if parse_stored(r.last_updated) >= since]
