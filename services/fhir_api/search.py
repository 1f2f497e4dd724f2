"""Type-level search (FHIR R4 search.html), answered from the parameters declared in
`kernel/search_params.py`: the lookups the folds wrote and the same declarations' values.

Each parameter occurrence is a `Clause`: comma-separated values are ORed inside it, repeated
parameters are ANDed (search.html#combining). A clause names matching ids from the view
store's lookups (token, reference, string starts, `_id`, chains, `_has`) and/or tests each
candidate resource (dates, quantities, `:not`, `:text`, `:exact`, `:contains`, `:missing`,
`_lastUpdated`). Without any lookup clause the candidates are every resource of the type
(type-wide search), listed from the store's change list.

Result parameters: `_sort` (several keys, `-` descending; default by id), `_count`/`_offset`
(paging.py), `_include`/`_revinclude` with `:iterate` and `*`, `_summary`, `_elements`,
`_total`, `_format`, `_pretty`. An unknown parameter (or modifier) is a 400; with
`Prefer: handling=lenient` it is ignored and reported (search.html#errors).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kernel.jsontypes import Json
from kernel.search_params import (
    MODIFIERS,
    NAME_PREFIX_MAX,
    SEARCH_PARAMS,
    SearchParam,
    includes,
    normalise,
    reference_of,
    texts,
)
from services.fhir_api.instants import parse_stored
from services.fhir_api.search_values import (
    date_matches,
    date_range,
    number,
    number_matches,
    quantity_matches,
    quantity_value,
    reference_key,
    split_prefix,
    split_values,
    target_range,
)
from services.outcome import FhirError
from viewstore.base import StoredResource, ViewStore

# Result parameters (search.html#return), not criteria.
RESULT_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_include:iterate",
    "_revinclude:iterate",
    "_summary",
    "_elements",
    "_total",
    "_format",
    "_pretty",
    "_totalMethod",  # Aidbox's `_total`, sent by fhirpy's count(): the total is always there
}
COMMON_PARAMS = {"_id": "token", "_lastUpdated": "date"}
SORTABLE = ("token", "string", "date", "quantity", "number", "reference")
TOTALS = ("none", "estimate", "accurate")
MAX_INCLUDED = 1000  # resources `_include`d / `_revinclude`d into one page, iterations included
MAX_HAS_DEPTH = 3  # nested `_has` / chains

Params = Sequence[tuple[str, str]]
Test = Callable[[StoredResource, Json], bool]


class UnknownParameter(FhirError):
    """A parameter or modifier this server does not serve: 400, or ignored when lenient."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(400, f"{name}: {why}", "not-supported", [name])
        self.name = name


@dataclass(frozen=True)
class Clause:
    """One parameter occurrence: ids from lookups, and/or a test on each candidate."""

    ids: Callable[[], set[str]] | None = None
    test: Test | None = None


@dataclass
class Query:
    """A parsed search: its clauses and the criteria ignored under `handling=lenient`."""

    clauses: list[Clause] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


# -- parsing ---------------------------------------------------------------------------------


def served(rtype: str) -> dict[str, SearchParam]:
    """The parameters declared for `rtype`."""
    return SEARCH_PARAMS.get(rtype, {})


def parse_query(store: ViewStore, rtype: str, params: Params, lenient: bool = False) -> Query:
    """Every criterion of `params` as a clause; unknown ones raise, or are noted if lenient."""
    query = Query()
    for name, raw in params:
        if name in RESULT_PARAMS:
            continue
        try:
            query.clauses.append(clause(store, rtype, name, raw))
        except UnknownParameter:
            if not lenient:
                raise
            query.ignored.append(name)
    for spec in ("_include", "_revinclude", "_include:iterate", "_revinclude:iterate"):
        for value in (v for p, v in params if p == spec):
            try:
                _include_spec(rtype, spec, value)
            except UnknownParameter:
                if not lenient:
                    raise
                query.ignored.append(spec)  # the spec's other values stay
    return query


def clause(store: ViewStore, rtype: str, name: str, raw: str, depth: int = 0) -> Clause:
    """The clause of one `name=raw` criterion on `rtype`."""
    if depth > MAX_HAS_DEPTH:
        raise UnknownParameter(name, f"chains deeper than {MAX_HAS_DEPTH} are not served")
    if name == "_id":
        return _id_clause(store, rtype, split_values(raw))
    if name == "_lastUpdated":
        return _last_updated_clause(raw)
    if name.startswith("_has:"):
        return _has_clause(store, rtype, name, raw, depth)
    base, _, chain = name.partition(".")
    pname, _, modifier = base.partition(":")
    param = served(rtype).get(pname)
    if param is None:
        known = ", ".join([*served(rtype), *COMMON_PARAMS])
        raise UnknownParameter(pname, f"not a search parameter of {rtype} (served: {known})")
    if chain:
        return _chain_clause(store, param, modifier, chain, raw, depth)
    values = split_values(raw)
    if modifier == "missing":
        return _missing_clause(param, raw)
    if modifier and modifier not in MODIFIERS[param.type] and not _is_type(param, modifier):
        raise UnknownParameter(f"{pname}:{modifier}", f"modifier not served on {param.type}")
    return BUILDERS[param.type](store, param, modifier, values)


def _is_type(param: SearchParam, modifier: str) -> bool:
    return param.type == "reference" and modifier in SEARCH_PARAMS


def _looked_up(store: ViewStore, param: SearchParam, keys: Iterable[str]) -> Callable[[], set[str]]:
    def ids() -> set[str]:
        return {i for key in keys for t, i in store.lookup(param.index, key) if t == param.resource}

    return ids


def _id_clause(store: ViewStore, rtype: str, values: list[str]) -> Clause:
    return Clause(ids=lambda: {v for v in values if store.read(rtype, v) is not None})


def _last_updated_clause(raw: str) -> Clause:
    wanted = [_date_value(v, "_lastUpdated") for v in split_values(raw)]

    def test(stored: StoredResource, _: Json) -> bool:
        at = parse_stored(stored.last_updated)
        point = (at, at + dt.timedelta(microseconds=1))
        return any(date_matches(p, r, point, _now()) for p, r in wanted)

    return Clause(test=test)


def _missing_clause(param: SearchParam, raw: str) -> Clause:
    if raw not in ("true", "false"):
        raise FhirError(400, f"{param.name}:missing must be true or false", "invalid")
    missing = raw == "true"
    return Clause(test=lambda _, doc: (not param.values(doc)) == missing)


def _token(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    if modifier == "not":
        return Clause(test=lambda _, doc: not set(values) & set(param.index_keys(doc)))
    if modifier == "text":
        wanted = [normalise(v) for v in values]
        return Clause(test=lambda _, doc: _text_matches(param, doc, wanted))
    return Clause(ids=_looked_up(store, param, values))


def _text_matches(param: SearchParam, doc: Json, wanted: list[str]) -> bool:
    found = [normalise(t) for v in param.values(doc) for t in texts(v)]
    words = [w for t in found for w in (t, *t.split())]
    return any(w.startswith(s) for w in words for s in wanted)


def _reference(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    keys = [reference_key(v, modifier or param.default_target) for v in values]
    keys = [k for k in keys if _typed(k, param, modifier)]
    return Clause(ids=_looked_up(store, param, keys))


def _typed(key: str, param: SearchParam, modifier: str) -> bool:
    """Whether `Type/id` may be what `param` (narrowed by a `:Type` modifier) points at."""
    rtype = key.split("/", 1)[0]
    return param.may_target(rtype) and modifier in ("", rtype)


def _string(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    if modifier == "contains":
        wanted = [normalise(v) for v in values]
        return Clause(
            test=lambda _, doc: any(w in normalise(s) for s in _strings(param, doc) for w in wanted)
        )
    keys = [normalise(v)[:NAME_PREFIX_MAX] for v in values]
    if modifier == "exact":
        return Clause(
            ids=_looked_up(store, param, keys),
            test=lambda _, doc: bool(set(values) & set(_strings(param, doc))),
        )
    long = any(len(normalise(v)) > NAME_PREFIX_MAX for v in values)
    wanted = [normalise(v) for v in values]
    return Clause(
        ids=_looked_up(store, param, keys),
        test=(lambda _, doc: _starts(param, doc, wanted)) if long else None,
    )


def _strings(param: SearchParam, doc: Json) -> list[str]:
    return [v for v in param.values(doc) if isinstance(v, str)]


def _starts(param: SearchParam, doc: Json, wanted: list[str]) -> bool:
    words = [w for s in _strings(param, doc) for n in [normalise(s)] for w in (n, *n.split())]
    return any(w.startswith(s) for w in words for s in wanted)


def _date_value(value: str, name: str) -> tuple[str, tuple[dt.datetime, dt.datetime]]:
    prefix, rest = split_prefix(value)
    return prefix, date_range(rest, name)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _date(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    wanted = [_date_value(v, param.name) for v in values]

    def test(_: StoredResource, doc: Json) -> bool:
        ranges = [r for r in (target_range(v) for v in param.values(doc)) if r is not None]
        now = _now()
        return any(date_matches(p, s, t, now) for p, s in wanted for t in ranges)

    return Clause(test=test)


def _quantity(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    wanted = [quantity_value(v, param.name) for v in values]
    return Clause(
        test=lambda _, doc: any(quantity_matches(w, v) for w in wanted for v in param.values(doc))
    )


def _number(store: ViewStore, param: SearchParam, modifier: str, values: list[str]) -> Clause:
    wanted = [(p, number(n, param.name)) for p, n in map(split_prefix, values)]

    def test(_: StoredResource, doc: Json) -> bool:
        found = [Decimal(str(v)) for v in param.values(doc) if isinstance(v, int | float)]
        return any(number_matches(p, n, v) for p, n in wanted for v in found)

    return Clause(test=test)


BUILDERS: dict[str, Callable[[ViewStore, SearchParam, str, list[str]], Clause]] = {
    "token": _token,
    "reference": _reference,
    "string": _string,
    "date": _date,
    "quantity": _quantity,
    "number": _number,
}


def _chain_clause(
    store: ViewStore, param: SearchParam, modifier: str, chain: str, raw: str, depth: int
) -> Clause:
    """`subject:Patient.identifier=sys|v` (search.html#chaining): the ids of the resources
    whose reference points at a target resource matching `chain=raw`."""
    if param.type != "reference":
        raise UnknownParameter(f"{param.name}.{chain}", "only reference parameters chain")
    if modifier and not param.may_target(modifier):
        raise UnknownParameter(
            f"{param.name}:{modifier}", f"{param.name} never points at {modifier}"
        )
    targets = [modifier] if modifier else [t for t in param.targets if t in SEARCH_PARAMS]

    def ids() -> set[str]:
        keys = [
            f"{t}/{i}" for t in targets for i in matching_ids(store, t, [(chain, raw)], depth + 1)
        ]
        return _looked_up(store, param, keys)()

    for t in targets:  # refuse an unknown chained parameter now, not when reading
        clause(store, t, chain, raw, depth + 1)
    return Clause(ids=ids)


def _has_clause(store: ViewStore, rtype: str, name: str, raw: str, depth: int) -> Clause:
    """`_has:Observation:patient:code=x` (search.html#has): ids of `rtype` resources that
    resources of the named type, matching `code=x`, reference by their `patient`."""
    parts = name.split(":", 3)
    if len(parts) != 4 or parts[1] not in SEARCH_PARAMS:
        raise UnknownParameter(name, "use _has:<Type>:<reference parameter>:<parameter>")
    _, source, pname, rest = parts
    param = served(source).get(pname)
    if param is None or param.type != "reference":
        raise UnknownParameter(name, f"{pname} is not a reference parameter of {source}")
    clause(store, source, rest, raw, depth + 1)

    def ids() -> set[str]:
        found = matching(store, source, [(rest, raw)], depth + 1)
        refs = [reference_of(v) for r in found for v in param.values(json.loads(r.body))]
        return {r.split("/", 1)[1] for r in refs if r and r.startswith(f"{rtype}/")}

    return Clause(ids=ids)


# -- running ---------------------------------------------------------------------------------


def all_ids(store: ViewStore, rtype: str) -> list[str]:
    """Every id of `rtype` (type-wide search), from the store's change list."""
    return sorted({c.id for c in store.changes([rtype])})


def candidates(store: ViewStore, rtype: str, clauses: list[Clause]) -> list[str]:
    """Ids every lookup clause names (all of the type when none does), sorted."""
    sets = [c.ids() for c in clauses if c.ids is not None]
    if not sets:
        return all_ids(store, rtype)
    return sorted(set.intersection(*sets))


def filtered(
    store: ViewStore, rtype: str, ids: list[str], tests: list[Test]
) -> list[StoredResource]:
    """The resources of `ids` passing every test."""
    out = []
    for stored in (store.read(rtype, i) for i in ids):
        if stored is None:
            continue
        doc = json.loads(stored.body) if tests else {}
        if all(t(stored, doc) for t in tests):
            out.append(stored)
    return out


def matching(store: ViewStore, rtype: str, params: Params, depth: int = 0) -> list[StoredResource]:
    """The resources of `rtype` matching every criterion in `params` (sub-searches)."""
    clauses = [clause(store, rtype, n, v, depth) for n, v in params]
    tests = [c.test for c in clauses if c.test is not None]
    return filtered(store, rtype, candidates(store, rtype, clauses), tests)


def matching_ids(store: ViewStore, rtype: str, params: Params, depth: int = 0) -> list[str]:
    return [r.id for r in matching(store, rtype, params, depth)]


@dataclass(frozen=True)
class Found:
    """A search's answer: the total and the page's resources (in order)."""

    total: int
    page: list[StoredResource]


def search(
    store: ViewStore, rtype: str, query: Query, params: Params, offset: int, count: int
) -> Found:
    """Run `query`: reads only the page unless a test or a sort needs every match."""
    ids = candidates(store, rtype, query.clauses)
    tests = [c.test for c in query.clauses if c.test is not None]
    keys = parse_sort(rtype, params)
    if not tests and not keys:
        window = ids[offset : offset + count]
        return Found(len(ids), [r for r in (store.read(rtype, i) for i in window) if r])
    found = order(filtered(store, rtype, ids, tests), keys)
    return Found(len(found), found[offset : offset + count])


# -- _sort (search.html#sort) -----------------------------------------------------------------

SortKey = tuple[str, bool]  # (parameter, descending)


def parse_sort(rtype: str, params: Params) -> list[SortKey]:
    """`_sort` keys in order (comma lists and repetitions); by id alone is no key."""
    keys = [k.strip() for p, v in params if p == "_sort" for k in v.split(",") if k.strip()]
    out = []
    for key in keys:
        name = key.removeprefix("-")
        param = served(rtype).get(name)
        if name not in ("_id", "_lastUpdated") and (param is None or param.type not in SORTABLE):
            raise FhirError(
                400,
                f"_sort {key!r}: not a sortable parameter of {rtype}",
                "not-supported",
                ["_sort"],
            )
        out.append((name, key.startswith("-")))
    return [] if out == [("_id", False)] else out


def _sort_value(rtype: str, name: str, stored: StoredResource, doc: Json) -> Any:
    if name == "_id":
        return stored.id
    if name == "_lastUpdated":
        return parse_stored(stored.last_updated)
    param = served(rtype)[name]
    values = param.values(doc)
    if param.type == "date":
        ranges = [r for r in (target_range(v) for v in values) if r]
        return min(r[0] for r in ranges) if ranges else None
    if param.type == "quantity":
        found = [Decimal(str(v["value"])) for v in values if isinstance(v, dict) and "value" in v]
        return min(found) if found else None
    if param.type == "string":
        return min((normalise(v) for v in values if isinstance(v, str)), default=None)
    keys = param.index_keys(doc)
    return min(keys) if keys else None


def order(resources: list[StoredResource], keys: list[SortKey]) -> list[StoredResource]:
    """Resources sorted by the keys (last key first, stable), by id before; missing last."""
    items = [(r, json.loads(r.body)) for r in sorted(resources, key=lambda r: r.id)]
    for name, descending in reversed(keys):
        if not items:
            break
        rtype = items[0][0].resource_type
        valued = [(item, _sort_value(rtype, name, *item)) for item in items]
        present = sorted(
            (iv for iv in valued if iv[1] is not None), key=lambda iv: iv[1], reverse=descending
        )
        items = [iv[0] for iv in present] + [iv[0] for iv in valued if iv[1] is None]
    return [r for r, _ in items]


def parse_total(params: Params) -> str:
    """`_total` (search.html#total): none leaves Bundle.total out; accurate by default."""
    values = [v for p, v in params if p == "_total"]
    if values and (len(values) > 1 or values[0] not in TOTALS):
        raise FhirError(400, f"_total must be one of {', '.join(TOTALS)}", "invalid", ["_total"])
    return values[0] if values else "accurate"


# -- _include / _revinclude (search.html#include) -------------------------------------------


@dataclass(frozen=True)
class IncludeSpec:
    """One `_include` (reverse False) or `_revinclude` value."""

    source: str
    params: tuple[SearchParam, ...]
    target: str | None
    reverse: bool
    iterate: bool


def _include_spec(rtype: str, name: str, value: str) -> IncludeSpec:
    source, _, rest = value.partition(":")
    pname, _, target = rest.partition(":")
    iterate = name.endswith(":iterate")
    reverse = name.startswith("_revinclude")
    if source not in SEARCH_PARAMS or not pname:
        raise UnknownParameter(name, f"{value!r}: use <Type>:<param>[:<target type>]")
    if not iterate and not reverse and source != rtype:
        raise UnknownParameter(name, f"{value!r}: _include starts from {rtype}")
    known = includes(source)
    params = tuple(known.values()) if pname == "*" else ((known[pname],) if pname in known else ())
    if not params:
        raise UnknownParameter(name, f"{value!r}: {pname} is not a reference parameter of {source}")
    return IncludeSpec(source, params, target or None, reverse, iterate)


def include_specs(rtype: str, params: Params) -> list[IncludeSpec]:
    names = ("_include", "_revinclude", "_include:iterate", "_revinclude:iterate")
    out = []
    for name, value in params:
        if name in names:
            try:
                out.append(_include_spec(rtype, name, value))
            except UnknownParameter:
                continue  # refused (or ignored under lenient) by parse_query
    return out


def _refs(spec: IncludeSpec, store: ViewStore, resource: StoredResource) -> list[tuple[str, str]]:
    if resource.resource_type != spec.source and not spec.reverse:
        return []
    if not spec.reverse:
        doc = json.loads(resource.body)
        refs = [reference_of(v) for p in spec.params for v in p.values(doc)]
        pairs = [tuple(r.split("/", 1)) for r in refs if r and "/" in r]
        return [(t, i) for t, i in pairs if spec.target in (None, t)]
    key = f"{resource.resource_type}/{resource.id}"
    return [
        (t, i)
        for p in spec.params
        if p.may_target(resource.resource_type)
        for t, i in store.lookup(p.index, key)
        if t == spec.source
    ]


def included(
    store: ViewStore, rtype: str, page: list[StoredResource], params: Params
) -> list[StoredResource]:
    """The resources included by the page's matches, each once, none of the matches again;
    `:iterate` specs are applied again to what was included, until nothing new."""
    specs = include_specs(rtype, params)
    seen = {(r.resource_type, r.id) for r in page}
    out: list[StoredResource] = []
    frontier, first = page, True
    while frontier and specs and len(out) < MAX_INCLUDED:
        active = [s for s in specs if first or s.iterate]
        wanted = [ref for s in active for r in frontier for ref in _refs(s, store, r)]
        frontier = []
        for ref in dict.fromkeys(wanted):
            if ref in seen or ref[0] not in SEARCH_PARAMS:
                continue
            seen.add(ref)
            if (found := store.read(*ref)) is not None:
                frontier.append(found)
        out += frontier
        first = False
    return out[:MAX_INCLUDED]
