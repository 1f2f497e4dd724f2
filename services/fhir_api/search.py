"""Search parameters served from the view store's lookups (no scans).

Criteria (search.html#token, search.html#reference) pick ids from the lookups; `_lastUpdated`
(search.html#lastUpdated) filters the matching resources and `_sort` (search.html#sort)
orders them, by id otherwise. Repeated parameters are ANDed (search.html#combining).
`_include` and `_revinclude` (search.html#include) add, for the resources of the page, the
resources they reference (read from their bodies) and the resources referencing them (from
the lookups), as entries of search mode `include`; not `:iterate`, not `*`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.fhir_api.instants import date_filter, parse_stored
from services.outcome import FhirError
from stream_processors.fhir_projector.fold import NAME_PREFIX_MAX
from viewstore.base import StoredResource, ViewStore

# resource type -> parameter -> (FHIR search type, lookup index; for dates the element)
SEARCH_PARAMS: dict[str, dict[str, tuple[str, str]]] = {
    "Patient": {
        "identifier": ("token", "Patient.identifier"),
        "name": ("string", "Patient.name"),
        "family": ("string", "Patient.family"),
        "given": ("string", "Patient.given"),
        "gender": ("token", "Patient.gender"),
        # looked up, not filtered: eq on a day, a month or a year (1967, 1967-04, 1967-04-15)
        "birthdate": ("date", "Patient.birthdate"),
    },
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
        "code": ("token", "DiagnosticReport.code"),
        "status": ("token", "DiagnosticReport.status"),
        "date": ("date", "effective"),
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
    "Provenance": {
        "target": ("reference", "Provenance.target"),
        "patient": ("reference", "Provenance.target"),
    },
    # The access audit (stream_processors/audit/), admin only (services/auth/policy.py).
    # No `patient` parameter on purpose: types with one are in a patient's compartment
    # (Patient/Group $export); the patient is an `entity` (entity=Patient/<id>).
    "AuditEvent": {
        "agent": ("token", "AuditEvent.agent"),
        "entity": ("reference", "AuditEvent.entity"),
        "type": ("token", "AuditEvent.type"),
        "subtype": ("token", "AuditEvent.subtype"),
        "date": ("date", "recorded"),
    },
}
# A bare id in a reference parameter names a resource of this type (Patient otherwise).
REFERENCE_TARGETS = {"encounter": "Encounter", "context": "Encounter"}
PARAM_DOCS = {
    "date": "prefixes eq, ge, gt, le, lt on the start of the resource's time (Encounter: "
    "period.start, Observation: effective[x], AuditEvent: recorded); combine with a criterion",
    "agent": "the agent's subject (the bearer token's sub, or anonymous)",
    "entity": "a resource the access was about, e.g. Patient/<id> (a bare id: a Patient)",
    "subtype": "[system|]code (restful-interaction: read, vread, search-type, create, ...)",
    "identifier": "system|value",
    "status": "code",
    "class": "[system|]code",
    "code": "[system|]code",
    "category": "[system|]code",
    "type": "[system|]code",
    "name": "starts a name part (family or given, case-insensitive), or the whole name",
    "family": "starts the family name (case-insensitive)",
    "given": "starts a given name (case-insensitive)",
    "gender": "male | female | other | unknown",
    "birthdate": "a day, month or year (eq only: 1967-04-15, 1967-04, 1967)",
}
LOOKED_UP_DATES = {"birthdate"}  # date parameters answered from an index, not a filter

# parameters every type accepts (search.html#all, search.html#count, search.html#sort)
COMMON_PARAMS: dict[str, str] = {"_lastUpdated": "date", "_count": "number", "_sort": "string"}
RESULT_PARAMS = {"_count", "_offset", "_format", "_sort", "_include", "_revinclude"}
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
    if kind == "string":
        return value.strip().lower()[:NAME_PREFIX_MAX]
    if param in LOOKED_UP_DATES:
        return value.removeprefix("eq")
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
    known = {
        p: v for p, v in SEARCH_PARAMS[rtype].items() if v[0] != "date" or p in LOOKED_UP_DATES
    }
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
        if p in known and known[p][0] == "date" and p not in LOOKED_UP_DATES
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


# -- _include / _revinclude (search.html#include) ---------------------------------------------

# Reference elements followed by `_include=<Type>:<param>` beyond the reference search
# parameters above (whose element is named by their lookup index).
EXTRA_INCLUDES: dict[str, dict[str, tuple[str, str]]] = {
    "DiagnosticReport": {
        "result": ("result", "Observation"),
        "based-on": ("basedOn", "ServiceRequest"),
    },
    "Task": {"focus": ("focus", "ServiceRequest"), "based-on": ("basedOn", "ServiceRequest")},
}
# The element each reference lookup index is made from, where it differs from the index name.
INDEX_ELEMENTS = {"MedicationAdministration.encounter": "context"}


def include_params(rtype: str) -> dict[str, tuple[str, str]]:
    """`_include` values on `rtype`: param -> (element, target type)."""
    out = {
        param: (
            INDEX_ELEMENTS.get(index, index.split(".", 1)[1]),
            REFERENCE_TARGETS.get(param, "Patient"),
        )
        for param, (kind, index) in SEARCH_PARAMS[rtype].items()
        if kind == "reference"
    }
    return out | EXTRA_INCLUDES.get(rtype, {})


def revinclude_params(rtype: str) -> list[str]:
    """`_revinclude` values on `rtype`: `<Source>:<param>` whose reference targets `rtype`."""
    return [
        f"{source}:{param}"
        for source, params in SEARCH_PARAMS.items()
        for param, (kind, _) in params.items()
        if kind == "reference" and REFERENCE_TARGETS.get(param, "Patient") == rtype
    ]


def _split(name: str, value: str) -> tuple[str, str]:
    source, _, param = value.partition(":")
    if not param or ":" in param:
        raise FhirError(
            400,
            f"{name} {value!r}: use <Type>:<param> (no :iterate, no *)",
            "not-supported",
            [name],
        )
    return source, param


def _includes(rtype: str, params: Params) -> list[tuple[str, str]]:
    """(element, target type) for each `_include`; 400 for one not served."""
    out = []
    for value in (v for p, v in params if p == "_include"):
        source, param = _split("_include", value)
        known = include_params(rtype) if source == rtype else {}
        if param not in known:
            served = ", ".join(f"{rtype}:{p}" for p in include_params(rtype)) or "none"
            raise FhirError(
                400,
                f"_include {value!r} is not served on {rtype} (served: {served})",
                "not-supported",
                ["_include"],
            )
        out.append(known[param])
    return out


def _revincludes(rtype: str, params: Params) -> list[tuple[str, str]]:
    """(source type, lookup index) for each `_revinclude`; 400 for one not served."""
    out = []
    for value in (v for p, v in params if p == "_revinclude"):
        source, param = _split("_revinclude", value)
        if value not in revinclude_params(rtype):
            served = ", ".join(revinclude_params(rtype)) or "none"
            raise FhirError(
                400,
                f"_revinclude {value!r} is not served on {rtype} (served: {served})",
                "not-supported",
                ["_revinclude"],
            )
        out.append((source, SEARCH_PARAMS[source][param][1]))
    return out


def check_includes(rtype: str, params: Params) -> None:
    """400 before any read for an `_include`/`_revinclude` not served."""
    _includes(rtype, params)
    _revincludes(rtype, params)


def _references(resource: StoredResource, element: str, target: str) -> list[str]:
    value = json.loads(resource.body).get(element)
    values = value if isinstance(value, list) else [value]
    refs = [v.get("reference") for v in values if isinstance(v, dict)]
    return [r.split("/", 1)[1] for r in refs if isinstance(r, str) and r.startswith(f"{target}/")]


def included(
    store: ViewStore, rtype: str, page: list[StoredResource], params: Params
) -> list[StoredResource]:
    """The resources `_include`d and `_revinclude`d by the page's matches, each once, none
    of the matches again; in parameter order, then by reference order / id."""
    seen = {(r.resource_type, r.id) for r in page}
    wanted: list[tuple[str, str]] = []
    for element, target in _includes(rtype, params):
        wanted += [(target, i) for r in page for i in _references(r, element, target)]
    for source, index in _revincludes(rtype, params):
        for r in page:
            wanted += [(t, i) for t, i in store.lookup(index, f"{rtype}/{r.id}") if t == source]
    out = []
    for ref in dict.fromkeys(wanted):
        if ref not in seen and (found := store.read(*ref)) is not None:
            seen.add(ref)
            out.append(found)
    return out
