"""FHIR R4 REST (read side): metadata, read (also `_at`: the version current at a past
instant, services/fhir_api/time_travel.py), vread, history at instance, type and system
level (services/fhir_api/history.py), search with `_include`/`_revinclude`,
Patient/$everything (also `_at`).

Bodies are served as stored (canonical JSON written by the projector), so what a client
reads is byte for byte what a rebuild reproduces. `ETag` is `W/"<versionId>"`;
`If-None-Match` and `If-Modified-Since` answer 304 (FHIR http.html#versioning,
http.html#cread). Only JSON is served: `Accept`/`_format` asking for XML get a 406
(http.html#mime-type). Searches are paged with `_count`/`_offset` (http.html#search).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from kernel.search_params import SEARCH_PARAMS
from kernel.text import ascii_digits
from services.deps import SystemDep
from services.fhir_api.capability import capability_statement
from services.fhir_api.document import document
from services.fhir_api.everything import everything
from services.fhir_api.history import changes_history, instance_history
from services.fhir_api.negotiate import negotiate, not_modified_since
from services.fhir_api.paging import entry, parse_page, searchset
from services.fhir_api.search import (
    included,
    parse_query,
    parse_sort,
    parse_total,
    search,
)
from services.fhir_api.subsetting import elements, shape, summary_mode
from services.fhir_api.time_travel import parse_at, read_at
from services.fhir_api.validate import resource_of, validation_outcome
from services.outcome import FHIR_JSON, FhirError
from services.system import System
from viewstore.base import StoredResource

router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(negotiate)])

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
STARTED = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(rtype: str, rid: str | None = None) -> None:
    if rtype not in SEARCH_PARAMS:
        raise FhirError(404, f"resource type {rtype} is not served here", "not-supported")
    if rid is not None and not ID_PATTERN.match(rid):
        raise FhirError(400, f"{rid!r} is not a valid FHIR id", "invalid")


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _resource_response(request: Request, stored: StoredResource) -> Response:
    headers = {
        "ETag": _etag(stored.version),
        "Last-Modified": format_datetime(
            dt.datetime.fromisoformat(stored.last_updated), usegmt=True
        ),
        "Content-Location": f"/fhir/{stored.resource_type}/{stored.id}/_history/{stored.version}",
    }
    if request.headers.get("if-none-match") in (_etag(stored.version), f'"{stored.version}"'):
        return Response(status_code=304, headers=headers)
    if not_modified_since(request, stored.last_updated):
        return Response(status_code=304, headers=headers)
    return Response(stored.body, media_type=FHIR_JSON, headers=headers)


def _json(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")), media_type=FHIR_JSON)


@router.get("/metadata")
def metadata(request: Request) -> Response:
    return _json(capability_statement(str(request.base_url) + "fhir", STARTED))


@router.get("/_history")
def system_history(request: Request, system: SystemDep) -> Response:
    """http.html#history, system level: every FHIR type served, newest first."""
    return _json(changes_history(system.store, list(SEARCH_PARAMS), request, _base(request)))


@router.get("/{rtype}/_history")
def type_history(rtype: str, request: Request, system: SystemDep) -> Response:
    """http.html#history, type level."""
    _check(rtype)
    return _json(changes_history(system.store, [rtype], request, _base(request)))


@router.get("/{rtype}/{rid}")
def read(rtype: str, rid: str, request: Request, system: SystemDep) -> Response:
    """http.html#read; with `_at=<instant>` the version current then (time_travel.py)."""
    _check(rtype, rid)
    at = parse_at(list(request.query_params.multi_items()))
    stored = system.store.read(rtype, rid) if at is None else read_at(system.store, rtype, rid, at)
    if stored is None:
        when = "" if at is None else f" at {at.isoformat()}"
        raise FhirError(404, f"{rtype}/{rid} not found{when}", "not-found")
    return _resource_response(request, stored)


@router.get("/{rtype}/{rid}/_history/{vid}")
def vread(rtype: str, rid: str, vid: str, request: Request, system: SystemDep) -> Response:
    _check(rtype, rid)
    if not ascii_digits(vid):
        raise FhirError(400, f"version id {vid!r} must be a positive integer", "invalid")
    stored = system.store.vread(rtype, rid, int(vid))
    if stored is None:
        raise FhirError(404, f"{rtype}/{rid}/_history/{vid} not found", "not-found")
    return _resource_response(request, stored)


@router.get("/{rtype}/{rid}/_history")
def history(rtype: str, rid: str, request: Request, system: SystemDep) -> Response:
    """http.html#history, instance level, with `_since`, `_at` and `_count`/`_offset`."""
    _check(rtype, rid)
    return _json(instance_history(system.store, rtype, rid, request, _base(request)))


def _base(request: Request) -> str:
    return str(request.base_url) + "fhir"


def _entries(request: Request, resources: list[StoredResource]) -> list[dict[str, Any]]:
    base = _base(request)
    return [entry(base, r.resource_type, json.loads(r.body)) for r in resources]


@router.get("/Patient/{rid}/$everything")
def patient_everything(rid: str, request: Request, system: SystemDep) -> Response:
    """patient-operation-everything.html, paged like a search (search.html#count)."""
    _check("Patient", rid)
    params = list(request.query_params.multi_items())
    page = parse_page(params)
    found = everything(system.store, rid, params)
    window = found[page.offset : page.offset + page.count]
    return searchset(request, params, page, len(found), _entries(request, window))


@router.get("/Composition/{rid}/$document")
def composition_document(rid: str, request: Request, system: SystemDep) -> Response:
    """composition-operation-document.html: a document Bundle versioned with its Composition."""
    _check("Composition", rid)
    params = list(request.query_params.multi_items())
    bundle, composition = document(system.store, rid, _base(request), params)
    response = _json(bundle)
    response.headers["ETag"] = _etag(composition.version)
    return response


def _lenient(request: Request) -> bool:
    """`Prefer: handling=lenient` (search.html#errors); strict otherwise."""
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    return "handling=lenient" in prefer.split(";") or "handling=lenient" in prefer.split(",")


def _ignored_outcome(ignored: list[str]) -> dict[str, Any]:
    """The searchset entry (search.mode outcome) naming the parameters ignored."""
    issue = {
        "severity": "warning",
        "code": "not-supported",
        "diagnostics": f"ignored (handling=lenient): {', '.join(dict.fromkeys(ignored))}",
    }
    outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
    return {"resource": outcome, "search": {"mode": "outcome"}}


@router.get("/{rtype}")
def search_type(rtype: str, request: Request, system: SystemDep) -> Response:
    """Type-level search (http.html#search, search.html), one page per request."""
    return _search(rtype, list(request.query_params.multi_items()), request, system)


@router.post("/{rtype}/_search")
async def search_post(rtype: str, request: Request, system: SystemDep) -> Response:
    """The same search with its parameters in a form body (http.html#search)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise FhirError(415, "POST _search takes application/x-www-form-urlencoded", "invalid")
    form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    params = list(request.query_params.multi_items()) + form
    return _search(rtype, params, request, system)


@router.post("/{rtype}/$validate")
async def validate(rtype: str, request: Request) -> Response:
    """resource-operation-validate.html for the types served (services/fhir_api/validate.py)."""
    _check(rtype)
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise FhirError(400, f"$validate: the body is not JSON: {exc}", "invalid") from exc
    return _json(validation_outcome(resource_of(body, rtype)))


def _search(
    rtype: str, params: list[tuple[str, str]], request: Request, system: System
) -> Response:
    _check(rtype)
    page = parse_page(params)
    mode, wanted, total_mode = summary_mode(params), elements(params), parse_total(params)
    parse_sort(rtype, params)
    query = parse_query(system.store, rtype, params, _lenient(request))
    kept = [(k, v) for k, v in params if k not in query.ignored]  # the self link: what was used
    count = 0 if mode == "count" else page.count
    found = search(system.store, rtype, query, params, page.offset, count)
    base = _base(request)
    entries = [entry(base, rtype, shape(json.loads(r.body), mode, wanted)) for r in found.page]
    for r in included(system.store, rtype, found.page, params):
        entries.append(
            entry(base, r.resource_type, shape(json.loads(r.body), mode, wanted), "include")
        )
    if query.ignored:
        entries.append(_ignored_outcome(query.ignored))
    with_total = total_mode != "none" or mode == "count"
    return searchset(request, kept, page, found.total, entries, with_total)
