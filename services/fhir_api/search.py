"""Search parameters served from the view store's lookups (no scans).

Criteria (search.html#token, search.html#reference) pick ids from the lookups; `_lastUpdated`
(search.html#lastUpdated) filters the matching resources and `_sort` (search.html#sort)
orders them, by id otherwise. Repeated parameters are ANDed (search.html#combining).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.fhir_api.instants import date_filter, parse_stored
from services.outcome import FhirError
from viewstore.base import StoredResource, ViewStore

# resource type -> parameter -> (FHIR search type, lookup index; for dates the element)
SEARCH_PARAMS: dict[str, dict[str, tuple[str, str]]] = {
    "Patient": {"identifier": ("token", "Patient.identifier")},
    "Observation": {
        "identifier": ("token", "Observation.identifier"),
        "subject": ("reference", "Observation.subject"),
        "patient": ("reference", "Observation.subject"),
        "encounter": ("reference", "Observation.encounter"),
        "code": ("token", "Observation.code"),
        "category": ("token", "Observation.category"),
        "date": ("date", "effective"),
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
    "Encounter": {
        "identifier": ("token", "Encounter.identifier"),
        "subject": ("reference", "Encounter.subject"),
        "patient": ("reference", "Encounter.subject"),
        "status": ("token", "Encounter.status"),
        "class": ("token", "Encounter.class"),
        "date": ("date", "period"),
    },
    "Procedure": {
        "subject": ("reference", "Procedure.subject"),
        "patient": ("reference", "Procedure.subject"),
        "encounter": ("reference", "Procedure.encounter"),
    },
    "MedicationAdministration": {
        "subject": ("reference", "MedicationAdministration.subject"),
        "patient": ("reference", "MedicationAdministration.subject"),
        "context": ("reference", "MedicationAdministration.encounter"),
    },
    "Flag": {
        "subject": ("reference", "Flag.subject"),
        "patient": ("reference", "Flag.subject"),
        "encounter": ("reference", "Flag.encounter"),
        "status": ("token", "Flag.status"),
    },
    "Composition": {
        "identifier": ("token", "Composition.identifier"),
        "subject": ("reference", "Composition.subject"),
        "patient": ("reference", "Composition.subject"),
        "encounter": ("reference", "Composition.encounter"),
        "type": ("token", "Composition.type"),
    },
}
# A bare id in a reference parameter names a resource of this type (Patient otherwise).
REFERENCE_TARGETS = {"encounter": "Encounter", "context": "Encounter"}
PARAM_DOCS = {
    "date": "prefixes eq, ge, gt, le, lt on the start of the resource's time (Encounter: "
    "period.start, Observation: effective[x]); combine with a criterion",
    "identifier": "system|value",
    "status": "code",
    "class": "[system|]code",
    "code": "[system|]code",
    "category": "[system|]code",
    "type": "[system|]code",
}

# parameters every type accepts (search.html#all, search.html#count, search.html#sort)
COMMON_PARAMS: dict[str, str] = {"_lastUpdated": "date", "_count": "number", "_sort": "string"}
RESULT_PARAMS = {"_count", "_offset", "_format", "_sort"}
SORTS = ("_lastUpdated", "-_lastUpdated")

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Sort:
    """`_sort` as a key: by meta.lastUpdated (then id) or, without `_sort`, by id."""

    by_last_updated: bool = False
    descending: bool = False


def _key(rtype: str, param: str, value: str) -> str:
    kind = SEARCH_PARAMS[rtype][param][0]
    if kind == "token" and param == "identifier" and "|" not in value:
        raise FhirError(400, f"{param} must be system|value", "invalid", [param])
    if kind == "reference" and "/" not in value:
        return f"{REFERENCE_TARGETS.get(param, 'Patient')}/{value}"
    return value


def _check_names(rtype: str, params: Params) -> None:
    known = SEARCH_PARAMS[rtype]
    allowed = set(known) | set(COMMON_PARAMS) | RESULT_PARAMS
    unknown = sorted({p for p, _ in params} - allowed)
    if unknown:
        raise FhirError(
            400,
            f"unsupported search parameter(s) for {rtype}: {', '.join(unknown)}",
            "not-supported",
            unknown,
        )


def search_ids(store: ViewStore, rtype: str, params: Params) -> list[str]:
    """Ids matching every lookup criterion (AND), sorted."""
    _check_names(rtype, params)
    known = {p: v for p, v in SEARCH_PARAMS[rtype].items() if v[0] != "date"}
    criteria = [(p, v) for p, v in params if p in known]
    if not criteria:
        raise FhirError(400, f"search {rtype} needs one of: {', '.join(known)}", "required")
    matches: set[str] | None = None
    for param, value in criteria:
        found = {
            i for t, i in store.lookup(known[param][1], _key(rtype, param, value)) if t == rtype
        }
        matches = found if matches is None else matches & found
    return sorted(matches or set())


def parse_sort(params: Params) -> Sort:
    """`_sort=_lastUpdated` or `-_lastUpdated` (search.html#sort); anything else is a 400."""
    values = [v for p, v in params if p == "_sort"]
    if not values:
        return Sort()
    if len(values) > 1 or values[0] not in SORTS:
        raise FhirError(
            400,
            f"_sort {','.join(values)!r} is not supported (use {' or '.join(SORTS)})",
            "not-supported",
            ["_sort"],
        )
    return Sort(by_last_updated=True, descending=values[0].startswith("-"))


def last_updated_filters(params: Params) -> list[Callable[[StoredResource], bool]]:
    """One predicate per `_lastUpdated` value (search.html#lastUpdated, search.html#prefix)."""
    return [
        _on_last_updated(date_filter(v, "_lastUpdated")) for p, v in params if p == "_lastUpdated"
    ]


def _on_last_updated(test: Callable[[dt.datetime], bool]) -> Callable[[StoredResource], bool]:
    def matches(resource: StoredResource) -> bool:
        return test(parse_stored(resource.last_updated))

    return matches


def date_filters(rtype: str, params: Params) -> list[Callable[[StoredResource], bool]]:
    """One predicate per date parameter (`date`: search.html#date), on the start of the
    resource's time; a resource without one does not match."""
    known = SEARCH_PARAMS[rtype]
    return [
        _on_element(known[p][1], date_filter(v, p))
        for p, v in params
        if p in known and known[p][0] == "date"
    ]


def _start_of(resource: dict[str, object], element: str) -> str | None:
    """`period` -> period.start; `effective` -> effectiveDateTime | Instant | Period.start."""
    candidates = (element, f"{element}DateTime", f"{element}Instant", f"{element}Period")
    for name in candidates:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start")
        if isinstance(value, str):
            return value
    return None


def _on_element(
    element: str, test: Callable[[dt.datetime], bool]
) -> Callable[[StoredResource], bool]:
    def matches(resource: StoredResource) -> bool:
        value = _start_of(json.loads(resource.body), element)
        return value is not None and test(_as_utc(value))

    return matches


def _as_utc(value: str) -> dt.datetime:
    """A stored date/dateTime/instant; a date or a time without zone is taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def needs_resources(rtype: str, params: Params) -> bool:
    """Whether filtering or sorting needs every match read, not only one page."""
    dates = {p for p, (kind, _) in SEARCH_PARAMS[rtype].items() if kind == "date"}
    return any(p in ("_lastUpdated", "_sort") or p in dates for p, _ in params)


def order(resources: list[StoredResource], sort: Sort) -> list[StoredResource]:
    """Resources in `_sort` order; ties (and no `_sort`) by id."""
    by_id = sorted(resources, key=lambda r: r.id)
    if not sort.by_last_updated:
        return by_id
    return sorted(by_id, key=lambda r: parse_stored(r.last_updated), reverse=sort.descending)
