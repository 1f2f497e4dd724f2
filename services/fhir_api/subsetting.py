"""`_summary` and `_elements` (search.html#summary, search.html#elements): a searchset's
resources cut down to what the client asked for, marked SUBSETTED in `meta.tag`.

Summary elements are the ones the FHIR R4 definitions mark `isSummary`, read from the
fhir.resources (R4B) models the server validates with; mandatory elements are kept by
`_elements` too, so a subsetted resource still parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from fhir.resources.R4B import get_fhir_model_class

from kernel.jsontypes import Json
from services.outcome import FhirError

SUMMARY_MODES = ("true", "text", "data", "count", "false")
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
ALWAYS = {"resourceType", "id", "meta"}

Params = Sequence[tuple[str, str]]


def summary_mode(params: Params) -> str | None:
    """The `_summary` asked for (one of SUMMARY_MODES) or None."""
    values = [v for p, v in params if p == "_summary"]
    if not values:
        return None
    if len(values) > 1 or values[0] not in SUMMARY_MODES:
        raise FhirError(
            400, f"_summary must be one of {', '.join(SUMMARY_MODES)}", "invalid", ["_summary"]
        )
    return values[0]


def elements(params: Params) -> set[str] | None:
    """The top-level element names of `_elements` (comma lists, repetitions united)."""
    values = [e.strip() for p, v in params if p == "_elements" for e in v.split(",")]
    return {e for e in values if e} or None


@cache
def _model_elements(rtype: str) -> tuple[frozenset[str], frozenset[str]]:
    """(summary elements, mandatory elements) of a resource type, by JSON name."""
    model = get_fhir_model_class(rtype)
    summary, required = set(), set()
    for field in model.model_fields.values():
        name = field.alias or ""
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("summary_element_property"):
            summary |= {name, f"_{name}"}
        if field.is_required() or extra.get("element_required"):
            required |= {name, f"_{name}"}
    return frozenset(summary), frozenset(required)


def _choice(name: str, wanted: set[str]) -> bool:
    """`effectiveDateTime` is asked for by `effective` (and by itself)."""
    return name in wanted or any(
        name.startswith(w) and name[len(w) : len(w) + 1].isupper() for w in wanted
    )


def shape(resource: Json, mode: str | None, wanted: set[str] | None) -> Json:
    """`resource` as `_summary` / `_elements` ask; unchanged when neither does."""
    if mode in (None, "false", "count") and wanted is None:
        return resource
    summary, required = _model_elements(resource["resourceType"])
    if mode == "true":
        keep = {k for k in resource if k in summary or k in ALWAYS}
    elif mode == "text":
        keep = {k for k in resource if k in ALWAYS | required | {"text"}}
    elif mode == "data":
        keep = set(resource) - {"text"}
    else:
        keep = {k for k in resource if k in ALWAYS | required or _choice(k, wanted or set())}
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out
