"""Search parameters served from the view store's lookups (no scans)."""

from __future__ import annotations

from services.outcome import FhirError
from viewstore.base import ViewStore

# resource type -> parameter -> (FHIR search type, lookup index)
SEARCH_PARAMS: dict[str, dict[str, tuple[str, str]]] = {
    "Patient": {"identifier": ("token", "Patient.identifier")},
    "Observation": {
        "identifier": ("token", "Observation.identifier"),
        "subject": ("reference", "Observation.subject"),
        "patient": ("reference", "Observation.subject"),
    },
    "ServiceRequest": {
        "subject": ("reference", "ServiceRequest.subject"),
        "patient": ("reference", "ServiceRequest.subject"),
    },
    "DiagnosticReport": {
        "subject": ("reference", "DiagnosticReport.subject"),
        "patient": ("reference", "DiagnosticReport.subject"),
    },
    "Task": {
        "patient": ("reference", "Task.for"),
    },
}


def _key(rtype: str, param: str, value: str) -> str:
    kind = SEARCH_PARAMS[rtype][param][0]
    if kind == "token" and "|" not in value:
        raise FhirError(400, f"{param} must be system|value", "invalid", [param])
    if kind == "reference" and "/" not in value:
        return f"Patient/{value}"
    return value


def search_ids(store: ViewStore, rtype: str, params: dict[str, str]) -> list[str]:
    """Ids matching every parameter (AND), sorted."""
    known = SEARCH_PARAMS[rtype]
    unknown = sorted(set(params) - set(known) - {"_count", "_format"})
    if unknown:
        raise FhirError(
            400,
            f"unsupported search parameter(s) for {rtype}: {', '.join(unknown)}",
            "not-supported",
            unknown,
        )
    criteria = {p: v for p, v in params.items() if p in known}
    if not criteria:
        raise FhirError(400, f"search {rtype} needs one of: {', '.join(known)}", "required")
    matches: set[str] | None = None
    for param, value in criteria.items():
        found = {
            i for t, i in store.lookup(known[param][1], _key(rtype, param, value)) if t == rtype
        }
        matches = found if matches is None else matches & found
    return sorted(matches or set())
